"""Read-only mode after the trial ends: every write to every company route is refused before its view runs,
with the reason and an upgrade link; reading, exporting and paying still work; nothing is deleted or hidden.

Routes are found by walking app.url_map (as tests/test_isolation.py does), so a new route is covered by itself.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, text

from saas.extensions import db
from saas.models import Company, SubscriptionStatus
from saas.tenancy import utcnow
from tests.test_isolation import _form_data, _url, company_rules

WRITE_METHODS_SKIPPED = {"GET", "HEAD", "OPTIONS"}
READ_ONLY_TEXT = "so this company is read-only"


def _expire(app, company_id, **values):
    values = values or {"trial_ends_at": utcnow() - timedelta(days=1)}
    with app.app_context():
        company = db.session.get(Company, company_id)
        for key, value in values.items():
            setattr(company, key, value)
        db.session.commit()


def _database(owner_engine) -> dict:
    """Every row of every table, read as the table owner (no company filter, no row-level security)."""
    snapshot = {}
    with owner_engine.connect() as conn:
        for table in db.metadata.sorted_tables:
            rows = conn.execute(text(f"SELECT * FROM {table.name}")).all()
            snapshot[table.name] = sorted(repr(tuple(str(v) for v in row)) for row in rows)
    return snapshot


def _upgrade_href(app, slug: str) -> str:
    with app.test_request_context():
        from flask import url_for

        if "company.plan.index" in app.view_functions:
            return url_for("company.plan.index", company_slug=slug)
        return url_for("public.pricing")


def _block(body: str, marker: str) -> str:
    """The first <div> whose opening tag contains ``marker``, up to its closing tag (these hold no nested divs)."""
    start = body.find(marker)
    assert start >= 0, f"{marker!r} not on the page"
    start = body.rfind("<div", 0, start)
    return body[start: body.index("</div>", start)]


def _refusal(body: str) -> str:
    return _block(body, "read-only-refusal")


def _banner(body: str) -> str:
    return _block(body, 'id="company-banner"')


def _writes(app):
    for rule in company_rules(app):
        for method in sorted(rule.methods - WRITE_METHODS_SKIPPED):
            yield rule, method


def test_every_write_to_a_read_only_company_is_refused_and_changes_nothing(app, two_companies, login_as,
                                                                          owner_engine):
    a, _ = two_companies
    _expire(app, a.company.id)
    client = login_as(a.admin)
    before = _database(owner_engine)
    upgrade = _upgrade_href(app, a.company.slug)
    checked = 0
    for rule, method in _writes(app):
        view = app.view_functions[rule.endpoint]
        if getattr(view, "allowed_when_read_only", False):
            continue
        url = _url(rule, a.company.slug, a)
        response = client.open(url, method=method, data=_form_data(a))
        body = response.get_data(as_text=True)
        assert response.status_code == 403, f"{method} {url} ({rule.endpoint}) → {response.status_code}"
        assert READ_ONLY_TEXT in _refusal(body) and f'href="{upgrade}"' in _refusal(body), \
            f"{method} {url}: no reason or link"
        assert "<html" in body

        response = client.open(url, method=method, data=_form_data(a), headers={"HX-Request": "true"})
        body = response.get_data(as_text=True)
        assert response.status_code == 403, f"htmx {method} {url} → {response.status_code}"
        assert response.headers["HX-Retarget"] == "#flash" and response.headers["HX-Reswap"] == "afterbegin"
        assert READ_ONLY_TEXT in _refusal(body) and f'href="{upgrade}"' in _refusal(body) and "<html" not in body
        checked += 1
    assert checked >= 10
    assert _database(owner_engine) == before


def test_other_roles_are_refused_too_and_learn_to_ask_their_admin(app, two_companies, login_as, owner_engine):
    a, _ = two_companies
    _expire(app, a.company.id)
    clients = {user.name: login_as(user) for user in (a.steward, a.technician, a.owner)}  # sign-ins write
    before = _database(owner_engine)
    for name, client in clients.items():
        for rule, method in _writes(app):
            if getattr(app.view_functions[rule.endpoint], "allowed_when_read_only", False):
                continue
            response = client.open(_url(rule, a.company.slug, a), method=method, data=_form_data(a))
            assert response.status_code == 403, (name, method, rule.rule)
            assert "Ask your company admin to choose a plan." in _refusal(response.get_data(as_text=True))
    assert _database(owner_engine) == before


def test_every_page_still_reads_after_the_trial_ends(app, two_companies, login_as):
    a, _ = two_companies
    _expire(app, a.company.id)
    users = {"admin": a.admin, "steward": a.steward, "technician": a.technician, "owner": a.owner}
    for role, user in users.items():
        client = login_as(user)
        for rule in company_rules(app):
            if "GET" not in rule.methods:
                continue
            url = _url(rule, a.company.slug, a)
            response = client.get(url)
            allowed = role in {r.value for r in app.view_functions[rule.endpoint].allowed_roles}
            expected = (200, 303) if allowed else (403,)
            assert response.status_code in expected, f"{role} GET {url} → {response.status_code}"


def test_data_stays_visible_after_the_trial_ends(app, two_companies, login_as):
    a, _ = two_companies
    _expire(app, a.company.id)
    client = login_as(a.admin)
    body = client.get(f"/c/{a.company.slug}/households").get_data(as_text=True)
    assert "A标记业主0" in body and "A标记业主1" in body
    assert "A标记小区1" in client.get(f"/c/{a.company.slug}/communities").get_data(as_text=True)


def test_exporting_and_paying_are_allowed_when_read_only(app):
    """Company data must stay exportable and a plan payable: those writes carry @allowed_when_read_only."""
    for rule, method in _writes(app):
        if rule.endpoint.startswith(("company.exports.", "company.plan.")):
            assert getattr(app.view_functions[rule.endpoint], "allowed_when_read_only", False), \
                f"{method} {rule.rule} ({rule.endpoint}) must work in read-only mode"


def test_a_view_marked_allowed_when_read_only_still_runs(app, two_companies, login_as, monkeypatch):
    a, _ = two_companies
    _expire(app, a.company.id)
    view = app.view_functions["company.roster.create_community"]
    client = login_as(a.admin)
    url = f"/c/{a.company.slug}/communities"
    assert client.post(url, data={"name": "新小区"}).status_code == 403
    monkeypatch.setattr(view, "allowed_when_read_only", True, raising=False)
    assert client.post(url, data={"name": "新小区"}).status_code == 303


def test_writes_work_while_the_trial_runs_and_again_after_upgrading(app, two_companies, login_as):
    a, _ = two_companies
    client = login_as(a.admin)
    url = f"/c/{a.company.slug}/communities"
    _expire(app, a.company.id, trial_ends_at=utcnow() + timedelta(hours=1))
    assert client.post(url, data={"name": "试用中"}).status_code == 303
    _expire(app, a.company.id)
    assert client.post(url, data={"name": "过期了"}).status_code == 403
    _expire(app, a.company.id, subscription_status=SubscriptionStatus.ACTIVE, plan_code="basic")
    assert client.post(url, data={"name": "付费了"}).status_code == 303


@pytest.mark.parametrize("values, message, upgrade", [
    ({"subscription_status": SubscriptionStatus.CANCELED}, "This company has no active plan", True),
    ({"suspended_at": utcnow(), "subscription_status": SubscriptionStatus.ACTIVE}, "This company is suspended",
     False),
])
def test_ended_plans_and_suspensions_are_read_only_too(app, two_companies, login_as, values, message, upgrade):
    a, _ = two_companies
    _expire(app, a.company.id, **values)
    client = login_as(a.admin)
    response = client.post(f"/c/{a.company.slug}/communities", data={"name": "新小区"})
    body = response.get_data(as_text=True)
    assert response.status_code == 403 and message in _refusal(body)
    assert (f'href="{_upgrade_href(app, a.company.slug)}"' in _refusal(body)) == upgrade
    # and the banner says so on every page
    page = client.get(f"/c/{a.company.slug}/communities").get_data(as_text=True)
    assert message in _banner(page)
    assert (f'href="{_upgrade_href(app, a.company.slug)}"' in _banner(page)) == upgrade


def test_banner_warns_and_links_to_the_upgrade_on_every_page(app, two_companies, login_as):
    a, b = two_companies
    _expire(app, a.company.id)
    upgrade = _upgrade_href(app, a.company.slug)
    banner = _banner(login_as(a.admin).get(f"/c/{a.company.slug}/").get_data(as_text=True))
    assert "alert-danger" in banner
    assert "The free trial has ended" in banner and f'href="{upgrade}"' in banner
    steward = _banner(login_as(a.steward).get(f"/c/{a.company.slug}/communities").get_data(as_text=True))
    assert "The free trial has ended" in steward and "Ask your company admin to choose a plan." in steward
    assert f'href="{upgrade}"' not in steward
    owner = _banner(login_as(a.owner).get(f"/c/{a.company.slug}/my").get_data(as_text=True))
    assert "nothing can be submitted or changed right now" in owner
    # Company B's trial is running: no read-only warning there.
    assert "read-only" not in login_as(b.admin).get(f"/c/{b.company.slug}/").get_data(as_text=True)


def test_other_companies_are_unaffected(app, two_companies, login_as):
    a, b = two_companies
    _expire(app, a.company.id)
    assert login_as(b.admin).post(f"/c/{b.company.slug}/communities", data={"name": "乙新小区"}).status_code == 303
    # A stranger still learns nothing about A, read-only or not.
    assert login_as(b.admin).post(f"/c/{a.company.slug}/communities", data={"name": "x"}).status_code == 404


def test_read_only_companies_still_sign_in(app, two_companies, login_as):
    a, _ = two_companies
    _expire(app, a.company.id)
    client = login_as(a.admin)  # asserts the 303
    assert client.get("/home").status_code in (200, 302, 303)
    with app.app_context():
        assert db.session.execute(select(Company).where(Company.id == a.company.id)).scalar_one().is_read_only()
