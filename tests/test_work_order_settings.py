"""The admin's work-order settings: categories (add, edit, technicians, order, archive, restore), SLA deadlines per
category and priority (and that new jobs get them), the SLA calendar, and who may change any of it."""

from __future__ import annotations

import re
from contextlib import contextmanager
from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import func, select

from saas.clock import SHANGHAI
from saas.extensions import db
from saas.models import AuditEvent, Membership, Role
from saas.tenancy import company_context
from tenants.work_orders import queries, services
from tenants.work_orders import settings_services as ss
from tenants.work_orders.models import (
    DEFAULT_CATEGORIES,
    Area,
    CategoryTechnician,
    DispatchMode,
    Priority,
    SlaPolicy,
    Source,
    WorkOrder,
    WorkOrderCategory,
    WorkOrderSettings,
)

HX = {"HX-Request": "true"}


@contextmanager
def inside(app, world):
    with app.app_context(), company_context(world.company.id):
        yield


def _base(world) -> str:
    return f"/c/{world.company.slug}/work-orders"


def _category(name) -> WorkOrderCategory:
    return db.session.execute(select(WorkOrderCategory).where(WorkOrderCategory.name == name,
                                                              WorkOrderCategory.archived_at.is_(None))).scalar_one()


def _live_names(app, world) -> list[str]:
    with inside(app, world):
        return [c.name for c in queries.live_categories()]


def _count(app, world, model) -> int:
    with inside(app, world):
        return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def _audit(app, world, action) -> list[AuditEvent]:
    with inside(app, world):
        events = db.session.execute(select(AuditEvent).where(AuditEvent.action == action)
                                    .order_by(AuditEvent.created_at, AuditEvent.id)).scalars().all()
        for event in events:
            db.session.expunge(event)
        return events


def _form(**changes) -> dict:
    data = {"name": "绿化", "dispatch_mode": "assign", "default_assignee_id": "", "technician_ids": []}
    for p in Priority:
        data[f"sla_{p.value}_response"] = ""
        data[f"sla_{p.value}_resolution"] = ""
    data.update(changes)
    return data


@pytest.fixture
def a(two_companies):
    return two_companies[0]


# --- signup -------------------------------------------------------------------------------------------------


def test_a_new_company_starts_with_the_six_default_categories(app, client):
    response = client.post("/signup", data={"company_name": "红山物业", "slug": "hongshan-wuye",
                                            "slug_suggested": "hongshan-wuye", "admin_name": "王经理",
                                            "login": "138 0013 8000", "password": "a-long-password"})
    assert response.status_code == 303
    from saas.models import Company

    with app.app_context():
        company = db.session.execute(select(Company).where(Company.slug == "hongshan-wuye")).scalar_one()
        with company_context(company.id):
            live = queries.live_categories()
            assert [c.name for c in live] == list(DEFAULT_CATEGORIES)
            assert {c.name for c in live if c.dispatch_mode == DispatchMode.POOL} == {"公共设施"}


# --- categories ---------------------------------------------------------------------------------------------


def test_admin_adds_a_category_at_the_end_with_its_people_and_deadlines(app, a, login_as):
    client = login_as(a.admin)
    technician, steward = a.members[Role.TECHNICIAN], a.members[Role.STEWARD]
    response = client.post(f"{_base(a)}/categories/new", data=_form(
        name="  绿化  养护 ", dispatch_mode="pool", technician_ids=[str(technician), str(steward)],
        sla_urgent_response="1h", sla_urgent_resolution="1d 4h", sla_low_resolution="10d"))
    assert response.status_code == 303, response.get_data(True)[:3000]
    assert response.headers["Location"].endswith("/work-orders/settings")
    assert _live_names(app, a) == [*DEFAULT_CATEGORIES, "绿化 养护"]
    with inside(app, a):
        category = _category("绿化 养护")
        assert category.dispatch_mode == DispatchMode.POOL and category.default_assignee_id is None
        assert ss.qualified_ids(category.id) == {technician, steward}
        assert ss.sla_table()[category.id] == {Priority.URGENT: (60, 28 * 60),
                                               Priority.LOW: (3 * 24 * 60, 10 * 24 * 60)}
        assert services.sla_minutes(category.id, Priority.NORMAL) == (24 * 60, 3 * 24 * 60)  # left blank
    [event] = _audit(app, a, "work_order_category.create")
    assert event.object_label == "绿化 养护" and event.actor_id == a.admin.id
    assert event.changes["sla_urgent"] == [None, [60, 1680]]
    page = client.get(f"{_base(a)}/settings").get_data(as_text=True)
    assert "绿化 养护" in page and "1 h / 1 day 4 h" in page and "3 days / 10 days" in page


