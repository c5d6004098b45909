"""The owner's side of work orders in the portal: reporting with photos, seeing only their own jobs, the timeline
without staff-only entries, comment, urge, cancel, quote, rate and reopen."""

from __future__ import annotations

import io
import re
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from saas.models import Role
from tests.world.stewards import png_bytes


@pytest.fixture(autouse=True)
def uploads(app, tmp_path, monkeypatch) -> Path:
    """A fresh upload folder per test (set before the world is built, so its photo lands here too)."""
    folder = tmp_path / "uploads"
    monkeypatch.setitem(app.config, "UPLOAD_FOLDER", str(folder))
    return folder


@pytest.fixture
def world(two_companies):
    a, _ = two_companies
    return a


@contextmanager
def company(app, world):
    from saas.extensions import db
    from saas.tenancy import company_context

    with app.app_context(), company_context(world.company.id):
        yield db.session
        db.session.remove()


def _base(world) -> str:
    return f"/c/{world.company.slug}/my/repairs"


def _membership(session, user):
    from saas.models import Membership

    return session.execute(select(Membership).where(Membership.user_id == user.id)).scalar_one()


def _order(session, order_id):
    from tenants.work_orders.models import WorkOrder

    return session.execute(select(WorkOrder).where(WorkOrder.id == order_id)
                           .execution_options(populate_existing=True)).scalar_one()


def _count_orders(app, world) -> int:
    from tenants.work_orders.models import WorkOrder

    with company(app, world) as session:
        return session.execute(select(func.count()).select_from(WorkOrder)).scalar_one()


def _files(folder: Path) -> set:
    return {p for p in folder.rglob("*") if p.is_file()} if folder.exists() else set()


def _staff(app, world, user, order_id, *actions, now=None, **kwargs):
    """Drive the job as a staff member through services.perform (accept → start → …)."""
    from tenants.work_orders import services

    with company(app, world) as session:
        membership = _membership(session, user)
        for action in actions:
            services.perform(_order(session, order_id), action, actor=membership.user, membership=membership,
                             now=now, **kwargs)


def _report(app, world, description="阳台水龙头滴水", **kwargs):
    """Another job reported by the world's owner for their home, made through the service."""
    from tenants.roster.models import Household
    from tenants.work_orders import services
    from tenants.work_orders.models import Area, Source

    with company(app, world) as session:
        owner = _membership(session, world.owner)
        home = session.execute(select(Household).where(Household.id == world.owner_household_id)).scalar_one()
        order = services.create_order(services.Report(
            source=Source.PORTAL, area=Area.HOME, category_id=world.ids["category_id"], household=home,
            description=description), actor=owner.user, membership=owner, **kwargs)
        return order.id


def jpeg_with_gps() -> bytes:
    from PIL import Image

    image = Image.new("RGB", (64, 48), (20, 120, 200))
    exif = Image.Exif()
    exif[0x010F] = "TestCam"  # Make
    exif[0x8825] = {1: "N", 2: (30.0, 15.0, 0.0), 3: "E", 4: (120.0, 10.0, 0.0)}  # GPSInfo
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    data = out.getvalue()
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(0x8825)  # the test photo really carries a location
    return data


def _report_form(world, **overrides) -> dict:
    data = {"area": "home", "category_id": str(world.ids["category_id"]), "priority": "normal",
            "description": "卫生间天花板漏水，滴到地上", "preferred_time": "工作日晚上7点后"}
    data.update(overrides)
    return data


# --- reporting -----------------------------------------------------------------------------------------------


