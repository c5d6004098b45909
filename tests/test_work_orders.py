"""Work orders, staff side: the state machine (property-based, through the real service), dispatch, the grab race
and per-company numbers under concurrency (PostgreSQL), photos, the staff lists and their query counts, a job
from a phone call, follow-up. The owner's pages are in test_work_orders_owner.py, QR intake in
test_work_order_intake.py, SLA clocks in test_sla_calendar.py / test_sla_jobs.py."""

from __future__ import annotations

import io
import threading
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from saas.models import Role
from tests.conftest import requires_postgres
from tests.world.stewards import png_bytes


class Cast:
    """The world's company A as the service sees it: memberships (with users) by role, the 水暖 category."""

    def __init__(self, app, world):
        from saas.extensions import db
        from saas.models import Membership
        from saas.tenancy import company_context
        from tenants.work_orders.models import WorkOrderCategory

        self.app, self.world = app, world
        with app.app_context(), company_context(world.company.id):
            self.members = {m.role: m.id for m in db.session.execute(select(Membership)).scalars()}
            self.categories = {c.name: c.id for c in db.session.execute(select(WorkOrderCategory)).scalars()}

    def membership(self, role):
        from saas.extensions import db
        from saas.models import Membership

        return db.session.get(Membership, (self.world.company.id, self.members[role]))


def _files(*names, data=None):
    from werkzeug.datastructures import FileStorage

    return [FileStorage(io.BytesIO(data or png_bytes()), filename=n, content_type="image/png") for n in names]


def _new_order(cast, *, area="home", category="水暖", now=None, household_id=None):
    from saas.extensions import db
    from tenants.roster.models import Household
    from tenants.work_orders import services
    from tenants.work_orders.models import Area, Source

    owner = cast.membership(Role.OWNER)
    household = db.session.get(Household, (cast.world.company.id, household_id or cast.world.owner_household_id))
    return services.create_order(
        services.Report(source=Source.PORTAL, area=Area(area), category_id=cast.categories[category],
                        household=household, description="卫生间漏水，楼下天花板有水渍"),
        actor=owner.user, membership=owner, now=now)


@pytest.fixture
def cast(app, two_companies):
    return Cast(app, two_companies[0])


# --- the state machine, property-based ----------------------------------------------------------------------


ROLES = (Role.ADMIN, Role.STEWARD, Role.TECHNICIAN, Role.OWNER)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(steps=st.lists(st.tuples(st.sampled_from(ROLES), st.sampled_from([a.value for a in __import__(
    "tenants.work_orders.states", fromlist=["Action"]).Action]), st.integers(0, 3 * 24 * 60)),
    min_size=1, max_size=14))
def test_random_action_sequences_keep_the_job_consistent(app, cast, steps):
    """Whatever anyone tries in whatever order: refused moves change nothing; a closed job has a resolution
    time; a rated job was done; the timeline is gap-free, ordered, and chains from → to up to the status."""
    from saas.extensions import db
    from saas.tenancy import company_context, utcnow
    from tenants.work_orders import services
    from tenants.work_orders.models import EventKind, WorkOrder, WorkOrderEvent
    from tenants.work_orders.states import Action, IllegalMove, Status

    with app.app_context(), company_context(cast.world.company.id):
        now = utcnow()
        order = _new_order(cast, now=now)
        order_id = order.id
        for role, action, minutes in steps:
            now += timedelta(minutes=minutes)
            db.session.expire_all()
            order = db.session.get(WorkOrder, (cast.world.company.id, order_id))
            before = (order.status, order.last_seq)
            member = cast.membership(role)
            kwargs = {"note": "原因说明"}
            if action == Action.ASSIGN:
                kwargs["assignee_id"] = cast.members[Role.TECHNICIAN]
            if action == Action.QUOTE:
                kwargs["quote_fen"] = 12000
            if action == Action.RATE:
                kwargs["ratings"] = services.Ratings(5, 4, 5, "很快")
            try:
                services.perform(order, action, actor=member.user, membership=member, now=now, **kwargs)
            except (IllegalMove, services.WorkOrderError):
                db.session.rollback()
                db.session.expire_all()
                order = db.session.get(WorkOrder, (cast.world.company.id, order_id))
                assert (order.status, order.last_seq) == before
        db.session.expire_all()
        order = db.session.get(WorkOrder, (cast.world.company.id, order_id))
        events = db.session.execute(select(WorkOrderEvent).where(WorkOrderEvent.work_order_id == order_id)
                                    .order_by(WorkOrderEvent.seq)).scalars().all()
        assert [e.seq for e in events] == list(range(1, order.last_seq + 1))
        stamps = [e.created_at for e in events]
        assert stamps == sorted(stamps)
        status = None
        for event in events:
            if event.kind in (EventKind.CREATED, EventKind.TRANSITION):
                assert event.from_status == status
                status = event.to_status
                if event.action == Action.RATE.value:
                    assert event.from_status == Status.DONE
        assert status == order.status
        if order.status == Status.CLOSED:
            assert order.completed_at is not None and order.closed_at is not None
        if order.rated_at is not None:
            assert order.status == Status.CLOSED and order.completed_at is not None
        if order.status == Status.CANCELLED:
            assert order.cancelled_at is not None
        if order.status in (Status.ACCEPTED, Status.ON_THE_WAY, Status.IN_PROGRESS, Status.DONE):
            assert order.accepted_at is not None and order.assignee_id is not None