def test_a_duplicate_live_name_is_refused_at_the_name_field(app, a, login_as):
    client = login_as(a.admin)
    before = _count(app, a, WorkOrderCategory)
    response = client.post(f"{_base(a)}/categories/new", data=_form(name="电梯"))
    assert response.status_code == 422
    assert "There is already a category called 电梯." in response.get_data(as_text=True)
    assert _count(app, a, WorkOrderCategory) == before
    # Renaming onto another live name is refused too, and nothing else in the form is applied.
    with inside(app, a):
        door = _category("门窗")
    response = client.post(f"{_base(a)}/categories/{door.id}", data=_form(name="电梯", dispatch_mode="pool"))
    assert response.status_code == 422 and "There is already a category called 电梯." in response.get_data(True)
    with inside(app, a):
        door = _category("门窗")
        assert door.dispatch_mode == DispatchMode.ASSIGN


def test_the_database_refuses_a_duplicate_name_the_check_missed(app, a, monkeypatch):
    """Two admins at once: both pass the check, the partial unique index stops the second."""
    monkeypatch.setattr(ss, "_check_name_free", lambda *args, **kwargs: None)
    with inside(app, a):
        with pytest.raises(ss.SettingsError) as refused:
            ss.create_category(name="电梯", actor=None)
        assert refused.value.field == "name"
    assert _live_names(app, a).count("电梯") == 1


def test_another_companys_category_is_not_found(app, two_companies, login_as):
    a, b = two_companies
    client = login_as(a.admin)
    for bad in (b.ids["category_id"], "not-a-uuid", "00000000-0000-0000-0000-000000000000"):
        assert client.get(f"{_base(a)}/categories/{bad}").status_code == 404
        assert client.post(f"{_base(a)}/categories/{bad}", data=_form()).status_code == 404
        for action in ("archive", "restore", "move"):
            assert client.post(f"{_base(a)}/categories/{bad}/{action}", data={"direction": "up"}).status_code == 404
    assert _live_names(app, b) == list(DEFAULT_CATEGORIES)


def test_editing_a_category_saves_its_name_mode_and_default_assignee(app, a, login_as):
    client = login_as(a.admin)
    category_id = a.ids["category_id"]
    response = client.post(f"{_base(a)}/categories/{category_id}", data=_form(
        name="水暖维修", dispatch_mode="assign", default_assignee_id=str(a.members[Role.TECHNICIAN]),
        technician_ids=[str(a.members[Role.TECHNICIAN])]))
    assert response.status_code == 303
    with inside(app, a):
        category = db.session.get(WorkOrderCategory, (a.company.id, category_id))
        assert category.name == "水暖维修" and category.default_assignee_id == a.members[Role.TECHNICIAN]
    [event] = _audit(app, a, "work_order_category.update")
    assert event.changes["name"] == ["水暖", "水暖维修"] and "technicians" not in event.changes


def test_a_default_assignee_must_be_current_staff_of_this_company(app, two_companies, login_as):
    a, b = two_companies
    client = login_as(a.admin)
    for bad in (str(a.members[Role.OWNER]), str(b.members[Role.TECHNICIAN]), "garbage"):
        response = client.post(f"{_base(a)}/categories/{a.ids['category_id']}",
                               data=_form(name="水暖", default_assignee_id=bad))
        assert response.status_code == 422
        assert "Choose a current staff member, or nobody." in response.get_data(as_text=True)
    with inside(app, a):
        assert db.session.get(WorkOrderCategory, (a.company.id, a.ids["category_id"])).default_assignee_id is None


def _li(app, a, make_user):
    li = make_user("李师傅", memberships=[(a.company, Role.TECHNICIAN)])
    with inside(app, a):
        return db.session.execute(select(Membership.id).where(Membership.user_id == li.id)).scalar_one()


