"""QR intake (扫码报修): the admin's posters, the no-login report form behind them, and its abuse limits."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from io import BytesIO

import time_machine
from sqlalchemy import func, select

from saas.extensions import db
from saas.models import AuditEvent, Company, Role
from saas.notifications.models import Channel, OutboxMessage
from saas.tenancy import company_context
from tenants.roster.models import Community, Household
from tenants.work_orders.models import (
    Area,
    RepairPoint,
    RepairPointToken,
    Source,
    WorkOrder,
    WorkOrderCategory,
    WorkOrderPhoto,
)
from tenants.work_orders.states import Status
from tests.conftest import REDIS_URL, requires_redis
from tests.world.stewards import png_bytes

PHONE = "13900001111"
_TICKET = re.compile(r'name="ticket" type="hidden" value="([^"]+)"')


# --- helpers ----------------------------------------------------------------------------------------------


def _point(app, world, *, category: str | None = None, name: str = "3号楼电梯") -> tuple:
    """(point id, token) of a new poster in ``world``'s first community and building."""
    from tenants.work_orders import points

    with app.app_context(), company_context(world.company.id):
        category_id = db.session.execute(
            select(WorkOrderCategory.id).where(WorkOrderCategory.name == category)).scalar_one() if category else None
        admin = db.session.get(type(world.admin), world.admin.id)
        point = points.create_point(name=name, community_id=world.ids["community_id"],
                                    building_id=world.ids["building_id"], category_id=category_id, actor=admin)
        return point.id, point.token


def _token(app, world, point_id) -> str:
    with app.app_context(), company_context(world.company.id):
        return db.session.get(RepairPoint, (world.company.id, point_id)).token


def _scan(client, token: str, *, seconds_ago: float = 10, ip: str = "127.0.0.1"):
    """GET the form as if scanned ``seconds_ago``: (response, ticket)."""
    with time_machine.travel(datetime.now(UTC) - timedelta(seconds=seconds_ago), tick=True):
        response = client.get(f"/r/{token}", environ_base={"REMOTE_ADDR": ip})
    match = _TICKET.search(response.get_data(as_text=True))
    return response, match.group(1) if match else None


def _post(client, token: str, ticket: str | None, *, phone: str = PHONE, description: str = "电梯门关不上，一直报警",
          name: str = "", ip: str = "127.0.0.1", files=None, **extra):
    data = {"phone": phone, "description": description, "name": name, "ticket": ticket or "", **extra}
    if files is not None:
        data["photos"] = files
    return client.post(f"/r/{token}", data=data, content_type="multipart/form-data",
                       environ_base={"REMOTE_ADDR": ip})


def _report(client, token: str, **kwargs):
    """Scan, then send: what a person does."""
    _, ticket = _scan(client, token, ip=kwargs.get("ip", "127.0.0.1"))
    return _post(client, token, ticket, **kwargs)


def _orders(app, world) -> list[WorkOrder]:
    with app.app_context(), company_context(world.company.id):
        orders = db.session.execute(
            select(WorkOrder).where(WorkOrder.source == Source.QR).order_by(WorkOrder.number)).scalars().all()
        db.session.expunge_all()
        return orders


def _private_markers(app, world) -> list[str]:
    """What the public pages must never show: the other job, the homes' owners, the staff."""
    with app.app_context(), company_context(world.company.id):
        homes = db.session.execute(select(Household)).scalars().all()
        markers = ["厨房水管漏水"] + [h.owner_name for h in homes] + [h.owner_phone for h in homes]
    for user in (world.owner, world.admin, world.steward, world.technician):
        markers += [user.name, user.phone]
    return markers


# --- the public form ----------------------------------------------------------------------------------------