def test_illegal_moves_are_refused_with_a_clear_message(app, cast):
    from saas.tenancy import company_context
    from tenants.work_orders import services
    from tenants.work_orders.states import IllegalMove

    with app.app_context(), company_context(cast.world.company.id):
        order = _new_order(cast)
        owner = cast.membership(Role.OWNER)
        with pytest.raises(IllegalMove, match="Only a finished job can be rated"):
            services.perform(order, "rate", actor=owner.user, membership=owner,
                             ratings=services.Ratings(5, 5, 5))
        admin = cast.membership(Role.ADMIN)
        services.perform(order, "cancel", actor=admin.user, membership=admin, note="业主已自行修好")
        with pytest.raises(IllegalMove, match="cancelled"):
            services.perform(order, "complete", actor=admin.user, membership=admin)
        technician = cast.membership(Role.TECHNICIAN)
        with pytest.raises(services.NotAllowed):
            services.perform(_new_order(cast), "cancel", actor=technician.user, membership=technician,
                             note="不想做")


def test_reopen_is_allowed_for_seven_days_after_completion(app, cast):
    from saas.tenancy import company_context, utcnow
    from tenants.work_orders import services
    from tenants.work_orders.states import IllegalMove, Status

    with app.app_context(), company_context(cast.world.company.id):
        start = utcnow()
        steward, owner = cast.membership(Role.STEWARD), cast.membership(Role.OWNER)
        order = _new_order(cast, now=start)
        for action in ("accept", "start", "complete"):
            order = services.perform(order, action, actor=steward.user, membership=steward, now=start)
        late = start + timedelta(days=7, minutes=1)
        with pytest.raises(IllegalMove, match="within 7 days"):
            services.perform(order, "reopen", actor=owner.user, membership=owner, note="还在漏", now=late)
        order = services.perform(order, "reopen", actor=owner.user, membership=owner, note="还在漏",
                                 now=start + timedelta(days=6))
        assert order.status == Status.ASSIGNED and order.completed_at is None and order.reopen_count == 1
        assert order.resolution_due_at > start + timedelta(days=6)


# --- dispatch ---------------------------------------------------------------------------------------------------


def test_in_home_job_goes_to_the_homes_steward_and_common_area_by_category_rule(app, cast):
    from saas.extensions import db
    from saas.tenancy import company_context
    from tenants.inbox.models import Notification
    from tenants.work_orders.models import CategoryTechnician
    from tenants.work_orders.states import Status

    with app.app_context(), company_context(cast.world.company.id):
        home = _new_order(cast)
        assert home.status == Status.ASSIGNED and home.assignee_id == cast.members[Role.STEWARD]
        # 电路 (assign mode) has no technician yet: nobody, and the admins are told.
        nobody = _new_order(cast, area="common", category="电路")
        assert nobody.status == Status.NEW and nobody.assignee_id is None and not nobody.in_pool
        admin_notices = db.session.execute(select(Notification.body).where(
            Notification.user_id == cast.world.admin.id)).scalars().all()
        assert any(nobody.number in body for body in admin_notices)
        db.session.add(CategoryTechnician(category_id=cast.categories["电路"],
                                          membership_id=cast.members[Role.TECHNICIAN]))
        db.session.commit()
        assigned = _new_order(cast, area="common", category="电路")
        assert assigned.status == Status.ASSIGNED and assigned.assignee_id == cast.members[Role.TECHNICIAN]
        # 公共设施 is a grab pool: nobody is assigned; qualified technicians see it.
        db.session.add(CategoryTechnician(category_id=cast.categories["公共设施"],
                                          membership_id=cast.members[Role.TECHNICIAN]))
        db.session.commit()
        pooled = _new_order(cast, area="common", category="公共设施")
        assert pooled.status == Status.NEW and pooled.in_pool and pooled.assignee_id is None


