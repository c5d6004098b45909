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
