/* Print buttons: <button type="button" data-print>. Opens the browser's print dialog (no inline script: CSP).
   Loaded once by the page layouts; the listener on the document also serves pages swapped in by htmx. */
(function () {
  "use strict";
  if (window.guanjiaPrint) { return; }
  window.guanjiaPrint = true;
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-print]") : null;
    if (!button) { return; }
    event.preventDefault();
    window.print();
  });
}());
