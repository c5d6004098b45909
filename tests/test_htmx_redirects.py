"""An htmx request never gets a bare redirect.

XMLHttpRequest follows a 3xx by itself and htmx swaps whatever comes back into its target: after an hx-post form
that is the whole next page, navbar and trial banner included, inside the form. Every POST that ends in a
redirect answers htmx with HX-Redirect instead (saas.htmx.redirect_to); a boosted request (hx-boost on <body>)
gets either that or a whole page, never a fragment meant for a part of one.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from saas.extensions import db
from saas.tenancy import company_context
from tenants.roster.models import Building, Community

HX = {"HX-Request": "true"}
BOOSTED = {"HX-Request": "true", "HX-Boosted": "true"}


def _is_whole_page(body: str) -> bool:
    return "<html" in body or "<body" in body or 'class="navbar' in body


def _hx_redirect(response) -> str:
    assert response.status_code == 200, (response.status_code, response.headers.get("Location"))
    assert not _is_whole_page(response.get_data(as_text=True))
    return response.headers["HX-Redirect"]


# The tests up to the POST walk use the base world's roster only (@pytest.mark.world(), tests/world/__init__.py).

# --- the three forms of onboarding step 2 ---------------------------------------------------------------------


@pytest.mark.world()
def test_adding_a_community_with_htmx_redirects_the_page_instead_of_swapping_a_page_into_the_form(
        app, two_companies, login_as):
    a, _ = two_companies
    admin = login_as(a.admin)
    response = admin.post(f"/c/{a.company.slug}/communities", data={"name": "新建小区", "address": "和平路 8 号"},
                          headers={**HX, "HX-Target": "community-form"})
    target = _hx_redirect(response)
    with app.app_context(), company_context(a.company.id):
        community = db.session.execute(select(Community).where(Community.name == "新建小区")).scalar_one()
    assert target == f"/c/{a.company.slug}/communities/{community.id}"
    assert "新建小区" in admin.get(target).get_data(as_text=True)  # the flash waits for the page


@pytest.mark.world()
def test_adding_a_building_with_htmx_redirects_the_page(app, two_companies, login_as):
    a, _ = two_companies
    community_id = a.ids["community_id"]
    response = login_as(a.admin).post(f"/c/{a.company.slug}/communities/{community_id}/buildings",
                                      data={"name": "9号楼"}, headers={**HX, "HX-Target": "building-form"})
    assert _hx_redirect(response) == f"/c/{a.company.slug}/communities/{community_id}"
    with app.app_context(), company_context(a.company.id):
        assert db.session.execute(select(Building).where(Building.name == "9号楼")).scalar_one()


@pytest.mark.world()
def test_editing_a_community_with_htmx_redirects_the_page(app, two_companies, login_as):
    a, _ = two_companies
    community_id = a.ids["community_id"]
    response = login_as(a.admin).post(f"/c/{a.company.slug}/communities/{community_id}",
                                      data={"name": "改名小区", "address": "新地址"},
                                      headers={**HX, "HX-Target": "community-edit-form"})
    assert _hx_redirect(response) == f"/c/{a.company.slug}/communities/{community_id}"


@pytest.mark.world()
def test_the_same_forms_without_htmx_still_answer_303(two_companies, login_as):
    a, _ = two_companies
    response = login_as(a.admin).post(f"/c/{a.company.slug}/communities", data={"name": "普通表单小区"})
    assert response.status_code == 303 and "/communities/" in response.headers["Location"]


@pytest.mark.world()
def test_a_community_form_with_a_mistake_still_answers_with_the_form_alone(two_companies, login_as):
    a, _ = two_companies
    response = login_as(a.admin).post(f"/c/{a.company.slug}/communities", data={"name": ""},
                                      headers={**HX, "HX-Target": "community-form"})
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="community-form"' in body and not _is_whole_page(body)


# --- boosted forms and links get whole pages --------------------------------------------------------------------


@pytest.mark.world()
def test_the_boosted_household_edit_page_form_gets_a_redirect_not_a_table_row(two_companies, login_as):
    a, _ = two_companies
    admin = login_as(a.admin)
    hid = a.ids["household_id"]
    page = admin.get(f"/c/{a.company.slug}/households/{hid}/edit", headers=BOOSTED).get_data(as_text=True)
    assert _is_whole_page(page)  # the "Edit" link on the household page is boosted
    data = {"building_id": str(a.ids["building_id"]), "unit": "1", "room": "0808", "floor_area": "90.00",
            "occupancy": "vacant", "owner_name": "", "owner_phone": ""}
    response = admin.post(f"/c/{a.company.slug}/households/{hid}", data=data, headers=BOOSTED)
    assert _hx_redirect(response) == f"/c/{a.company.slug}/households"
    bad = admin.post(f"/c/{a.company.slug}/households/{hid}", data={**data, "floor_area": "0"}, headers=BOOSTED)
    assert bad.status_code == 422 and _is_whole_page(bad.get_data(as_text=True))


@pytest.mark.world()
def test_the_boosted_restore_button_on_a_household_page_gets_a_redirect_not_a_table_row(two_companies, login_as):
    a, _ = two_companies
    admin = login_as(a.admin)
    hid = a.ids["household_id"]
    assert admin.post(f"/c/{a.company.slug}/households/{hid}/delete", headers=HX).status_code == 200
    response = admin.post(f"/c/{a.company.slug}/households/{hid}/restore", headers=BOOSTED)
    assert _hx_redirect(response) == f"/c/{a.company.slug}/households/{hid}"


@pytest.mark.world()
def test_a_boosted_post_that_fails_validation_gets_the_whole_page_not_its_block(two_companies, login_as):
    a, _ = two_companies
    response = login_as(a.admin).post(f"/c/{a.company.slug}/communities", data={"name": ""}, headers=BOOSTED)
    assert response.status_code == 422 and _is_whole_page(response.get_data(as_text=True))


# --- signed out ------------------------------------------------------------------------------------------------


@pytest.mark.world()
def test_an_htmx_request_after_the_session_ended_is_sent_to_sign_in_from_the_page_it_came_from(two_companies, app):
    a, _ = two_companies
    page = f"http://localhost/c/{a.company.slug}/communities/{a.ids['community_id']}?tab=1"
    response = app.test_client().post(f"/c/{a.company.slug}/communities/{a.ids['community_id']}/buildings",
                                      data={"name": "x"}, headers={**HX, "HX-Current-URL": page})
    assert _hx_redirect(response) == (f"/login?next=/c/{a.company.slug}/communities/{a.ids['community_id']}"
                                      "?tab%3D1")
    plain = app.test_client().get(f"/c/{a.company.slug}/communities")
    assert plain.status_code == 302 and plain.headers["Location"].startswith("/login?next=")
    admin_area = app.test_client().post("/admin/companies/x/trial", headers=HX)
    assert _hx_redirect(admin_area).startswith("/login?next=")


# --- every POST route -------------------------------------------------------------------------------------------

# Run last: they remove or change what later routes act on (the steward made a technician), or sign out.
_DESTRUCTIVE = ("delete", "archive", "end", "revoke", "handover", "change_role", "logout")


def _order(rule) -> tuple:
    name = rule.endpoint.rsplit(".", 1)[-1]
    return (rule.endpoint == "auth.logout", any(word in name for word in _DESTRUCTIVE), rule.endpoint)


def _post_rules(app):
    rules = [r for r in app.url_map.iter_rules() if "POST" in r.methods
             and r.endpoint not in ("subscriptions.stripe_webhook", "wechatpay.notify")]  # payment servers post JSON
    return sorted(rules, key=_order)


def _form_data(world) -> dict:
    from tests.test_isolation import _form_data as isolation_form_data

    return {**isolation_form_data(world), "login": world.admin.phone, "description": "门口灯不亮", "days": "7",
            "note": "测试", "text": "测试", "kind": "call", "capacity": "40", "plan": "basic", "months": "1",
            "reference": "R-1", "steward_id": "", "direction": "up", "community_id": str(world.ids["community_id"])}


@pytest.fixture
def world_b(two_companies):
    """Company B, every builder included: the walks fill every POST route's parameters with its objects."""
    return two_companies[1]


