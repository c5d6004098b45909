"""A select the person must answer starts empty ("请选择…") and says so when left empty.

A <select> with no empty first option and nothing marked selected shows its first choice, and a form sent without a
look at it files the household under the first building, hands homes to the first steward, and so on.
"""

from __future__ import annotations

from html.parser import HTMLParser

from sqlalchemy import func, select

from saas.extensions import db
from saas.tenancy import company_context
from tenants.roster.models import Household
from tenants.stewards.models import StewardAssignment

HX = {"HX-Request": "true"}


class _Selects(HTMLParser):
    """Every <select> inside a POST form: (name, [(value, selected)])."""

    def __init__(self):
        super().__init__()
        self.post_form = 0
        self.selects: list[tuple[str, list[tuple[str, bool]]]] = []
        self._current = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and (attrs.get("method") or "").lower() == "post":
            self.post_form += 1
        elif tag == "select" and self.post_form:
            self._current = (attrs.get("name") or "", [])
            self.selects.append(self._current)
        elif tag == "option" and self._current is not None:
            self._current[1].append((attrs.get("value") or "", "selected" in attrs))

    def handle_endtag(self, tag):
        if tag == "form" and self.post_form:
            self.post_form -= 1
        elif tag == "select":
            self._current = None


def _selects(body: str):
    parser = _Selects()
    parser.feed(body)
    return parser.selects


def test_no_form_select_silently_starts_on_its_first_real_choice(app, two_companies, login_as):
    from tests.test_isolation import _url, company_rules

    _, b = two_companies
    checked = 0
    for user in (b.admin, b.steward, b.technician, b.owner):
        client = login_as(user)
        for rule in company_rules(app):
            if "GET" not in rule.methods:
                continue
            response = client.get(_url(rule, b.company.slug, b))
            if response.status_code != 200 or response.mimetype != "text/html":
                continue
            for name, options in _selects(response.get_data(as_text=True)):
                checked += 1
                assert options and (options[0][0] == "" or any(sel for _, sel in options)), (
                    f"{rule.endpoint} ({user.name}): <select name={name!r}> starts on its first real choice "
                    f"{options[:1]} with nothing chosen")
    assert checked >= 10


def test_the_household_form_asks_for_a_building_instead_of_taking_the_first(app, two_companies, login_as):
    a, _ = two_companies
    admin = login_as(a.admin)
    # The add form is loaded when the admin opens it (the list does not carry every building as an option).
    page = admin.get(f"/c/{a.company.slug}/households?add_form=1", headers=HX).get_data(as_text=True)
    [options] = [o for name, o in _selects(page) if name == "building_id"]
    assert options[0] == ("", False) and not any(selected for _, selected in options)
    assert "Choose…" in page
    with app.app_context(), company_context(a.company.id):
        before = db.session.scalar(select(func.count()).select_from(Household))
    response = admin.post(f"/c/{a.company.slug}/households", headers=HX,
                          data={"building_id": "", "unit": "1", "room": "0909", "floor_area": "80",
                                "occupancy": "occupied"})
    assert response.status_code == 422 and "Choose a building." in response.get_data(as_text=True)
    with app.app_context(), company_context(a.company.id):
        assert db.session.scalar(select(func.count()).select_from(Household)) == before


def test_the_household_page_in_chinese_offers_qing_xuan_ze(app, two_companies, login_as):
    a, _ = two_companies
    admin = login_as(a.admin)
    admin.get("/lang/zh_CN")
    page = admin.get(f"/c/{a.company.slug}/households?add_form=1", headers=HX).get_data(as_text=True)
    assert '<option value="">请选择…</option>' in page


def test_the_repair_poster_form_asks_for_its_community(app, two_companies, login_as):
    a, _ = two_companies
    admin = login_as(a.admin)
    page = admin.get(f"/c/{a.company.slug}/work-orders/points").get_data(as_text=True)
    [options] = [o for name, o in _selects(page) if name == "community_id"]
    assert options[0] == ("", False)
    response = admin.post(f"/c/{a.company.slug}/work-orders/points", data={"name": "东门道闸", "community_id": ""})
    assert response.status_code == 422 and "Choose the community" in response.get_data(as_text=True)


def _current_assignments(app, world) -> int:
    with app.app_context(), company_context(world.company.id):
        return db.session.scalar(select(func.count()).select_from(StewardAssignment)
                                 .where(StewardAssignment.ended_at.is_(None)))


def test_assigning_homes_without_choosing_a_steward_is_refused_and_nobody_still_unassigns(app, two_companies,
                                                                                          login_as):
    a, _ = two_companies
    admin = login_as(a.admin)
    url = f"/c/{a.company.slug}/stewards/assign?building_id={a.ids['building_id']}"
    page = admin.get(url).get_data(as_text=True)
    [options] = [o for name, o in _selects(page) if name == "steward_id"]
    assert options[0] == ("", False) and options[-1][0] == "none"
    home = str(a.ids["household_id"])
    before = _current_assignments(app, a)
    response = admin.post(url, data={"steward_id": "", "household_ids": [home]})
    assert response.status_code == 422 and "Choose a steward, or “Nobody”" in response.get_data(as_text=True)
    assert _current_assignments(app, a) == before
    assert admin.post(url, data={"steward_id": "none", "household_ids": [home]}).status_code == 303
    assert _current_assignments(app, a) == before - 1


def test_the_handover_asks_whom_to_hand_over_to(app, two_companies, login_as, make_user):
    from saas.models import Role

    a, _ = two_companies
    make_user("第二位管家", memberships=[(a.company, Role.STEWARD)])
    admin = login_as(a.admin)
    url = f"/c/{a.company.slug}/stewards/{a.members[Role.STEWARD]}"
    page = admin.get(url).get_data(as_text=True)
    [options] = [o for name, o in _selects(page) if name == "to_steward_id"]
    assert options[0] == ("", False) and len(options) == 2
    response = admin.post(url + "/handover", data={"to_steward_id": "", "household_ids": [str(a.ids["household_id"])]})
    assert response.status_code == 422 and "Choose a steward." in response.get_data(as_text=True)


def test_a_job_taken_by_phone_asks_for_its_category(app, two_companies, login_as):
    a, _ = two_companies
    admin = login_as(a.admin)
    page = admin.get(f"/c/{a.company.slug}/work-orders/new").get_data(as_text=True)
    [options] = [o for name, o in _selects(page) if name == "category_id"]
    assert options[0] == ("", False)
    response = admin.post(f"/c/{a.company.slug}/work-orders/new",
                          data={"household_id": str(a.ids["household_id"]), "area": "home", "category_id": "",
                                "priority": "normal", "description": "漏水"})
    assert response.status_code == 422 and "Choose a category." in response.get_data(as_text=True)


def test_reassigning_a_job_asks_whom_to_give_it_to(app, two_companies, login_as):
    a, _ = two_companies
    admin = login_as(a.admin)
    page = admin.get(f"/c/{a.company.slug}/work-orders/{a.ids['order_id']}").get_data(as_text=True)
    [options] = [o for name, o in _selects(page) if name == "assignee_id"]
    assert options[0] == ("", False)
    response = admin.post(f"/c/{a.company.slug}/work-orders/{a.ids['order_id']}/actions/assign",
                          data={"assignee_id": ""})
    assert response.status_code == 422 and "Choose who should do this job." in response.get_data(as_text=True)