def test_ticking_people_qualifies_them(app, a, make_user, login_as):
    li_id = _li(app, a, make_user)
    technician, steward = a.members[Role.TECHNICIAN], a.members[Role.STEWARD]
    client = login_as(a.admin)
    url = f"{_base(a)}/categories/{a.ids['category_id']}"
    page = client.get(url).get_data(as_text=True)
    assert "李师傅" in page and f'value="{technician}" checked' in page and f'value="{li_id}" checked' not in page
    assert f'value="{a.members[Role.ADMIN]}"' not in page.split('name="technician_ids"', 1)[1]

    assert client.post(url, data=_form(name="水暖", technician_ids=[str(technician), str(steward), str(li_id)])
                       ).status_code == 303
    with inside(app, a):
        assert ss.qualified_ids(a.ids["category_id"]) == {technician, steward, li_id}
        assert queries.is_qualified(db.session.get(Membership, (a.company.id, li_id)), a.ids["category_id"])
    [event] = _audit(app, a, "work_order_category.update")
    assert event.changes["technicians"] == [[str(technician)], sorted(map(str, (technician, steward, li_id)))]
    assert "3 qualified people" in client.get(f"{_base(a)}/settings").get_data(as_text=True)


def test_unticking_people_removes_exactly_those(app, a, make_user, login_as):
    li_id = _li(app, a, make_user)
    steward = a.members[Role.STEWARD]
    client = login_as(a.admin)
    url = f"{_base(a)}/categories/{a.ids['category_id']}"
    with inside(app, a):
        for person in (steward, li_id):
            db.session.add(CategoryTechnician(category_id=a.ids["category_id"], membership_id=person))
        db.session.commit()
    # Remove the world's technician and the steward, keep 李师傅.
    assert client.post(url, data=_form(name="水暖", technician_ids=[str(li_id)])).status_code == 303
    with inside(app, a):
        assert ss.qualified_ids(a.ids["category_id"]) == {li_id}
        # Nothing deleted: the two taken off are ended rows, history kept.
        rows = db.session.execute(select(CategoryTechnician)).scalars().all()
        assert len(rows) == 3 and sum(r.ended_at is None for r in rows) == 1
    # None ticked: nobody is qualified.
    assert client.post(url, data=_form(name="水暖")).status_code == 303
    with inside(app, a):
        assert ss.qualified_ids(a.ids["category_id"]) == set()
    events = _audit(app, a, "work_order_category.update")
    assert [e.changes["technicians"][1] for e in events] == [[str(li_id)], []]
    # Qualified again later: a new current row beside the ended one (the unique index counts current rows only).
    assert client.post(url, data=_form(name="水暖", technician_ids=[str(steward)])).status_code == 303
    with inside(app, a):
        assert ss.qualified_ids(a.ids["category_id"]) == {steward}


def test_someone_who_left_does_not_show_and_does_not_stand_in_the_way(app, a, make_user, login_as):
    li_id = _li(app, a, make_user)
    with inside(app, a):
        db.session.add(CategoryTechnician(category_id=a.ids["category_id"], membership_id=li_id))
        db.session.get(Membership, (a.company.id, li_id)).ended_at = datetime.now(UTC)
        db.session.commit()
    client = login_as(a.admin)
    url = f"{_base(a)}/categories/{a.ids['category_id']}"
    assert "李师傅" not in client.get(url).get_data(as_text=True)
    keep = [str(a.members[Role.TECHNICIAN]), str(a.members[Role.STEWARD])]
    assert client.post(url, data=_form(name="水暖", technician_ids=keep)).status_code == 303
    with inside(app, a):
        assert ss.qualified_ids(a.ids["category_id"]) == {a.members[Role.TECHNICIAN], a.members[Role.STEWARD], li_id}
        assert ss.technician_counts()[a.ids["category_id"]] == 2
    # And they cannot be ticked back in.
    response = client.post(url, data=_form(name="水暖", technician_ids=[*keep, str(li_id)]))
    assert response.status_code == 422