def test_technician_takes_a_pool_job_from_my_jobs(app, cast, login_as):
    from saas.extensions import db
    from saas.tenancy import company_context
    from tenants.work_orders.models import CategoryTechnician, WorkOrder
    from tenants.work_orders.states import Status

    with app.app_context(), company_context(cast.world.company.id):
        db.session.add(CategoryTechnician(category_id=cast.categories["公共设施"],
                                          membership_id=cast.members[Role.TECHNICIAN]))
        db.session.commit()
        pooled = _new_order(cast, area="common", category="公共设施")
        number, order_id = pooled.number, pooled.id
    slug = cast.world.company.slug
    client = login_as(cast.world.technician)
    page = client.get(f"/c/{slug}/work-orders/mine?tab=pool").get_data(as_text=True)
    assert number in page
    response = client.post(f"/c/{slug}/work-orders/{order_id}/actions/grab")
    assert response.status_code == 303
    with app.app_context(), company_context(cast.world.company.id):
        order = db.session.get(WorkOrder, (cast.world.company.id, order_id))
        assert order.status == Status.ACCEPTED and order.assignee_id == cast.members[Role.TECHNICIAN]
        assert not order.in_pool and order.accepted_at is not None
    client.get(f"/c/{slug}/work-orders/mine")  # shows (and so clears) the flash
    assert f"/work-orders/{order_id}/actions/grab" not in client.get(
        f"/c/{slug}/work-orders/mine?tab=pool").get_data(as_text=True)


def test_my_jobs_lists_a_technicians_jobs_by_deadline_25_a_page(app, cast, login_as):
    """The to-do tab reads its rows as columns (cards.ListCard): each shows its number and category, the badge
    counts them all (the world's one job and 25 new), and the 26th is on page 2."""
    from saas.extensions import db
    from saas.tenancy import company_context
    from tenants.work_orders.models import WorkOrderCategory

    with app.app_context(), company_context(cast.world.company.id):
        category = db.session.get(WorkOrderCategory, (cast.world.company.id, cast.categories["电路"]))
        category.default_assignee_id = cast.members[Role.TECHNICIAN]  # all 26 to them, not shared by load
        db.session.commit()
        numbers = [_new_order(cast, area="common", category="电路").number for _ in range(25)]
    slug = cast.world.company.slug
    client = login_as(cast.world.technician)
    first = client.get(f"/c/{slug}/work-orders/mine").get_data(as_text=True)
    second = client.get(f"/c/{slug}/work-orders/mine?tab=todo&page=2").get_data(as_text=True)
    assert first.count('class="list-group-item wo-row"') == 25 and second.count('class="list-group-item wo-row"') == 1
    assert '<span class="badge text-bg-primary">26</span>' in first
    shown = [n for n in numbers if n in first] + [n for n in numbers if n in second]
    assert sorted(shown) == sorted(numbers) and " · 电路 " in first


# --- concurrency (PostgreSQL) -----------------------------------------------------------------------------------