def test_owner_reports_a_home_repair_with_two_photos_dispatched_to_the_homes_steward_without_exif(
        app, world, login_as, uploads):
    from PIL import Image

    from tenants.work_orders.models import Area, PhotoStage, Priority, Source, WorkOrder, WorkOrderPhoto
    from tenants.work_orders.states import Status

    client = login_as(world.owner)
    data = _report_form(world, priority="urgent",
                        photos=[(io.BytesIO(jpeg_with_gps()), "leak.jpg"), (io.BytesIO(png_bytes()), "floor.png")])
    response = client.post(f"{_base(world)}/new", data=data, content_type="multipart/form-data")
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]

    with company(app, world) as session:
        order = session.execute(select(WorkOrder).where(WorkOrder.description == "卫生间天花板漏水，滴到地上")).scalar_one()
        assert response.headers["Location"].endswith(f"/my/repairs/{order.id}")
        assert order.household_id == world.owner_household_id
        assert (order.area, order.source, order.priority) == (Area.HOME, Source.PORTAL, Priority.URGENT)
        assert order.preferred_time == "工作日晚上7点后"
        assert order.status == Status.ASSIGNED
        assert order.assignee_id == _membership(session, world.steward).id
        assert order.reporter_membership_id == _membership(session, world.owner).id
        pictures = session.execute(select(WorkOrderPhoto).where(WorkOrderPhoto.work_order_id == order.id)).scalars().all()
        assert len(pictures) == 2
        assert {p.stage for p in pictures} == {PhotoStage.REPORT} and {p.event_seq for p in pictures} == {1}
        folder = uploads / str(world.company.id) / "work_orders" / str(order.id)
        stored = sorted(folder.glob("*.jpg"))
        assert {p.name for p in stored} == {f"{p.id}.jpg" for p in pictures}
        for path in stored:
            with Image.open(path) as image:
                assert image.format == "JPEG"
                assert len(image.getexif()) == 0 and "exif" not in image.info
            assert b"TestCam" not in path.read_bytes()
        number, photo_ids = order.number, [p.id for p in pictures]

    page = client.get(f"{_base(world)}/{order.id}")
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    assert number in body and "卫生间天花板漏水" in body and "工作日晚上7点后" in body
    assert world.steward.name in body  # who is handling it
    for photo_id in photo_ids:
        assert f"/work-orders/photos/{photo_id}" in body
        assert client.get(f"/c/{world.company.slug}/work-orders/photos/{photo_id}").status_code == 200


def test_a_text_file_named_jpg_is_refused_and_nothing_is_created(app, world, login_as, uploads):
    client = login_as(world.owner)
    before, files = _count_orders(app, world), _files(uploads)
    data = _report_form(world, photos=[(io.BytesIO(png_bytes()), "ok.png"),
                                       (io.BytesIO(b"not a picture at all"), "fake.jpg")])
    response = client.post(f"{_base(world)}/new", data=data, content_type="multipart/form-data")
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "fake.jpg" in body and "is not an image we can read" in body
    assert 'name="description"' in body  # the form again, with what was typed
    assert "卫生间天花板漏水" in body
    assert _count_orders(app, world) == before
    assert _files(uploads) == files


def test_seven_photos_are_refused_and_nothing_is_created(app, world, login_as, uploads):
    client = login_as(world.owner)
    before, files = _count_orders(app, world), _files(uploads)
    data = _report_form(world, photos=[(io.BytesIO(png_bytes()), f"p{i}.png") for i in range(7)])
    response = client.post(f"{_base(world)}/new", data=data, content_type="multipart/form-data")
    assert response.status_code == 422
    assert "Attach at most 6 photos." in response.get_data(as_text=True)
    assert _count_orders(app, world) == before
    assert _files(uploads) == files


@pytest.mark.parametrize(("overrides", "message"), [
    ({"description": "   "}, "Describe the problem in a few words."),
    ({"description": "漏"}, "Describe the problem in a few words."),
    ({"category_id": ""}, "Choose a category."),
    ({"category_id": "00000000-0000-0000-0000-000000000000"}, "Choose a category."),
    ({"area": "roof"}, "Not a valid choice"),
    ({"priority": "panic"}, "Not a valid choice"),
    ({"preferred_time": "x" * 101}, "Keep the preferred time under 100 characters."),
])
def test_bad_report_is_refused_at_the_field_with_nothing_created(app, world, login_as, overrides, message):
    client = login_as(world.owner)
    before = _count_orders(app, world)
    response = client.post(f"{_base(world)}/new", data=_report_form(world, **overrides))
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert _count_orders(app, world) == before


def test_owner_without_a_home_is_told_how_to_join_and_cannot_report(app, world, make_user, login_as):
    homeless = make_user("无房业主", memberships=[(world.company, Role.OWNER)])
    client = login_as(homeless)
    page = client.get(f"{_base(world)}/new")
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "household code" in body and f"/join/{world.company.slug}" in body
    assert 'name="description"' not in body
    before = _count_orders(app, world)
    assert client.post(f"{_base(world)}/new", data=_report_form(world)).status_code == 422
    assert _count_orders(app, world) == before


