"""The red/black list end to end: who may rate, the job (idempotent, per company, the work-order source), the
public pages (no personal data, fixed statement counts), moderation (flags, folding, exclusion: never deleted),
replies and appeals with deadlines, every step in the platform audit log."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from saas.extensions import db
from saas.models import PlatformAuditEvent
from saas.ratings.models import Appeal, AppealStatus, CompanyRatingProfile, ListEntry, OwnerRating, QuarterFigures
from tests.world.ratings import backdate_owner, rate

pytestmark = pytest.mark.world()

FORM = {"overall": "5", "repairs": "4", "cleanliness": "4", "communication": "3", "fees": "5", "comment": "很好"}


def ratings_count(app) -> int:
    with app.app_context():
        return db.session.execute(select(func.count()).select_from(OwnerRating)).scalar()


# --- who may rate ------------------------------------------------------------------------------------------------


def test_an_owner_bound_less_than_30_days_is_refused(app, a, login_as):
    owner = login_as(a.owner)
    response = owner.post("/c/company-a/ratings/rate", data=FORM)
    assert response.status_code == 422
    assert "30" in response.get_data(as_text=True)
    assert ratings_count(app) == 0


def test_a_verified_owner_rates_once_per_quarter_and_may_edit(app, a, login_as):
    backdate_owner(app, a, days=31)
    owner = login_as(a.owner)
    assert owner.post("/c/company-a/ratings/rate", data=FORM).status_code in (302, 303)
    assert owner.post("/c/company-a/ratings/rate", data={**FORM, "overall": "2"}).status_code in (302, 303)
    with app.app_context():
        rows = db.session.execute(select(OwnerRating)).scalars().all()
        assert len(rows) == 1
        assert rows[0].overall == 2 and rows[0].comment == "很好"
        assert rows[0].community_name  # the verification line: the community, never the room
        assert rows[0].household_id == a.owner_household_id
    page = owner.get("/c/company-a/ratings/rate").get_data(as_text=True)
    assert "You rated this quarter" in page or "本季度" in page


def test_a_co_owner_of_a_household_that_rated_is_refused(app, a, make_user):
    from saas.models import Membership, Role
    from saas.ratings import services
    from saas.tenancy import company_context, utcnow
    from tenants.roster.models import HouseholdOwner

    rate(app, a)
    other = make_user("共有人", memberships=[(a.company, Role.OWNER)])
    with app.app_context(), company_context(a.company.id):
        m = db.session.execute(select(Membership).where(Membership.user_id == other.id)).scalar_one()
        db.session.add(HouseholdOwner(household_id=a.owner_household_id, membership_id=m.id,
                                      verified_at=utcnow() - timedelta(days=60)))
        db.session.commit()
    with pytest.raises(services.RatingError):
        rate(app, a, user=other)
    assert ratings_count(app) == 1


def test_staff_are_refused(app, a, login_as):
    from saas.ratings import services

    for user in (a.admin, a.steward, a.technician):
        assert login_as(user).post("/c/company-a/ratings/rate", data=FORM).status_code == 403
    with app.app_context(), pytest.raises(services.RatingError):
        services.submit_rating(company_id=a.company.id, household_id=a.owner_household_id, user=a.admin,
                               owner_since=date(2020, 1, 1), community_name="x", is_staff=True, former_staff=False,
                               scores={k: 5 for k in ("overall", "repairs", "cleanliness", "communication", "fees")})
    assert ratings_count(app) == 0


@pytest.mark.parametrize("field,value", [("overall", "9"), ("repairs", ""), ("fees", "abc"), ("comment", "长" * 1001)])
def test_bad_ratings_are_refused(app, a, login_as, field, value):
    backdate_owner(app, a)
    response = login_as(a.owner).post("/c/company-a/ratings/rate", data={**FORM, field: value})
    assert response.status_code == 422
    assert ratings_count(app) == 0


# --- the job -----------------------------------------------------------------------------------------------------


@pytest.mark.world("work_orders")
def test_the_job_is_idempotent_per_company_and_reads_work_orders(app, two_companies):
    from saas.ratings import job

    a, b = two_companies
    backdate_owner(app, a)
    rate(app, a, overall=5)
    with app.app_context():
        first = job.run_all()
        snapshot = {(r.company_id, r.quarter_start): (r.figures, r.score) for r in
                    db.session.execute(select(QuarterFigures)).scalars()}
        again = job.run_all()
        assert first["companies"] == again["companies"] == 2
        rows = db.session.execute(select(QuarterFigures)).scalars().all()
        assert {(r.company_id, r.quarter_start): (r.figures, r.score) for r in rows} == snapshot
        assert db.session.execute(select(func.count()).select_from(CompanyRatingProfile)).scalar() == 2
        current = [r for r in rows if r.company_id == a.company.id and r.figures["owner_ratings"]["ratings"]]
        assert len(current) == 1
        assert "work_orders" in current[0].figures  # the source registered by tenants/__init__.py
        b_rows = [r for r in rows if r.company_id == b.company.id]
        assert all(r.figures["owner_ratings"]["ratings"] == 0 for r in b_rows)  # A's rating is A's only


def test_the_job_lists_expires_and_records_the_rules_version(app, a):
    from saas.ratings import job
    from saas.ratings.rules import ensure_rules

    backdate_owner(app, a)
    with app.app_context():
        rules = ensure_rules()
        params = dict(rules.params, min_sample=1)
        rules.params = params
        db.session.commit()
    rate(app, a, overall=5, repairs=5, cleanliness=5, communication=5, fees=5)
    with app.app_context():
        from saas.ratings import rules as rules_module

        # One 5-star rating against a platform mean of 5: the score is high enough for the red list.
        job.run_all()
        entry = db.session.execute(select(ListEntry)).scalar_one()
        assert entry.kind.value == "red" and entry.rules_version == 1
        assert rules_module.current_params()[0] == 1
        first_expiry = entry.expires_at
        job.run_all()
        entry = db.session.execute(select(ListEntry)).scalar_one()
        assert entry.expires_at >= first_expiry and entry.ended_at is None  # renewed, not duplicated
        # Twelve months on, without renewal, it has expired.
        entry.expires_at = entry.expires_at - timedelta(days=400)
        db.session.commit()
        assert job.expire_entries(job.utcnow()) == 1
        db.session.commit()
        assert db.session.execute(select(ListEntry)).scalar_one().end_reason == "expired"


# --- public pages ------------------------------------------------------------------------------------------------


@pytest.mark.world("ratings")
def test_public_pages_show_no_personal_data_and_set_no_cookie(app, two_companies, client):
    a, b = two_companies
    for url in ("/ratings/", "/ratings/rules", "/ratings/c/company-a", "/ratings/?q=甲"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert "Set-Cookie" not in response.headers, url
        assert "public" in response.headers["Cache-Control"], url
        page = response.get_data(as_text=True)
        for person in (a.owner, a.admin, b.owner):
            assert person.name not in page and person.phone not in page, url
    page = client.get("/ratings/c/company-a").get_data(as_text=True)
    assert "甲物业 的服务还行" in page and "甲物业 谢谢您" in page and "乙物业 的服务还行" not in page
    assert client.get("/ratings/c/no-such-company").status_code == 404


@pytest.mark.parametrize("companies", [3, 30])
def test_public_pages_make_a_fixed_number_of_statements(app, client, count_queries, make_company, companies):
    """The counts do not grow with the number of companies (bench/ratings_bench.py: 100 → 10,000)."""
    from saas.ratings import job
    from tests.world.ratings import seed_profiles

    seed_profiles(app, companies)
    counts, cached = {}, {}
    for url in ("/ratings/", "/ratings/?q=物业", "/ratings/c/bench-1", "/ratings/rules"):
        with count_queries() as counter:
            assert client.get(url).status_code == 200
        counts[url] = counter.count
        with count_queries() as counter:  # the same page again: from the public page cache, the token only
            assert client.get(url).status_code == 200
        cached[url] = counter.count
    assert counts == EXPECTED_STATEMENTS, counts
    assert set(cached.values()) == {1}, cached
    del job


# Drawing the page (the first request): the "ratings" version token, then the page's own reads.
EXPECTED_STATEMENTS = {"/ratings/": 6, "/ratings/?q=物业": 7, "/ratings/c/bench-1": 7, "/ratings/rules": 2}


# --- moderation, replies, appeals --------------------------------------------------------------------------------


@pytest.mark.world("ratings")
def test_a_personal_data_flag_hides_at_once_other_flags_do_not(app, two_companies, client):
    a, _b = two_companies
    rating_id = a.ids["rating_id"]
    form_page = app.test_client()
    page = form_page.get(f"/ratings/reviews/{rating_id}/flag")
    assert page.status_code == 200
    import re

    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    assert form_page.post(f"/ratings/reviews/{rating_id}/flag", data={"reason": "nonsense",
                                                                      "csrf_token": token}).status_code == 422
    assert form_page.post(f"/ratings/reviews/{rating_id}/flag", data={"reason": "personal_data",
                                                                      "csrf_token": token}).status_code in (302, 303)
    with app.app_context():
        assert db.session.get(OwnerRating, rating_id).hidden_at is not None
    public = client.get("/ratings/c/company-a").get_data(as_text=True)
    assert "甲物业 的服务还行" not in public


@pytest.mark.world("ratings")
def test_folding_keeps_the_review_listed_and_is_audited(app, two_companies, login_as, make_user, client):
    a, _b = two_companies
    rating_id = a.ids["rating_id"]
    platform = login_as(make_user("平台管理员", platform_admin=True))
    queue = platform.get("/admin/ratings/")
    assert queue.status_code == 200 and "甲物业" in queue.get_data(as_text=True)
    assert platform.post(f"/admin/ratings/reviews/{rating_id}/fold", data={"reason": ""}).status_code == 422
    assert platform.post(f"/admin/ratings/reviews/{rating_id}/fold",
                         data={"reason": "含人身攻击"}).status_code in (302, 303)
    assert platform.post(f"/admin/ratings/reviews/{rating_id}/exclude",
                         data={"reason": "同一设备多次评价"}).status_code in (302, 303)
    with app.app_context():
        rating = db.session.get(OwnerRating, rating_id)
        assert rating is not None and rating.folded_at and rating.excluded_at
        actions = set(db.session.execute(select(PlatformAuditEvent.action)).scalars())
        assert {"rating.folded", "rating.excluded", "rating.flagged", "rating.replied",
                "rating.appeal_filed"} <= actions
    public = client.get("/ratings/c/company-a").get_data(as_text=True)
    assert "含人身攻击" in public and "<details>" in public  # collapsed, with its reason; not gone
    assert "同一设备多次评价" in public
    # The company's own users never reach the moderation pages.
    assert login_as(a.admin).get("/admin/ratings/").status_code == 404


@pytest.mark.world("ratings")
def test_replies_are_versioned_and_appeals_have_a_deadline_and_a_public_decision(app, two_companies, login_as,
                                                                               make_user, client):
    from saas.ratings.models import RatingReply
    from saas.workdays import add_working_days

    a, b = two_companies
    rating_id = a.ids["rating_id"]
    admin = login_as(a.admin)
    assert admin.post(f"/c/company-a/ratings/reviews/{rating_id}/reply",
                      data={"body": "已上门处理"}).status_code in (302, 303)
    # Another company cannot reply to or appeal A's review.
    assert login_as(b.admin).post(f"/c/company-b/ratings/reviews/{rating_id}/reply",
                                  data={"body": "x"}).status_code == 404
    with app.app_context():
        versions = db.session.execute(select(RatingReply.version, RatingReply.body).where(
            RatingReply.rating_id == rating_id).order_by(RatingReply.version)).all()
        assert [v for v, _ in versions] == [1, 2] and versions[-1][1] == "已上门处理"
        appeal = db.session.get(Appeal, a.ids["appeal_id"])
        from saas.clock import local_today

        # The Shanghai day it was filed (the UTC date is the day before from 16:00 UTC on).
        assert appeal.due_on == add_working_days(local_today(appeal.created_at), 15)
    # A second appeal on the same review while one is open is refused.
    assert admin.post(f"/c/company-a/ratings/reviews/{rating_id}/appeal",
                      data={"statement": "再次申诉", "evidence": "x"}).status_code == 422
    platform = login_as(make_user("平台管理员", platform_admin=True))
    appeal_id = a.ids["appeal_id"]
    assert platform.post(f"/admin/ratings/appeals/{appeal_id}/decide", data={"decision": "maybe",
                                                                             "reason": "x"}).status_code == 422
    assert platform.post(f"/admin/ratings/appeals/{appeal_id}/decide",
                         data={"decision": "upheld", "reason": "工单记录证明已按时维修"}).status_code in (302, 303)
    with app.app_context():
        appeal = db.session.get(Appeal, appeal_id)
        assert appeal.status is AppealStatus.UPHELD
        rating = db.session.get(OwnerRating, rating_id)
        assert rating.excluded_at is not None and rating.folded_at is not None  # upheld: folded, not counted
    public = client.get("/ratings/c/company-a").get_data(as_text=True)
    assert "工单记录证明已按时维修" in public
    # The company's own page of its reviews shows what the public sees: never who rated, nor their home.
    own = admin.get("/c/company-a/ratings/reviews").get_data(as_text=True)
    assert "已上门处理" in own
    for secret in (a.owner.name, a.owner.phone, str(a.owner_household_id)):
        assert secret not in own


def test_working_days_skip_weekends_and_public_holidays():
    from saas.workdays import add_working_days, is_working_day

    assert add_working_days(date(2026, 12, 4), 1) == date(2026, 12, 7)    # Friday → Monday
    assert add_working_days(date(2026, 12, 7), 15) == date(2026, 12, 28)  # three working weeks
    after_national_day = add_working_days(date(2026, 9, 30), 1)  # 国庆: 1 October is a public holiday
    assert after_national_day > date(2026, 10, 2) and is_working_day(after_national_day)


def test_a_violation_lists_on_black_whatever_the_score(app, a, login_as, make_user, client):
    from saas.ratings import job

    platform = login_as(make_user("平台管理员", platform_admin=True))
    url = f"/admin/companies/{a.company.id}/ratings/violation"
    platform.post(url, data={"description": "停水停电催缴物业费", "evidence": ""})
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(ListEntry)).scalar() == 0
    assert platform.post(url, data={"description": "停水停电催缴物业费",
                                    "evidence": "住建局通报 2026-11"}).status_code in (302, 303)
    with app.app_context():
        job.run_all()
    page = client.get("/ratings/").get_data(as_text=True)
    assert "停水停电催缴物业费" in page


def test_a_new_rules_version_is_published_announced_and_used(app, a, login_as, make_user, client):
    from saas.ratings import job
    from saas.ratings.models import RatingRules

    platform = login_as(make_user("平台管理员", platform_admin=True))
    form = {"weight_owner": "60", "weight_repair_rating": "10", "weight_response": "10", "weight_resolution": "10",
            "weight_disclosures": "5", "weight_objections": "5", "prior_stars": "15", "prior_rate": "20",
            "min_sample": "10", "expiry_months": "12", "window_quarters": "4", "min_owner_days": "30",
            "appeal_working_days": "15", "floor_AAA": "85", "floor_AA": "80", "floor_A": "70", "floor_B": "60",
            "note": "提高业主评分权重"}
    assert platform.post("/admin/ratings/rules", data={**form, "weight_owner": "70"}).status_code == 422  # 110
    assert platform.post("/admin/ratings/rules", data={**form, "floor_A": "90"}).status_code == 422
    assert platform.post("/admin/ratings/rules", data={**form, "note": ""}).status_code == 422
    assert platform.post("/admin/ratings/rules", data=form).status_code in (302, 303)
    with app.app_context():
        versions = db.session.execute(select(RatingRules.version).order_by(RatingRules.version)).scalars().all()
        assert versions == [1, 2]
        job.run_all()
        assert db.session.execute(select(CompanyRatingProfile.rules_version)).scalar() == 2
        assert "rating.rules_published" in set(db.session.execute(select(PlatformAuditEvent.action)).scalars())
    page = client.get("/ratings/rules").get_data(as_text=True)
    assert "提高业主评分权重" in page and "60%" in page


@pytest.mark.world("work_orders")
def test_work_order_figures_count_deadlines_met_and_ratings_of_closed_jobs(app, a):
    from saas.clock import local_today
    from saas.ratings.figures import quarter_of
    from saas.tenancy import company_context, utcnow
    from tenants.work_orders.models import WorkOrder
    from tenants.work_orders.rating_figures import quarter_figures
    from tenants.work_orders.states import Status

    start, end = quarter_of(local_today())
    with app.app_context(), company_context(a.company.id):
        order = db.session.execute(select(WorkOrder)).scalar_one()
        order.accepted_at = order.response_due_at - timedelta(hours=1)      # answered in time
        order.completed_at = order.resolution_due_at + timedelta(hours=1)   # finished late
        order.status, order.closed_at = Status.CLOSED, utcnow()
        order.rating_overall, order.rated_at = 4, utcnow()
        db.session.commit()
        assert quarter_figures(a.company.id, start, end) == {
            "response_due": 1, "response_on_time": 1, "resolution_due": 1, "resolution_on_time": 0,
            "repair_ratings": 1, "repair_rating_sum": 4}
        # The quarter before has none of it; a cancelled job counts nowhere.
        from saas.ratings.figures import previous_quarter

        assert quarter_figures(a.company.id, previous_quarter(start), start)["response_due"] == 0
        order.status = Status.CANCELLED
        db.session.commit()
        assert quarter_figures(a.company.id, start, end) == {
            "response_due": 0, "response_on_time": 0, "resolution_due": 0, "resolution_on_time": 0,
            "repair_ratings": 0, "repair_rating_sum": 0}


def test_the_weekly_ranking_keeps_its_history(app, client):
    from saas.clock import local_today
    from saas.ratings import job
    from tests.world.ratings import seed_profiles

    seed_profiles(app, 6, reviews=0)
    last_week = job.week_start(local_today()) - timedelta(days=7)
    with app.app_context():
        job.publish_ranking(last_week, 1)
        db.session.commit()
    page = client.get("/ratings/").get_data(as_text=True)
    assert f"week={last_week.isoformat()}" in page  # a link to the earlier week
    older = client.get(f"/ratings/?week={last_week.isoformat()}").get_data(as_text=True)
    assert "测试5物业" in older and last_week.isoformat() in older
    assert client.get("/ratings/?week=1999-01-04").status_code == 200  # not a published week: the latest


def test_the_cli_and_the_periodic_job(app, a):
    from saas.jobs import PERIODIC_JOBS

    assert ("compute-ratings", "saas.ratings.job:run_all", "0 19 * * *") in PERIODIC_JOBS
    runner = app.test_cli_runner()
    result = runner.invoke(args=["compute-ratings", "--company", "company-a"])
    assert result.exit_code == 0 and "甲物业" in result.output
    result = runner.invoke(args=["compute-ratings"])
    assert result.exit_code == 0 and "2 companies" in result.output
    assert runner.invoke(args=["compute-ratings", "--company", "nope"]).exit_code != 0


@pytest.mark.world("ratings")
def test_review_forms_load_when_opened_and_come_back_with_what_was_typed(app, two_companies, login_as):
    """The reviews page draws no reply or appeal form until its panel is opened (htmx asks for it; without
    JavaScript the panel's link opens the page with the form drawn); a refused reply or appeal comes back open with
    the text typed; another company's review is a 404."""
    a, b = two_companies
    rating_id = a.ids["rating_id"]
    admin = login_as(a.admin)
    page = admin.get("/c/company-a/ratings/reviews").get_data(as_text=True)
    listed = page[page.index('<h2 class="h5">Reviews</h2>'):]
    assert "rating-review" in listed and 'name="body"' not in listed and 'name="evidence"' not in listed
    slot = f"/c/company-a/ratings/reviews?form=reply&amp;rating={rating_id}"
    assert f'hx-get="{slot}"' in page and 'hx-trigger="toggle from:closest details once"' in page

    form = admin.get(f"/c/company-a/ratings/reviews?form=reply&rating={rating_id}",
                     headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in form and f'action="/c/company-a/ratings/reviews/{rating_id}/reply"' in form
    assert 'name="csrf_token"' in form and "</textarea>" in form
    appeal = admin.get(f"/c/company-a/ratings/reviews?form=appeal&rating={rating_id}",
                       headers={"HX-Request": "true"}).get_data(as_text=True)
    assert f'action="/c/company-a/ratings/reviews/{rating_id}/appeal"' in appeal and 'name="evidence"' in appeal

    # Without JavaScript: the whole page, that one panel open with its form.
    whole = admin.get(f"/c/company-a/ratings/reviews?form=reply&rating={rating_id}").get_data(as_text=True)
    assert "<html" in whole and whole.count('name="body"') == 1 and "<details class=\"mb-3 ms-2\" open>" in whole

    # A reply too long is refused; the page comes back with the panel open and the text kept.
    long_reply = "很长的回复" * 300
    response = admin.post(f"/c/company-a/ratings/reviews/{rating_id}/reply", data={"body": long_reply})
    assert response.status_code == 422
    assert long_reply in response.get_data(as_text=True)

    # An appeal while one is open is refused, kept the same way.
    response = admin.post(f"/c/company-a/ratings/reviews/{rating_id}/appeal",
                          data={"statement": "评价与事实不符", "evidence": "工单 WO-1 的照片"})
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "评价与事实不符</textarea>" in body and 'value="工单 WO-1 的照片"' in body

    # Another company asking for A's review's form.
    assert login_as(b.admin).get(f"/c/company-b/ratings/reviews?form=reply&rating={rating_id}",
                                 headers={"HX-Request": "true"}).status_code == 404
    assert admin.get("/c/company-a/ratings/reviews?form=nonsense&rating=x").status_code == 200


@pytest.mark.world("ratings")
def test_the_reviews_page_pages_through_every_review_newest_first(app, two_companies, login_as):
    """The company's reviews 20 a page by keyset (newest change first), Previous / Next, every review reachable
    once; a panel's form address keeps the page's place."""
    import re
    import uuid
    from datetime import date

    from saas.tenancy import utcnow

    a, b = two_companies
    with app.app_context():
        model = db.session.get(OwnerRating, a.ids["rating_id"])
        own = ("id", "household_id", "quarter_start", "updated_at", "comment")
        columns = [c.key for c in OwnerRating.__table__.columns if c.key not in own]
        ids = [uuid.uuid4() for _ in range(24)]
        for i in range(24):
            db.session.add(OwnerRating(**{c: getattr(model, c) for c in columns}, id=ids[i],
                                       household_id=uuid.uuid4(), quarter_start=date(2020 + i // 4, 1 + 3 * (i % 4), 1),
                                       updated_at=utcnow() - timedelta(days=1 + i), comment=f"第{i:02d}条评价"))
        db.session.commit()
    admin = login_as(a.admin)
    first = admin.get("/c/company-a/ratings/reviews").get_data(as_text=True)
    assert first.count('class="card card-body mb-2 rating-review"') == 20
    assert "第00条评价" in first and "第18条评价" in first and "第19条评价" not in first  # the newest 20 (one is A's own)
    next_url = re.search(r'<a class="page-link" href="([^"]+)"[^>]*>Next', first).group(1).replace("&amp;", "&")
    second = admin.get(next_url).get_data(as_text=True)
    assert second.count('class="card card-body mb-2 rating-review"') == 5
    assert "第19条评价" in second and "第23条评价" in second and "第00条评价" not in second
    after = re.search(r"after=([^&]+)", next_url).group(1)
    assert f"after={after}" in second.split('hx-get="')[1].split('"')[0]  # the panel's form keeps the place
    assert "in all" not in second  # not counted: Previous / Next
    # A refused reply to a review of page 2 comes back (on page 1) with that review first, its panel open with
    # what was typed.
    long_reply = "回复第二页" * 300
    refused = admin.post(f"/c/company-a/ratings/reviews/{ids[23]}/reply", data={"body": long_reply})
    body = refused.get_data(as_text=True)
    assert refused.status_code == 422 and long_reply in body and body.index("第23条评价") < body.index("第00条评价")
    # Another company's reviews page shows none of A's.
    assert "第00条评价" not in login_as(b.admin).get("/c/company-b/ratings/reviews").get_data(as_text=True)
