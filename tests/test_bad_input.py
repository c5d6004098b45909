"""No request produces a bare 500: garbage ids, random form input, unknown methods."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from tests.test_isolation import allowed_client, company_rules

GARBAGE_IDS = ["not-a-uuid", "0", "%00", "00000000-0000-0000-0000-000000000000", "1" * 300, "'; DROP TABLE households;--"]


def test_garbage_ids_are_404_on_every_route_and_method(app, two_companies, login_as):
    a, _ = two_companies
    clients = {}
    for rule in company_rules(app):
        args = rule.arguments - {"company_slug"}
        if not args:
            continue
        client = allowed_client(app, rule, a, login_as, clients)
        for garbage in GARBAGE_IDS:
            values = {"company_slug": a.company.slug, **{arg: garbage for arg in args}}
            url = rule.build(values)[1]
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                response = client.open(url, method=method, headers={"HX-Request": "true"})
                assert response.status_code == 404, (method, url, response.status_code)


def test_wrong_method_is_405_with_a_page(app, two_companies, login_as):
    a, _ = two_companies
    client = login_as(a.admin)
    response = client.delete(f"/c/{a.company.slug}/households")
    assert response.status_code == 405 and "<html" in response.get_data(as_text=True)


_text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)


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
    assert response.status_code in (200, 422), response.status_code
    assert count() == before + (1 if response.status_code == 200 else 0)


@pytest.mark.parametrize("path", ["/login?next=%00", "/lang/%FF", "/c/%00/", "/c/" + "x" * 500 + "/households"])
def test_odd_urls_do_not_500(client, path):
    assert client.get(path).status_code < 500