def test_owner_with_two_homes_chooses_one_of_their_own(app, world, login_as):
    from saas.tenancy import utcnow
    from tenants.roster.models import HouseholdOwner
    from tenants.work_orders.models import WorkOrder

    second, stranger = world.roster["households"][1], world.roster["households"][2]
    with company(app, world) as session:
        session.add(HouseholdOwner(household_id=second, membership_id=_membership(session, world.owner).id,
                                   verified_at=utcnow()))
        session.commit()
    client = login_as(world.owner)
    body = client.get(f"{_base(world)}/new").get_data(as_text=True)
    assert 'name="household_id"' in body and str(second) in body and str(stranger) not in body

    refused = client.post(f"{_base(world)}/new", data=_report_form(world, household_id=str(stranger)))
    assert refused.status_code == 422 and "Choose the home this repair is for." in refused.get_data(as_text=True)
    assert client.post(f"{_base(world)}/new", data=_report_form(world, household_id=str(second))).status_code == 303
    with company(app, world) as session:
        order = session.execute(select(WorkOrder).where(WorkOrder.description == "卫生间天花板漏水，滴到地上")).scalar_one()
        assert order.household_id == second


def test_common_area_report_keeps_the_home_for_the_place_but_is_not_an_in_home_job(app, world, login_as):
    from tenants.work_orders.models import Area, WorkOrder

    client = login_as(world.owner)
    response = client.post(f"{_base(world)}/new", data=_report_form(world, area="common", description="楼道灯不亮了"))
    assert response.status_code == 303
    with company(app, world) as session:
        order = session.execute(select(WorkOrder).where(WorkOrder.description == "楼道灯不亮了")).scalar_one()
        assert order.area == Area.COMMON and order.household_id == world.owner_household_id
        assert order.building_id == world.roster["buildings"][0]


# --- seeing only one's own jobs ---------------------------------------------------------------------------------


def test_owner_sees_only_their_own_jobs(app, world, make_user, login_as):
    from saas.tenancy import utcnow
    from tenants.roster.models import HouseholdOwner

    neighbour = make_user("邻居业主", memberships=[(world.company, Role.OWNER)])
    with company(app, world) as session:
        session.add(HouseholdOwner(household_id=world.roster["households"][1],
                                   membership_id=_membership(session, neighbour).id, verified_at=utcnow()))
        number = _order(session, world.ids["order_id"]).number
        session.commit()
    order_id = world.ids["order_id"]

    mine = login_as(world.owner).get(_base(world)).get_data(as_text=True)
    assert number in mine

    client = login_as(neighbour)
    listing = client.get(_base(world))
    assert listing.status_code == 200 and number not in listing.get_data(as_text=True)
    assert "You have not reported any repair yet." in listing.get_data(as_text=True)
    assert client.get(f"{_base(world)}/{order_id}").status_code == 404
    assert client.post(f"{_base(world)}/{order_id}/comment", data={"note": "偷看"}).status_code == 404
    assert client.post(f"{_base(world)}/{order_id}/urge").status_code == 404
    assert client.post(f"{_base(world)}/{order_id}/actions/cancel", data={"cancel-note": "恶作剧"}).status_code == 404
    assert client.get(f"/c/{world.company.slug}/work-orders/photos/{world.ids['photo_id']}").status_code == 404
    with company(app, world) as session:
        assert _order(session, order_id).status.value == "assigned"


def test_owner_timeline_leaves_out_staff_only_entries_and_their_photos(app, world, login_as):
    from werkzeug.datastructures import FileStorage

    from tenants.work_orders.models import WorkOrderPhoto

    photo = FileStorage(io.BytesIO(png_bytes(colour=(1, 2, 3))), filename="tool.png")
    _staff(app, world, world.technician, world.ids["order_id"], "decline", note="我不会修这种进口龙头", files=[photo])
    with company(app, world) as session:
        hidden = session.execute(select(WorkOrderPhoto.id).where(WorkOrderPhoto.event_seq == 4)).scalar_one()

    body = login_as(world.owner).get(f"{_base(world)}/{world.ids['order_id']}").get_data(as_text=True)
    assert "厨房水管漏水" in body and "Reported" in body
    assert "我不会修这种进口龙头" not in body and str(hidden) not in body and "Staff only" not in body
    assert str(world.ids["photo_id"]) in body  # the report's own photo stays

    staff = login_as(world.admin).get(f"/c/{world.company.slug}/work-orders/{world.ids['order_id']}")
    assert "我不会修这种进口龙头" in staff.get_data(as_text=True)  # the shared partial, with show_internal=True


