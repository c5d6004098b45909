"""The company menu is drawn once per (company, role, language) and kept (tenants/menu.py): a kept menu must never
show another company's links, another role's entries or another language."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.world()


def _menu(client, slug: str) -> str:
    response = client.get(f"/c/{slug}/notifications")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    return page[page.index('<ul class="navbar-nav me-auto">'):page.index('<ul class="navbar-nav">')]


def test_each_company_role_and_language_has_its_own_menu(app, two_companies, login_as):

    a, b = two_companies
    app.extensions["company_menus"].clear()
    a_admin, b_admin = login_as(a.admin), login_as(b.admin)
    for _ in range(2):  # drawn, then kept
        first, second = _menu(a_admin, "company-a"), _menu(b_admin, "company-b")
        assert 'href="/c/company-a/households' in first and "company-b" not in first
        assert 'href="/c/company-b/households' in second and "company-a" not in second
        assert "Members" in first and "Plan and billing" in first
    assert len(app.extensions["company_menus"]) == 2

    owner = _menu(login_as(a.owner), "company-a")
    assert "My bills" in owner and "/households" not in owner and "Members" not in owner
    steward = _menu(login_as(a.steward), "company-a")
    assert "My households" in steward and "Members" not in steward

    with a_admin.session_transaction() as session:
        session["lang"] = "zh_CN"
    chinese = _menu(a_admin, "company-a")
    assert "房屋" in chinese and "Members" not in chinese
    assert "Members" in _menu(login_as(a.admin), "company-a")  # the English menu is still kept as it was


def test_the_kept_menus_are_bounded(app, two_companies, login_as, monkeypatch):

    from tenants import menu

    a, b = two_companies
    monkeypatch.setattr(menu, "MAX_MENUS", 2)
    app.extensions["company_menus"].clear()
    _menu(login_as(a.admin), "company-a")
    _menu(login_as(b.admin), "company-b")
    assert len(app.extensions["company_menus"]) == 2
    assert "My bills" in _menu(login_as(a.owner), "company-a")
    assert len(app.extensions["company_menus"]) == 1