def test_a_scan_creates_a_common_area_job_at_the_poster_with_an_sms_receipt(app, two_companies, client):
    a, _ = two_companies
    point_id, token = _point(app, a, category="水暖")
    form, ticket = _scan(client, token)
    page = form.get_data(as_text=True)
    assert form.status_code == 200 and ticket
    assert "3号楼电梯" in page and a.company.name in page and 'enctype="multipart/form-data"' in page
    assert "<script" not in page and "style=" not in page

    response = _post(client, token, ticket, name="张先生", files=[(BytesIO(png_bytes()), "door.png")])
    assert response.status_code == 303
    assert re.match(rf"^/r/{token}/done/[\w.-]+$", response.headers["Location"])
    [order] = _orders(app, a)
    with app.app_context(), company_context(a.company.id):
        community = db.session.get(Community, (a.company.id, a.ids["community_id"]))
        assert order.source == Source.QR and order.area == Area.COMMON
        assert order.repair_point_id == point_id and order.household_id is None
        assert order.community_id == a.ids["community_id"] and order.building_id == a.ids["building_id"]
        assert order.location == f"{community.name} 3号楼电梯"
        assert order.reporter_phone == PHONE and order.reporter_name == "张先生"
        assert order.reporter_user_id is None and order.created_by_id is None
        assert re.fullmatch(r"WO-\d{4}-\d{6}", order.number)
        # 水暖 assigns: the world's technician is its only qualified one.
        assert order.status == Status.ASSIGNED and order.assignee_id == a.members[Role.TECHNICIAN]
        assert db.session.scalar(select(func.count()).select_from(WorkOrderPhoto)
                                 .where(WorkOrderPhoto.work_order_id == order.id)) == 1
        sms = db.session.execute(select(OutboxMessage).where(OutboxMessage.recipient == PHONE)).scalar_one()
        assert sms.channel == Channel.SMS and sms.kind == "work_order_received" and order.number in sms.body
        from tenants.work_orders.figures import status_counts

        # The board's and lists' totals (kept by the writes) count the QR report too.
        assert status_counts() == dict(db.session.execute(
            select(WorkOrder.status, func.count()).group_by(WorkOrder.status)).all())
        assert status_counts()[Status.ASSIGNED] >= 1

    receipt = client.get(response.headers["Location"])
    body = receipt.get_data(as_text=True)
    assert receipt.status_code == 200
    assert order.number in body and "电梯门关不上，一直报警" in body and "139****1111" in body
    for marker in _private_markers(app, a):
        assert marker not in page, marker
        assert marker not in body, marker


def test_the_job_is_dispatched_by_the_posters_category(app, two_companies, client):
    a, _ = two_companies
    # The world's poster has no category: its reports go to "其他", which nobody is qualified for yet.
    response = _report(client, _token(app, a, a.ids["point_id"]))
    assert response.status_code == 303
    _, pool_token = _point(app, a, category="公共设施", name="东门道闸")
    assert _report(client, pool_token, description="道闸抬不起来").status_code == 303
    other, pool = _orders(app, a)
    with app.app_context(), company_context(a.company.id):
        names = dict(db.session.execute(select(WorkOrderCategory.id, WorkOrderCategory.name)).all())
    assert names[other.category_id] == "其他" and other.status == Status.NEW and other.assignee_id is None
    assert not other.in_pool
    assert names[pool.category_id] == "公共设施" and pool.status == Status.NEW and pool.in_pool
    assert other.number != pool.number


def test_an_unknown_code_is_a_404_page_that_says_so(client, two_companies):
    for token in ("no-such-token-000000", "x", "a" * 40, "%00", "';--"):
        response = client.get(f"/r/{token}")
        assert response.status_code == 404, token
        assert "not valid" in response.get_data(as_text=True)
    assert client.post("/r/no-such-token-000000", data={"phone": PHONE}).status_code == 404