def _run_together(app, company_id, functions):
    """Run each function in its own thread, app context and database connection, started together."""
    from saas.extensions import db
    from saas.tenancy import company_context

    barrier = threading.Barrier(len(functions))
    results = [None] * len(functions)

    def run(i, fn):
        with app.app_context(), company_context(company_id):
            barrier.wait()
            try:
                results[i] = ("ok", fn())
            except Exception as exc:  # noqa: BLE001 - the test inspects what each thread got
                db.session.rollback()
                results[i] = ("error", exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i, fn)) for i, fn in enumerate(functions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results


@requires_postgres
def test_two_technicians_grabbing_the_same_job_exactly_one_gets_it(app, cast, make_user):
    from saas.extensions import db
    from saas.models import Membership
    from saas.tenancy import company_context
    from tenants.work_orders import services
    from tenants.work_orders.models import CategoryTechnician, EventKind, WorkOrder, WorkOrderEvent
    from tenants.work_orders.states import IllegalMove

    company = cast.world.company
    second = make_user("李师傅", memberships=[(company, Role.TECHNICIAN)])
    with app.app_context(), company_context(company.id):
        second_id = db.session.execute(select(Membership.id).where(Membership.user_id == second.id)).scalar_one()
        for member_id in (cast.members[Role.TECHNICIAN], second_id):
            db.session.add(CategoryTechnician(category_id=cast.categories["公共设施"], membership_id=member_id))
        db.session.commit()

    def grab(member_id, order_id):
        def go():
            member = db.session.get(Membership, (company.id, member_id))
            order = db.session.get(WorkOrder, (company.id, order_id))
            return services.perform(order, "grab", actor=member.user, membership=member).assignee_id
        return go

    for _ in range(3):  # a few rounds, a fresh pool job each: whoever wins, exactly one wins
        with app.app_context(), company_context(company.id):
            order_id = _new_order(cast, area="common", category="公共设施").id
        results = _run_together(app, company.id, [grab(cast.members[Role.TECHNICIAN], order_id),
                                                  grab(second_id, order_id)])
        winners = [r[1] for r in results if r[0] == "ok"]
        losers = [r[1] for r in results if r[0] == "error"]
        assert len(winners) == 1 and len(losers) == 1, results
        assert isinstance(losers[0], IllegalMove) and "already taken" in str(losers[0])
        with app.app_context(), company_context(company.id):
            order = db.session.get(WorkOrder, (company.id, order_id))
            assert order.assignee_id == winners[0]
            grabs = db.session.execute(select(WorkOrderEvent).where(
                WorkOrderEvent.work_order_id == order_id, WorkOrderEvent.kind == EventKind.TRANSITION,
                WorkOrderEvent.action == "grab")).scalars().all()
            assert len(grabs) == 1


@requires_postgres
def test_concurrent_reports_get_distinct_consecutive_numbers_even_the_first_of_the_year(app, make_company,
                                                                                          make_user, make_roster):
    from saas.extensions import db
    from saas.tenancy import company_context
    from tenants.work_orders import services
    from tenants.work_orders.models import WorkOrder

    company = make_company("numbers", "编号物业")
    admin = make_user("管理员", memberships=[(company, Role.ADMIN)])
    roster = make_roster(company)
    with app.app_context(), company_context(company.id):
        services.ensure_default_categories()
        db.session.commit()
        category_id = services.queries.live_categories()[0].id

    def report():
        from saas.models import Membership
        from tenants.work_orders.models import Area, Source

        member = db.session.execute(select(Membership).where(Membership.user_id == admin.id)).scalar_one()
        numbers = []
        for _ in range(4):
            numbers.append(services.create_order(services.Report(
                source=Source.STAFF, area=Area.COMMON, category_id=category_id, community_id=roster["communities"][0],
                description="路灯不亮"), actor=member.user, membership=member).number)
        return numbers

    results = _run_together(app, company.id, [report] * 6)
    assert all(r[0] == "ok" for r in results), results
    numbers = [n for r in results for n in r[1]]
    assert len(set(numbers)) == 24
    year = numbers[0].split("-")[1]
    assert sorted(numbers) == [f"WO-{year}-{n:06d}" for n in range(1, 25)]
    with app.app_context(), company_context(company.id):
        assert db.session.query(WorkOrder).count() == 24


# --- photos -----------------------------------------------------------------------------------------------------


def test_photos_are_stored_under_the_company_folder_without_exif_and_only_visible_to_those_who_see_the_job(
        app, two_companies, login_as, make_user):
    from pathlib import Path

    from PIL import Image

    from saas.extensions import db
    from saas.tenancy import company_context
    from tenants.work_orders.models import WorkOrderPhoto

    a, b = two_companies
    with app.app_context(), company_context(a.company.id):
        row = db.session.execute(select(WorkOrderPhoto)).scalar_one()
        path = Path(app.config["UPLOAD_FOLDER"]) / row.path
    assert row.path.startswith(f"{a.company.id}/work_orders/")
    with Image.open(path) as image:
        assert image.format == "JPEG" and not image.getexif()
    url = f"/c/{a.company.slug}/work-orders/photos/{row.id}"
    for user in (a.admin, a.steward, a.technician, a.owner):
        response = login_as(user).get(url)
        assert response.status_code == 200 and response.mimetype == "image/jpeg"
        assert "private" in response.headers["Cache-Control"]
    assert login_as(b.admin).get(f"/c/{b.company.slug}/work-orders/photos/{row.id}").status_code == 404
    neighbour = make_user("邻居", memberships=[(a.company, Role.OWNER)])
    assert login_as(neighbour).get(url).status_code == 404


def test_a_file_that_is_not_an_image_is_refused_and_nothing_changes(app, cast, login_as):
    from saas.extensions import db
    from saas.tenancy import company_context
    from tenants.work_orders.models import WorkOrder, WorkOrderPhoto

    slug, order_id = cast.world.company.slug, cast.world.ids["order_id"]
    client = login_as(cast.world.technician)
    before = _order_state(app, cast, order_id)
    response = client.post(f"/c/{slug}/work-orders/{order_id}/comment", data={
        "note": "现场照片", "photos": [(io.BytesIO(b"#!/bin/sh\necho hi\n"), "photo.jpg")]},
        content_type="multipart/form-data")
    assert response.status_code == 422
    assert "not an image" in response.get_data(as_text=True) or "无法识别" in response.get_data(as_text=True)
    assert _order_state(app, cast, order_id) == before
    with app.app_context(), company_context(cast.world.company.id):
        assert db.session.query(WorkOrderPhoto).count() == 1
        assert db.session.get(WorkOrder, (cast.world.company.id, order_id)).last_seq == before[1]


def _order_state(app, cast, order_id):
    from saas.extensions import db
    from saas.tenancy import company_context
    from tenants.work_orders.models import WorkOrder

    with app.app_context(), company_context(cast.world.company.id):
        order = db.session.get(WorkOrder, (cast.world.company.id, order_id))
        return order.status, order.last_seq, order.assignee_id


# --- the technician's path over HTTP ---------------------------------------------------------------------------


def test_technician_flow_over_http(app, cast, login_as):
    from saas.extensions import db
    from saas.notifications.models import OutboxMessage
    from saas.tenancy import company_context
    from tenants.work_orders.models import WorkOrder, WorkOrderPhoto
    from tenants.work_orders.states import Status

    slug, order_id = cast.world.company.slug, cast.world.ids["order_id"]
    client = login_as(cast.world.technician)
    assert "厨房水管漏水" in client.get(f"/c/{slug}/work-orders/mine").get_data(as_text=True)
    page = client.get(f"/c/{slug}/work-orders/{order_id}").get_data(as_text=True)
    assert "厨房水管漏水" in page and "tel:" in page  # the assignee can call the reporter
    # Declining needs a reason: refused and nothing changes without one.
    response = client.post(f"/c/{slug}/work-orders/{order_id}/actions/decline", data={"note": ""})
    assert response.status_code == 422
    assert _order_state(app, cast, order_id)[0] == Status.ASSIGNED
    for action in ("accept", "on_the_way", "start"):
        assert client.post(f"/c/{slug}/work-orders/{order_id}/actions/{action}").status_code == 303
    response = client.post(f"/c/{slug}/work-orders/{order_id}/actions/complete", data={
        "note": "更换了阀门", "photos": [(io.BytesIO(png_bytes()), "done.png")]},
        content_type="multipart/form-data")
    assert response.status_code == 303
    with app.app_context(), company_context(cast.world.company.id):
        order = db.session.get(WorkOrder, (cast.world.company.id, order_id))
        assert order.status == Status.DONE and order.completed_at is not None and order.accepted_at is not None
        assert db.session.query(WorkOrderPhoto).count() == 2
        sms = db.session.execute(select(OutboxMessage.kind).where(OutboxMessage.related_id == order_id)
                                 ).scalars().all()
        assert "work_order_accept" in sms and "work_order_complete" in sms
    # Completing twice is refused by the state machine, with its message.
    response = client.post(f"/c/{slug}/work-orders/{order_id}/actions/complete", data={"note": "x"})
    assert response.status_code == 422
    assert "Only a job in progress can be marked done" in response.get_data(as_text=True) or \
        "只有" in response.get_data(as_text=True)


def test_quote_pauses_the_clock_and_accepting_it_resumes_with_the_deadline_pushed_back(app, cast):
    from saas.tenancy import company_context, utcnow
    from tenants.work_orders import services
    from tenants.work_orders.models import QuoteStatus
    from tenants.work_orders.states import Status

    with app.app_context(), company_context(cast.world.company.id):
        start = utcnow()
        steward, owner = cast.membership(Role.STEWARD), cast.membership(Role.OWNER)
        order = _new_order(cast, now=start)
        order = services.perform(order, "accept", actor=steward.user, membership=steward, now=start)
        due = order.resolution_due_at
        order = services.perform(order, "quote", actor=steward.user, membership=steward, quote_fen=8800,
                                 note="更换龙头", now=start + timedelta(hours=1))
        assert order.status == Status.WAITING_OWNER and order.paused_at is not None
        order = services.perform(order, "accept_quote", actor=owner.user, membership=owner,
                                 now=start + timedelta(hours=6))
        assert order.status == Status.ACCEPTED and order.quote_status == QuoteStatus.ACCEPTED
        assert order.resolution_due_at == due + timedelta(hours=5)  # 24/7 calendar: exactly the pause


# --- lists --------------------------------------------------------------------------------------------------------


def test_admin_list_filters(app, cast, login_as):
    from saas.tenancy import company_context

    with app.app_context(), company_context(cast.world.company.id):
        common = _new_order(cast, area="common", category="电梯")
        number = common.number
    slug = cast.world.company.slug
    client = login_as(cast.world.admin)
    category = cast.categories["电梯"]
    page = client.get(f"/c/{slug}/work-orders?category={category}").get_data(as_text=True)
    assert number in page and "厨房水管漏水" not in page
    page = client.get(f"/c/{slug}/work-orders?assignee=none").get_data(as_text=True)
    assert number in page and "厨房水管漏水" not in page
    page = client.get(f"/c/{slug}/work-orders?status=done").get_data(as_text=True)
    assert number not in page and "No job matches" in page or "没有" in page
    page = client.get(f"/c/{slug}/work-orders?overdue=1&category=garbage&page=x").get_data(as_text=True)
    assert number not in page  # nothing is overdue yet; garbage parameters are ignored, not errors


def test_list_pages_make_a_fixed_number_of_queries(app, cast, login_as, count_queries):
    from saas.tenancy import company_context

    slug = cast.world.company.slug
    admin, technician = login_as(cast.world.admin), login_as(cast.world.technician)
    urls = [(admin, f"/c/{slug}/work-orders"), (admin, f"/c/{slug}/work-orders?status=open&overdue=1"),
            (admin, f"/c/{slug}/work-orders/board"), (technician, f"/c/{slug}/work-orders/mine")]

    def counts():
        out = []
        for client, url in urls:
            with count_queries() as counter:
                assert client.get(url).status_code == 200
            out.append(counter.count)
        return out

    counts()  # the first view of the list fills the kept assignee list (saas/staff_version.py)
    small = counts()
    with app.app_context(), company_context(cast.world.company.id):
        for i in range(12):
            _new_order(cast, area="common" if i % 2 else "home", category="电梯" if i % 3 else "水暖")
    assert counts() == small


# --- a job from a phone call, follow-up ---------------------------------------------------------------------------


def test_staff_enter_a_job_from_a_phone_call(app, cast, login_as):
    from saas.extensions import db
    from saas.tenancy import company_context
    from tenants.work_orders.models import Source, WorkOrder

    slug = cast.world.company.slug
    client = login_as(cast.world.admin)
    results = client.get(f"/c/{slug}/work-orders/new?q=0101", headers={"HX-Request": "true",
                                                                      "HX-Target": "household-results"})
    assert str(cast.world.owner_household_id) in results.get_data(as_text=True)
    data = {"household_id": str(cast.world.owner_household_id), "area": "home",
            "category_id": str(cast.categories["门窗"]), "priority": "urgent", "description": "入户门锁坏了",
            "preferred_time": "今天下午"}
    response = client.post(f"/c/{slug}/work-orders/new", data={**data, "description": ""})
    assert response.status_code == 422
    response = client.post(f"/c/{slug}/work-orders/new", data=data)
    assert response.status_code == 303
    with app.app_context(), company_context(cast.world.company.id):
        order = db.session.execute(select(WorkOrder).where(WorkOrder.description == "入户门锁坏了")).scalar_one()
        assert order.source == Source.PHONE and order.priority.value == "urgent"
        assert order.reporter_phone  # the owner's phone from the roster
        assert (order.response_due_at - order.created_at.replace(tzinfo=order.response_due_at.tzinfo)
                ) == timedelta(minutes=30)


def test_steward_cannot_enter_a_job_for_a_home_they_do_not_look_after(app, cast, login_as):
    slug = cast.world.company.slug
    other_home = cast.world.roster["households"][1]
    response = login_as(cast.world.steward).post(f"/c/{slug}/work-orders/new", data={
        "household_id": str(other_home), "area": "home", "category_id": str(cast.categories["门窗"]),
        "priority": "normal", "description": "窗户关不上"})
    assert response.status_code == 422


def test_steward_records_a_follow_up_after_the_job_is_done(app, cast, login_as):
    from saas.extensions import db
    from saas.tenancy import company_context
    from tenants.work_orders import services
    from tenants.work_orders.models import WorkOrder, WorkOrderFollowUp

    slug, order_id = cast.world.company.slug, cast.world.ids["order_id"]
    client = login_as(cast.world.steward)
    response = client.post(f"/c/{slug}/work-orders/{order_id}/follow-up", data={"reached": "yes",
                                                                                "satisfied": "yes"})
    assert response.status_code == 422  # not done yet
    with app.app_context(), company_context(cast.world.company.id):
        technician = cast.membership(Role.TECHNICIAN)
        order = db.session.get(WorkOrder, (cast.world.company.id, order_id))
        for action in ("accept", "start", "complete"):
            order = services.perform(order, action, actor=technician.user, membership=technician)
    response = client.post(f"/c/{slug}/work-orders/{order_id}/follow-up", data={
        "reached": "yes", "satisfied": "no", "note": "水压还是偏小"})
    assert response.status_code == 303
    with app.app_context(), company_context(cast.world.company.id):
        follow_up = db.session.execute(select(WorkOrderFollowUp)).scalar_one()
        assert follow_up.reached and follow_up.satisfied is False and follow_up.note == "水压还是偏小"
    assert "水压还是偏小" in client.get(f"/c/{slug}/work-orders/{order_id}").get_data(as_text=True)


def test_notifications_reach_the_assignee_and_reading_them_clears_the_count(app, cast, login_as):
    slug = cast.world.company.slug
    client = login_as(cast.world.technician)
    page = client.get(f"/c/{slug}/work-orders/mine").get_data(as_text=True)
    assert 'text-bg-warning"><span aria-hidden="true">1<' in page  # assigned to me by the steward
    inbox = client.get(f"/c/{slug}/notifications").get_data(as_text=True)
    assert "assigned to you" in inbox or "指派给你" in inbox
    assert 'rounded-pill text-bg-warning' not in client.get(f"/c/{slug}/notifications").get_data(as_text=True)


def test_a_technician_who_leaves_hands_their_open_jobs_back_to_dispatch(app, cast, login_as):
    from saas.extensions import db
    from saas.tenancy import company_context
    from tenants.work_orders.models import WorkOrder, WorkOrderEvent
    from tenants.work_orders.states import Status

    slug, order_id = cast.world.company.slug, cast.world.ids["order_id"]
    admin = login_as(cast.world.admin)
    response = admin.post(f"/c/{slug}/members/{cast.members[Role.TECHNICIAN]}/end")
    assert response.status_code in (200, 303), response.status_code
    with app.app_context(), company_context(cast.world.company.id):
        order = db.session.get(WorkOrder, (cast.world.company.id, order_id))
        assert order.status == Status.NEW and order.assignee_id is None
        last = db.session.execute(select(WorkOrderEvent).where(WorkOrderEvent.work_order_id == order_id)
                                  .order_by(WorkOrderEvent.seq.desc()).limit(1)).scalar_one()
        assert last.action == "release" and last.from_status == Status.ASSIGNED and last.actor_user_id is not None


# --- found in review -------------------------------------------------------------------------------------------


def _broken_png() -> bytes:
    """A PNG whose second chunk header is damaged: Pillow raises SyntaxError for it, not OSError."""
    data = bytearray(png_bytes())
    data[36] = 0
    return bytes(data)


def test_a_broken_png_is_refused_with_a_message_not_a_500(app, cast, login_as):
    slug = cast.world.company.slug
    response = login_as(cast.world.owner).post(f"/c/{slug}/my/repairs/new", data={
        "area": "home", "category_id": str(cast.categories["水暖"]), "priority": "normal", "description": "漏水了",
        "photos": (io.BytesIO(_broken_png()), "a.png")}, content_type="multipart/form-data")
    assert response.status_code == 422


def test_a_quote_that_is_not_a_sensible_price_is_refused_not_a_500(app, cast, login_as):
    from saas.tenancy import company_context
    from tenants.work_orders import services

    with app.app_context(), company_context(cast.world.company.id):
        technician = cast.membership(Role.TECHNICIAN)
        services.perform(_order(cast), "accept", actor=technician.user, membership=technician)
    slug, order_id = cast.world.company.slug, cast.world.ids["order_id"]
    client = login_as(cast.world.technician)
    for bad in ("1e30", "Infinity", "sNaN", "12.345", "abc"):
        response = client.post(f"/c/{slug}/work-orders/{order_id}/actions/quote", data={"quote": bad})
        assert response.status_code == 422, bad
    assert _order_state(app, cast, order_id)[0].value == "accepted"


def _order(cast):
    from saas.extensions import db
    from tenants.work_orders.models import WorkOrder

    return db.session.get(WorkOrder, (cast.world.company.id, cast.world.ids["order_id"]))


def test_a_new_owner_of_a_home_does_not_read_the_previous_owners_repairs(app, cast, login_as, make_user):
    from saas.extensions import db
    from saas.models import Membership
    from saas.tenancy import company_context, utcnow
    from tenants.roster.models import HouseholdOwner

    slug, order_id = cast.world.company.slug, cast.world.ids["order_id"]
    buyer = make_user("新业主", memberships=[(cast.world.company, Role.OWNER)])
    with app.app_context(), company_context(cast.world.company.id):
        for link in db.session.execute(select(HouseholdOwner)).scalars():
            link.ended_at = utcnow()
        member = db.session.execute(select(Membership).where(Membership.user_id == buyer.id)).scalar_one()
        db.session.add(HouseholdOwner(household_id=cast.world.owner_household_id, membership_id=member.id,
                                      verified_at=utcnow()))
        db.session.commit()
    client = login_as(buyer)
    assert "厨房水管漏水" not in client.get(f"/c/{slug}/my/repairs").get_data(as_text=True)
    assert client.get(f"/c/{slug}/my/repairs/{order_id}").status_code == 404
    # Their own new report for the home is theirs.
    response = client.post(f"/c/{slug}/my/repairs/new", data={
        "area": "home", "category_id": str(cast.categories["门窗"]), "priority": "normal", "description": "窗户漏风"})
    assert response.status_code == 303
    assert "窗户漏风" in client.get(f"/c/{slug}/my/repairs").get_data(as_text=True)


def test_a_steward_qualified_for_a_pool_category_can_open_and_take_its_jobs(app, cast, login_as):
    from saas.extensions import db
    from saas.tenancy import company_context
    from tenants.work_orders.models import CategoryTechnician, WorkOrder

    with app.app_context(), company_context(cast.world.company.id):
        db.session.add(CategoryTechnician(category_id=cast.categories["公共设施"],
                                          membership_id=cast.members[Role.STEWARD]))
        db.session.commit()
        order_id = _new_order(cast, area="common", category="公共设施",
                              household_id=cast.world.roster["households"][3]).id
    slug = cast.world.company.slug
    client = login_as(cast.world.steward)
    assert client.get(f"/c/{slug}/work-orders/{order_id}").status_code == 200
    assert client.post(f"/c/{slug}/work-orders/{order_id}/actions/grab").status_code == 303
    with app.app_context(), company_context(cast.world.company.id):
        assert db.session.get(WorkOrder, (cast.world.company.id, order_id)).assignee_id == cast.members[Role.STEWARD]


def test_a_technician_who_only_sees_a_pool_job_cannot_comment_on_it(app, cast, login_as):
    from saas.extensions import db
    from saas.tenancy import company_context
    from tenants.work_orders.models import CategoryTechnician, WorkOrder

    with app.app_context(), company_context(cast.world.company.id):
        db.session.add(CategoryTechnician(category_id=cast.categories["公共设施"],
                                          membership_id=cast.members[Role.TECHNICIAN]))
        db.session.commit()
        order_id = _new_order(cast, area="common", category="公共设施").id
    slug = cast.world.company.slug
    client = login_as(cast.world.technician)
    page = client.get(f"/c/{slug}/work-orders/{order_id}").get_data(as_text=True)
    assert f"/work-orders/{order_id}/comment" not in page
    assert client.post(f"/c/{slug}/work-orders/{order_id}/comment", data={"note": "看看"}).status_code == 422
    with app.app_context(), company_context(cast.world.company.id):
        assert db.session.get(WorkOrder, (cast.world.company.id, order_id)).last_seq == 1


def test_a_release_withdraws_a_proposed_quote_and_a_reopen_never_goes_back_to_someone_who_left(app, cast,
                                                                                             login_as):
    from saas.extensions import db
    from saas.tenancy import company_context
    from tenants.members import services as members
    from tenants.work_orders import services
    from tenants.work_orders.models import QuoteStatus, WorkOrder
    from tenants.work_orders.states import Status

    with app.app_context(), company_context(cast.world.company.id):
        technician, admin = cast.membership(Role.TECHNICIAN), cast.membership(Role.ADMIN)
        order = services.perform(_order(cast), "accept", actor=technician.user, membership=technician)
        services.perform(order, "quote", actor=technician.user, membership=technician, quote_fen=50000)
        members.end_membership(technician, actor=admin.user)
        db.session.commit()
        order = _order(cast)
        assert order.status == Status.NEW and order.quote_status == QuoteStatus.NONE and order.paused_at is None
        # The steward takes it over, finishes it; then leaves; the owner reopens: back to dispatch, not to them.
        steward, owner = cast.membership(Role.STEWARD), cast.membership(Role.OWNER)
        services.perform(order, "assign", actor=admin.user, membership=admin, assignee_id=steward.id)
        for action in ("accept", "start", "complete"):
            order = services.perform(_order(cast), action, actor=steward.user, membership=steward)
        members.change_role(steward, Role.OWNER, actor=admin.user)
        db.session.commit()
        order = services.perform(_order(cast), "reopen", actor=owner.user, membership=owner, note="又漏了")
        order = db.session.get(WorkOrder, (cast.world.company.id, cast.world.ids["order_id"]))
        assert order.status == Status.NEW and order.assignee_id is None


def test_a_huge_page_number_is_an_empty_page_not_a_500(app, cast, login_as):
    slug = cast.world.company.slug
    huge = "?page=99999999999999999999"
    assert login_as(cast.world.admin).get(f"/c/{slug}/work-orders{huge}").status_code == 200
    assert login_as(cast.world.owner).get(f"/c/{slug}/my/repairs{huge}").status_code == 200
    assert login_as(cast.world.technician).get(f"/c/{slug}/notifications{huge}").status_code == 200
    # The same mechanism (saas.pagination) pages every list, the older ones too.
    assert login_as(cast.world.admin).get(f"/c/{slug}/households{huge}").status_code == 200
