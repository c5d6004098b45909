"""Chinese by default, English on request, and no user-facing string left untranslated."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po

from tests.conftest import make_test_app

ROOT = Path(__file__).resolve().parent.parent


def test_interface_is_chinese_by_default_and_switches_to_english(db_urls):
    app = make_test_app(db_urls, BABEL_DEFAULT_LOCALE="zh_CN")
    client = app.test_client()
    body = client.get("/login").get_data(as_text=True)
    assert "登录" in body and 'lang="zh-CN"' in body
    response = client.get("/lang/en?next=/login")
    assert response.status_code == 303 and response.headers["Location"] == "/login"
    body = client.get("/login").get_data(as_text=True)
    assert "Sign in to Guanjia" in body and 'lang="en"' in body
    client.get("/lang/zh_CN")
    assert "登录" in client.get("/login").get_data(as_text=True)
    # An unknown language is ignored, and an off-site next is not followed.
    response = client.get("/lang/xx?next=https://evil.example/")
    assert response.headers["Location"] == "/home"


def test_translations_found_once_per_request_still_follow_a_forced_locale(db_urls):
    """saas.i18n keeps the request's translations with the locale they were found for: a message written in its
    recipient's language (force_locale) and the page around it each get their own language."""
    from flask import render_template_string
    from flask_babel import force_locale, gettext, refresh

    app = make_test_app(db_urls, BABEL_DEFAULT_LOCALE="zh_CN")
    with app.test_request_context("/"):
        assert gettext("Sign out") == "退出登录"
        with force_locale("en"):
            assert gettext("Sign out") == "Sign out"
            assert render_template_string("{{ _('Sign out') }}") == "Sign out"
        assert gettext("Sign out") == "退出登录"
        assert render_template_string("{{ _('Sign out') }}") == "退出登录"
        from flask import session

        session["lang"] = "en"
        refresh()
        assert gettext("Sign out") == "Sign out"


def test_templates_gettext_escapes_formats_and_follows_the_locale(db_urls):
    """Templates' own _/ngettext (saas.i18n) answer as Jinja's newstyle gettext does: translated, variables
    escaped under autoescape and not in plain text, "%%" formatted to "%", ngettext's num, a forced locale."""
    from flask import render_template_string
    from flask_babel import force_locale

    app = make_test_app(db_urls, BABEL_DEFAULT_LOCALE="zh_CN")
    with app.test_request_context("/"):
        assert render_template_string("{{ _('Sign out') }}") == "退出登录"
        assert render_template_string("{{ _('Hi %(name)s', name=n) }}", n="<b>") == "Hi &lt;b&gt;"
        assert render_template_string("{{ _('%(p)s%%', p=5) }} {{ _('100%%') }}") == "5% 100%"
        plain = app.jinja_env.overlay(autoescape=False).from_string("{{ _('Hi %(name)s', name=n) }}")
        assert plain.render(n="<b>") == "Hi <b>"
        many = "{{ ngettext('%(num)s home', '%(num)s homes', n) }}"
        assert render_template_string(many, n=1) == "1 home" and render_template_string(many, n=3) == "3 homes"
        with force_locale("en"):
            assert render_template_string("{{ _('Sign out') }}") == "Sign out"
        assert render_template_string("{{ _('Sign out') }}") == "退出登录"


def test_validation_messages_are_chinese_too(db_urls, two_companies):
    from tests.factories import login

    a, _ = two_companies
    app = make_test_app(db_urls, BABEL_DEFAULT_LOCALE="zh_CN")
    client = login(app.test_client(), a.admin)
    response = client.post(f"/c/{a.company.slug}/households", headers={"HX-Request": "true"},
                           data={"building_id": str(a.roster["buildings"][0]), "room": "", "floor_area": "0",
                                 "occupancy": "occupied"})
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "请填写房号" in body and "2000" in body and "Enter the room number" not in body


def test_every_string_in_the_code_is_in_the_catalog_and_translated(tmp_path):
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "extract", "-F", str(ROOT / "babel.cfg"),
         "-k", "_l", "-k", "lazy_gettext", "--no-location", "-o", str(pot), str(ROOT)],
        check=True, capture_output=True, cwd=ROOT,
    )
    with pot.open("rb") as f:
        wanted = {m.id for m in read_po(f) if m.id}
    with (ROOT / "translations/zh/LC_MESSAGES/messages.po").open("rb") as f:
        catalog = read_po(f)
    translated = {m.id for m in catalog if m.id and m.string and not m.fuzzy}
    missing = sorted(wanted - translated, key=str)
    assert not missing, f"untranslated (run `make extract` and translate): {missing}"