def test_a_read_only_company_takes_no_reports(app, two_companies, client):
    a, _ = two_companies
    token = _token(app, a, a.ids["point_id"])
    with app.app_context():
        company = db.session.get(Company, a.company.id)
        company.trial_ends_at = datetime.now(UTC) - timedelta(days=1)
        company.complaint_phone = "0991-1234567"
        db.session.commit()
    _, ticket = _scan(client, token)
    assert ticket is None
    response = _post(client, token, "anything")
    assert response.status_code == 403 and "0991-1234567" in response.get_data(as_text=True)
    assert _orders(app, a) == []


# --- abuse limits -----------------------------------------------------------------------------------------------


def test_the_eleventh_report_from_one_phone_in_a_day_is_refused(app, two_companies, client):
    a, _ = two_companies
    token = _token(app, a, a.ids["point_id"])
    # A refused form (too short) does not use up the quota: only reports made count.
    typo = _report(client, token, description="坏")
    assert typo.status_code == 422 and "Describe the problem" in typo.get_data(as_text=True)
    for i in range(10):
        assert _report(client, token, description=f"第{i}个问题：楼道灯不亮").status_code == 303, i
    refused = _report(client, token, description="第十一个问题：楼道灯不亮")
    assert refused.status_code == 429
    assert "most reports a day" in refused.get_data(as_text=True)
    assert len(_orders(app, a)) == 10
    assert _report(client, token, phone="13900002222").status_code == 303  # another phone is not affected


def test_the_third_identical_report_is_refused(app, two_companies, client):
    a, _ = two_companies
    token = _token(app, a, a.ids["point_id"])
    assert _report(client, token, description="电梯 不动了！").status_code == 303
    # The same words with other spacing and punctuation are the same report.
    assert _report(client, token, description="电梯不动了").status_code == 303
    refused = _report(client, token, description=" 电梯，不动了。 ")
    assert refused.status_code == 429 and "already sent this report" in refused.get_data(as_text=True)
    assert len(_orders(app, a)) == 2
    assert _report(client, token, description="电梯灯不亮").status_code == 303
    assert _report(client, token, phone="13900003333", description="电梯不动了").status_code == 303


def test_one_network_address_gets_twenty_attempts_a_day(app, two_companies, client):
    a, _ = two_companies
    token = _token(app, a, a.ids["point_id"])
    for _ in range(20):  # attempts count, made or not: these have no ticket
        assert _post(client, token, None, ip="10.0.0.7").status_code == 422
    refused = _report(client, token, ip="10.0.0.7")
    assert refused.status_code == 429 and "from this network" in refused.get_data(as_text=True)
    assert _orders(app, a) == []
    assert _report(client, token, ip="10.0.0.8").status_code == 303


def test_one_poster_takes_thirty_reports_an_hour_from_everyone_together(app, two_companies, client):
    a, _ = two_companies
    token = _token(app, a, a.ids["point_id"])
    for i in range(30):
        response = _report(client, token, phone=f"1370000{i:04d}", ip=f"10.1.0.{i}", description=f"第{i}号问题")
        assert response.status_code == 303, i
    refused = _report(client, token, phone="13799999999", ip="10.2.0.1")
    assert refused.status_code == 429 and "paused" in refused.get_data(as_text=True)
    assert len(_orders(app, a)) == 30
    _, other = _point(app, a, name="水泵房")
    assert _report(client, other, phone="13799999999", ip="10.2.0.1").status_code == 303


def test_a_ticket_must_be_a_few_seconds_old_and_at_most_two_hours(app, two_companies, client):
    a, _ = two_companies
    token = _token(app, a, a.ids["point_id"])
    _, ticket = _scan(client, token, seconds_ago=0)
    too_fresh = _post(client, token, ticket)
    assert too_fresh.status_code == 429 and "That was quick" in too_fresh.get_data(as_text=True)
    assert _TICKET.search(too_fresh.get_data(as_text=True)).group(1) == ticket  # the same form, sendable soon
    assert _orders(app, a) == []
    with time_machine.travel(datetime.now(UTC) + timedelta(seconds=4), tick=True):
        assert _post(client, token, ticket).status_code == 303
    assert len(_orders(app, a)) == 1

    _, old = _scan(client, token, seconds_ago=2 * 3600 + 60)
    expired = _post(client, token, old, description="另一个问题")
    assert expired.status_code == 422 and "expired" in expired.get_data(as_text=True)
    assert len(_orders(app, a)) == 1


