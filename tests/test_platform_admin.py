"""The platform admin's company page: plan activation for bank transfers (对公转账), trial extension and
suspension, each audited for the platform and for the company; and the platform audit log."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from saas.extensions import db
from saas.models import Company, PlatformAuditEvent, Role, SubscriptionStatus
from saas.subscriptions.services import end_of_day
from saas.tenancy import utcnow
from tests.test_plan import add_households, audit_events, aware, company_row, update_company


@pytest.fixture
def company(make_company, make_roster, make_user):
    company = make_company("acme", "测试物业")
    make_roster(company, households=3)
    make_user("员工", memberships=[(company, Role.STEWARD)])
    return company


@pytest.fixture
def company_admin_user(make_user, company):
    return make_user("公司管理员", memberships=[(company, Role.ADMIN)])


@pytest.fixture
def platform(make_user, login_as):
    return login_as(make_user("平台管理员", platform_admin=True))


def _url(company, action: str = "") -> str:
    return f"/admin/companies/{company.id}" + (f"/{action}" if action else "")


def _platform_events(app, company_id=None) -> list[PlatformAuditEvent]:
    with app.app_context():
        stmt = select(PlatformAuditEvent).order_by(PlatformAuditEvent.created_at)
        if company_id:
            stmt = stmt.where(PlatformAuditEvent.company_id == company_id)
        rows = db.session.execute(stmt).scalars().all()
        db.session.expunge_all()
    return rows


def _unchanged(app, company, before) -> None:
    assert company_row(app, company.id) == before
    assert _platform_events(app) == [] and audit_events(app, company.id) == []


ACTIONS = [("GET", ""), ("POST", "activation"), ("POST", "trial"), ("POST", "suspend"), ("POST", "unsuspend")]


# --- who may ----------------------------------------------------------------------------------------------


def test_only_platform_admins_see_the_company_page_and_others_get_404(app, company, company_admin_user, make_user,
                                                                      login_as):
    before = company_row(app, company.id)
    data = {"plan": "basic", "months": "12", "reference": "X1", "days": "10", "reason": "test"}
    for user in (company_admin_user, make_user("路人")):
        client = login_as(user)
        for method, action in ACTIONS:
            assert client.open(_url(company, action), method=method, data=data).status_code == 404, (method, action)
        assert client.get("/admin/audit").status_code == 404
    anonymous = app.test_client()
    for method, action in ACTIONS:
        response = anonymous.open(_url(company, action), method=method, data=data)
        assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert company_row(app, company.id) == before


@pytest.mark.parametrize("bad", ["not-a-uuid", "00000000-0000-0000-0000-000000000000", "%00"])
def test_unknown_company_ids_are_404(platform, bad):
    for method, action in ACTIONS:
        assert platform.open(f"/admin/companies/{bad}" + (f"/{action}" if action else ""),
                             method=method).status_code == 404


def test_the_company_page_shows_status_and_usage(app, company, platform):
    update_company(app, company.id, trial_ends_at=utcnow() + timedelta(days=5, hours=1))
    body = platform.get(_url(company)).get_data(as_text=True)
    assert "测试物业" in body and "Free trial: 6 days left" in body
    assert 'data-usage="households">3 / 2000<' in body and 'data-usage="staff">1<' in body
    assert 'data-usage="communities">1<' in body
    listing = platform.get("/admin/").get_data(as_text=True)
    assert _url(company) in listing and "Trial, 6 days left" in listing


# --- manual activation ---------------------------------------------------------------------------------------


def test_manual_activation_for_a_bank_transfer_activates_the_plan_and_audits_the_reference(app, company, platform,
                                                                                          company_admin_user,
                                                                                          login_as):
    update_company(app, company.id, trial_ends_at=utcnow() - timedelta(days=2))  # expired: read-only
    response = platform.post(_url(company, "activation"),
                             data={"plan": "basic", "months": "12", "reference": "ICBC-2026-0001"})
    assert response.status_code == 303 and response.headers["Location"].endswith(_url(company))
    row = company_row(app, company.id)
    assert row["subscription_status"] == SubscriptionStatus.ACTIVE and row["plan_code"] == "basic"
    end = aware(row["current_period_end"])
    assert timedelta(days=364) < end - utcnow() < timedelta(days=367)
    assert row["stripe_state_at"] is not None  # older Stripe events can no longer undo this
    with app.app_context():
        assert not db.session.get(Company, company.id).is_read_only()

    [platform_event] = _platform_events(app)
    assert platform_event.action == "company.plan_activated" and platform_event.actor_name == "平台管理员"
    assert platform_event.details["reference"] == "ICBC-2026-0001" and platform_event.details["plan"] == "basic"
    [company_event] = audit_events(app, company.id)
    assert company_event.action == "platform.plan_activated" and company_event.actor_name == "平台管理员"
    assert company_event.changes["reference"] == "ICBC-2026-0001"
    assert company_event.changes["status"] == ["trialing", "active"]

    # The company admin reads it in the company's own audit log and sees the plan on the billing page.
    company_admin = login_as(company_admin_user)
    audit_page = company_admin.get(f"/c/{company.slug}/audit").get_data(as_text=True)
    assert "Platform activated a plan (bank transfer)" in audit_page and "ICBC-2026-0001" in audit_page
    billing = company_admin.get(f"/c/{company.slug}/billing").get_data(as_text=True)
    assert "Paid by bank transfer until" in billing


def test_manual_activation_until_a_date_runs_through_that_day_in_china(app, company, platform):
    day = date.today() + timedelta(days=100)
    response = platform.post(_url(company, "activation"),
                             data={"plan": "standard", "period_end": day.isoformat(), "reference": "转账 001"})
    assert response.status_code == 303
    end = aware(company_row(app, company.id)["current_period_end"])
    assert end == end_of_day(day) and end.astimezone(UTC).hour == 15  # 23:59:59 in Asia/Shanghai


def test_renewing_by_months_adds_them_to_the_current_paid_period(app, company, platform):
    current_end = datetime.now(UTC).replace(microsecond=0) + timedelta(days=20)
    update_company(app, company.id, subscription_status=SubscriptionStatus.ACTIVE, plan_code="basic",
                   current_period_end=current_end)
    assert platform.post(_url(company, "activation"),
                         data={"plan": "basic", "months": "1", "reference": "R2"}).status_code == 303
    new_end = aware(company_row(app, company.id)["current_period_end"])
    assert timedelta(days=28) <= new_end - current_end <= timedelta(days=31)


def test_a_plan_paid_by_transfer_ends_in_read_only(app, company, platform, time_machine):
    platform.post(_url(company, "activation"), data={"plan": "basic", "months": "1", "reference": "R3"})
    time_machine.move_to(utcnow() + timedelta(days=32))
    with app.app_context():
        assert db.session.get(Company, company.id).is_read_only()


@pytest.mark.parametrize(("data", "message"), [
    ({"plan": "basic", "months": "12", "reference": ""}, "Enter the bank-transfer reference"),
    ({"plan": "basic", "months": "12", "reference": "   "}, "Enter the bank-transfer reference"),
    ({"plan": "basic", "months": "12", "reference": "x" * 101}, "100"),
    ({"plan": "basic", "reference": "R"}, "Enter the number of months paid or the date"),
    ({"plan": "basic", "months": "3", "period_end": "2030-01-01", "reference": "R"}, "not both"),
    ({"plan": "basic", "months": "0", "reference": "R"}, "from 1 to 36"),
    ({"plan": "basic", "months": "37", "reference": "R"}, "from 1 to 36"),
    ({"plan": "basic", "months": "twelve", "reference": "R"}, "from 1 to 36"),
    ({"plan": "basic", "months": "-1", "reference": "R"}, "from 1 to 36"),
    ({"plan": "basic", "period_end": "31/12/2030", "reference": "R"}, "YYYY-MM-DD"),
    ({"plan": "basic", "period_end": "2020-01-01", "reference": "R"}, "must be in the future"),
    ({"plan": "basic", "period_end": "2099-01-01", "reference": "R"}, "at most 5 years"),
    ({"plan": "platinum", "months": "1", "reference": "R"}, "Not a valid choice"),
])
def test_manual_activation_with_bad_input_says_what_is_wrong_and_changes_nothing(app, company, platform, data,
                                                                                 message):
    before = company_row(app, company.id)
    response = platform.post(_url(company, "activation"), data=data, headers={"HX-Request": "true",
                                                                              "HX-Boosted": "true"})
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert message in body and "<html" in body  # the whole page again (the form posts boosted)
    _unchanged(app, company, before)


def test_manual_activation_refuses_a_plan_smaller_than_the_household_count(app, company, platform):
    add_households(app, company.id, 498)  # 501 with the roster's 3
    before = company_row(app, company.id)
    response = platform.post(_url(company, "activation"), data={"plan": "basic", "months": "12", "reference": "R"})
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "This company has 501 households; the Basic plan holds 500." in body
    assert "The Standard plan (up to 2000 households) fits." in body
    _unchanged(app, company, before)
    assert platform.post(_url(company, "activation"),
                         data={"plan": "standard", "months": "12", "reference": "R"}).status_code == 303


def test_manual_activation_is_refused_while_the_company_pays_by_card(app, company, platform):
    update_company(app, company.id, subscription_status=SubscriptionStatus.ACTIVE, plan_code="standard",
                   stripe_customer_id="cus_1", stripe_subscription_id="sub_1")
    before = company_row(app, company.id)
    response = platform.post(_url(company, "activation"), data={"plan": "basic", "months": "1", "reference": "R"})
    assert response.status_code == 422 and "pays by card through Stripe" in response.get_data(as_text=True)
    _unchanged(app, company, before)


def test_after_a_canceled_card_plan_a_transfer_plan_takes_over(app, company, platform):
    update_company(app, company.id, subscription_status=SubscriptionStatus.CANCELED, plan_code="standard",
                   stripe_customer_id="cus_1", stripe_subscription_id="sub_1")
    assert platform.post(_url(company, "activation"),
                         data={"plan": "standard", "months": "6", "reference": "R"}).status_code == 303
    row = company_row(app, company.id)
    assert row["subscription_status"] == SubscriptionStatus.ACTIVE and row["stripe_subscription_id"] is None
    assert row["stripe_customer_id"] == "cus_1"


# --- trial extension ------------------------------------------------------------------------------------------


def test_extending_a_running_trial_adds_the_days_to_its_end(app, company, platform):
    end = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)
    update_company(app, company.id, trial_ends_at=end)
    response = platform.post(_url(company, "trial"), data={"days": "14"})
    assert response.status_code == 303
    assert aware(company_row(app, company.id)["trial_ends_at"]) == end + timedelta(days=14)
    [event] = _platform_events(app)
    assert event.action == "company.trial_extended" and event.details["days"] == 14
    [company_event] = audit_events(app, company.id)
    assert company_event.action == "platform.trial_extended" and company_event.changes["days"] == 14
    assert "Trial extended by 14 days." in platform.get(_url(company)).get_data(as_text=True)


def test_extending_an_ended_trial_counts_from_today_and_lifts_read_only(app, company, platform):
    update_company(app, company.id, trial_ends_at=utcnow() - timedelta(days=10))
    platform.post(_url(company, "trial"), data={"days": "7"})
    end = aware(company_row(app, company.id)["trial_ends_at"])
    assert timedelta(days=6, hours=23) < end - utcnow() <= timedelta(days=7)
    with app.app_context():
        assert not db.session.get(Company, company.id).is_read_only()


@pytest.mark.parametrize("days", ["0", "91", "-3", "1.5", "abc", "", "99999999999"])
def test_trial_extension_with_bad_days_is_refused(app, company, platform, days):
    update_company(app, company.id, trial_ends_at=utcnow() + timedelta(days=1))
    before = company_row(app, company.id)
    response = platform.post(_url(company, "trial"), data={"days": days})
    assert response.status_code == 422
    assert "Enter a whole number of days from 1 to 90." in response.get_data(as_text=True)
    _unchanged(app, company, before)


def test_a_company_not_on_trial_has_no_trial_to_extend(app, company, platform):
    update_company(app, company.id, subscription_status=SubscriptionStatus.ACTIVE, plan_code="basic",
                   current_period_end=utcnow() + timedelta(days=30))
    before = company_row(app, company.id)
    response = platform.post(_url(company, "trial"), data={"days": "10"})
    assert response.status_code == 422 and "not on a trial" in response.get_data(as_text=True)
    _unchanged(app, company, before)


# --- suspension ------------------------------------------------------------------------------------------------


def test_suspending_and_lifting_are_audited_with_their_reasons(app, company, platform, company_admin_user,
                                                               login_as):
    assert platform.post(_url(company, "suspend"), data={"reason": "虚假资质"}).status_code == 303
    row = company_row(app, company.id)
    assert row["suspended_at"] is not None
    with app.app_context():
        assert db.session.get(Company, company.id).is_read_only()
    assert "Lift the suspension" in platform.get(_url(company)).get_data(as_text=True)

    assert platform.post(_url(company, "unsuspend"), data={"reason": "资质已核实"}).status_code == 303
    assert company_row(app, company.id)["suspended_at"] is None
    assert [(e.action, e.details["reason"]) for e in _platform_events(app)] == [
        ("company.suspended", "虚假资质"), ("company.unsuspended", "资质已核实")]
    assert [(e.action, e.changes["reason"]) for e in audit_events(app, company.id)] == [
        ("platform.suspended", "虚假资质"), ("platform.unsuspended", "资质已核实")]
    audit_page = login_as(company_admin_user).get(f"/c/{company.slug}/audit").get_data(as_text=True)
    assert "Platform suspended the company" in audit_page and "虚假资质" in audit_page


@pytest.mark.parametrize("action", ["suspend", "unsuspend"])
@pytest.mark.parametrize("reason", ["", "  ", "x" * 201, "a\x00b"])
def test_suspension_needs_a_reason(app, company, platform, action, reason):
    if action == "unsuspend":
        update_company(app, company.id, suspended_at=utcnow())
    before = company_row(app, company.id)
    response = platform.post(_url(company, action), data={"reason": reason})
    assert response.status_code == 422
    _unchanged(app, company, before)


def test_suspending_twice_or_lifting_nothing_is_refused(app, company, platform):
    before = company_row(app, company.id)
    response = platform.post(_url(company, "unsuspend"), data={"reason": "r"})
    assert response.status_code == 422 and "This company is not suspended." in response.get_data(as_text=True)
    _unchanged(app, company, before)
    update_company(app, company.id, suspended_at=utcnow())
    response = platform.post(_url(company, "suspend"), data={"reason": "r"})
    assert response.status_code == 422 and "already suspended" in response.get_data(as_text=True)


# --- the platform audit log ------------------------------------------------------------------------------------


def test_the_platform_audit_log_lists_actions_across_companies_and_filters(app, company, platform, make_company):
    other = make_company("other", "别家物业")
    update_company(app, company.id, trial_ends_at=utcnow() + timedelta(days=1))
    update_company(app, other.id, trial_ends_at=utcnow() + timedelta(days=1))
    platform.post(_url(company, "trial"), data={"days": "5"})
    platform.post(_url(other, "suspend"), data={"reason": "投诉核查"})
    body = platform.get("/admin/audit").get_data(as_text=True)
    assert "Trial extended" in body and "Company suspended" in body
    assert "测试物业" in body and "别家物业" in body and "投诉核查" in body
    results = {"HX-Request": "true", "HX-Target": "audit-results"}  # the filter form asks for the list alone
    only_other = platform.get(f"/admin/audit?company_id={other.id}", headers=results).get_data(as_text=True)
    assert "<html" not in only_other
    assert "Company suspended" in only_other and "Trial extended" not in only_other
    only_trials = platform.get("/admin/audit?action=company.trial_extended", headers=results).get_data(as_text=True)
    assert "Trial extended" in only_trials and "投诉核查" not in only_trials
    assert platform.get("/admin/audit?company_id=nonsense").status_code == 404


def test_a_boosted_link_to_the_company_list_gets_the_whole_page(platform, company):
    response = platform.get("/admin/", headers={"HX-Request": "true", "HX-Boosted": "true"})
    assert "<html" in response.get_data(as_text=True)
    partial = platform.get("/admin/?q=acme", headers={"HX-Request": "true", "HX-Target": "company-results"})
    assert "<html" not in partial.get_data(as_text=True) and "测试物业" in partial.get_data(as_text=True)


# --- where the platform admin lands, and the platform's figures -------------------------------------------------


def test_a_platform_admin_lands_on_the_platform_overview(app, make_user):
    client = app.test_client()
    admin = make_user("平台管理员", platform_admin=True)
    response = client.post("/login", data={"login": admin.phone, "password": "correct-horse-9"},
                           follow_redirects=True)
    assert response.status_code == 200 and response.request.path == "/admin/"


def test_a_platform_admin_who_also_works_for_a_company_still_chooses(app, make_user, company, login_as):
    client = login_as(make_user("两栖", platform_admin=True, memberships=[(company, Role.ADMIN)]))
    page = client.get("/home")
    assert page.status_code == 200 and "/admin/" in page.get_data(as_text=True)
    assert f"/c/{company.slug}/" in page.get_data(as_text=True)


def _states_world(app, make_company, make_roster):
    """Companies in every state (the `company` fixture's trial has no end: it counts as on trial)."""
    now = utcnow()
    specs = {
        "soon": {"trial_ends_at": now + timedelta(days=3)},
        "later": {"trial_ends_at": now + timedelta(days=20)},
        "ended": {"trial_ends_at": now - timedelta(days=1)},
        "paid": {"subscription_status": SubscriptionStatus.ACTIVE, "plan_code": "basic",
                 "current_period_end": now + timedelta(days=100)},
        "lapsed": {"subscription_status": SubscriptionStatus.ACTIVE, "plan_code": "basic",
                   "current_period_end": now - timedelta(days=1)},
        "card": {"subscription_status": SubscriptionStatus.ACTIVE, "plan_code": "basic",
                 "stripe_subscription_id": "sub_x", "current_period_end": now - timedelta(days=1)},
        "late": {"subscription_status": SubscriptionStatus.PAST_DUE, "plan_code": "basic"},
        "gone": {"subscription_status": SubscriptionStatus.CANCELED, "plan_code": "basic"},
        "banned": {"trial_ends_at": now + timedelta(days=2), "suspended_at": now},
    }
    companies = {}
    for slug, fields in specs.items():
        companies[slug] = make_company(slug, f"{slug}物业")
        update_company(app, companies[slug].id, **fields)
    make_roster(companies["paid"], households=5)
    return companies


def _a_job_last_week(app, world) -> None:
    """A job in the world's company reported a second before this week began (Monday 00:00 in Shanghai); the
    world already has one job per company reported now."""
    from saas.clock import local_midnight, local_today
    from saas.tenancy import company_context
    from tenants.roster.models import Household
    from tenants.work_orders import services
    from tenants.work_orders.models import Area, Source, WorkOrderCategory

    today = local_today()
    monday = local_midnight(today - timedelta(days=today.weekday()))
    with app.app_context(), company_context(world.company.id):
        category = db.session.execute(select(WorkOrderCategory).limit(1)).scalar_one()
        household = db.session.get(Household, (world.company.id, world.owner_household_id))
        services.create_order(services.Report(source=Source.PHONE, area=Area.HOME, category_id=category.id,
                                              household=household, description="上周的报修"),
                              actor=None, membership=None, now=monday - timedelta(seconds=1))
        db.session.remove()


def _figure(page: str, key: str) -> int:
    import re

    match = re.search(rf'id="platform-{key}"[^>]*>.*?<div class="stat">(\d+)</div>', page, re.S)
    assert match, f"no {key} figure"
    return int(match.group(1))


def test_the_platform_overview_counts_companies_by_state_households_and_this_weeks_jobs(
        app, company, two_companies, platform, make_company, make_roster, caplog):
    companies = _states_world(app, make_company, make_roster)
    _a_job_last_week(app, two_companies[0])
    with caplog.at_level("INFO", logger="saas.audit"):
        page = platform.get("/admin/").get_data(as_text=True)
    assert {k: _figure(page, f"state-{k}") for k in ("trialing", "active", "past_due", "read_only", "suspended")} \
        == {"trialing": 5, "active": 2, "past_due": 1, "read_only": 3, "suspended": 1}  # 5: acme, A, B too
    assert _figure(page, "companies") == 12
    assert _figure(page, "households") == 3 + 5 + 4 + 4  # acme's, paid's, and the two worlds' households
    assert _figure(page, "jobs-week") == 2  # the worlds' jobs of today, not last week's
    # Trials ending in the next seven days, soonest first, each a link to its company page; not a suspended one.
    ending = page.split('id="trials-ending"')[1].split("</ul>")[0]
    assert f'/admin/companies/{companies["soon"].id}' in ending and "soon物业" in ending
    assert "later物业" not in ending and "banned物业" not in ending and "ended物业" not in ending
    # Reading across companies is explicit and logged with its reason.
    assert any("platform overview" in r.getMessage() for r in caplog.records if r.name == "saas.audit")


def test_each_state_figure_links_to_the_company_list_of_that_state(app, company, platform, make_company,
                                                                  make_roster):
    import re

    _states_world(app, make_company, make_roster)
    page = platform.get("/admin/").get_data(as_text=True)
    link = re.search(r'id="platform-state-read_only"[^>]*href="([^"]+)"|href="([^"]+)"[^>]*id="platform-state-read_only"',
                     page)
    href = (link.group(1) or link.group(2)).replace("&amp;", "&")
    listed = platform.get(href).get_data(as_text=True).split('id="company-results"')[1]
    assert all(f"{s}物业" in listed for s in ("ended", "lapsed", "gone"))
    assert not any(f"{s}物业" in listed for s in ("soon", "paid", "card", "late", "banned"))
    assert re.search(r'<option value="read_only" selected', platform.get(href).get_data(as_text=True))
    assert platform.get("/admin/?state=nonsense").status_code == 200  # an unknown state is ignored


def test_the_platform_overview_makes_the_same_number_of_queries_for_more_companies(
        app, company, platform, make_company, make_roster, two_companies, count_queries):
    def count() -> int:
        with count_queries() as counter:
            assert platform.get("/admin/").status_code == 200
        return counter.count

    few = count()
    _states_world(app, make_company, make_roster)
    _a_job_last_week(app, two_companies[0])
    assert count() == few


def test_the_sql_plan_state_agrees_with_each_companys_billing_status(app, company, make_company, make_roster):
    from saas.admin.overview import state_expression
    from saas.subscriptions.plans import billing_status

    _states_world(app, make_company, make_roster)
    kinds = {"suspended": "suspended", "trial": "trialing", "trial_ended": "read_only", "active": "active",
             "active_until": "active", "expired": "read_only", "past_due": "past_due", "canceled": "read_only"}
    now = utcnow()
    with app.app_context():
        rows = db.session.execute(select(Company, state_expression(now))).all()
        assert len(rows) == 10
        for row_company, state in rows:
            assert state == kinds[billing_status(row_company, now).kind], row_company.slug
            assert (state in ("read_only", "suspended")) == row_company.is_read_only(now), row_company.slug
