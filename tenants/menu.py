"""The company menu in the top bar, drawn once and then kept.

It is the same on every page a member of one role sees in one company and language, and drawing it is some thirty
``url_for`` and translation calls, a visible share of a fast page. So it is kept per (company slug, role, language,
script root), per app (``app.extensions``: two apps in one process, as in the tests, keep their own): everything it
depends on is in the key, so a kept menu is never wrong. Bounded: emptied when it reaches ``MAX_MENUS`` (a menu is a
few kilobytes; a busy process sees far fewer keys).
"""

from __future__ import annotations

import threading

from flask import Flask, current_app, g, render_template, request
from flask_babel import get_locale
from markupsafe import Markup

MAX_MENUS = 2048
_lock = threading.Lock()


def kept() -> dict[tuple, Markup]:
    """This app's kept menus."""
    return current_app.extensions["company_menus"]


def company_menu() -> Markup:
    role = g.membership.role.value
    key = (g.company.slug, role, str(get_locale()), request.script_root)
    menus = kept()
    menu = menus.get(key)
    if menu is None:
        menu = Markup(render_template("layouts/_company_menu.html", role=role))
        with _lock:
            if len(menus) >= MAX_MENUS:
                menus.clear()
            menus[key] = menu
    return menu


def register(app: Flask) -> None:
    app.extensions["company_menus"] = {}
    app.add_template_global(company_menu)