def test_a_ticket_is_for_its_poster_and_signed(app, two_companies, client):
    a, b = two_companies
    token = _token(app, a, a.ids["point_id"])
    _, other_token = _point(app, a, name="水泵房")
    _, ticket = _scan(client, other_token)
    assert _post(client, token, ticket).status_code == 422
    assert _post(client, token, ticket[:-2] + "xx").status_code == 422
    _, b_ticket = _scan(client, _token(app, b, b.ids["point_id"]))
    assert _post(client, token, b_ticket).status_code == 422
    assert _orders(app, a) == []


def test_a_replayed_ticket_is_refused(app, two_companies, client):
    a, _ = two_companies
    token = _token(app, a, a.ids["point_id"])
    _, ticket = _scan(client, token)
    assert _post(client, token, ticket).status_code == 303
    replay = _post(client, token, ticket, description="换一个描述再发一次")
    body = replay.get_data(as_text=True)
    assert replay.status_code == 422 and "already sent" in body
    fresh = _TICKET.search(body).group(1)
    assert fresh != ticket
    assert len(_orders(app, a)) == 1


def test_a_filled_honeypot_pretends_success_and_creates_nothing(app, two_companies, client):
    a, _ = two_companies
    token = _token(app, a, a.ids["point_id"])
    _, ticket = _scan(client, token)
    response = _post(client, token, ticket, website="http://spam.example")
    assert response.status_code == 303 and "/done/" in response.headers["Location"]
    receipt = client.get(response.headers["Location"])
    assert receipt.status_code == 200 and "Report received" in receipt.get_data(as_text=True)
    assert "WO-" not in receipt.get_data(as_text=True)
    assert _orders(app, a) == []
    with app.app_context(), company_context(a.company.id):
        assert db.session.scalar(select(func.count()).select_from(OutboxMessage)
                                 .where(OutboxMessage.recipient == PHONE)) == 0
    assert _post(client, token, ticket).status_code == 422  # and its ticket is spent


def test_a_bad_photo_is_refused_with_nothing_created_and_the_form_can_be_sent_again(app, two_companies, client):
    a, _ = two_companies
    token = _token(app, a, a.ids["point_id"])
    _, ticket = _scan(client, token)
    bad = _post(client, token, ticket, files=[(BytesIO(b"not an image"), "leak.jpg")])
    body = bad.get_data(as_text=True)
    assert bad.status_code == 422 and "leak.jpg" in body and "is-invalid" in body
    too_many = _post(client, token, ticket, files=[(BytesIO(png_bytes()), f"{i}.png") for i in range(4)])
    assert too_many.status_code == 422 and "at most 3 photos" in too_many.get_data(as_text=True)
    with app.app_context(), company_context(a.company.id):
        assert db.session.scalar(select(func.count()).select_from(WorkOrderPhoto)) == 1  # the world's own
    assert _orders(app, a) == []
    # Nothing was made, so the same form goes through once corrected (and phone quotas were not touched).
    assert _post(client, token, ticket, files=[(BytesIO(png_bytes()), "ok.png")]).status_code == 303
    assert len(_orders(app, a)) == 1


def test_a_bad_phone_number_is_shown_next_to_its_field(app, two_companies, client):
    a, _ = two_companies
    token = _token(app, a, a.ids["point_id"])
    response = _report(client, token, phone="12345")
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and "11 digits" in body and "电梯门关不上，一直报警" in body
    assert _orders(app, a) == []