def test_only_current_technicians_and_stewards_can_be_qualified(app, two_companies, login_as):
    a, b = two_companies
    client = login_as(a.admin)
    url = f"{_base(a)}/categories/{a.ids['category_id']}"
    for bad in (a.members[Role.ADMIN], a.members[Role.OWNER], b.members[Role.TECHNICIAN], "x"):
        response = client.post(url, data=_form(name="水暖", technician_ids=[str(a.members[Role.STEWARD]), str(bad)]))
        assert response.status_code == 422
        assert "Choose current technicians or stewards only." in response.get_data(as_text=True)
    with inside(app, a):
        assert ss.qualified_ids(a.ids["category_id"]) == {a.members[Role.TECHNICIAN]}


def test_categories_move_up_and_down(app, a, login_as):
    client = login_as(a.admin)
    with inside(app, a):
        lift, first, last = _category("电梯"), _category("水暖"), _category("其他")
    response = client.post(f"{_base(a)}/categories/{lift.id}/move", data={"direction": "up"})
    assert response.status_code == 303
    assert _live_names(app, a) == ["水暖", "电路", "电梯", "门窗", "公共设施", "其他"]
    # From the settings page, htmx swaps only the list.
    response = client.post(f"{_base(a)}/categories/{lift.id}/move", data={"direction": "down"},
                           headers={**HX, "HX-Target": "wo-categories"})
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert body.lstrip().startswith('<div id="wo-categories">') and "SLA calendar" not in body
    assert _live_names(app, a) == list(DEFAULT_CATEGORIES)
    # At either end nothing moves; a direction that is neither is refused.
    client.post(f"{_base(a)}/categories/{first.id}/move", data={"direction": "up"})
    client.post(f"{_base(a)}/categories/{last.id}/move", data={"direction": "down"})
    client.post(f"{_base(a)}/categories/{lift.id}/move", data={"direction": "sideways"})
    assert _live_names(app, a) == list(DEFAULT_CATEGORIES)
    assert len(_audit(app, a, "work_order_category.move")) == 2


def test_archiving_takes_a_category_off_the_forms_but_its_jobs_stay_open(app, a, login_as):
    client = login_as(a.admin)
    url = f"{_base(a)}/categories/{a.ids['category_id']}"
    page = client.get(url).get_data(as_text=True)
    assert "It has 1 open job; it keeps running." in page and 'hx-confirm="Archive 水暖? Its 1 open job' in page
    response = client.post(f"{url}/archive")
    assert response.status_code == 303
    assert "Its 1 open job keeps running." in client.get(response.headers["Location"]).get_data(as_text=True)
    assert "水暖" not in _live_names(app, a)
    with inside(app, a):
        order = db.session.get(WorkOrder, (a.company.id, a.ids["order_id"]))
        assert order.category_id == a.ids["category_id"] and order.is_open and order.category.name == "水暖"
        with pytest.raises(services.WorkOrderError):  # no new reports in it
            services._live_category(a.ids["category_id"])
    [event] = _audit(app, a, "work_order_category.archive")
    assert event.changes["open_jobs"] == 1
    # The settings page lists it, collapsed, with a restore button; the job page still opens.
    page = client.get(f"{_base(a)}/settings").get_data(as_text=True)
    assert "1 archived category" in page and f"/categories/{a.ids['category_id']}/restore" in page


def test_the_last_live_category_cannot_be_archived(app, a, login_as):
    with inside(app, a):
        for category in queries.live_categories()[1:]:
            ss.archive_category(category, actor=None)
        [last] = queries.live_categories()
    client = login_as(a.admin)
    response = client.post(f"{_base(a)}/categories/{last.id}/archive")
    assert response.status_code == 303
    assert "This is the last category" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert _live_names(app, a) == [last.name]


def test_restore_puts_an_archived_category_back_at_the_end(app, a, login_as):
    client = login_as(a.admin)
    category_id = a.ids["category_id"]
    client.post(f"{_base(a)}/categories/{category_id}/archive")
    assert client.post(f"{_base(a)}/categories/{category_id}/restore").status_code == 303
    assert _live_names(app, a) == [*DEFAULT_CATEGORIES[1:], "水暖"]
    assert len(_audit(app, a, "work_order_category.restore")) == 1