# --- comment and urge -------------------------------------------------------------------------------------------


def test_owner_comments_with_a_photo_and_an_empty_comment_is_refused(app, world, login_as):
    from tenants.work_orders.models import EventKind, WorkOrderEvent, WorkOrderPhoto

    client = login_as(world.owner)
    url = f"{_base(world)}/{world.ids['order_id']}/comment"
    empty = client.post(url, data={"note": "  "})
    assert empty.status_code == 422 and "Write a comment or attach a photo." in empty.get_data(as_text=True)
    response = client.post(url, data={"note": "晚上8点后家里有人", "photos": [(io.BytesIO(png_bytes()), "p.png")]},
                           content_type="multipart/form-data")
    assert response.status_code == 303
    with company(app, world) as session:
        event = session.execute(select(WorkOrderEvent).where(WorkOrderEvent.kind == EventKind.COMMENT)).scalar_one()
        assert event.note == "晚上8点后家里有人" and not event.internal
        assert session.execute(select(func.count()).select_from(WorkOrderPhoto)
                               .where(WorkOrderPhoto.event_seq == event.seq)).scalar_one() == 1
    assert "晚上8点后家里有人" in client.get(f"{_base(world)}/{world.ids['order_id']}").get_data(as_text=True)


def test_urge_is_refused_in_time_allowed_when_overdue_and_at_most_hourly(app, world, login_as):
    from saas.tenancy import utcnow
    from tenants.work_orders.models import EventKind, WorkOrderEvent

    order_id = world.ids["order_id"]
    client = login_as(world.owner)
    page = client.get(f"{_base(world)}/{order_id}").get_data(as_text=True)
    assert "/urge" not in page
    early = client.post(f"{_base(world)}/{order_id}/urge")
    assert early.status_code == 422 and "still within its promised time" in early.get_data(as_text=True)

    with company(app, world) as session:
        _order(session, order_id).response_due_at = utcnow() - timedelta(minutes=5)
        session.commit()
    assert f"/my/repairs/{order_id}/urge" in client.get(f"{_base(world)}/{order_id}").get_data(as_text=True)
    assert client.post(f"{_base(world)}/{order_id}/urge").status_code == 303
    again = client.post(f"{_base(world)}/{order_id}/urge")
    assert again.status_code == 422 and "less than an hour ago" in again.get_data(as_text=True)
    with company(app, world) as session:
        order = _order(session, order_id)
        assert order.urge_count == 1 and order.last_urged_at is not None
        kinds = session.execute(select(WorkOrderEvent.kind).where(WorkOrderEvent.kind == EventKind.URGED)).all()
        assert len(kinds) == 1
        order.last_urged_at = utcnow() - timedelta(minutes=61)
        session.commit()
    assert client.post(f"{_base(world)}/{order_id}/urge").status_code == 303


# --- cancel ----------------------------------------------------------------------------------------------------


def test_owner_cancels_before_work_starts_with_a_reason(app, world, login_as):
    from tenants.work_orders.models import WorkOrderEvent
    from tenants.work_orders.states import Status

    order_id = world.ids["order_id"]
    client = login_as(world.owner)
    assert "Cancel this repair" in client.get(f"{_base(world)}/{order_id}").get_data(as_text=True)
    no_reason = client.post(f"{_base(world)}/{order_id}/actions/cancel", data={"cancel-note": ""})
    assert no_reason.status_code == 422 and "Say why the job is cancelled." in no_reason.get_data(as_text=True)
    assert re.search(r'<textarea[^>]*autofocus[^>]*name="cancel-note"', no_reason.get_data(as_text=True))
    assert no_reason.headers["HX-Replace-Url"] == f"{_base(world)}/{order_id}"  # not the POST-only URL
    with company(app, world) as session:
        assert _order(session, order_id).status == Status.ASSIGNED

    done = client.post(f"{_base(world)}/{order_id}/actions/cancel", data={"cancel-note": "自己修好了"})
    assert done.status_code == 303
    with company(app, world) as session:
        order = _order(session, order_id)
        assert order.status == Status.CANCELLED and order.cancelled_at is not None
        last = session.execute(select(WorkOrderEvent).where(WorkOrderEvent.seq == order.last_seq)).scalar_one()
        assert last.note == "自己修好了" and last.actor_name == world.owner.name
    page = client.get(f"{_base(world)}/{order_id}").get_data(as_text=True)
    assert "自己修好了" in page and 'name="note"' not in page  # no comment form on a cancelled job


