"""Browser tests: the session's test app served on loopback, driven by Debian's Chromium via Playwright.

Chromium comes from the system (/usr/bin/chromium); Playwright's own browser downloads are never used.
Without it the browser tests are skipped locally, and fail the run under CI (never a silent skip there).
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
HERE = Path(__file__).resolve().parent


def _chromium_missing() -> bool:
    return not os.access(CHROMIUM, os.X_OK)


@pytest.hookimpl(tryfirst=True)  # before -m deselects: the browser marker must already be there
def pytest_collection_modifyitems(config, items):
    # This hook sees every collected item, not only this folder's: act on tests/browser only.
    browser_items = [item for item in items if HERE in Path(str(item.path)).resolve().parents]
    if not browser_items:
        return
    missing = _chromium_missing()
    if missing and os.environ.get("CI"):
        raise pytest.UsageError(f"CI: browser tests need Chromium at {CHROMIUM}; refusing to skip")
    skip = pytest.mark.skip(reason=f"needs Chromium at {CHROMIUM}")
    # pytest-playwright 0.10 defines its session fixtures as methods, which pytest 9 deprecates: not ours.
    playwright_deprecation = pytest.mark.filterwarnings(
        "ignore:Session-scoped fixtures defined as instance methods:pytest.PytestRemovedIn10Warning")
    for item in browser_items:
        item.add_marker(pytest.mark.browser)
        item.add_marker(playwright_deprecation)
        if missing:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if _chromium_missing():  # reached only if the collection hook above was bypassed
        if os.environ.get("CI"):
            pytest.fail(f"CI: browser tests need Chromium at {CHROMIUM}", pytrace=False)
        pytest.skip(f"needs Chromium at {CHROMIUM}")
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def live_server(app):
    """The session's test app over real HTTP on 127.0.0.1 (a free port); yields the base URL.

    Session scope: the autouse ``_clean_database`` fixture empties the tables after every test, so the
    server itself holds no state between tests.
    """
    werkzeug_log = logging.getLogger("werkzeug")
    level = werkzeug_log.level
    werkzeug_log.setLevel(logging.WARNING)  # no line per request in the test output
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        werkzeug_log.setLevel(level)


@pytest.fixture
def console_messages(page):
    """Every console message of the page as (type, text), collected from the first navigation on."""
    messages: list[tuple[str, str]] = []
    page.on("console", lambda msg: messages.append((msg.type, msg.text)))
    return messages


@pytest.fixture
def page_errors(page):
    """Uncaught JavaScript exceptions on the page."""
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return errors


# --- no page inside a page ----------------------------------------------------------------------------------

# Runs in every document of the page before its own scripts (Playwright's init script is not subject to the CSP).
# An htmx answer that is a whole page (it has <html> or <body>) swapped anywhere but in place of the <body> is the
# bug of a followed redirect: htmx keeps the page's body content, so a second navbar, <main> and banner appear
# inside the form. The listener reports through a binding, which outlives the page's own navigations.
_NESTED_PAGE_WATCH = """
(() => {
  const report = (what) => window.__guanjiaNestedPage && window.__guanjiaNestedPage(`${what} (${location.pathname})`);
  const where = (el) => el === document.body ? "body" : `${el.tagName.toLowerCase()}${el.id ? "#" + el.id : ""}`;
  document.addEventListener("htmx:beforeSwap", (evt) => {
    const detail = evt.detail;
    if (detail.shouldSwap && detail.target !== document.body
        && /<(html|body)[\\s>]/i.test(detail.serverResponse || "")) {
      report(`a whole page was swapped into ${where(detail.target)}`);
    }
  });
  document.addEventListener("htmx:afterSettle", () => {
    const navs = document.querySelectorAll("nav.navbar").length, mains = document.querySelectorAll("main").length;
    if (navs > 1 || mains > 1) report(`${navs} navigation bars and ${mains} <main> after a swap`);
  });
})();
"""


class NestedPageWatch:
    """What the watch saw on one Playwright page; ``check()`` also counts the page's navbars right now."""

    def __init__(self, page):
        self.page = page
        self.found: list[str] = []
        page.expose_function("__guanjiaNestedPage", self._report)
        page.add_init_script(_NESTED_PAGE_WATCH)

    def _report(self, what: str) -> None:
        self.found.append(what)

    def check(self) -> None:
        counts = self.page.evaluate("""() => ({navs: document.querySelectorAll("nav.navbar").length,
            mains: document.querySelectorAll("main").length, bodies: document.querySelectorAll("body").length})""")
        assert counts["navs"] <= 1 and counts["mains"] <= 1 and counts["bodies"] == 1, (
            f"a page inside the page at {self.page.url}: {counts}")
        assert not self.found, f"a whole page swapped into a fragment: {self.found}"


def watch_nested_pages(page) -> NestedPageWatch:
    """For a page a test opens itself (a second browser context); the ``page`` fixture is watched already."""
    return NestedPageWatch(page)


@pytest.fixture
def nested_pages(page) -> NestedPageWatch:
    """The watch on the ``page`` fixture: call ``nested_pages.check()`` after each main step."""
    return NestedPageWatch(page)


@pytest.fixture(autouse=True)
def _no_nested_pages_at_the_end(request):
    """Every browser test that uses ``page`` is watched from its first navigation and checked when it ends."""
    if "page" not in request.fixturenames:
        yield
        return
    watch = request.getfixturevalue("nested_pages")
    yield
    if not watch.page.is_closed():
        watch.check()
    else:
        assert not watch.found, f"a whole page swapped into a fragment: {watch.found}"