def test_an_archived_name_can_be_reused_but_then_the_old_one_cannot_come_back(app, a, login_as):
    client = login_as(a.admin)
    category_id = a.ids["category_id"]
    client.post(f"{_base(a)}/categories/{category_id}/archive")
    assert client.post(f"{_base(a)}/categories/new", data=_form(name="水暖")).status_code == 303
    response = client.post(f"{_base(a)}/categories/{category_id}/restore")
    assert "There is already a category called 水暖." in client.get(response.headers["Location"]).get_data(True)
    with inside(app, a):
        assert db.session.get(WorkOrderCategory, (a.company.id, category_id)).archived_at is not None


# --- SLA deadlines ------------------------------------------------------------------------------------------


def _common_report(world, category_id, priority):
    return services.Report(source=Source.STAFF, area=Area.COMMON, category_id=category_id, priority=priority,
                           community_id=world.ids["community_id"], description="路灯不亮了")


def test_new_jobs_get_the_saved_deadlines_around_the_clock(app, a):
    now = datetime(2026, 3, 6, 9, 0, tzinfo=UTC)
    with inside(app, a):
        category = _category("电路")
        ss.save_sla_policies(category, {Priority.URGENT: (45, 5 * 60), Priority.LOW: (None, 20 * 24 * 60)},
                             actor=None)
        admin = db.session.get(type(a.admin), a.admin.id)
        order = services.create_order(_common_report(a, category.id, Priority.URGENT), actor=admin, membership=None,
                                      now=now)
        db.session.expire_all()
        order = db.session.get(WorkOrder, (a.company.id, order.id))
        created_at = order.created_at.replace(tzinfo=order.created_at.tzinfo or UTC)  # SQLite: naive UTC
        assert created_at == now
        assert order.response_due_at == created_at + timedelta(minutes=45)
        assert order.resolution_due_at == now + timedelta(minutes=5 * 60)
        # A blank side took the default: low is (3 days, 20 days).
        assert services.sla_minutes(category.id, Priority.LOW) == (3 * 24 * 60, 20 * 24 * 60)
    [event] = _audit(app, a, "work_order_sla.update")
    assert event.changes == {"sla_low": [None, [4320, 28800]], "sla_urgent": [None, [45, 300]]}


def test_in_working_hours_a_friday_evening_job_is_due_on_monday(app, a, login_as):
    client = login_as(a.admin)
    response = client.post(f"{_base(a)}/settings/calendar", data={
        "clock": "business", "day_start": "08:30", "day_end": "17:30", "observe_holidays": "y",
        "warn_minutes": "20"})
    assert response.status_code == 303
    with inside(app, a):
        category = _category("电路")
    response = client.post(f"{_base(a)}/categories/{category.id}", data=_form(
        name="电路", sla_normal_response="2h", sla_normal_resolution="10h"))
    assert response.status_code == 303
    friday = datetime(2026, 3, 6, 17, 0, tzinfo=SHANGHAI)  # an ordinary Friday
    with inside(app, a):
        admin = db.session.get(type(a.admin), a.admin.id)
        order = services.create_order(_common_report(a, category.id, Priority.NORMAL), actor=admin,
                                      membership=None, now=friday)
        # 30 minutes on Friday, then 90 from Monday's 08:30; resolution: 30 + 540 on Monday, 30 on Tuesday.
        assert order.response_due_at.astimezone(SHANGHAI) == datetime(2026, 3, 9, 10, 0, tzinfo=SHANGHAI)
        assert order.resolution_due_at.astimezone(SHANGHAI) == datetime(2026, 3, 10, 9, 0, tzinfo=SHANGHAI)


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"sla_urgent_response": "5h", "sla_urgent_resolution": "4h"}, "sla_urgent_resolution",
     "The job cannot be due to be done before it is due to be accepted"),
    ({"sla_urgent_response": "5h"}, "sla_urgent_resolution",  # beyond the default resolution (4 h)
     "The job cannot be due to be done before it is due to be accepted"),
    ({"sla_normal_response": "0m"}, "sla_normal_response", "Give at least one minute."),
    ({"sla_normal_response": "abc"}, "sla_normal_response", "Write a time like 30m, 4h, 3d or 1d 4h."),
    ({"sla_normal_response": "-5m"}, "sla_normal_response", "Write a time like 30m, 4h, 3d or 1d 4h."),
    ({"sla_low_resolution": "4"}, "sla_low_resolution", "Add a unit"),
    ({"sla_low_resolution": "0.5m"}, "sla_low_resolution", "Use whole minutes."),
    ({"sla_low_resolution": "91d"}, "sla_low_resolution", "Keep it within 90 days."),
])
def test_bad_deadlines_are_refused_at_their_field_and_nothing_is_saved(app, a, login_as, changes, field, message):
    client = login_as(a.admin)
    url = f"{_base(a)}/categories/{a.ids['category_id']}"
    response = client.post(url, data=_form(name="水暖改名", dispatch_mode="pool", **changes))
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert message in body
    # The message sits under the field it is about, which is marked invalid.
    assert f'name="{field}"' in body and body.index(message) > body.index(f'name="{field}"')
    assert _count(app, a, SlaPolicy) == 0
    with inside(app, a):
        category = db.session.get(WorkOrderCategory, (a.company.id, a.ids["category_id"]))
        assert category.name == "水暖" and category.dispatch_mode == DispatchMode.ASSIGN