def test_owner_cannot_cancel_once_work_has_started(app, world, login_as):
    from tenants.work_orders.states import Status

    order_id = world.ids["order_id"]
    _staff(app, world, world.technician, order_id, "accept", "start")
    client = login_as(world.owner)
    assert "Cancel this repair" not in client.get(f"{_base(world)}/{order_id}").get_data(as_text=True)
    response = client.post(f"{_base(world)}/{order_id}/actions/cancel", data={"cancel-note": "不想修了"})
    assert response.status_code == 422
    assert "Work on this repair has started" in response.get_data(as_text=True)
    with company(app, world) as session:
        assert _order(session, order_id).status == Status.IN_PROGRESS


# --- quote -----------------------------------------------------------------------------------------------------


def test_accepting_the_quote_resumes_the_job_and_declining_cancels_it(app, world, login_as):
    from tenants.work_orders.models import QuoteStatus
    from tenants.work_orders.states import Status

    first = world.ids["order_id"]
    second = _report(app, world)
    _staff(app, world, world.technician, first, "accept", "start")
    _staff(app, world, world.technician, first, "quote", quote_fen=12050, note="需更换阀门")
    _staff(app, world, world.steward, second, "accept", "start")
    _staff(app, world, world.steward, second, "quote", quote_fen=30000)
    client = login_as(world.owner)

    page = client.get(f"{_base(world)}/{first}").get_data(as_text=True)
    assert "¥120.50" in page and "需更换阀门" in page and "/actions/accept_quote" in page
    assert client.post(f"{_base(world)}/{first}/actions/accept_quote").status_code == 303
    assert client.post(f"{_base(world)}/{second}/actions/decline_quote").status_code == 303
    with company(app, world) as session:
        accepted, declined = _order(session, first), _order(session, second)
        assert (accepted.status, accepted.quote_status) == (Status.IN_PROGRESS, QuoteStatus.ACCEPTED)
        assert accepted.paused_at is None
        assert (declined.status, declined.quote_status) == (Status.CANCELLED, QuoteStatus.DECLINED)
    again = client.post(f"{_base(world)}/{first}/actions/accept_quote")
    assert again.status_code == 422 and "There is no quote waiting for an answer." in again.get_data(as_text=True)


# --- rate and reopen --------------------------------------------------------------------------------------------


def _stars(overall="5", speed="4", attitude="5", comment="师傅很专业"):
    return {"overall": overall, "speed": speed, "attitude": attitude, "comment": comment}


def test_rating_is_refused_before_done_allowed_once_after(app, world, login_as):
    from tenants.work_orders.states import Status

    order_id = world.ids["order_id"]
    url = f"{_base(world)}/{order_id}/actions/rate"
    client = login_as(world.owner)
    early = client.post(url, data=_stars())
    assert early.status_code == 422 and "Only a finished job can be rated." in early.get_data(as_text=True)

    _staff(app, world, world.technician, order_id, "accept", "start", "complete")
    page = client.get(f"{_base(world)}/{order_id}").get_data(as_text=True)
    assert "How did we do?" in page and 'name="overall"' in page
    missing = client.post(url, data=_stars(speed=""))
    assert missing.status_code == 422 and "Give 1 to 5 stars." in missing.get_data(as_text=True)
    assert client.post(url, data=_stars(attitude="6")).status_code == 422
    with company(app, world) as session:
        assert _order(session, order_id).status == Status.DONE

    assert client.post(url, data=_stars()).status_code == 303
    with company(app, world) as session:
        order = _order(session, order_id)
        assert order.status == Status.CLOSED
        assert (order.rating_overall, order.rating_speed, order.rating_attitude) == (5, 4, 5)
        assert order.rating_comment == "师傅很专业"
    second = client.post(url, data=_stars(overall="1"))
    assert second.status_code == 422 and "already rated" in second.get_data(as_text=True)
    with company(app, world) as session:
        assert _order(session, order_id).rating_overall == 5


