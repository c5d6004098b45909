/* Copy buttons: <button type="button" data-copy="#element-id" data-copied="..." data-copy-failed="...">.
   Copies the element's text (a link's address, or a message with its line breaks). The clipboard API needs a
   secure context (HTTPS or localhost); elsewhere an off-screen textarea and execCommand("copy") do it, and if
   even that is refused the element's text is left selected so a long press copies it. Loaded once by the page
   layouts; one listener on the document also serves content swapped in later by htmx. No inline script (CSP). */
(function () {
  "use strict";
  if (window.guanjiaCopy) { return; }
  window.guanjiaCopy = true;

  function textOf(element) {
    if (element.tagName === "A") { return element.getAttribute("href"); }
    if ("value" in element && typeof element.value === "string") { return element.value; }
    return (element.innerText || element.textContent || "").trim();
  }

  function copyWithTextarea(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    // Styles set from script are allowed by the CSP (only inline style attributes in markup are not).
    area.style.position = "fixed";
    area.style.top = "0";
    area.style.left = "-9999px";
    area.style.fontSize = "16px"; // no zoom on iOS
    document.body.appendChild(area);
    area.select();
    area.setSelectionRange(0, text.length);
    var copied = false;
    try { copied = document.execCommand("copy"); } catch (error) { copied = false; }
    document.body.removeChild(area);
    return copied;
  }

  function selectText(element) {
    var range = document.createRange();
    range.selectNodeContents(element);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  function say(button, message) {
    if (!message) { return; }
    if (!button.dataset.label) { button.dataset.label = button.textContent; }
    button.textContent = message;
    clearTimeout(button.copyTimer);
    button.copyTimer = setTimeout(function () { button.textContent = button.dataset.label; }, 3000);
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-copy]") : null;
    if (!button) { return; }
    var element = document.querySelector(button.dataset.copy);
    if (!element) { return; }
    event.preventDefault();
    var text = textOf(element);
    var copied = function () { say(button, button.dataset.copied); };
    var fallback = function () {
      if (copyWithTextarea(text)) { copied(); return; }
      selectText(element);
      say(button, button.dataset.copyFailed);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(copied, fallback);
    } else {
      fallback();
    }
  });
}());