def test_no_post_route_answers_an_htmx_request_with_a_redirect(app, world_b, login_as, make_user):
    from tests.test_isolation import allowed_client, route_values

    world = world_b
    clients: dict = {}
    platform = login_as(make_user("平台", platform_admin=True))
    signed_in = login_as(world.owner)
    redirected = set()
    for rule in _post_rules(app):
        url = rule.build(route_values(app, rule, world))[1]
        if rule.endpoint.startswith("company."):
            client = allowed_client(app, rule, world, login_as, clients)
        elif rule.endpoint.startswith("admin."):
            client = platform
        elif rule.endpoint.startswith("auth.") and rule.endpoint != "auth.login":
            client = signed_in  # the account pages, and sign-out last of all
        else:
            client = app.test_client()
        for headers in (HX, BOOSTED):
            response = client.post(url, data=_form_data(world), headers=headers)
            where = f"POST {url} ({rule.endpoint}) with {headers}"
            assert not 300 <= response.status_code < 400, f"{where} → {response.status_code} {response.location}"
            body = response.get_data(as_text=True)
            if "HX-Redirect" in response.headers:
                assert response.headers["HX-Redirect"].startswith("/"), where
                assert not _is_whole_page(body), where
                redirected.add(rule.endpoint)
            elif headers is BOOSTED and body and "HX-Retarget" not in response.headers \
                    and response.mimetype == "text/html":
                # htmx puts a boosted answer in place of the <body>: a fragment there would be the whole page.
                assert _is_whole_page(body), f"{where} → a fragment ({response.status_code}) for a boosted request"
    # The walk reached the success of most forms (a walk that only met validation errors would prove little).
    assert len(redirected) >= 25, sorted(redirected)


def test_no_post_route_sends_a_signed_out_htmx_request_to_a_bare_redirect(app, world_b):
    from tests.test_isolation import route_values

    world = world_b
    client = app.test_client()
    for rule in _post_rules(app):
        url = rule.build(route_values(app, rule, world))[1]
        response = client.post(url, headers=HX)
        assert not 300 <= response.status_code < 400, f"POST {url} ({rule.endpoint}) → {response.status_code}"