def test_reopen_within_seven_days_and_not_after(app, world, login_as):
    from saas.tenancy import utcnow
    from tenants.work_orders.states import Status

    recent, old = world.ids["order_id"], _report(app, world)
    _staff(app, world, world.technician, recent, "accept", "start")
    _staff(app, world, world.technician, recent, "complete", now=utcnow() - timedelta(days=6, hours=23))
    _staff(app, world, world.steward, old, "accept", "start")
    _staff(app, world, world.steward, old, "complete", now=utcnow() - timedelta(days=7, minutes=5))
    client = login_as(world.owner)

    assert "Still not fixed?" in client.get(f"{_base(world)}/{recent}").get_data(as_text=True)
    assert "Still not fixed?" not in client.get(f"{_base(world)}/{old}").get_data(as_text=True)
    no_reason = client.post(f"{_base(world)}/{recent}/actions/reopen", data={"reopen-note": ""})
    assert no_reason.status_code == 422 and "Say what is still wrong." in no_reason.get_data(as_text=True)
    assert client.post(f"{_base(world)}/{recent}/actions/reopen", data={"reopen-note": "又开始漏了"}).status_code == 303
    late = client.post(f"{_base(world)}/{old}/actions/reopen", data={"reopen-note": "又开始漏了"})
    assert late.status_code == 422 and "within 7 days" in late.get_data(as_text=True)
    with company(app, world) as session:
        reopened = _order(session, recent)
        assert reopened.status == Status.ASSIGNED and reopened.reopen_count == 1 and reopened.completed_at is None
        assert _order(session, old).status == Status.DONE


def test_unknown_or_staff_actions_are_404(app, world, login_as):
    client = login_as(world.owner)
    for action in ("explode", "complete", "assign", "close"):
        assert client.post(f"{_base(world)}/{world.ids['order_id']}/actions/{action}").status_code == 404


# --- pages --------------------------------------------------------------------------------------------------------


def test_list_makes_the_same_number_of_queries_for_1_and_15_jobs(app, world, login_as, count_queries):
    client = login_as(world.owner)

    def measure():
        with count_queries() as counter:
            response = client.get(_base(world))
        assert response.status_code == 200
        return counter.count, response.get_data(as_text=True)

    one, body = measure()
    assert body.count('class="list-group-item wo-row"') == 1
    for n in range(14):
        _report(app, world, description=f"第{n}个问题需要维修")
    fifteen, body = measure()
    assert body.count('class="list-group-item wo-row"') == 15
    assert fifteen == one


def test_list_is_newest_first_and_paginated_by_20(app, world, login_as):
    for n in range(20):
        _report(app, world, description=f"问题编号{n:02d}号")
    client = login_as(world.owner)
    body = client.get(_base(world)).get_data(as_text=True)
    numbers = re.findall(r"WO-\d{4}-\d{6}", body)
    assert len(numbers) == 20 and numbers == sorted(numbers, reverse=True)
    assert "问题编号19号" in body and "厨房水管漏水" not in body
    assert "厨房水管漏水" in client.get(f"{_base(world)}?page=2").get_data(as_text=True)


def test_polling_gets_only_the_live_block(app, world, login_as):
    client = login_as(world.owner)
    response = client.get(f"{_base(world)}/{world.ids['order_id']}",
                          headers={"HX-Request": "true", "HX-Target": "wo-live"})
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert body.lstrip().startswith('<div id="wo-live"') and "<html" not in body
    assert 'hx-trigger="every 20s"' in body and 'hx-disinherit="*"' in body and "厨房水管漏水" in body


def test_portal_links_to_reporting_and_my_repairs_with_the_open_count(app, world, login_as):
    _report(app, world)
    body = login_as(world.owner).get(f"/c/{world.company.slug}/my").get_data(as_text=True)
    assert f"/c/{world.company.slug}/my/repairs/new" in body
    assert re.search(r"My repairs\s*<span[^>]*>2</span>", body)