def test_archived_and_regenerated_codes_stop_working(app, two_companies, client, login_as):
    a, _ = two_companies
    from tenants.work_orders import points

    point_id = a.ids["point_id"]
    old = _token(app, a, point_id)
    _, old_ticket = _scan(client, old)
    with app.app_context(), company_context(a.company.id):
        point = db.session.get(RepairPoint, (a.company.id, point_id))
        points.regenerate_token(point, actor=None)
        new = point.token
        assert points.resolve_token(old) is None
        assert points.resolve_token(new) == (a.company.id, point_id)
        assert db.session.get(RepairPointToken, old) is not None  # kept: a code is never handed out twice
    assert new != old and len(new) <= 32
    assert client.get(f"/r/{old}").status_code == 404
    assert _post(client, old, old_ticket).status_code == 404
    assert _report(client, new).status_code == 303

    with app.app_context(), company_context(a.company.id):
        points.archive_point(db.session.get(RepairPoint, (a.company.id, point_id)), actor=None)
    gone = client.get(f"/r/{new}")
    assert gone.status_code == 404 and "no longer in use" in gone.get_data(as_text=True)
    assert len(_orders(app, a)) == 1


def test_a_receipt_link_shows_only_its_own_job(app, two_companies, client):
    a, _ = two_companies
    token = _token(app, a, a.ids["point_id"])
    first = _report(client, token, description="第一个问题在这里").headers["Location"]
    _report(client, token, phone="13900004444", description="第二个问题在这里")
    body = client.get(first).get_data(as_text=True)
    assert "第一个问题在这里" in body and "第二个问题在这里" not in body and "139****4444" not in body
    receipt = first.rsplit("/", 1)[1]
    assert client.get(f"/r/{token}/done/{receipt[:-3]}abc").status_code == 404
    _, other = _point(app, a, name="水泵房")
    assert client.get(f"/r/{other}/done/{receipt}").status_code == 404


# --- the admin pages ----------------------------------------------------------------------------------------------


def _points_url(world, suffix: str = "") -> str:
    return f"/c/{world.company.slug}/work-orders/points{suffix}"


def test_admin_makes_a_poster_whose_qr_code_opens_the_form(app, two_companies, login_as):
    from tenants.work_orders.point_views import qr_data_uri

    a, _ = two_companies
    admin = login_as(a.admin)
    page = admin.get(_points_url(a))
    assert page.status_code == 200 and "1号楼电梯" in page.get_data(as_text=True)  # the world's poster

    form = {"name": "2号楼 水泵房", "community_id": str(a.ids["community_id"]), "building_id": "", "category_id": ""}
    for bad, message in (({"name": " "}, "Name the place"), ({"name": "长" * 61}, "under 60 characters"),
                         ({"community_id": ""}, "Choose the community"),
                         ({"building_id": str(a.roster["households"][0])}, "Choose a building"),
                         ({"category_id": "nonsense"}, "Choose a category")):
        response = admin.post(_points_url(a), data={**form, **bad})
        assert response.status_code == 422 and message in response.get_data(as_text=True), bad
    with app.app_context(), company_context(a.company.id):
        assert db.session.scalar(select(func.count()).select_from(RepairPoint)) == 1

    response = admin.post(_points_url(a), data=form)
    assert response.status_code == 303
    with app.app_context(), company_context(a.company.id):
        point = db.session.execute(select(RepairPoint).where(RepairPoint.name == "2号楼 水泵房")).scalar_one()
        assert db.session.get(RepairPointToken, point.token).point_id == point.id
        assert db.session.execute(select(AuditEvent).where(AuditEvent.action == "repair_point.create",
                                                           AuditEvent.object_id == point.id)).scalar_one()
    assert response.headers["Location"].endswith(_points_url(a, f"/{point.id}"))
    poster = admin.get(response.headers["Location"]).get_data(as_text=True)
    url = f"{app.config['PUBLIC_BASE_URL'].rstrip('/')}/r/{point.token}"
    with app.app_context():
        assert qr_data_uri(url) in poster
    assert 'src="data:image/svg+xml' in poster and url in poster and "2号楼 水泵房" in poster
    assert a.company.name in poster and "style=" not in poster
    assert not re.search(r"<script(?![^>]*\ssrc=)", poster)  # only script files (the print button's), nothing inline
    assert "css/print.css" in poster


