"""The fee figures (tenants/fees/figures.py) kept by database triggers (migration 0016_fees) equal direct counts over
the bills and payments after every kind of write through the normal services: bill runs, one-off and late-fee
bills, cash payments, WeChat Pay callbacks and refunds, offline refunds, credits and reissues, opening-balance
imports; a new day recounts the arrears; the triggers exist at head; row-level security covers the tables; the
payments page's statements do not grow with the data."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

import pytest
from sqlalchemy import select, text

from saas.clock import SHANGHAI, local_today
from saas.extensions import db
from saas.models import User
from saas.tenancy import company_context, new_id, require_company_id
from tenants.fees import arrears, collection, figures, ledger
from tenants.fees.models import (
    Bill,
    BillKind,
    FeeArrearsState,
    FeeBuildingArrears,
    FeeHouseholdArrears,
    FeeMonthFigure,
    FeePaymentDay,
    Payment,
    PaymentMethod,
)
from tenants.roster.models import Building, Household
from tests.conftest import ON_POSTGRES
from tests.test_fee_imports import opening_file, opening_row, upload_ok
from tests.test_rls import app_engine  # noqa: F401  (fixture)
from tests.test_wechat_pay import _paid, _refund, setup  # noqa: F401  (fixture)
from tests.wechatpay_fake import fake_wechatpay, post_notice  # noqa: F401  (fixture)

pytestmark = pytest.mark.world()
TABLES = ("fee_month_figures", "fee_arrears_state", "fee_household_arrears", "fee_building_arrears",
          "fee_payment_days")


# --- the check: every figure of the current company equals its direct count -----------------------------------


def assert_exact(today: date) -> None:
    company_id = require_company_id()
    state = db.session.get(FeeArrearsState, company_id)
    assert state is not None and state.as_of == today, "the arrears figures count for today"
    db.session.expire_all()
    # Months: billed and paid per community and month, late fees left out.
    direct = defaultdict(lambda: [0, 0])
    for bill in db.session.execute(select(Bill).where(Bill.kind != BillKind.LATE_FEE)).scalars():
        key = (bill.community_id, bill.period_start.replace(day=1))
        direct[key][0] += bill.amount_fen - bill.credited_fen
        direct[key][1] += bill.paid_fen
    kept = {(f.community_id, f.month): [f.billed_fen, f.paid_fen] for f in db.session.execute(
        select(FeeMonthFigure).where(FeeMonthFigure.company_id == company_id)).scalars()}
    assert {k: v for k, v in kept.items() if v != [0, 0]} == {k: v for k, v in direct.items() if v != [0, 0]}
    # Households and buildings: what is owed past due by age.
    by_household = arrears.direct_by_household(today)
    kept = {h.household_id: (h.d30, h.d90, h.d365, h.older, h.total, h.oldest_due) for h in db.session.execute(
        select(FeeHouseholdArrears).where(FeeHouseholdArrears.company_id == company_id,
                                          FeeHouseholdArrears.total > 0)).scalars()}
    assert kept == by_household
    building_of = dict(db.session.execute(select(Household.id, Household.building_id)).all())
    cutoff = arrears.limitation_cutoff(today)
    direct_buildings = defaultdict(lambda: [0] * 7)
    for household_id, (*sums, oldest) in by_household.items():
        row = direct_buildings[building_of[household_id]]
        for i, value in enumerate(sums):
            row[i] += value
        row[5] += 1
        row[6] += oldest <= cutoff
    kept = {b.building_id: [b.d30, b.d90, b.d365, b.older, b.total, b.households, b.flagged]
            for b in db.session.execute(select(FeeBuildingArrears).where(
                FeeBuildingArrears.company_id == company_id)).scalars()}
    assert {k: v for k, v in kept.items() if any(v)} == dict(direct_buildings)
    assert arrears.scope_totals(today) == arrears.direct_scope_totals(today)
    # Payments with a receipt per Shanghai day, community (where it was paid: the payment's own), method and status.
    direct_days = defaultdict(lambda: [0, 0, 0])
    for p in db.session.execute(select(Payment).where(Payment.receipt_number.is_not(None))).scalars():
        key = (p.paid_at.astimezone(SHANGHAI).date(), p.community_id, p.method.value, p.status.value)
        direct_days[key][0] += 1
        direct_days[key][1] += p.amount_fen
        direct_days[key][2] += p.refunded_fen
    kept = {(d.day, d.community_id, d.method, d.status): [d.payments, d.amount_fen, d.refunded_fen]
            for d in db.session.execute(select(FeePaymentDay).where(FeePaymentDay.company_id == company_id)).scalars()}
    assert {k: v for k, v in kept.items() if any(v)} == dict(direct_days)


def _bill(household, amount, due_on, *, kind=BillKind.RUN, key=None):
    start = due_on.replace(day=1)
    row = Bill(id=new_id(), household_id=household.id, community_id=household.building.community_id,
               building_id=household.building_id, kind=kind, charge_key=key or f"once:{new_id()}", title="物业费",
               period_start=start, period_end=start + timedelta(days=28), amount_fen=amount, due_on=due_on)
    db.session.add(row)
    return row


# --- the writes ---------------------------------------------------------------------------------------------------


@pytest.mark.world("fees_items", "fees_bills", "fees_online")
def test_after_the_fee_worlds_every_figure_equals_its_direct_count(app, two_companies):
    """The worlds issue a bill run, one-off, opening and late-fee bills, payments and credits (triggers on the
    months and payments; the arrears counted by the day's first look)."""
    today = local_today()
    for world in two_companies:
        with app.app_context(), company_context(world.company.id):
            figures.ensure_fresh(today)
            assert_exact(today)
            db.session.remove()


@pytest.mark.world("fees_items")
def test_the_triggers_keep_the_arrears_exact_through_every_ledger_write(app, two_companies):
    from tenants.fees import late_fees, runs
    from tenants.fees.models import PeriodKind
    from tenants.roster.models import Community

    a, b = two_companies
    today = local_today()
    with app.app_context(), company_context(a.company.id):
        figures.ensure_fresh(today)  # counted for today: from here on only the triggers move them
        actor = db.session.get(User, a.admin.id)
        homes = [db.session.get(Household, (a.company.id, h)) for h in a.roster["households"][:3]]
        first, second, third = homes
        old = [_bill(first, 10000 + i, today - timedelta(days=days)) for i, days in enumerate((5, 45, 200, 400))]
        _bill(second, 7000, today - timedelta(days=31 * 31))  # past the 30-month flag
        _bill(third, 9000, today)  # due today: not yet past due
        late = _bill(third, 600, today - timedelta(days=3), kind=BillKind.LATE_FEE)
        db.session.commit()
        assert_exact(today)
        payment = ledger.record_offline_payment(first, method=PaymentMethod.CASH, amount_fen=15000, actor=actor)
        db.session.commit()
        assert_exact(today)
        ledger.credit_bill(old[2], 3000, "面积有误", actor)
        db.session.commit()
        assert_exact(today)
        ledger.reissue(old[3], 8000, "重新核算", actor)
        db.session.commit()
        assert_exact(today)
        ledger.record_offline_refund(payment, 4000, "退回多收", actor)
        db.session.commit()
        assert_exact(today)
        ledger.credit_bill(late, 600, "违约金免除", actor)
        db.session.commit()
        assert_exact(today)
        late_fees.issue_for_company(today)  # the world's settings charge late fees past 30 days' grace
        db.session.commit()
        assert_exact(today)
        community = db.session.get(Community, (a.company.id, a.ids["community_id"]))
        next_month = collection.add_months(today.replace(day=1), 1)
        run = runs.start_preview(community, period_kind=PeriodKind.MONTH, period_start=next_month, actor=actor)
        runs.start_issue(run, actor=actor)
        db.session.commit()
        assert_exact(today)
        db.session.remove()
    with app.app_context(), company_context(b.company.id):  # the other company's figures moved with its own writes only
        figures.ensure_fresh(today)
        assert_exact(today)
        db.session.remove()


def test_wechat_callbacks_and_refunds_keep_the_figures_exact(app, setup, client):  # noqa: F811
    a, _b, fake = setup
    today = local_today()
    with app.app_context(), company_context(a.company.id):
        figures.ensure_fresh(today)
        db.session.remove()
    payment_id = _paid(app, a, fake, client)
    with app.app_context(), company_context(a.company.id):
        assert_exact(today)
        assert db.session.execute(select(FeePaymentDay.payments)).scalars().all() == [1]
        db.session.remove()
    _id, out_refund_no, _status = _refund(app, a, payment_id, 5000)
    fake.finish_refund(out_refund_no)
    headers, body = fake.refund_notice(out_refund_no)
    assert post_notice(client, headers, body).status_code == 204
    with app.app_context(), company_context(a.company.id):
        assert_exact(today)
        day = db.session.execute(select(FeePaymentDay).where(FeePaymentDay.payments > 0)).scalar_one()
        assert (day.status, day.refunded_fen) == ("partly_refunded", 5000)
        db.session.remove()


@pytest.mark.usefixtures("uploads")
def test_an_opening_balance_import_keeps_the_figures_exact(app, two_companies, login_as):
    a, _ = two_companies
    today = local_today()
    with app.app_context(), company_context(a.company.id):
        figures.ensure_fresh(today)
        db.session.remove()
    admin = login_as(a.admin)
    content = opening_file([opening_row(), opening_row(room="0201", amount="¥1,000", period="2024-03-15")])
    location = upload_ok(admin, a.company.slug, "opening", content, "旧账.xlsx")
    admin.post(f"{location}/commit")
    with app.app_context(), company_context(a.company.id):
        assert db.session.execute(select(Bill.kind)).scalars().all() == [BillKind.OPENING] * 2
        assert_exact(today)
        assert arrears.scope_totals(today).total == 228_050
        db.session.remove()


def test_a_new_day_recounts_the_arrears_and_moves_their_ages(app, two_companies):
    a, _ = two_companies
    today = local_today()
    with app.app_context(), company_context(a.company.id):
        home = db.session.get(Household, (a.company.id, a.ids["household_id"]))
        _bill(home, 10000, today - timedelta(days=30))  # up to 30 days today, 31–90 tomorrow
        _bill(home, 5000, today)  # due today: past due tomorrow
        db.session.commit()
        figures.ensure_fresh(today)
        assert (arrears.scope_totals(today).d30, arrears.scope_totals(today).d90) == (10000, 0)
        tomorrow = today + timedelta(days=1)
        with app.test_request_context():  # a new request: the day is checked again
            figures.ensure_fresh(tomorrow)
            assert db.session.get(FeeArrearsState, a.company.id).as_of == tomorrow
            totals = arrears.scope_totals(tomorrow)
            assert (totals.d30, totals.d90, totals.total) == (5000, 10000, 15000)
            assert_exact(tomorrow)
        db.session.remove()


def test_figures_rebuild_gives_what_the_triggers_kept(app, two_companies):
    a, _ = two_companies
    today = local_today()
    with app.app_context(), company_context(a.company.id):
        figures.ensure_fresh(today)
        home = db.session.get(Household, (a.company.id, a.ids["household_id"]))
        for days in (10, 100, 1000):
            _bill(home, 1000 * days, today - timedelta(days=days))
        db.session.commit()
        before = arrears.scope_totals(today)
        figures.rebuild(today)
        db.session.commit()
        assert arrears.scope_totals(today) == before == arrears.direct_scope_totals(today)
        assert_exact(today)
        db.session.remove()


def _payment_days() -> dict:
    return {(d.day, d.community_id, d.method, d.status): (d.payments, d.amount_fen, d.refunded_fen)
            for d in db.session.execute(select(FeePaymentDay)).scalars()}


def test_a_household_moving_to_another_community_leaves_its_old_payments_where_they_were_paid(
        app, two_companies, login_as, monkeypatch):
    """A payment counts in the community its household was in when it paid: a refund after the household moved to
    another community's building changes that community's figures, not the new one's; the payments list filtered by
    either community shows exactly its payments, with totals and pages to match; rebuild() agrees with the
    triggers."""
    from tenants.fees import payment_views
    from tenants.roster.models import Community
    from tenants.roster.services import HouseholdData, update_household

    a, _ = two_companies
    today = local_today()
    with app.app_context(), company_context(a.company.id):
        figures.ensure_fresh(today)
        actor = db.session.get(User, a.admin.id)
        home = db.session.get(Household, (a.company.id, a.ids["household_id"]))
        old_community = home.building.community_id
        _bill(home, 15000, today - timedelta(days=10))
        db.session.flush()
        first = ledger.record_offline_payment(home, method=PaymentMethod.CASH, amount_fen=15000, actor=actor)
        second = ledger.record_offline_payment(home, method=PaymentMethod.CASH, amount_fen=3000, actor=actor)
        db.session.commit()
        community = Community(name="新小区", address="测试路 2 号")
        db.session.add(community)
        db.session.flush()
        building = Building(community_id=community.id, name="9号楼")
        db.session.add(building)
        db.session.flush()
        new_community = community.id
        update_household(home, HouseholdData(building, home.unit, home.room, home.floor_area, home.occupancy,
                                             home.owner_name, home.owner_phone), actor=actor)
        ledger.record_offline_refund(second, 3000, "预交退回", actor)  # all of it (the home's credit), after the move
        ledger.record_offline_refund(first, 4000, "多收退回", actor)  # part of it (the bill is owed again)
        third = ledger.record_offline_payment(home, method=PaymentMethod.CASH, amount_fen=5000, actor=actor)
        db.session.commit()
        receipts = {"first": first.receipt_number, "second": second.receipt_number, "third": third.receipt_number}
        assert (first.community_id, second.community_id, third.community_id) == (old_community, old_community,
                                                                                 new_community)
        kept = _payment_days()
        assert {k: v for k, v in kept.items() if any(v)} == {
            (today, old_community, "cash", "partly_refunded"): (1, 15000, 4000),
            (today, old_community, "cash", "refunded"): (1, 3000, 3000),
            (today, new_community, "cash", "paid"): (1, 5000, 0),
        }
        assert_exact(today)
        figures.rebuild(today)
        db.session.commit()
        assert _payment_days() == kept  # the same rows, zeros included
        db.session.remove()

    admin = login_as(a.admin)
    monkeypatch.setattr(payment_views, "PER_PAGE", 1)  # one payment a page: the page count is the total
    url = f"/c/{a.company.slug}/fees/payments"
    for community_id, totals, expected in (
            (old_community, "2 payments, ¥180 received, ¥70 refunded.", {"first", "second"}),
            (new_community, "1 payments, ¥50 received, ¥0 refunded.", {"third"})):
        shown = set()
        for page in (1, 2, 3):
            body = admin.get(f"{url}?community_id={community_id}&page={page}").get_data(as_text=True)
            assert totals in body
            rows = {name for name, number in receipts.items() if number in body}
            assert len(rows) == (1 if page <= len(expected) else 0), (community_id, page, rows)
            assert (f"page={page + 1}" in body) == (page < len(expected))  # a next page only while one is left
            shown |= rows
        assert shown == expected


# --- schema -------------------------------------------------------------------------------------------------------


def test_the_triggers_exist_at_head(app, owner_engine):
    """A SQLite batch migration on bills or payments would drop them: this fails then (see 0016_fees)."""
    with owner_engine.connect() as conn:
        if ON_POSTGRES:
            names = set(conn.execute(text("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")).scalars())
        else:
            names = set(conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'")).scalars())
    assert {f"{t}_fee_figures_{e}" for t in ("bills", "payments") for e in ("insert", "update", "delete")} <= names


@pytest.mark.skipif(not ON_POSTGRES, reason="row-level security is PostgreSQL's")
def test_the_figure_tables_have_forced_row_level_security_and_show_only_the_own_company(app, two_companies,
                                                                                      owner_engine, app_engine):  # noqa: F811
    a, b = two_companies
    with owner_engine.connect() as conn:
        rows = conn.execute(text("SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class "
                                 "WHERE relname = ANY(:t)"), {"t": list(TABLES)}).all()
        policies = set(conn.execute(text("SELECT tablename FROM pg_policies "
                                         "WHERE policyname = 'company_isolation'")).scalars())
    assert len(rows) == len(TABLES) and all(r.relrowsecurity and r.relforcerowsecurity for r in rows)
    assert set(TABLES) <= policies
    today = local_today()
    for world in (a, b):
        with app.app_context(), company_context(world.company.id):
            home = db.session.get(Household, (world.company.id, world.ids["household_id"]))
            _bill(home, 10000, today - timedelta(days=10))
            db.session.commit()
            figures.ensure_fresh(today)
            db.session.remove()
    with app_engine.begin() as conn:
        conn.execute(text("SELECT set_config('app.company_id', :c, true)"), {"c": str(a.company.id)})
        for table in TABLES:
            companies = set(conn.execute(text(f"SELECT DISTINCT company_id FROM {table}")).scalars())
            assert companies <= {a.company.id}, table
        with pytest.raises(Exception):  # noqa: B017  (the policy's WITH CHECK refuses another company's row)
            conn.execute(text("INSERT INTO fee_arrears_state VALUES (:c, now(), now(), now(), now(), now())"),
                         {"c": str(b.company.id)})


# --- pages --------------------------------------------------------------------------------------------------------


@pytest.mark.world("fees_bills")
def test_the_payments_page_totals_come_from_the_figures_and_its_statements_do_not_grow(app, two_companies, login_as,
                                                                                       count_queries):
    a, _ = two_companies
    admin = login_as(a.admin)
    url = f"/c/{a.company.slug}/fees/payments"

    def count():
        with count_queries() as counter:
            response = admin.get(url)
        assert response.status_code == 200
        return len(counter.statements), response.get_data(as_text=True)

    small, body = count()
    assert "2 payments, ¥180 received" in body  # the world's two payments: ¥100 + ¥80
    with app.app_context(), company_context(a.company.id):
        actor = db.session.get(User, a.admin.id)
        for household_id in a.roster["households"][:8]:
            home = db.session.get(Household, (a.company.id, household_id))
            _bill(home, 5000, local_today() - timedelta(days=20))
            db.session.flush()
            ledger.record_offline_payment(home, method=PaymentMethod.CASH, amount_fen=5000, actor=actor)
        db.session.commit()
    more, body = count()
    assert more == small
    n = len(a.roster["households"][:8])
    assert f"{2 + n} payments, ¥{180 + 50 * n} received" in body
    today = local_today()
    filtered = admin.get(f"{url}?method=cash&date_from={today - timedelta(days=1)}&date_to={today}")
    assert f"{1 + n} payments, ¥{80 + 50 * n} received" in filtered.get_data(as_text=True)  # the world's cash ¥80


def test_the_nightly_job_counts_every_company_for_the_new_day(app, two_companies):
    from saas.jobs import PERIODIC_JOBS

    assert ("count-fee-arrears", "tenants.fees.figures:recount_all_companies", "1 16 * * *") in PERIODIC_JOBS
    tomorrow = local_today() + timedelta(days=1)
    with app.app_context():
        assert figures.recount_all_companies(tomorrow) == {"companies": 2, "failed": 0}
        for world in two_companies:
            with company_context(world.company.id):
                assert db.session.get(FeeArrearsState, world.company.id).as_of == tomorrow
        db.session.remove()
