"""Company isolation over every company route, found by walking app.url_map.

A new route under /c/<company_slug>/ is covered without anyone remembering to add it: if it takes an id
parameter this file does not know, the test fails and asks for it.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from saas.models import AuditEvent
from tenants.roster.models import Building, Community, Household

# URL parameters are filled from world.ids (tests/factories.py and the builders in tests/world/); a route
# whose parameter no builder provides fails test_every_company_route_is_known_to_this_test.

METHODS_TO_SKIP = {"HEAD", "OPTIONS"}


def company_rules(app):
    return [r for r in app.url_map.iter_rules() if r.endpoint.startswith("company.")]


def _form_data(world) -> dict:
    """Valid-looking data for every form field, so a leaking route would actually succeed."""
    return {
        "name": "越界写入", "address": "", "building_id": str(world.roster["buildings"][0]), "unit": "1",
        "room": "9999", "floor_area": "66.00", "occupancy": "vacant", "owner_name": "越界",
        "owner_phone": "13912345678", "phone": "13912345679", "role": "technician", "password": "long-enough-1",
    }


def _url(rule, slug: str, world) -> str:
    values = {"company_slug": slug}
    for arg in rule.arguments - {"company_slug"}:
        assert arg in world.ids, f"{rule.endpoint}: add URL parameter {arg!r} to a builder in tests/world/"
        values[arg] = world.ids[arg]
    return rule.build(values)[1]


def _snapshot(app, world) -> dict:
    from saas.extensions import db
    from saas.tenancy import company_context

    with app.app_context(), company_context(world.company.id):
        snapshot = {
            model.__name__: sorted(
                (str(o.id), repr(sorted((k, str(v)) for k, v in vars(o).items() if not k.startswith("_"))))
                for o in db.session.execute(select(model)).scalars()
            )
            for model in (Community, Building, Household, AuditEvent)
        }
        db.session.remove()
    return snapshot


def test_every_company_route_is_known_to_this_test(app, two_companies):
    rules = company_rules(app)
    assert len(rules) >= 20
    for world in two_companies:
        for rule in rules:
            for arg in rule.arguments - {"company_slug"}:
                assert arg in world.ids, f"{rule.endpoint}: add URL parameter {arg!r} to a builder in tests/world/"


def test_other_companys_slug_is_404_for_every_route_and_method(app, two_companies, login_as):
    a, b = two_companies
    client = login_as(b.admin)
    before = _snapshot(app, a)
    for rule in company_rules(app):
        for method in sorted(rule.methods - METHODS_TO_SKIP):
            url = _url(rule, a.company.slug, a)
            response = client.open(url, method=method, data=_form_data(a))
            assert response.status_code == 404, f"{method} {url} ({rule.endpoint}) → {response.status_code}"
    assert _snapshot(app, a) == before


def allowed_client(app, rule, world, login_as, clients: dict):
    """A signed-in client of ``world`` whose role the rule's view allows. A role the view refuses stops at 403
    before any id is looked up, so id checks must be made by a role that gets that far."""
    from saas.models import Role

    users = {Role.ADMIN: world.admin, Role.STEWARD: world.steward, Role.TECHNICIAN: world.technician,
             Role.OWNER: world.owner}
    role = app.view_functions[rule.endpoint].allowed_roles[0]
    if role not in clients:
        clients[role] = login_as(users[role])
    return clients[role]


def test_other_companys_ids_under_own_slug_are_404_for_every_method(app, two_companies, login_as):
    a, b = two_companies
    clients = {}
    before = _snapshot(app, a)
    checked = 0
    for rule in company_rules(app):
        if not rule.arguments - {"company_slug"}:
            continue
        client = allowed_client(app, rule, b, login_as, clients)
        for method in sorted(rule.methods - METHODS_TO_SKIP):
            url = _url(rule, b.company.slug, a)
            for headers in ({}, {"HX-Request": "true"}):
                response = client.open(url, method=method, data=_form_data(a), headers=headers)
                assert response.status_code == 404, f"{method} {url} ({rule.endpoint}) → {response.status_code}"
                checked += 1
    assert checked >= 20
    assert _snapshot(app, a) == before


def test_own_pages_never_show_another_companys_data(app, two_companies, login_as):
    a, b = two_companies
    markers = ["A标记业主", "A标记小区", a.company.name]
    from saas.extensions import db
    from saas.tenancy import company_context

    with app.app_context(), company_context(a.company.id):
        markers += [h.owner_phone for h in db.session.execute(select(Household)).scalars()]
    for user in (b.admin, b.steward, b.technician, b.owner):
        client = login_as(user)
        for rule in company_rules(app):
            if "GET" not in rule.methods:
                continue
            url = _url(rule, b.company.slug, b)
            for query in ("", "?q=业主", "?q=1"):
                response = client.get(url + query)
                assert response.status_code in (200, 303, 403), f"GET {url}{query} → {response.status_code}"
                body = _readable_text(response)
                for marker in markers:
                    assert marker not in body, f"GET {url}{query} shows company A's {marker!r} to {user.name}"


def _readable_text(response) -> str:
    """The text a person would see: the page, or every cell of a downloaded workbook."""
    if response.mimetype.startswith("text/") or response.mimetype == "application/json":
        return response.get_data(as_text=True)
    if response.mimetype.endswith("spreadsheetml.sheet"):
        import io

        from openpyxl import load_workbook

        workbook = load_workbook(io.BytesIO(response.get_data()), read_only=True)
        return "\n".join(str(v) for ws in workbook.worksheets for row in ws.iter_rows(values_only=True)
                         for v in row if v is not None)
    return response.get_data().decode("utf-8", errors="replace")


def test_unknown_company_slug_is_404(app, two_companies, login_as):
    _, b = two_companies
    client = login_as(b.admin)
    assert client.get("/c/no-such-company/").status_code == 404
    assert client.get("/c/no-such-company/households").status_code == 404


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_anonymous_users_are_sent_to_login(app, two_companies, method):
    a, _ = two_companies
    client = app.test_client()
    for rule in company_rules(app):
        if method not in rule.methods:
            continue
        url = _url(rule, a.company.slug, a)
        response = client.open(url, method=method)
        assert response.status_code == 302, f"{method} {url} → {response.status_code}"
        assert "/login" in response.headers["Location"]


def test_ended_membership_loses_access(app, two_companies, login_as):
    from saas.extensions import db
    from saas.models import Membership
    from saas.tenancy import company_context, utcnow

    a, _ = two_companies
    client = login_as(a.steward)
    assert client.get(f"/c/{a.company.slug}/steward").status_code == 200
    with app.app_context(), company_context(a.company.id):
        m = db.session.execute(select(Membership).where(Membership.user_id == a.steward.id)).scalar_one()
        m.ended_at = utcnow()
        db.session.commit()
    assert client.get(f"/c/{a.company.slug}/steward").status_code == 404