def test_the_service_refuses_bad_deadlines_whoever_calls_it(app, a):
    with inside(app, a):
        category = _category("电梯")
        for sla, field in (({Priority.URGENT: (0, 60)}, "sla_urgent_response"),
                           ({Priority.URGENT: (60, 30)}, "sla_urgent_resolution"),
                           ({Priority.NORMAL: ("1h", 120)}, "sla_normal_response"),
                           ({Priority.NORMAL: (True, 120)}, "sla_normal_response"),
                           ({Priority.LOW: (60, 90 * 24 * 60 + 1)}, "sla_low_resolution"),
                           ({Priority.URGENT: (30, 60), Priority.LOW: (-1, 60)}, "sla_low_response")):
            with pytest.raises(ss.SettingsError) as refused:
                ss.save_sla_policies(category, sla, actor=None)
            assert refused.value.field == field, sla
        with pytest.raises(ss.SettingsError):
            ss.save_sla_policies(category, {"someday": (1, 2)}, actor=None)
    assert _count(app, a, SlaPolicy) == 0


def test_a_blank_row_goes_back_to_the_defaults(app, a, login_as):
    client = login_as(a.admin)
    url = f"{_base(a)}/categories/{a.ids['category_id']}"
    keep = [str(a.members[Role.TECHNICIAN])]
    client.post(url, data=_form(name="水暖", technician_ids=keep, sla_urgent_response="10m",
                                sla_urgent_resolution="2h"))
    page = client.get(url).get_data(as_text=True)
    assert 'value="10m"' in page and 'value="2h"' in page and 'placeholder="30m"' in page
    assert client.post(url, data=_form(name="水暖", technician_ids=keep)).status_code == 303
    with inside(app, a):
        assert services.sla_minutes(a.ids["category_id"], Priority.URGENT) == (30, 240)
        assert ss.sla_table() == {}
    page = client.get(url).get_data(as_text=True)
    assert re.search(r'name="sla_urgent_response"[^>]*value=""[^>]*placeholder="30m"', page)


@pytest.mark.parametrize(("text", "minutes"), [
    ("30m", 30), ("4h", 240), ("3d", 4320), ("1d 4h", 1680), ("1d4h30m", 1710), ("1.5h", 90), (" 2 H ", 120),
    ("30分钟", 30), ("4小时", 240), ("3天", 4320), ("４ｈ", 240), ("", None), ("  ", None),
])
def test_durations_are_read_as_people_write_them(text, minutes):
    assert ss.parse_duration(text) == minutes
    if minutes:
        assert ss.parse_duration(ss.format_duration(minutes)) == minutes


@pytest.mark.parametrize("text", ["4", "abc", "4x", "h4", "-1h", "1e3m", "3d 4", "1,5h", "9999999m"])
def test_durations_without_a_clear_unit_are_refused(text):
    with pytest.raises(ss.SettingsError):
        ss.parse_duration(text)


# --- the SLA calendar ---------------------------------------------------------------------------------------


