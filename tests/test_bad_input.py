"""No request produces a bare 500: garbage ids, random form input, unknown methods. Every route of the url_map is
walked (test_every_route_takes_garbage_without_a_500); a new route is covered without anyone remembering to."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from tests.test_isolation import allowed_client, route_values

pytestmark = pytest.mark.world("all")  # the walk fills every route: every world builder

GARBAGE_IDS = ["not-a-uuid", "0", "%00", "00000000-0000-0000-0000-000000000000", "1" * 300, "'; DROP TABLE households;--"]
GARBAGE_FORM = {"name": "\x00'; DROP TABLE x;--", "phone": "1" * 300, "days": "-1", "months": "1e9", "plan": "<x>",
                "code": "%00", "password": "", "login": "' OR 1=1", "q": "\ud7ff" * 3, "page": "-5"}
GARBAGE_FORM_NO_NUL = {key: value.replace("\x00", "") for key, value in GARBAGE_FORM.items()}
GARBAGE_QUERY = "?page=-1&q=%00&sort=%27&status=nope&tab=../../etc"

# Routes that answer a garbage URL parameter with something other than 404 (never a 500), and why.
NOT_404 = {
    "auth.set_language": "an unknown language is ignored: 303 back to where the visitor was",
}

# Signed out last: the walk of auth.logout ends the session its client holds.
_LAST = ("auth.logout",)


def _clients(app, world, login_as, make_user):
    """rule → a client that gets past the rule's access check, so its parameters are actually looked up."""
    signed_in = login_as(world.admin)
    platform = login_as(make_user("平台", platform_admin=True))
    anonymous = app.test_client()
    company: dict = {}

    def client_for(rule):
        if rule.endpoint.startswith("company."):
            return allowed_client(app, rule, world, login_as, company)
        if rule.endpoint.startswith("admin."):
            return platform
        if rule.endpoint.startswith("auth.") and rule.endpoint != "auth.login":
            return signed_in
        return anonymous

    return client_for


def test_every_route_takes_garbage_without_a_500(app, two_companies, login_as, make_user):
    a, _ = two_companies
    client_for = _clients(app, a, login_as, make_user)
    rules = sorted(app.url_map.iter_rules(), key=lambda r: (r.endpoint in _LAST, r.endpoint))
    walked = 0
    for rule in rules:
        client = client_for(rule)
        args = rule.arguments
        methods = sorted(rule.methods - {"HEAD", "OPTIONS"})
        if not args:
            for method in methods:
                response = client.open(rule.rule + GARBAGE_QUERY, method=method, data=GARBAGE_FORM,
                                       headers={"HX-Request": "true"})
                assert response.status_code < 500, (method, rule.rule, response.status_code)
                walked += 1
            continue
        own = route_values(app, rule, a)
        for garbage in GARBAGE_IDS:
            for arg in sorted(args):
                url = rule.build({**own, arg: garbage})[1]
                for method in methods:
                    # A NUL in the form is refused (400) before any view looks the id up: test that apart.
                    response = client.open(url, method=method, data=GARBAGE_FORM_NO_NUL,
                                           headers={"HX-Request": "true"})
                    where = (method, url, rule.endpoint, response.status_code)
                    assert response.status_code < 500, where
                    if rule.endpoint not in NOT_404:
                        assert response.status_code == 404, where
                    walked += 1
    assert walked >= 500
    stale = sorted(set(NOT_404) - {r.endpoint for r in rules})
    assert not stale, f"NOT_404 lists routes that no longer exist: {stale}"


@pytest.mark.world()
def test_wrong_method_is_405_with_a_page(app, two_companies, login_as):
    a, _ = two_companies
    client = login_as(a.admin)
    response = client.delete(f"/c/{a.company.slug}/households")
    assert response.status_code == 405 and "<html" in response.get_data(as_text=True)


_text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)


@pytest.mark.world()
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.fixed_dictionaries({
    "building_id": st.one_of(_text, st.just("")),
    "unit": _text, "room": _text, "floor_area": st.one_of(_text, st.decimals(allow_nan=True).map(str)),
    "occupancy": st.sampled_from(["occupied", "vacant", "undelivered", "", "x"]),
    "owner_name": _text, "owner_phone": _text,
}))
def test_random_household_input_never_500s_and_only_valid_input_writes(app, two_companies, login_as, data):
    from saas.extensions import db
    from saas.tenancy import company_context
    from tenants.roster.models import Household

    a, _ = two_companies
    client = login_as(a.admin)

    def count():
        with app.app_context(), company_context(a.company.id):
            return db.session.scalar(select(func.count()).select_from(Household))

    before = count()
    response = client.post(f"/c/{a.company.slug}/households", data=data, headers={"HX-Request": "true"})
    has_nul = any("\x00" in str(value) for value in data.values())
    assert response.status_code == (400 if has_nul else response.status_code) and response.status_code in (200, 422, 400)
    assert count() == before + (1 if response.status_code == 200 else 0)


@pytest.mark.parametrize("path", ["/login?next=%00", "/lang/%FF", "/c/%00/", "/c/" + "x" * 500 + "/households"])
def test_odd_urls_do_not_500(client, path):
    assert client.get(path).status_code < 500


def test_a_nul_character_is_refused_before_it_reaches_the_database(app, two_companies, login_as):
    """PostgreSQL cannot store NUL: "%00" anywhere must be a clear 400/404 on every database, never a 500."""
    a, _ = two_companies
    client = login_as(a.admin)
    assert client.get(f"/c/{a.company.slug}/households?q=a%00b").status_code == 400
    assert client.get("/c/a%00b/").status_code == 404
    assert app.test_client().get("/p/a%00b/").status_code == 404
    response = client.post(f"/c/{a.company.slug}/communities", data={"name": "a\x00b", "address": "x"})
    assert response.status_code == 400 and "NUL" in response.get_data(as_text=True)
