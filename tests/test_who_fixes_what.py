"""A new company's repairs reach somebody: the checklist's "who fixes what" step, the first technician offered as
the default for the categories that reach nobody, and the admins' one SMS about a job that reaches nobody."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from saas.extensions import db
from saas.models import AuditEvent, Membership, Role, User
from saas.notifications.models import Channel, OutboxMessage
from saas.tenancy import company_context
from tenants.inbox.models import Notification
from tenants.roster.models import Community
from tenants.work_orders import notify, queries, services
from tenants.work_orders import settings_services as ss
from tenants.work_orders.models import Area, DispatchMode, Source, WorkOrder, WorkOrderCategory
from tenants.work_orders.states import Action, Status
from tests.factories import login, next_phone

PASSWORD = "a-long-password"
NOBODY = "work_order_unassigned"


def _signup(app, slug="xinyuan-wuye", name="新苑物业") -> SimpleNamespace:
    """A company made as a visitor makes one (the signup service): one admin, the six default categories."""
    from saas.signup.services import create_company_with_admin

    with app.app_context():
        result = create_company_with_admin(name=name, slug=slug, admin_name="王经理", phone=next_phone(),
                                           password=PASSWORD)
        with company_context(result.company.id):
            community = Community(name="新苑小区", address="新苑路 1 号")
            db.session.add(community)
            db.session.commit()
            for row in (result.company, result.user, community):
                db.session.refresh(row)
            world = SimpleNamespace(company=result.company, admin=result.user, community_id=community.id,
                                    ids={"community_id": community.id, "building_id": None})
        db.session.expunge_all()
    return world


def _client(app, user):
    return login(app.test_client(), user, PASSWORD)


def _join(app, world, name, role) -> User:
    """Someone joins through an invitation, as people really do (the join hook runs)."""
    from tenants.members import services as members

    with app.test_request_context(), company_context(world.company.id):  # the link is built with url_for
        admin = db.session.get(User, world.admin.id)
        invitation = members.invite(name=name, role=role, phone=next_phone(), email="", actor=admin)
        invitation_id, phone = invitation.id, invitation.phone
    with app.app_context():
        view = members.InvitationView(invitation_id, db.session.get(type(world.company), world.company.id), name,
                                      role, phone, "", None)
        user = members.accept_invitation(view, user=None, name=name, password=PASSWORD)
        db.session.refresh(user)
        db.session.expunge(user)
        return user


def _membership_id(user) -> object:
    return db.session.execute(select(Membership.id).where(Membership.user_id == user.id,
                                                          Membership.ended_at.is_(None))).scalar_one()


def _steps(body: str) -> dict:
    return dict(re.findall(r'id="step-(\w+)" data-done="(true|false)"', body))


def _step(body: str, key: str) -> str:
    start = body.index(f'id="step-{key}"')
    return body[start:body.index("</li>", start)]


def _defaults(app, world) -> dict:
    with app.app_context(), company_context(world.company.id):
        return {c.name: (c.dispatch_mode, c.default_assignee_id, ss.qualified_ids(c.id))
                for c in queries.live_categories()}


def _nobody_sms(app, world) -> list[tuple]:
    with app.app_context(), company_context(world.company.id):
        return sorted(db.session.execute(
            select(OutboxMessage.recipient, OutboxMessage.related_id, OutboxMessage.channel)
            .where(OutboxMessage.kind == NOBODY)).tuples())


# --- the checklist step -------------------------------------------------------------------------------------


def test_a_new_company_has_the_step_unticked_and_lists_the_categories_that_reach_nobody(app):
    world = _signup(app)
    body = _client(app, world.admin).get(f"/c/{world.company.slug}/onboarding").get_data(as_text=True)
    assert _steps(body)["repairs"] == "false"
    step = _step(body, "repairs")
    assert "Who fixes what" in step
    for name in ("水暖", "电路", "门窗", "电梯", "公共设施", "其他"):
        assert name in step
    # No technician yet: the step says so and leads to the invitation form.
    assert "You have no technician yet" in step
    assert f'href="/c/{world.company.slug}/members/invitations?role=technician#invite-form"' in step
    form = _client(app, world.admin).get(f"/c/{world.company.slug}/members/invitations?role=technician")
    assert '<option selected value="technician">' in form.get_data(as_text=True)  # the role is chosen already


def test_with_a_technician_the_step_counts_what_reaches_nobody_and_ticks_once_each_category_reaches_someone(app):
    world = _signup(app)
    technician = _join(app, world, "张师傅", Role.TECHNICIAN)
    client = _client(app, world.admin)
    url = f"/c/{world.company.slug}/onboarding"
    step = _step(client.get(url).get_data(as_text=True), "repairs")
    assert "6 kinds of repair reach nobody" in step
    assert f'href="/c/{world.company.slug}/work-orders/settings#who-fixes-what"' in step

    with app.app_context(), company_context(world.company.id):
        person = _membership_id(technician)
        choices = {f"who_{c.id}": "pool" if c.name == "公共设施" else str(person) for c in queries.live_categories()}
        water = next(c.id for c in queries.live_categories() if c.name == "水暖")
    # One category first: the step still counts the others.
    response = client.post(f"/c/{world.company.slug}/work-orders/settings/dispatch",
                           data={f"who_{water}": str(person)})
    assert response.status_code == 303 and response.headers["Location"].endswith("/work-orders/settings")
    assert "5 kinds of repair reach nobody" in _step(client.get(url).get_data(as_text=True), "repairs")

    assert client.post(f"/c/{world.company.slug}/work-orders/settings/dispatch", data=choices).status_code == 303
    body = client.get(url).get_data(as_text=True)
    assert _steps(body)["repairs"] == "true"
    defaults = _defaults(app, world)
    assert defaults["电路"][:2] == (DispatchMode.ASSIGN, person)
    # Choosing the pool for a category nobody is qualified for qualifies the technicians there are.
    assert defaults["公共设施"][0] == DispatchMode.POOL and defaults["公共设施"][2] == {person}
    with app.app_context(), company_context(world.company.id):
        assert db.session.scalar(select(func.count()).select_from(AuditEvent)
                                 .where(AuditEvent.action == "work_order_category.update")) == 6


def test_a_choice_that_is_not_this_companys_staff_is_refused_and_nothing_changes(app, two_companies):
    world = _signup(app)
    other = two_companies[1]
    client = _client(app, world.admin)
    before = _defaults(app, world)
    with app.app_context(), company_context(world.company.id):
        water = next(c.id for c in queries.live_categories() if c.name == "水暖")
        power = next(c.id for c in queries.live_categories() if c.name == "电路")
    for value in (str(other.members[Role.TECHNICIAN]), "not-an-id"):
        response = client.post(f"/c/{world.company.slug}/work-orders/settings/dispatch",
                               data={f"who_{power}": "pool", f"who_{water}": value})
        assert response.status_code == 422
        assert "Choose a current staff member, or the grab pool." in response.get_data(as_text=True)
    assert client.post(f"/c/{world.company.slug}/work-orders/settings/dispatch",
                       data={f"who_{other.ids['category_id']}": "pool"}).status_code == 422
    assert _defaults(app, world) == before


# --- the first technician, offered --------------------------------------------------------------------------


def test_the_first_technician_joining_creates_the_offer_and_applying_it_fills_only_what_is_missing(app):
    world = _signup(app)
    client = _client(app, world.admin)
    with app.app_context(), company_context(world.company.id):
        admin_membership = _membership_id(world.admin)
        water = next(c for c in queries.live_categories() if c.name == "水暖")
        ss.set_dispatch({water.id: str(admin_membership)}, actor=None)  # the admin fixes the plumbing themselves
    assert "technician-offer" not in client.get(f"/c/{world.company.slug}/onboarding").get_data(as_text=True)

    technician = _join(app, world, "张师傅", Role.TECHNICIAN)
    with app.app_context(), company_context(world.company.id):
        [notice] = db.session.execute(select(Notification).where(Notification.user_id == world.admin.id)
                                      .where(Notification.subject_type == notify.TECHNICIAN_JOINED)).scalars()
        assert notice.body.startswith("张师傅 has joined as a technician. 5 categories reach nobody")
        person = _membership_id(technician)
    offer = "张师傅 has joined: make them the default technician for the 5 categories that reach nobody?"
    for page in ("onboarding", "work-orders/settings"):
        body = client.get(f"/c/{world.company.slug}/{page}").get_data(as_text=True)
        assert offer in body and f'name="membership_id" value="{person}"' in body
    # Nothing is changed until the admin says so. The notice in the bell leads to the settings that do it.
    assert _defaults(app, world)["电路"][:2] == (DispatchMode.ASSIGN, None)
    inbox = client.get(f"/c/{world.company.slug}/notifications").get_data(as_text=True)
    link = f'href="/c/{world.company.slug}/work-orders/settings"'
    assert link in inbox and 0 < inbox.index("张师傅 has joined") - inbox.index(link) < 200

    # A second technician is not "the first": no second notice, and the offer still names the first.
    _join(app, world, "刘师傅", Role.TECHNICIAN)
    with app.app_context(), company_context(world.company.id):
        assert db.session.scalar(select(func.count()).select_from(Notification)
                                 .where(Notification.subject_type == notify.TECHNICIAN_JOINED)) == 1

    response = client.post(f"/c/{world.company.slug}/work-orders/settings/technician-offer",
                           data={"membership_id": str(person), "back": "onboarding"})
    assert response.status_code == 303 and response.headers["Location"].endswith("/onboarding")
    defaults = _defaults(app, world)
    assert defaults["水暖"][:2] == (DispatchMode.ASSIGN, admin_membership)  # untouched
    for name in ("电路", "门窗", "电梯", "其他"):
        assert defaults[name][:2] == (DispatchMode.ASSIGN, person)
    assert defaults["公共设施"][0] == DispatchMode.POOL and defaults["公共设施"][2] == {person}
    body = client.get(f"/c/{world.company.slug}/onboarding").get_data(as_text=True)
    assert _steps(body)["repairs"] == "true" and "technician-offer" not in body
    assert "张师傅 is now the default technician for 5 categories." in body
    with app.app_context(), company_context(world.company.id):
        events = db.session.execute(select(AuditEvent).where(
            AuditEvent.action == "work_order_category.update", AuditEvent.actor_id == world.admin.id)).scalars().all()
        assert sorted(e.object_label for e in events) == sorted(["电路", "门窗", "电梯", "公共设施", "其他"])


def test_a_member_whose_role_becomes_technician_is_offered_too(app):
    from tenants.members import services as members

    world = _signup(app)
    steward = _join(app, world, "李管家", Role.STEWARD)
    with app.app_context(), company_context(world.company.id):
        assert ss.technician_offer() is None
        membership = db.session.execute(select(Membership).where(Membership.user_id == steward.id)).scalar_one()
        members.change_role(membership, Role.TECHNICIAN, actor=db.session.get(User, world.admin.id))
        offer = ss.technician_offer()
        assert offer is not None and offer.name == "李管家" and len(offer.categories) == 6


def test_an_offer_for_someone_who_is_no_longer_a_technician_is_refused(app, two_companies):
    from tenants.members import services as members

    world = _signup(app)
    technician = _join(app, world, "张师傅", Role.TECHNICIAN)
    client = _client(app, world.admin)
    with app.app_context(), company_context(world.company.id):
        membership = db.session.execute(select(Membership).where(Membership.user_id == technician.id)).scalar_one()
        members.end_membership(membership, actor=db.session.get(User, world.admin.id))
        assert ss.technician_offer() is None
        ended = membership.id
    before = _defaults(app, world)
    for person in (ended, two_companies[1].members[Role.TECHNICIAN], "x"):
        response = client.post(f"/c/{world.company.slug}/work-orders/settings/technician-offer",
                               data={"membership_id": str(person)}, follow_redirects=True)
        assert "This person is no longer a technician here" in response.get_data(as_text=True)
    assert _defaults(app, world) == before


# --- a job that reaches nobody -------------------------------------------------------------------------------


def _second_admin(app, world) -> User:
    return _join(app, world, "赵主管", Role.ADMIN)


def test_a_qr_report_that_reaches_nobody_texts_each_admin_once_however_often_it_comes_back(app):
    from tests.test_work_order_intake import _point, _report

    world = _signup(app)
    second = _second_admin(app, world)
    _, token = _point(app, world, category="电梯", name="1号楼电梯")
    assert _report(app.test_client(), token).status_code == 303
    with app.app_context(), company_context(world.company.id):
        order = db.session.execute(select(WorkOrder)).scalar_one()
        assert order.status == Status.NEW and order.assignee_id is None
        rows = db.session.execute(select(OutboxMessage).where(OutboxMessage.kind == NOBODY)).scalars().all()
        assert sorted(r.recipient for r in rows) == sorted([world.admin.phone, second.phone])
        for row in rows:
            assert row.channel == Channel.SMS and row.related_id == order.id
            assert order.number in row.body and "1号楼电梯" in row.body
            # The link, after a space, to the job's staff page.
            assert row.body.endswith(f" http://127.0.0.1:5000/c/{world.company.slug}/work-orders/{order.id}")
        # And in the app, as before.
        assert db.session.scalar(select(func.count()).select_from(Notification).where(
            Notification.subject_id == order.id, Notification.body.contains("needs someone"))) == 2
        order_id = order.id

    # Dispatch again and again: a technician is given it and declines, twice; the notifier runs again by hand.
    technician = _join(app, world, "张师傅", Role.TECHNICIAN)
    with app.app_context(), company_context(world.company.id):
        admin = db.session.get(User, world.admin.id)
        admin_m = db.session.execute(select(Membership).where(Membership.user_id == admin.id)).scalar_one()
        tech = db.session.get(User, technician.id)
        tech_m = db.session.execute(select(Membership).where(Membership.user_id == tech.id)).scalar_one()
        for _ in range(2):
            order = db.session.get(WorkOrder, (world.company.id, order_id))
            services.perform(order, Action.ASSIGN, actor=admin, membership=admin_m, assignee_id=tech_m.id)
            services.perform(order, Action.DECLINE, actor=tech, membership=tech_m, note="不会修电梯")
        order = db.session.get(WorkOrder, (world.company.id, order_id))
        assert order.status == Status.NEW and notify.reaches_nobody(order)
        assert notify.needs_dispatch(order) == []
        db.session.commit()
    assert len(_nobody_sms(app, world)) == 2


def test_a_portal_report_for_a_home_without_a_steward_texts_the_admin(app):
    from decimal import Decimal

    from tenants.roster.models import Building, Household, Occupancy

    world = _signup(app)
    with app.app_context(), company_context(world.company.id):
        building = Building(community_id=world.community_id, name="1号楼")
        db.session.add(building)
        db.session.flush()
        home = Household(building_id=building.id, unit="1", room="0101", occupancy=Occupancy.OCCUPIED,
                         owner_name="业主", owner_phone=next_phone())
        home.floor_area = Decimal("80")
        db.session.add(home)
        db.session.commit()
        category = next(c for c in queries.live_categories() if c.name == "水暖")
        order = services.create_order(services.Report(source=Source.PORTAL, area=Area.HOME, category_id=category.id,
                                                      household=home, description="水管漏水"),
                                      actor=None, membership=None)
        order_id = order.id
    assert _nobody_sms(app, world) == [(world.admin.phone, order_id, Channel.SMS)]


def test_a_pool_nobody_may_take_from_reaches_nobody_but_a_pool_with_people_does_not(app):
    world = _signup(app)

    def report(category_name):
        with app.app_context(), company_context(world.company.id):
            category = next(c for c in queries.live_categories() if c.name == category_name)
            return services.create_order(services.Report(
                source=Source.PHONE, area=Area.COMMON, category_id=category.id, community_id=world.community_id,
                description="路灯不亮"), actor=None, membership=None).id

    lonely = report("公共设施")
    assert [row[1] for row in _nobody_sms(app, world)] == [lonely]
    technician = _join(app, world, "张师傅", Role.TECHNICIAN)
    with app.app_context(), company_context(world.company.id):
        public = next(c for c in queries.live_categories() if c.name == "公共设施")
        ss.set_dispatch({public.id: "pool"}, actor=None)  # qualifies the technician
        assert ss.qualified_ids(public.id) == {_membership_id(technician)}
    report("公共设施")
    assert [row[1] for row in _nobody_sms(app, world)] == [lonely]


def test_a_job_that_reaches_someone_texts_no_admin(app, two_companies):
    a, _ = two_companies
    with app.app_context(), company_context(a.company.id):
        category = db.session.execute(select(WorkOrderCategory).where(WorkOrderCategory.name == "水暖")).scalar_one()
        assert queries.least_busy_technician(category.id) is not None  # the world's technician is qualified
        services.create_order(services.Report(source=Source.PHONE, area=Area.COMMON, category_id=category.id,
                                              community_id=a.ids["community_id"], description="水管漏水"),
                              actor=None, membership=None)
    assert _nobody_sms(app, a) == []


def test_the_admins_sms_is_in_chinese(db_urls):
    from tests.conftest import make_test_app

    app = make_test_app(db_urls, BABEL_DEFAULT_LOCALE="zh_CN")
    world = _signup(app)
    with app.app_context(), company_context(world.company.id):
        category = next(c for c in queries.live_categories() if c.name == "电梯")
        order = services.create_order(services.Report(
            source=Source.PHONE, area=Area.COMMON, category_id=category.id, community_id=world.community_id,
            description="电梯停了"), actor=None, membership=None)
        [body] = db.session.execute(select(OutboxMessage.body).where(OutboxMessage.kind == NOBODY)).scalars()
        assert body.startswith(f"工单 {order.number}（新苑小区）无人接单")
        assert f"请尽快指派 http://127.0.0.1:5000/c/{world.company.slug}/work-orders/{order.id}" in body


# --- translated dispatch options ------------------------------------------------------------------------------


@pytest.mark.parametrize("page", ["categories/new", "settings"])
def test_the_dispatch_options_are_chinese_in_chinese(app, two_companies, page):
    a, _ = two_companies
    client = login(app.test_client(), a.admin)
    client.get("/lang/zh_CN")
    body = client.get(f"/c/{a.company.slug}/work-orders/{page}").get_data(as_text=True)
    assert "直接派单" in body and "抢单池" in body
    assert "Assign to a person" not in body and "Grab pool" not in body
