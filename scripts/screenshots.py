"""Screenshots of the household roster in Chinese, desktop and phone, for docs/screenshots/.

Standalone: builds the app in development mode on a throwaway SQLite instance folder, migrates it, loads
the demo data, serves it on 127.0.0.1 (a free port) and drives Debian's Chromium (/usr/bin/chromium)
through Playwright. Nothing leaves the machine; Playwright's own browser downloads are never used.

    .venv/bin/python scripts/screenshots.py
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "screenshots"
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
ADMIN_PHONE = "13800000001"  # 王经理, admin of 红山物业 in tenants.demo
COMPANY = "hongshan-wuye"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 812}


def build_app(instance: Path):
    os.environ["GUANJIA_ENV"] = "development"
    os.environ["GUANJIA_INSTANCE_PATH"] = str(instance)
    for name in ("DATABASE_URL", "MIGRATION_DATABASE_URL", "REDIS_URL", "SECRET_KEY"):
        os.environ.pop(name, None)  # always the throwaway SQLite database, never a configured one
    sys.path.insert(0, str(ROOT))
    from flask_migrate import upgrade

    from saas import create_app
    from saas.extensions import db
    from tenants.demo import seed_demo

    app = create_app()
    with app.app_context():
        upgrade()
        seed_demo()
        db.session.remove()
    return app


def serve(app):
    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="screenshots-server", daemon=True)
    thread.start()
    return server, thread


def sign_in(page, base: str) -> None:
    from playwright.sync_api import expect

    from tenants.demo import DEMO_PASSWORD

    page.goto(f"{base}/login")
    page.locator("input[name=login]").fill(ADMIN_PHONE)
    page.locator("input[name=password]").fill(DEMO_PASSWORD)
    page.locator("form button[type=submit]").click()
    expect(page.locator(f"a.navbar-brand[href='/c/{COMPANY}/']")).to_be_visible()


def shoot(browser, base: str, viewport: dict, path: Path, *, full_page: bool) -> dict:
    """Sign in, open the roster, save a PNG; returns the page's language and scrollWidth for the checks."""
    from playwright.sync_api import expect

    context = browser.new_context(viewport=viewport, locale="zh-CN", timezone_id="Asia/Shanghai",
                                  device_scale_factor=1)
    try:
        page = context.new_page()
        sign_in(page, base)
        page.goto(f"{base}/c/{COMPANY}/households")
        expect(page.locator("#household-rows tr").first).to_be_visible()
        page.evaluate("document.fonts.ready")
        page.screenshot(path=str(path), full_page=full_page)
        return page.evaluate("({lang: document.documentElement.lang,"
                             " scrollWidth: document.documentElement.scrollWidth})")
    finally:
        context.close()


def main() -> int:
    if not os.access(CHROMIUM, os.X_OK):
        print(f"Chromium not found at {CHROMIUM}", file=sys.stderr)
        return 1
    from playwright.sync_api import sync_playwright

    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="guanjia-shots-") as tmp:
        app = build_app(Path(tmp))
        server, thread = serve(app)
        base = f"http://127.0.0.1:{server.server_port}"
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                try:
                    desktop = OUT / "roster-zh-desktop.png"
                    phone = OUT / "roster-zh-phone.png"
                    on_desktop = shoot(browser, base, DESKTOP, desktop, full_page=False)
                    on_phone = shoot(browser, base, PHONE, phone, full_page=False)
                finally:
                    browser.close()
        finally:
            server.shutdown()
            server.server_close()
            thread.join(timeout=5)
    print(f"wrote {desktop.relative_to(ROOT)}")
    print(f"wrote {phone.relative_to(ROOT)}")
    status = 0
    if on_desktop["lang"] != "zh-CN" or on_phone["lang"] != "zh-CN":
        print(f"warning: the pages are not in Chinese (html lang={on_desktop['lang']!r})", file=sys.stderr)
        status = 2
    if on_phone["scrollWidth"] > PHONE["width"] + 1:
        print(f"warning: the phone page scrolls sideways (scrollWidth {on_phone['scrollWidth']} > "
              f"{PHONE['width']})", file=sys.stderr)
        status = 2
    return status


if __name__ == "__main__":
    sys.exit(main())