def test_the_calendar_is_saved_and_audited(app, a, login_as):
    client = login_as(a.admin)
    page = client.get(f"{_base(a)}/settings").get_data(as_text=True)
    assert 'value="08:30"' in page and 'value="17:30"' in page and 'value="30"' in page
    response = client.post(f"{_base(a)}/settings/calendar", data={
        "clock": "business", "day_start": "09:00", "day_end": "18:00", "warn_minutes": "45"})
    assert response.status_code == 303
    with inside(app, a):
        row = services.settings()
        assert (row.business_hours, row.day_start, row.day_end, row.observe_holidays, row.warn_minutes) == (
            True, time(9), time(18), False, 45)
    page = client.get(f"{_base(a)}/settings").get_data(as_text=True)
    assert 'value="09:00"' in page and 'value="business" checked' in page
    # Saving again updates the one row.
    client.post(f"{_base(a)}/settings/calendar", data={
        "clock": "always", "day_start": "09:00", "day_end": "18:00", "observe_holidays": "y", "warn_minutes": "45"})
    assert _count(app, a, WorkOrderSettings) == 1
    first, second = _audit(app, a, "work_order_settings.update")
    assert second.changes == {"business_hours": [True, False], "observe_holidays": [False, True]}


def test_from_the_page_only_the_calendar_card_is_swapped(app, a, login_as):
    client = login_as(a.admin)
    url, hx = f"{_base(a)}/settings/calendar", {**HX, "HX-Target": "wo-calendar"}
    bad = client.post(url, headers=hx, data={"clock": "business", "day_start": "18:00", "day_end": "09:00",
                                             "warn_minutes": "1"})
    assert bad.status_code == 422
    body = bad.get_data(as_text=True)
    assert body.lstrip().startswith('<div class="card card-body" id="wo-calendar">') and "Categories" not in body
    # Both mistakes at once, each under its field.
    assert "The working day must end after it starts." in body and "Warn between 5 and 240 minutes" in body
    good = client.post(url, headers=hx, data={"clock": "business", "day_start": "09:00", "day_end": "18:00",
                                              "warn_minutes": "15"})
    assert good.status_code == 200 and "SLA calendar saved." in good.get_data(as_text=True)
    with inside(app, a):
        assert services.settings().warn_minutes == 15


@pytest.mark.parametrize(("changes", "message"), [
    ({"day_start": "18:00", "day_end": "09:00"}, "The working day must end after it starts."),
    ({"day_start": "09:00", "day_end": "09:00"}, "The working day must end after it starts."),
    ({"day_start": "25:00"}, "Enter a time like 08:30."),
    ({"day_end": "soon"}, "Enter a time like 08:30."),
    ({"day_end": ""}, "Enter a time like 08:30."),
    ({"warn_minutes": "4"}, "Warn between 5 and 240 minutes before a deadline."),
    ({"warn_minutes": "241"}, "Warn between 5 and 240 minutes before a deadline."),
    ({"warn_minutes": ""}, "Enter a number of minutes."),
])
def test_a_bad_calendar_is_refused_and_nothing_is_saved(app, a, login_as, changes, message):
    data = {"clock": "business", "day_start": "08:30", "day_end": "17:30", "warn_minutes": "30", **changes}
    response = login_as(a.admin).post(f"{_base(a)}/settings/calendar", data=data)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert _count(app, a, WorkOrderSettings) == 0
    assert _audit(app, a, "work_order_settings.update") == []


# --- who may ------------------------------------------------------------------------------------------------


def test_only_admins_may_see_or_change_the_settings(app, a, login_as):
    category_id = a.ids["category_id"]
    for user in (a.technician, a.steward, a.owner):
        client = login_as(user)
        assert client.get(f"{_base(a)}/settings").status_code == 403
        assert client.get(f"{_base(a)}/categories/{category_id}").status_code == 403
        assert client.post(f"{_base(a)}/categories/new", data=_form()).status_code == 403
        assert client.post(f"{_base(a)}/categories/{category_id}", data=_form(name="改名")).status_code == 403
        assert client.post(f"{_base(a)}/categories/{category_id}/archive").status_code == 403
        assert client.post(f"{_base(a)}/settings/calendar", data={
            "clock": "business", "day_start": "08:30", "day_end": "17:30", "warn_minutes": "30"}).status_code == 403
    assert _live_names(app, a) == list(DEFAULT_CATEGORIES)
    assert _count(app, a, WorkOrderSettings) == 0
