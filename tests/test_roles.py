"""Each role sees only what it may. Driven by the url_map and each view's @require_role declaration,
plus explicit checks of what a technician and an owner can and cannot see.

Every route has an audience (AUDIENCES) or is listed in NOT_WALKED with the reason; a new route that has neither
fails test_every_route_has_an_audience with its name."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from saas.models import Role
from tests.test_isolation import company_rules, route_values

pytestmark = pytest.mark.world("all")  # the walks fill every route: every world builder

# Who may open a route: the first entry its endpoint matches (a name ending in "." is a prefix).
AUDIENCES = {
    "company.": "members",          # per the view's @require_role (test_roles_get_exactly_the_pages_their_views_allow)
    "public_company.": "anyone",    # the public resolver: no sign-in, every role and the platform alike
    "admin.": "platform",           # platform admins only; a company's users get 404
    "auth.home": "signed_in",
    "auth.change_password": "signed_in",
    "auth.login": "anyone",
    "auth.set_language": "anyone",
    "public.": "anyone",
    "signup.": "anyone",
    "intake.": "anyone",            # the QR poster's form: a passer-by
    "owners.": "anyone",            # invitations and joining: before there is an account
    "static": "anyone",
    "ratings.": "anyone",           # the red/black list's public pages and the report form
}

NOT_WALKED = {
    "auth.logout": "POST only, for whoever is signed in; tests/test_sessions.py signs out and revokes",
    "subscriptions.stripe_webhook": "no person: Stripe's server, trusted by signature (tests/test_stripe_webhooks.py)",
    "wechatpay.notify": "no person: WeChat Pay's server, trusted by signature (tests/test_wechat_pay.py)",
}


def audience_of(endpoint: str) -> str | None:
    for key, audience in AUDIENCES.items():
        if endpoint == key or (key.endswith(".") and endpoint.startswith(key)):
            return audience
    return None


def _url(rule, world):
    values = {"company_slug": world.company.slug}
    values.update({arg: world.ids[arg] for arg in rule.arguments - {"company_slug"}})
    return rule.build(values)[1]


def test_every_route_has_an_audience(app):
    endpoints = {r.endpoint for r in app.url_map.iter_rules()}
    unknown = sorted(e for e in endpoints if audience_of(e) is None and e not in NOT_WALKED)
    assert not unknown, f"give these routes an audience in tests/test_roles.py, or list them with why: {unknown}"
    assert not set(NOT_WALKED) - endpoints, f"NOT_WALKED lists gone routes: {sorted(set(NOT_WALKED) - endpoints)}"
    assert not {e for e in NOT_WALKED if audience_of(e)}, "a route is both walked and listed as not walked"


def _get_rules(app, audience):
    return [r for r in app.url_map.iter_rules() if audience_of(r.endpoint) == audience and "GET" in r.methods]


def test_anyone_pages_open_signed_out_and_for_every_role(app, two_companies, login_as, make_user):
    a, _ = two_companies
    clients = {"anonymous": app.test_client(), "platform admin": login_as(make_user("平台", platform_admin=True))}
    clients.update({user.name: login_as(user) for user in (a.admin, a.steward, a.technician, a.owner)})
    for who, client in clients.items():
        for rule in _get_rules(app, "anyone"):
            url = rule.build(route_values(app, rule, a))[1]
            response = client.get(url)
            assert response.status_code < 400, (who, url, rule.endpoint, response.status_code)
            if rule.endpoint.startswith("public_company."):
                assert response.status_code == 200, (who, url, response.status_code)


def test_signed_in_pages_ask_strangers_to_sign_in(app, two_companies, login_as):
    a, _ = two_companies
    anonymous, member = app.test_client(), login_as(a.technician)
    for rule in _get_rules(app, "signed_in"):
        url = rule.build(route_values(app, rule, a))[1]
        response = anonymous.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"], (url, response.status_code)
        assert member.get(url).status_code in (200, 302, 303), url


def test_platform_pages_are_for_platform_admins_only(app, two_companies, login_as, make_user):
    a, _ = two_companies
    platform = login_as(make_user("平台", platform_admin=True))
    members = [login_as(user) for user in (a.admin, a.steward, a.technician, a.owner)]
    anonymous = app.test_client()
    for rule in _get_rules(app, "platform"):
        url = rule.build(route_values(app, rule, a))[1]
        assert platform.get(url).status_code == 200, url
        for client in members:
            assert client.get(url).status_code == 404, url
        response = anonymous.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"], url


def test_every_company_view_declares_its_roles(app):
    for rule in company_rules(app):
        assert getattr(app.view_functions[rule.endpoint], "allowed_roles", None), rule.endpoint


def test_roles_get_exactly_the_pages_their_views_allow(app, two_companies, login_as):
    a, _ = two_companies
    users = {Role.ADMIN: a.admin, Role.STEWARD: a.steward, Role.TECHNICIAN: a.technician, Role.OWNER: a.owner,
             Role.CASHIER: a.cashier}
    for role, user in users.items():
        client = login_as(user)
        for rule in company_rules(app):
            allowed = role in app.view_functions[rule.endpoint].allowed_roles
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                if method != "GET" and allowed:
                    continue  # writes by allowed roles are tested module by module
                response = client.open(_url(rule, a), method=method)
                if allowed:
                    assert response.status_code in (200, 303), (role, method, rule.rule, response.status_code)
                else:
                    assert response.status_code == 403, (role, method, rule.rule, response.status_code)


def test_admin_pages_are_admin_only(app):
    for endpoint in ("company.members.index", "company.audit.index", "company.roster.create_household",
                     "company.roster.update_household", "company.roster.delete_household"):
        assert app.view_functions[endpoint].allowed_roles == (Role.ADMIN,)


@pytest.mark.world()
def test_technician_never_sees_owner_phone_numbers(app, two_companies, login_as):
    from saas.extensions import db
    from saas.tenancy import company_context
    from tenants.roster.models import Household

    a, _ = two_companies
    with app.app_context(), company_context(a.company.id):
        phones = [h.owner_phone for h in db.session.execute(select(Household)).scalars()]
        names = [h.owner_name for h in db.session.execute(select(Household)).scalars()]
    client = login_as(a.technician)
    for url in (f"/c/{a.company.slug}/", f"/c/{a.company.slug}/communities",
                f"/c/{a.company.slug}/communities/{a.roster['communities'][0]}"):
        body = client.get(url).get_data(as_text=True)
        assert not any(p in body for p in phones), url
        assert not any(n in body for n in names), url
    assert client.get(f"/c/{a.company.slug}/households").status_code == 403
    assert client.get(f"/c/{a.company.slug}/households/{a.roster['households'][1]}").status_code == 403


@pytest.mark.world()
def test_owner_sees_only_their_own_household(app, two_companies, login_as):
    from saas.extensions import db
    from saas.tenancy import company_context
    from tenants.roster.models import Household

    a, _ = two_companies
    client = login_as(a.owner)
    response = client.get(f"/c/{a.company.slug}/")
    assert response.status_code == 303 and response.headers["Location"].endswith("/my")
    body = client.get(f"/c/{a.company.slug}/my").get_data(as_text=True)
    with app.app_context(), company_context(a.company.id):
        mine = db.session.execute(select(Household).where(Household.id == a.owner_household_id)).scalar_one()
        others = db.session.execute(select(Household).where(Household.id != mine.id)).scalars().all()
        assert mine.room_label in body
        for other in others:
            assert other.owner_name not in body and other.owner_phone not in body
    assert client.get(f"/c/{a.company.slug}/households").status_code == 403
    assert client.get(f"/c/{a.company.slug}/communities").status_code == 403


@pytest.mark.world("stewards")
def test_steward_sees_personal_details_only_of_their_own_households(app, two_companies, login_as):
    from saas.extensions import db
    from saas.tenancy import company_context
    from tenants.roster.models import Household

    a, _ = two_companies
    mine, *others = a.roster["households"]
    with app.app_context(), company_context(a.company.id):
        homes = {h.id: (h.owner_name, h.owner_phone) for h in db.session.execute(select(Household)).scalars()}
    client = login_as(a.steward)
    slug = a.company.slug
    # The company-wide roster with owners' details is for admins.
    assert client.get(f"/c/{slug}/households").status_code == 403
    assert client.get(f"/c/{slug}/households/{mine}").status_code == 403
    assert client.post(f"/c/{slug}/households/{mine}/delete").status_code == 403
    body = client.get(f"/c/{slug}/steward").get_data(as_text=True)
    assert homes[mine][0] in body
    for other in others:
        assert homes[other][1] not in body  # phones are unique; names repeat across buildings
        assert client.get(f"/c/{slug}/steward/households/{other}").status_code == 404
    page = client.get(f"/c/{slug}/steward/households/{mine}")
    assert page.status_code == 200 and homes[mine][1] in page.get_data(as_text=True)


@pytest.mark.world()
def test_platform_admin_sees_company_list_and_others_do_not(app, two_companies, make_user, login_as):
    a, b = two_companies
    platform_admin = make_user("平台", platform_admin=True)
    body = login_as(platform_admin).get("/admin/").get_data(as_text=True)
    assert a.company.name in body and b.company.name in body
    assert login_as(a.admin).get("/admin/").status_code == 404
    assert app.test_client().get("/admin/").status_code == 302