def test_archiving_a_poster_asks_first_then_kills_its_code(app, two_companies, login_as, client):
    a, _ = two_companies
    admin = login_as(a.admin)
    point_id = a.ids["point_id"]
    token = _token(app, a, point_id)
    ask = admin.post(_points_url(a, f"/{point_id}/archive"))
    assert ask.status_code == 200 and 'name="confirm" value="yes"' in ask.get_data(as_text=True)
    assert client.get(f"/r/{token}").status_code == 200
    done = admin.post(_points_url(a, f"/{point_id}/archive"), data={"confirm": "yes"})
    assert done.status_code == 303 and done.headers["Location"].endswith(_points_url(a))
    assert client.get(f"/r/{token}").status_code == 404
    listing = admin.get(_points_url(a)).get_data(as_text=True)
    assert "Archived" in listing
    poster = admin.get(_points_url(a, f"/{point_id}")).get_data(as_text=True)
    assert "data:image/svg+xml" not in poster and "archived" in poster
    with app.app_context(), company_context(a.company.id):
        assert db.session.execute(select(AuditEvent).where(AuditEvent.action == "repair_point.archive")).scalar_one()
    # An archived poster gets no new code.
    admin.post(_points_url(a, f"/{point_id}/code"), data={"confirm": "yes"})
    assert _token(app, a, point_id) == token


def test_a_new_code_asks_first_then_replaces_the_poster(app, two_companies, login_as, client):
    a, _ = two_companies
    admin = login_as(a.admin)
    point_id = a.ids["point_id"]
    old = _token(app, a, point_id)
    assert admin.post(_points_url(a, f"/{point_id}/code")).status_code == 200
    assert _token(app, a, point_id) == old
    response = admin.post(_points_url(a, f"/{point_id}/code"), data={"confirm": "yes"})
    assert response.status_code == 303
    new = _token(app, a, point_id)
    assert new != old
    assert f"/r/{new}" in admin.get(response.headers["Location"]).get_data(as_text=True)
    assert client.get(f"/r/{old}").status_code == 404 and client.get(f"/r/{new}").status_code == 200


def test_posters_are_for_admins_only(app, two_companies, login_as):
    a, b = two_companies
    point_id = a.ids["point_id"]
    for user in (a.steward, a.technician, a.owner):
        member = login_as(user)
        assert member.get(_points_url(a)).status_code == 403
        assert member.get(_points_url(a, f"/{point_id}")).status_code == 403
        assert member.post(_points_url(a, f"/{point_id}/archive"), data={"confirm": "yes"}).status_code == 403
    other_admin = login_as(b.admin)
    assert other_admin.get(f"/c/{b.company.slug}/work-orders/points/{point_id}").status_code == 404
    body = other_admin.get(_points_url(b)).get_data(as_text=True)
    assert "1号楼电梯" in body and _token(app, a, point_id) not in body  # b's own poster of that name only


def test_create_point_checks_the_place_and_category(app, two_companies):
    from tenants.work_orders import points

    a, b = two_companies
    with app.app_context(), company_context(a.company.id):
        category = db.session.execute(select(WorkOrderCategory).where(WorkOrderCategory.name == "电梯")).scalar_one()
        category.archived_at = datetime.now(UTC)
        db.session.commit()
        for kwargs, field in (({"category_id": category.id}, "category_id"),
                              ({"community_id": b.ids["community_id"]}, "community_id"),
                              ({"building_id": b.ids["building_id"]}, "building_id"),
                              ({"name": "x" * 61}, "name")):
            args = {"name": "电梯", "community_id": a.ids["community_id"], "building_id": None, "category_id": None,
                    **kwargs}
            try:
                points.create_point(**args, actor=None)
            except points.PointError as exc:
                assert exc.field == field
                db.session.rollback()
            else:
                raise AssertionError(f"accepted {kwargs}")
        assert db.session.scalar(select(func.count()).select_from(RepairPoint)) == 1
        point = points.create_point(name="  东门   道闸 ", community_id=str(a.ids["community_id"]), building_id="",
                                    category_id="", actor=None)
        assert point.name == "东门 道闸" and point.building_id is None and 16 <= len(point.token) <= 32


