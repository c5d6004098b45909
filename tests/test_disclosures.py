"""Fee disclosure (tenants/disclosures): versions that are never edited or deleted, the 30-day rate rule, the
calendar with holidays and overdue marks, objections end to end, the public pages' privacy and cache headers, and
bad input with clear messages."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

PII_ROOM = re.compile(r"\d+单元|\b\d{3,4}室")


def _ctx(app, world):
    from saas.tenancy import company_context

    class Ctx:
        def __enter__(self):
            self.app_ctx = app.app_context()
            self.app_ctx.__enter__()
            self.company = company_context(world.company.id)
            self.company.__enter__()
            return self

        def __exit__(self, *exc):
            from saas.extensions import db

            db.session.remove()
            self.company.__exit__(*exc)
            self.app_ctx.__exit__(*exc)

    return Ctx()


def _objects(world):
    from saas.extensions import db
    from saas.models import User
    from tenants.roster.models import Community

    admin = db.session.get(User, world.admin.id)
    community = db.session.get(Community, (world.company.id, world.ids["community_id"]))
    return admin, community


def _public(world, path=""):
    return f"/p/{world.company.slug}/disclosures/{path}"


# --- versions ------------------------------------------------------------------------------------------------------


@pytest.mark.world("disclosures")
def test_a_published_disclosure_is_never_edited_and_never_deleted(app, two_companies):
    from saas.extensions import db
    from tenants.disclosures import services
    from tenants.disclosures.models import Publication, PublicationLine

    a, _ = two_companies
    with _ctx(app, a):
        admin, _community = _objects(a)
        pub = db.session.get(Publication, (a.company.id, a.ids["publication_id"]))
        with pytest.raises(services.DisclosureError):
            services.add_line(pub, label="补录", amount="1", actor=admin)
        line = db.session.get(PublicationLine, (a.company.id, a.ids["line_id"]))
        with pytest.raises(services.DisclosureError):
            services.remove_line(pub, line, actor=admin)
        # Not only the services: any code path that edits or deletes a published row is refused at flush.
        line.amount_fen = 1
        with pytest.raises(services.DisclosureError):
            db.session.flush()
        db.session.rollback()
        pub = db.session.get(Publication, (a.company.id, a.ids["publication_id"]))
        pub.title = "悄悄改标题"
        with pytest.raises(services.DisclosureError):
            db.session.flush()
        db.session.rollback()
        pub = db.session.get(Publication, (a.company.id, a.ids["publication_id"]))
        db.session.delete(pub)
        with pytest.raises(services.DisclosureError):
            db.session.flush()
        db.session.rollback()
        assert db.session.get(Publication, (a.company.id, a.ids["publication_id"])).title == "2026 年第一季度公共收益"


@pytest.mark.world("disclosures")
def test_a_correction_is_a_new_version_and_the_old_one_stays_public_with_the_difference(app, two_companies):
    from saas.extensions import db
    from tenants.disclosures import services
    from tenants.disclosures.models import Publication, Status

    a, _ = two_companies
    client = app.test_client()
    with _ctx(app, a):
        admin, community = _objects(a)
        current = db.session.get(Publication, (a.company.id, a.ids["publication_id"]))
        with pytest.raises(services.DisclosureError):
            services.correct(current, reason="", actor=admin)  # a correction needs its reason
        draft = services.correct(current, reason="广告收入少记一个月", actor=admin)
        with pytest.raises(services.DisclosureError):
            services.correct(current, reason="再改一次", actor=admin)  # one correction at a time
        for line in services.lines_of(draft.id):
            if line.label == "电梯广告":
                services.remove_line(draft, line, actor=admin)
        services.add_line(draft, label="电梯广告", amount="16000", cost="1600", owners_share="10080",
                          detail="70% 归全体业主", actor=admin)
        draft_key, series_id, community_id = (a.company.id, draft.id), current.series_id, community.id
    # Until the correction is published the public still sees the current version only (asked outside the company
    # context: a request inside it would end that context's session and detach its objects).
    assert "16,000" not in client.get(_public(a, f"{community_id}")).get_data(as_text=True)
    with _ctx(app, a):
        admin, _ = _objects(a)
        draft = db.session.get(Publication, draft_key)
        services.publish(draft, actor=admin)
        versions = db.session.execute(select(Publication).where(Publication.series_id == series_id)
                                      .order_by(Publication.version)).scalars().all()
        assert [(v.version, v.status) for v in versions] == [
            (1, Status.SUPERSEDED), (2, Status.SUPERSEDED), (3, Status.PUBLISHED)]
        assert versions[1].superseded_by_id == draft.id
        old_id, new_id = versions[1].id, draft.id
    page = client.get(_public(a, f"{community_id}/publications/{old_id}")).get_data(as_text=True)
    assert "superseded by a correction" in page and "广告收入少记一个月" in page
    assert "¥12,000" in page and "¥16,000" in page  # the history shows what changed, before → after
    page = client.get(_public(a, f"{community_id}/publications/{new_id}")).get_data(as_text=True)
    assert "version 1" in page and "version 2" in page and "version 3" in page


@pytest.mark.world("disclosures")
def test_drafts_never_reach_a_public_page(app, two_companies):
    from tenants.disclosures import queries
    from tenants.disclosures.models import Publication, Status

    a, _ = two_companies
    client = app.test_client()
    with _ctx(app, a):
        from saas.extensions import db

        draft = db.session.execute(select(Publication).where(Publication.status == Status.DRAFT)).scalar_one()
        draft_id = draft.id
        assert queries.drafts(a.ids["community_id"])
    assert client.get(_public(a, f"{a.ids['community_id']}/publications/{draft_id}")).status_code == 404
    for path in ("", f"{a.ids['community_id']}", f"{a.ids['community_id']}/print"):
        body = client.get(_public(a, path)).get_data(as_text=True)
        assert "草稿项目" not in body and "不公开" not in body


# --- the 30-day rate rule -------------------------------------------------------------------------------------------


@pytest.mark.world("fees_items")
def test_a_new_rate_needs_a_notice_published_30_days_before_it_takes_effect(app, two_companies, login_as):
    from saas.clock import local_today
    from saas.extensions import db
    from tenants.disclosures import services
    from tenants.fees import items
    from tenants.fees.models import FeeItem

    a, _ = two_companies
    today = local_today()
    with _ctx(app, a):
        admin, community = _objects(a)
        item = db.session.execute(select(FeeItem).where(FeeItem.name == "物业服务费")).scalar_one()
        # Before the first board: the community's initial rates, exempt.
        items.add_rate(item, price="1.90", effective_from=today + timedelta(days=3), actor=admin)
        services.publish_board(community, actor=admin)
        with pytest.raises(services.DisclosureError) as refused:
            items.add_rate(item, price="2.00", effective_from=today + timedelta(days=40), actor=admin)
        assert refused.value.field == "effective_from" and "30" in str(refused.value.message)
        # A notice published 29 days before is not enough; one published 30 days before is.
        for days_before, ok in ((29, False), (30, True)):
            effective = today + timedelta(days=60 + days_before)
            notice = services.create_draft(community, kind="rate_change", title="调价公告", period_start=effective,
                                           period_end=effective, actor=admin)
            services.add_line(notice, label="物业服务费调价", fee_item_id=str(item.id), price="2.00",
                              effective_from=effective, amount=None, actor=admin)
            published_at = datetime.combine(effective - timedelta(days=days_before), datetime.min.time(),
                                            tzinfo=UTC) + timedelta(hours=4)
            services.publish(notice, actor=admin, now=published_at)
            if ok:
                assert items.add_rate(item, price="2.00", effective_from=effective, actor=admin)
            else:
                with pytest.raises(services.DisclosureError):
                    items.add_rate(item, price="2.00", effective_from=effective, actor=admin)
        # The notice covers that price only.
        with pytest.raises(services.DisclosureError):
            items.add_rate(item, price="2.50", effective_from=today + timedelta(days=95), actor=admin)
        item_id = item.id
    # Through the fees page the refusal is a message at the field, not a 500.
    client = login_as(a.admin)
    response = client.post(f"/c/{a.company.slug}/fees/items/{item_id}/rates",
                           data={"price": "3", "effective_from": (today + timedelta(days=5)).isoformat()})
    assert response.status_code == 422 and "at least 30 days" in response.get_data(as_text=True)


def test_fees_never_imports_disclosures():
    from pathlib import Path

    for path in (Path(__file__).resolve().parent.parent / "tenants" / "fees").rglob("*.py"):
        assert "disclosures" not in path.read_text(encoding="utf-8").replace("disclosures module", ""), path


# --- calendar, overdue, reminders, figures ----------------------------------------------------------------------


def test_due_days_move_past_weekends_and_holidays():
    from tenants.disclosures import schedule
    from tenants.disclosures.models import Kind
    from tenants.work_orders.sla import WorkCalendar

    # Q4 2026 + 30 days is Saturday 30 January 2027: due the Monday after.
    assert schedule.due_on(Kind.COMMON_INCOME, date(2026, 12, 31)) == date(2027, 2, 1)
    # The annual report: 31 March of the next year (a Wednesday in 2027).
    assert schedule.due_on(Kind.ANNUAL_REPORT, date(2026, 12, 31)) == date(2027, 3, 31)
    # National Day: 1 October is a holiday; the due day is the first working day after the holiday week.
    day = schedule.next_working_day(date(2026, 10, 1))
    calendar = WorkCalendar()
    assert day > date(2026, 10, 5) and calendar.is_working_day(day)
    assert not any(calendar.is_working_day(date(2026, 10, 1) + timedelta(days=n))
                   for n in range((day - date(2026, 10, 1)).days))
    assert schedule.period_containing(Kind.MAINTENANCE_FUND, date(2026, 8, 15)) == (date(2026, 7, 1),
                                                                                    date(2026, 12, 31))


@pytest.mark.world("disclosures")
def test_the_public_page_marks_overdue_statements_and_the_record_counts_them(app, two_companies):
    from tenants.disclosures import queries
    from tenants.disclosures.models import DisclosureProfile, Kind

    a, _ = two_companies
    with _ctx(app, a):
        from saas.extensions import db

        profile = db.session.execute(select(DisclosureProfile)).scalar_one()
        published = queries.first_published_by_period([profile.community_id])
        states = {(s.kind, s.due.period_start): s.state
                  for s in queries.calendar(profile, date(2026, 12, 6), published)}
    # Q1 2026 was published (in 2026-12, after its due day): late. Q2 and Q3 were never published: overdue.
    assert states[(Kind.COMMON_INCOME, date(2026, 1, 1))] == "late"
    assert states[(Kind.COMMON_INCOME, date(2026, 4, 1))] == "overdue"
    assert states[(Kind.COMMON_INCOME, date(2026, 7, 1))] == "overdue"
    assert states[(Kind.MAINTENANCE_FUND, date(2026, 1, 1))] == "overdue"
    body = app.test_client().get(_public(a, f"{a.ids['community_id']}")).get_data(as_text=True)
    assert "Overdue" in body
    index = app.test_client().get(_public(a)).get_data(as_text=True)
    assert "Overdue (not yet published)" in index


@pytest.mark.world("disclosures")
def test_admins_are_reminded_once_of_each_due_statement(app, two_companies):
    from saas.extensions import db
    from tenants.disclosures import jobs
    from tenants.disclosures.models import DisclosureReminder
    from tenants.inbox.models import Notification

    a, _ = two_companies
    with app.app_context():
        first = jobs.remind_all_companies()
        second = jobs.remind_all_companies()
    assert first["reminders"] >= 3 and second["reminders"] == 0
    with _ctx(app, a):
        reminders = db.session.execute(select(func.count()).select_from(DisclosureReminder)).scalar_one()
        notices = db.session.execute(select(func.count()).select_from(Notification).where(
            Notification.user_id == a.admin.id, Notification.subject_type == "disclosure")).scalar_one()
    assert reminders >= 3 and notices >= reminders


def test_the_reminder_job_is_registered_and_has_a_command(app):
    from saas.jobs import PERIODIC_JOBS

    assert ("remind-disclosures", "tenants.disclosures.jobs:remind_all_companies") in [j[:2] for j in PERIODIC_JOBS]
    result = app.test_cli_runner().invoke(args=["remind-disclosures"])
    assert result.exit_code == 0 and "Disclosure reminders" in result.output


@pytest.mark.world("disclosures")
def test_quarter_figures_count_disclosures_and_objection_replies_on_time(app, two_companies):
    from tenants.disclosures.figures import quarter_figures

    a, b = two_companies
    with app.app_context():
        figures = quarter_figures(a.company.id, date(2026, 1, 1), date(2026, 12, 31))
        assert set(figures) == {"disclosures_due", "disclosures_on_time", "objections_due",
                                "objections_answered_on_time"}
        assert figures["disclosures_due"] >= 3 and figures["disclosures_on_time"] == 0
        assert quarter_figures(str(b.company.id), date(2020, 1, 1), date(2020, 3, 31)) == {
            "disclosures_due": 0, "disclosures_on_time": 0, "objections_due": 0, "objections_answered_on_time": 0}


# --- objections -------------------------------------------------------------------------------------------------


@pytest.mark.world("disclosures")
def test_an_owner_objects_the_company_replies_in_public_and_a_late_reply_is_counted(app, two_companies, login_as):
    from saas.clock import local_today
    from saas.extensions import db
    from tenants.disclosures import services
    from tenants.disclosures.figures import quarter_figures
    from tenants.disclosures.models import Objection, ObjectionStatus
    from tenants.inbox.models import Notification

    a, b = two_companies
    owner = login_as(a.owner)
    form_url = f"/c/{a.company.slug}/disclosures/lines/{a.ids['line_id']}/objection"
    page = owner.get(form_url)
    assert page.status_code == 200
    assert owner.post(form_url, data={"household_id": str(a.ids["household_id"]), "question": ""}).status_code == 422
    response = owner.post(form_url, data={"household_id": str(a.ids["household_id"]),
                                          "question": "场地租金为何比去年少？"})
    assert response.status_code == 303
    # Another company's owner cannot reach the line at all.
    assert login_as(b.owner).get(f"/c/{b.company.slug}/disclosures/lines/{a.ids['line_id']}/objection"
                                 ).status_code == 404
    with _ctx(app, a):
        objection = db.session.execute(select(Objection).where(
            Objection.question == "场地租金为何比去年少？")).scalar_one()
        assert objection.status == ObjectionStatus.OPEN
        # 15 working days on the SLA calendar: at least 19 calendar days, and a working day.
        assert (objection.reply_due_on - objection.created_at.date()).days >= 19
        assert objection.reply_due_on == services.reply_due(local_today(objection.created_at))
        assert db.session.execute(select(func.count()).select_from(Notification).where(
            Notification.user_id == a.admin.id, Notification.subject_type == "disclosure")).scalar_one() >= 1
        objection_id, due = objection.id, objection.reply_due_on
    admin = login_as(a.admin)
    assert admin.post(f"/c/{a.company.slug}/disclosures/objections/{objection_id}/close").status_code == 303
    with _ctx(app, a):
        assert db.session.get(Objection, (a.company.id, objection_id)).status == ObjectionStatus.OPEN
        admin_user, _ = _objects(a)
        late = datetime.combine(due + timedelta(days=3), datetime.min.time(), tzinfo=UTC)
        services.reply(db.session.get(Objection, (a.company.id, objection_id)), text="去年含一次性场地费。",
                       actor=admin_user, now=late)
    body = app.test_client().get(_public(a, f"{a.ids['community_id']}")).get_data(as_text=True)
    assert "场地租金为何比去年少？" in body and "去年含一次性场地费。" in body and "answered late" in body
    assert "Owner in " in body
    with app.app_context():
        figures = quarter_figures(a.company.id, due - timedelta(days=1), due + timedelta(days=1))
    # The world's own objection (answered at once) and this one (answered three days late).
    assert figures["objections_due"] == 2 and figures["objections_answered_on_time"] == 1
    assert admin.post(f"/c/{a.company.slug}/disclosures/objections/{objection_id}/close").status_code == 303
    with _ctx(app, a):
        assert db.session.get(Objection, (a.company.id, objection_id)).status == ObjectionStatus.CLOSED


@pytest.mark.world("disclosures")
def test_an_owner_of_another_community_cannot_object(app, two_companies, login_as, make_roster):
    from saas.extensions import db
    from tenants.disclosures import services
    from tenants.disclosures.models import PublicationLine
    from tenants.roster.models import Building, Household

    a, _ = two_companies
    make_roster(a.company, communities=1, buildings=1, households=1, prefix="另一小区")
    with _ctx(app, a):
        admin, _community = _objects(a)
        line = db.session.get(PublicationLine, (a.company.id, a.ids["line_id"]))
        other = db.session.execute(select(Household).join(Building, Building.id == Household.building_id)
                                   .where(Building.community_id != a.ids["community_id"])).scalars().first()
        assert other is not None
        with pytest.raises(services.DisclosureError):
            services.raise_objection(line, household=other, question="?", actor=admin)


# --- public pages: privacy, no session, cache headers ---------------------------------------------------------------


def _public_urls(world) -> list[str]:
    c = world.ids["community_id"]
    return [_public(world), _public(world, f"{c}"), _public(world, f"{c}/print"), _public(world, f"{c}/poster"),
            _public(world, f"{c}/publications/{world.ids['publication_id']}")]


@pytest.mark.world("disclosures")
def test_no_public_page_shows_anyones_name_phone_or_room(app, two_companies):
    from saas.extensions import db
    from saas.models import User
    from tenants.roster.models import Household

    a, b = two_companies
    with _ctx(app, a):
        markers = []
        for user_id in (a.admin.id, a.owner.id, a.steward.id, a.technician.id, a.cashier.id):
            user = db.session.get(User, user_id)
            markers += [user.name, user.phone]
        for household in db.session.execute(select(Household)).scalars():
            markers += [household.owner_name, household.owner_phone, household.room_label, household.label]
    markers = [m for m in markers if m]
    client = app.test_client()
    pages = 0
    for url in _public_urls(a):
        response = client.get(url)
        assert response.status_code == 200, url
        body = response.get_data(as_text=True)
        for marker in markers:
            assert marker not in body, f"{url} shows {marker!r}"
        assert not re.search(r"1[3-9]\d{9}", body), f"{url} shows a mobile number"
        pages += 1
    # The planted question really was there: it reaches the public page masked.
    body = client.get(_public(a, f"{a.ids['community_id']}")).get_data(as_text=True)
    assert "广告收入是否偏低" in body and "＊＊＊" in body
    assert pages == 5


@pytest.mark.world("disclosures")
def test_public_pages_set_no_cookie_and_are_cacheable_with_validators(app, two_companies):
    a, _ = two_companies
    client = app.test_client()
    for url in _public_urls(a):
        response = client.get(url)
        assert "Set-Cookie" not in response.headers, url
        assert response.headers["Cache-Control"].startswith("public"), url
        assert response.headers.get("ETag") and response.headers.get("Last-Modified"), url
        again = client.get(url, headers={"If-None-Match": response.headers["ETag"]})
        assert again.status_code == 304 and not again.data and "Set-Cookie" not in again.headers


@pytest.mark.world("disclosures")
def test_the_etag_changes_when_a_publication_changes_and_not_for_a_draft(app, two_companies):
    from tenants.disclosures import services

    a, _ = two_companies
    client = app.test_client()
    url = _public(a, f"{a.ids['community_id']}")
    first = client.get(url)
    with _ctx(app, a):
        admin, community = _objects(a)
        draft = services.create_draft(community, kind="parking", title="车位出租", period_start=date(2026, 1, 1),
                                      period_end=date(2026, 6, 30), actor=admin)
        services.add_line(draft, label="车位出租", amount="4500", actor=admin)
        draft_id = draft.id
    after_draft = client.get(url)
    assert after_draft.headers["ETag"] == first.headers["ETag"]
    assert after_draft.headers["Last-Modified"] == first.headers["Last-Modified"]
    with _ctx(app, a):
        from saas.extensions import db
        from tenants.disclosures.models import Publication

        admin, _community = _objects(a)
        services.publish(db.session.get(Publication, (a.company.id, draft_id)), actor=admin)
    after_publish = client.get(url)
    assert after_publish.headers["ETag"] != first.headers["ETag"]
    assert client.get(url, headers={"If-None-Match": first.headers["ETag"]}).status_code == 200
    assert "车位出租" in after_publish.get_data(as_text=True)


@pytest.mark.world("disclosures")
def test_public_pages_work_without_scripts_and_the_poster_has_a_qr_code(app, two_companies):
    a, _ = two_companies
    client = app.test_client()
    for url in _public_urls(a):
        assert "<script" not in client.get(url).get_data(as_text=True), url
    poster = client.get(_public(a, f"{a.ids['community_id']}/poster")).get_data(as_text=True)
    assert 'src="data:image/svg+xml' in poster
    board = client.get(_public(a, f"{a.ids['community_id']}")).get_data(as_text=True)
    for text in ("物业服务费", "¥1.85", "per m² a month", "水费", "no handling fee", "12315", "Government-guided price", "物业服务合同第五条"):
        assert text in board, text


# --- bad input --------------------------------------------------------------------------------------------------


@pytest.mark.world("disclosures")
@pytest.mark.parametrize(("data", "message"), [
    ({"label": "广告", "amount": "-5"}, "cannot be negative"),
    ({"label": "广告", "amount": "1e30"}, "at most two decimals"),
    ({"label": "广告", "amount": "2000000000"}, "at most ¥1,000,000,000"),
    ({"label": "广告", "amount": "12.345"}, "at most two decimals"),
    ({"label": "广告", "amount": "100", "cost": "200"}, "cost cannot be more than the income"),
    ({"label": "", "amount": "100"}, "required"),
])
def test_bad_amounts_get_a_clear_message_and_change_nothing(app, two_companies, login_as, data, message):
    from saas.extensions import db
    from tenants.disclosures import services

    a, _ = two_companies
    with _ctx(app, a):
        admin, community = _objects(a)
        draft = services.create_draft(community, kind="common_income", title="Q2", period_start=date(2026, 4, 1),
                                      period_end=date(2026, 6, 30), actor=admin)
        draft_id = draft.id
    client = login_as(a.admin)
    response = client.post(f"/c/{a.company.slug}/disclosures/publications/{draft_id}/lines", data=data)
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    with _ctx(app, a):
        assert services.lines_of(draft_id) == []
        db.session.rollback()


@pytest.mark.world("disclosures")
def test_a_period_that_ends_before_it_starts_is_refused(app, two_companies, login_as):
    from tenants.disclosures.models import Publication

    a, _ = two_companies
    client = login_as(a.admin)
    with _ctx(app, a):
        from saas.extensions import db

        before = db.session.execute(select(func.count()).select_from(Publication)).scalar_one()
    response = client.post(f"/c/{a.company.slug}/disclosures/communities/{a.ids['community_id']}/publications",
                           data={"kind": "common_income", "period_start": "2026-06-30", "period_end": "2026-04-01"})
    assert response.status_code == 422 and "must end on or after the day it starts" in response.get_data(as_text=True)
    response = client.post(f"/c/{a.company.slug}/disclosures/communities/{a.ids['community_id']}/publications",
                           data={"kind": "common_income", "period_start": "1900-01-01", "period_end": "2026-04-01"})
    assert response.status_code == 422
    with _ctx(app, a):
        from saas.extensions import db

        assert db.session.execute(select(func.count()).select_from(Publication)).scalar_one() == before


@pytest.mark.world("disclosures")
def test_unknown_slugs_and_ids_are_404_on_public_pages(app, two_companies):
    a, b = two_companies
    client = app.test_client()
    c = a.ids["community_id"]
    for url in (f"/p/no-such/disclosures/{c}", f"/p/{a.company.slug}/disclosures/not-a-uuid",
                f"/p/{b.company.slug}/disclosures/{c}",
                f"/p/{a.company.slug}/disclosures/{c}/publications/{b.ids['publication_id']}",
                f"/p/{a.company.slug}/disclosures/{b.ids['community_id']}/print"):
        assert client.get(url).status_code == 404, url


# --- scanned attachments -------------------------------------------------------------------------------------------


def _draft(app, world):
    from tenants.disclosures import services

    with _ctx(app, world):
        admin, community = _objects(world)
        return services.create_draft(community, kind="maintenance_fund", title="2026 上半年维修资金",
                                     period_start=date(2026, 1, 1), period_end=date(2026, 6, 30), actor=admin).id


def _attachment_count(app, world, pub_id) -> int:
    from tenants.disclosures import attachments

    with _ctx(app, world):
        return len(attachments.attachments_of(pub_id))


@pytest.mark.world("disclosures")
@pytest.mark.parametrize(("name", "data", "message"), [
    ("发票.pdf", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + b"\x00" * 200, "is not a PDF, JPEG, PNG or WebP file"),
    ("scan.pdf", b"%PDF-1.4\n" + b"0" * (10 * 1024 * 1024), "is larger than 10 MB"),
    ("photo.png", b"\x89PNG\r\n\x1a\n" + b"broken" * 50, "is not an image we can read"),
    ("empty.pdf", b"", "is empty"),
])
def test_bad_files_are_refused_with_a_clear_message_and_nothing_is_attached(app, two_companies, login_as, name,
                                                                             data, message):
    import io

    a, _ = two_companies
    draft_id = _draft(app, a)
    client = login_as(a.admin)
    response = client.post(f"/c/{a.company.slug}/disclosures/publications/{draft_id}/attachments",
                           data={"files": [(io.BytesIO(data), name)]}, content_type="multipart/form-data")
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert _attachment_count(app, a, draft_id) == 0


@pytest.mark.world("disclosures")
def test_more_than_five_files_are_refused(app, two_companies, login_as):
    import io

    from tests.world.disclosures import pdf_bytes

    a, _ = two_companies
    draft_id = _draft(app, a)
    client = login_as(a.admin)
    files = [(io.BytesIO(pdf_bytes("x")), f"{n}.pdf") for n in range(6)]
    response = client.post(f"/c/{a.company.slug}/disclosures/publications/{draft_id}/attachments",
                           data={"files": files}, content_type="multipart/form-data")
    assert response.status_code == 422 and "at most 5 files" in response.get_data(as_text=True)
    assert _attachment_count(app, a, draft_id) == 0


@pytest.mark.world("disclosures")
def test_images_are_re_encoded_without_exif_and_pdfs_kept_as_uploaded(app, two_companies, login_as):
    import io

    from PIL import Image

    from tenants.disclosures import attachments
    from tests.world.disclosures import pdf_bytes

    a, _ = two_companies
    draft_id = _draft(app, a)
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x013B] = "张三"  # Artist: a name in the metadata
    exif[0x8825] = {2: (43.0, 49.0, 0.0), 1: "N"}  # GPS position
    photo = io.BytesIO()
    Image.new("RGB", (300, 200), (20, 120, 200)).save(photo, format="JPEG", exif=exif)
    assert b"PhoneMaker" in photo.getvalue()
    pdf = pdf_bytes("合同")
    client = login_as(a.admin)
    response = client.post(f"/c/{a.company.slug}/disclosures/publications/{draft_id}/attachments",
                           data={"files": [(io.BytesIO(photo.getvalue()), "../../etc/收据<b>.png"),
                                           (io.BytesIO(pdf), "合同.PDF")]},
                           content_type="multipart/form-data")
    assert response.status_code in (200, 303) or response.headers.get("HX-Redirect"), response.status_code
    with _ctx(app, a):
        image, document = attachments.attachments_of(draft_id)
        stored = attachments.file_of(image).read_bytes()
        assert image.content_type == "image/jpeg" and image.filename == "收据b.jpg"
        assert b"PhoneMaker" not in stored and "张三".encode() not in stored and b"Exif" not in stored
        with Image.open(io.BytesIO(stored)) as reread:
            assert reread.format == "JPEG" and not reread.getexif() and "exif" not in reread.info
        assert document.content_type == "application/pdf" and attachments.file_of(document).read_bytes() == pdf
        document_id = document.id
    # The editor lists both, each with its remove button (a draft), and sizes in KB.
    page = client.get(f"/c/{a.company.slug}/disclosures/publications/{draft_id}").get_data(as_text=True)
    assert "收据b.jpg" in page and "合同.pdf" in page and " KB)" in page
    assert page.count(f"/disclosures/publications/{draft_id}/attachments/") == 2
    # The admin's copy of a draft's PDF: a download, never sniffed, never cached by others.
    response = client.get(f"/c/{a.company.slug}/disclosures/attachments/{document_id}")
    assert response.status_code == 200 and response.data == pdf
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in response.headers["Cache-Control"]


@pytest.mark.world("disclosures")
def test_public_files_are_only_those_of_published_versions_of_that_company(app, two_companies):
    import io

    from werkzeug.datastructures import FileStorage

    from tenants.disclosures import attachments
    from tests.world.disclosures import pdf_bytes

    a, b = two_companies
    draft_id = _draft(app, a)
    with _ctx(app, a):
        admin, _community = _objects(a)
        from saas.extensions import db
        from tenants.disclosures.models import Publication

        draft = db.session.get(Publication, (a.company.id, draft_id))
        draft_file = attachments.add(draft, [FileStorage(io.BytesIO(pdf_bytes("草稿")), filename="草稿.pdf")],
                                     actor=admin)[0].id
        current = db.session.get(Publication, (a.company.id, a.ids["publication_id"]))
        first = db.session.execute(select(Publication).where(Publication.series_id == current.series_id,
                                                             Publication.version == 1)).scalar_one()
        superseded_file = attachments.attachments_of(first.id)[0].id
    client = app.test_client()
    url = _public(a, f"attachments/{a.ids['attachment_id']}")
    response = client.get(url)
    assert response.status_code == 200 and response.data.startswith(b"%PDF-")
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "Set-Cookie" not in response.headers
    assert response.headers["Cache-Control"].startswith("public") and response.headers.get("Last-Modified")
    again = client.get(url, headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304 and not again.data and "Set-Cookie" not in again.headers
    # The earlier version stays public with its file (history); a draft's file, another company's id: 404.
    assert client.get(_public(a, f"attachments/{superseded_file}")).status_code == 200
    assert client.get(_public(a, f"attachments/{draft_file}")).status_code == 404
    assert client.get(_public(b, f"attachments/{a.ids['attachment_id']}")).status_code == 404
    assert client.get(_public(a, "attachments/not-a-uuid")).status_code == 404
    # Listed with a link on the community page and the statement's page; the draft's file nowhere.
    for page in (_public(a, f"{a.ids['community_id']}"),
                 _public(a, f"{a.ids['community_id']}/publications/{a.ids['publication_id']}")):
        body = client.get(page).get_data(as_text=True)
        assert f"attachments/{a.ids['attachment_id']}" in body and "广告合同.pdf" in body, page
        assert str(draft_file) not in body and "草稿.pdf" not in body


@pytest.mark.world("disclosures")
def test_attachments_are_immutable_once_published_and_a_correction_carries_them_over(app, two_companies):
    import io

    from werkzeug.datastructures import FileStorage

    from saas.extensions import db
    from tenants.disclosures import attachments, services
    from tenants.disclosures.models import Attachment, Publication
    from tests.world.disclosures import pdf_bytes

    a, _ = two_companies
    with _ctx(app, a):
        admin, _community = _objects(a)
        pub = db.session.get(Publication, (a.company.id, a.ids["publication_id"]))
        with pytest.raises(services.DisclosureError):
            attachments.add(pub, [FileStorage(io.BytesIO(pdf_bytes("补")), filename="补.pdf")], actor=admin)
        att = db.session.get(Attachment, (a.company.id, a.ids["attachment_id"]))
        with pytest.raises(services.DisclosureError):
            attachments.remove(pub, att, actor=admin)
        # Any code path, not only the services: the flush guard refuses it.
        att.filename = "换了.pdf"
        with pytest.raises(services.DisclosureError):
            db.session.flush()
        db.session.rollback()
        db.session.add(Attachment(publication_id=pub.id, position=9, filename="x.pdf", content_type="application/pdf",
                                  size=1, file_path="x"))
        with pytest.raises(services.DisclosureError):
            db.session.flush()
        db.session.rollback()
        att = db.session.get(Attachment, (a.company.id, a.ids["attachment_id"]))
        db.session.delete(att)
        with pytest.raises(services.DisclosureError):
            db.session.flush()
        db.session.rollback()
        # A correction starts with the same files; removing one from the draft leaves the published version's.
        pub = db.session.get(Publication, (a.company.id, a.ids["publication_id"]))
        new = services.correct(pub, reason="补充合同扫描件", actor=admin)
        copied = attachments.attachments_of(new.id)
        assert [(c.filename, c.file_path) for c in copied] == [("广告合同.pdf", att.file_path)]
        attachments.remove(new, copied[0], actor=admin)
        assert attachments.attachments_of(new.id) == []
        assert [x.id for x in attachments.attachments_of(pub.id)] == [a.ids["attachment_id"]]


# --- the maintenance fund over time --------------------------------------------------------------------------------


@pytest.mark.world("disclosures")
def test_the_fund_balance_is_the_running_sum_of_the_published_current_versions_in_period_order(app, two_companies):
    from tenants.disclosures import services

    a, _ = two_companies
    with _ctx(app, a):
        admin, community = _objects(a)

        def statement(start, end, income, spending):
            pub = services.create_draft(community, kind="maintenance_fund", title=f"维修资金 {start.isoformat()}",
                                        period_start=start, period_end=end, actor=admin)
            services.add_line(pub, label="业主缴存", direction="income", amount=income, actor=admin)
            services.add_line(pub, label="电梯维修", direction="spending", amount=spending, actor=admin)
            return pub

        # Published out of order: the second half first. The first half is then corrected (only the current
        # version counts) and the world's draft (¥99) never does.
        services.publish(statement(date(2025, 7, 1), date(2025, 12, 31), "2000", "5000.50"), actor=admin)
        first = services.publish(statement(date(2025, 1, 1), date(2025, 6, 30), "9000", "3000"), actor=admin)
        fixed = services.correct(first, reason="缴存金额更正", actor=admin)
        services.add_line(fixed, label="补缴", direction="income", amount="1000", actor=admin)
        services.publish(fixed, actor=admin)
    body = app.test_client().get(_public(a, f"{a.ids['community_id']}")).get_data(as_text=True)
    chart = body.split("fund-chart", 1)[1].split("</ul>", 1)[0]
    assert chart.index("2025-01-01 – 2025-06-30") < chart.index("2025-07-01 – 2025-12-31")
    # 10,000 − 3,000 = 7,000 after the first half; 7,000 + 2,000 − 5,000.50 = 3,999.50 after the second.
    assert re.findall(r"¥[\d,.-]+(?=</span>)", chart) == ["¥7,000", "¥3,999.50"]
    assert "width=\"100\"" in chart and "width=\"57\"" in chart  # 3,999.50 / 7,000
    assert "sum of what was published" in body


@pytest.mark.world("disclosures")
def test_the_profile_form_is_drawn_when_its_panel_opens_and_comes_back_with_what_was_typed(app, two_companies,
                                                                                         login_as):
    a, b = two_companies
    client = login_as(a.admin)
    page_url = f"/c/{a.company.slug}/disclosures/communities/{a.ids['community_id']}"
    page = client.get(page_url).get_data(as_text=True)
    assert 'name="charged_party"' not in page
    assert f'hx-get="{page_url}?profile_form=1"' in page and 'hx-trigger="toggle from:closest details once"' in page

    # A date that is not one: refused, the panel open with what was typed.
    response = client.post(f"{page_url}/profile", data={"charged_party": "本小区全体业主（已输入）",
                                                        "price_form": "market", "billing_start": "明天"})
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert 'value="本小区全体业主（已输入）"' in body and "<details class=\"mb-4\" open>" in body

    assert client.post(f"{page_url}/profile", data={"charged_party": "全体业主", "price_form": "market",
                                                    "complaint_phone": "12315"}).status_code in (200, 303)
    form = client.get(f"{page_url}?profile_form=1", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in form and 'value="全体业主"' in form and f'action="{page_url}/profile"' in form
    whole = client.get(f"{page_url}?profile_form=1").get_data(as_text=True)  # without JavaScript
    assert "<html" in whole and 'value="全体业主"' in whole
    # The new statement's form the same way: not on the page, loaded when its panel opens, open after an error.
    assert 'name="period_start"' not in page and f'hx-get="{page_url}?draft_form=1"' in page
    draft = client.get(f"{page_url}?draft_form=1", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in draft and 'name="period_start"' in draft and f'action="{page_url}/publications"' in draft
    refused = client.post(f"{page_url}/publications", data={"kind": "common_income", "title": "二季度收支（草）",
                                                            "period_start": "2026-06-30", "period_end": "2026-04-01"})
    body = refused.get_data(as_text=True)
    assert refused.status_code == 422 and 'value="二季度收支（草）"' in body
    assert body.count('<details class="mb-4" open>') == 1
    # Another company's community: 404, with or without the form asked for.
    other = login_as(b.admin)
    assert other.get(f"/c/{b.company.slug}/disclosures/communities/{a.ids['community_id']}?profile_form=1",
                     headers={"HX-Request": "true"}).status_code == 404