@requires_redis
def test_tickets_and_counters_are_shared_through_redis(app, monkeypatch):
    """With REDIS_URL the limiter storage is Redis: single use and the counters must hold there too."""
    import secrets
    from types import SimpleNamespace

    from limits import parse
    from limits.storage import RedisStorage
    from limits.strategies import FixedWindowRateLimiter

    import tenants.work_orders.intake_guard as guard

    strategy = FixedWindowRateLimiter(RedisStorage(REDIS_URL))
    monkeypatch.setattr(guard, "limiter", SimpleNamespace(limiter=strategy))
    token, phone = secrets.token_urlsafe(16), f"139{secrets.randbelow(10**8):08d}"
    with app.test_request_context():
        with time_machine.travel(datetime.now(UTC) - timedelta(seconds=10), tick=True):
            ticket = guard.issue_ticket(token)
        nonce = guard.read_ticket(ticket, token)
        try:
            assert guard.use_ticket(nonce) and not guard.use_ticket(nonce)
            try:
                guard.read_ticket(ticket, token)
            except guard.TicketRefused as exc:
                assert exc.problem == guard.TicketProblem.USED
            else:
                raise AssertionError("a spent ticket was accepted")
            guard.release_ticket(nonce)
            assert guard.read_ticket(ticket, token) == nonce
            for _ in range(2):
                assert guard.report_refusal(phone, "水管 漏水") is None
                guard.count_report(phone, "水管漏水！")
            assert guard.report_refusal(phone, "水管漏水") == "identical"
            assert guard.report_refusal(phone, "别的问题") is None
        finally:
            guard.release_ticket(nonce)
            strategy.clear(parse(app.config["INTAKE_LIMITS"]["phone"]), guard.NAMESPACE, "phone", phone)
            strategy.clear(parse(app.config["INTAKE_LIMITS"]["identical"]), guard.NAMESPACE, "identical",
                           guard._identical_key(phone, "水管漏水"))


def test_a_failure_while_saving_gives_the_ticket_back(app, two_companies, client, monkeypatch):
    from tenants.work_orders import services

    a, _ = two_companies
    token = _token(app, a, a.ids["point_id"])
    _, ticket = _scan(client, token)
    real = services.create_order

    def busy(*args, **kwargs):
        raise RuntimeError("database is locked")

    monkeypatch.setattr(services, "create_order", busy)
    assert _post(client, token, ticket).status_code == 500
    monkeypatch.setattr(services, "create_order", real)
    assert _post(client, token, ticket).status_code == 303  # nothing was made, so the same form may be resent
    assert len(_orders(app, a)) == 1


def test_three_full_size_photos_fit_but_a_huge_upload_gets_a_page_that_says_so(app, two_companies, client):
    a, _ = two_companies
    token = _token(app, a, a.ids["point_id"])
    _, ticket = _scan(client, token)
    # 10.5 MB in all: over the app-wide request limit (one photo), within this form's (three).
    big = _post(client, token, ticket, files=[(BytesIO(b"x" * 3_500_000), f"{i}.jpg") for i in range(3)])
    assert big.status_code == 422 and "not an image we can read" in big.get_data(as_text=True)
    huge = _post(client, token, ticket, files=[(BytesIO(b"x" * 9_000_000), f"{i}.jpg") for i in range(3)])
    assert huge.status_code == 413 and "photos are too large" in huge.get_data(as_text=True)
    assert _orders(app, a) == []
