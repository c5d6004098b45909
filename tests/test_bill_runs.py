"""Bill runs: the pure billing rules (tenants/fees/billing.py), preview and issue jobs, idempotent issuing (also
two connections at once on PostgreSQL), notices, one-off and paid-repair charges."""

from __future__ import annotations

import uuid
from datetime import date

import pytest

from tenants.fees import billing
from tenants.fees.billing import Home, Item, Rate, Reading
from tenants.fees.models import AreaBasis, FeeKind, MeterKind, PeriodKind
from tests.conftest import requires_postgres

U = uuid.uuid4
MONTH = billing.period_containing(PeriodKind.MONTH, date(2026, 12, 6))


def _item(kind=FeeKind.PER_AREA, price=18500, since=date(2026, 1, 1), **kw):
    return Item(U(), kw.pop("name", "物业服务费"), kind, (Rate(U(), since, price),), **kw)


# --- periods ---------------------------------------------------------------------------------------------------


def test_periods_are_half_open_months_quarters_and_years():
    assert (MONTH.start, MONTH.end, MONTH.months) == (date(2026, 12, 1), date(2027, 1, 1), 1)
    q = billing.period_containing(PeriodKind.QUARTER, date(2026, 11, 30))
    assert (q.start, q.end, q.months) == (date(2026, 10, 1), date(2027, 1, 1), 3)
    y = billing.period_containing("year", date(2026, 2, 28))
    assert (y.start, y.end, y.months) == (date(2026, 1, 1), date(2027, 1, 1), 12)
    assert billing.period_starting(PeriodKind.QUARTER, date(2026, 2, 1)) is None
    assert billing.period_starting(PeriodKind.MONTH, date(2026, 2, 1)).end == date(2026, 3, 1)
    assert MONTH.label == "2026年12月" and q.label == "2026年第4季度"


# --- lines -----------------------------------------------------------------------------------------------------


def test_per_area_line_is_area_times_rate_times_months_rounded_half_up_once():
    item = _item(area_basis=AreaBasis.GROSS)
    home = Home(U(), "1号楼 0101", gross_dm2=8950)
    result = billing.lines_for(MONTH, [item], [home])
    (line,) = result.lines
    assert line.amount_fen == 16558  # 89.50 × 185 = 16557.5 → 16558
    assert line.detail == "89.50 m² × ¥1.85 × 1 个月"
    assert line.charge_key == f"item:{item.id}"
    quarter = billing.period_containing(PeriodKind.QUARTER, date(2026, 12, 1))
    assert billing.lines_for(quarter, [item], [home]).lines[0].amount_fen == 49673  # 49672.5, rounded once


def test_inner_area_basis_uses_the_inner_area_and_skips_homes_without_it():
    item = _item(area_basis=AreaBasis.INNER)
    with_inner = Home(U(), "a", gross_dm2=10000, inner_dm2=8000)
    without = Home(U(), "b", gross_dm2=10000)
    result = billing.lines_for(MONTH, [item], [with_inner, without])
    assert [line.amount_fen for line in result.lines] == [14800]
    assert [(s.label, s.reason) for s in result.skipped] == [("b", billing.NO_AREA)]


def test_fixed_parking_and_vacant_rules():
    fixed = _item(FeeKind.FIXED, price=300000, name="垃圾清运费", vacant_percent=50)
    parking = _item(FeeKind.PARKING, price=1500000, name="停车服务费")
    zero = _item(FeeKind.FIXED, price=100000, name="公摊", vacant_percent=0)
    vacant = Home(U(), "空置", gross_dm2=9000, vacant=True, spaces=((U(), "B1-002"), (U(), "B1-001")))
    result = billing.lines_for(MONTH, [fixed, parking, zero], [vacant])
    amounts = {(line.title, line.amount_fen) for line in result.lines}
    assert ("垃圾清运费", 1500) in amounts  # ¥30 × 50 %
    assert ("停车服务费 B1-001", 15000) in amounts and ("停车服务费 B1-002", 15000) in amounts
    assert [s.reason for s in result.skipped] == [billing.VACANT]
    keys = {line.charge_key for line in result.lines}
    assert len(keys) == 4 - 1  # one per space, each its own charge


def test_households_without_an_owner_are_skipped_with_the_reason():
    result = billing.lines_for(MONTH, [_item(area_basis=AreaBasis.GROSS)],
                               [Home(U(), "无主", gross_dm2=9000, has_owner=False)])
    assert not result.lines and result.skipped[0].reason == billing.NO_OWNER


def test_the_rate_effective_on_the_first_day_of_the_period_is_used():
    item = Item(U(), "物业服务费", FeeKind.PER_AREA, (Rate(U(), date(2026, 1, 1), 10000),
                                                   Rate(U(), date(2026, 12, 1), 20000),
                                                   Rate(U(), date(2026, 12, 2), 99999)), AreaBasis.GROSS)
    (line,) = billing.lines_for(MONTH, [item], [Home(U(), "x", gross_dm2=10000)]).lines
    assert line.amount_fen == 20000
    future = _item(since=date(2027, 1, 1), area_basis=AreaBasis.GROSS)
    result = billing.lines_for(MONTH, [future], [Home(U(), "x", gross_dm2=10000)])
    assert not result.lines and result.skipped[0].reason == billing.NO_RATE


def test_metered_usage_in_the_period_times_unit_price_no_markup_no_vacancy_discount():
    water = _item(FeeKind.METERED, price=52800, name="水费", meter_kind=MeterKind.WATER, vacant_percent=0)
    home = Home(U(), "x", gross_dm2=9000, vacant=True, readings={water.id: (
        Reading(date(2026, 11, 5), 100_000), Reading(date(2026, 12, 5), 112_500))})
    (line,) = billing.lines_for(MONTH, [water], [home]).lines
    assert line.amount_fen == 6600 and line.detail == "用量 12.500 m³ × ¥5.28"
    none = Home(U(), "y", gross_dm2=9000, readings={water.id: (Reading(date(2026, 12, 5), 5),)})
    assert billing.lines_for(MONTH, [water], [none]).skipped[0].reason == billing.NO_READING


def test_usage_counts_across_a_meter_reset_and_only_inside_the_period():
    readings = [Reading(date(2026, 11, 20), 900_000), Reading(date(2026, 12, 10), 990_000),
                Reading(date(2026, 12, 11), 0, reset=True), Reading(date(2026, 12, 30), 5_000),
                Reading(date(2027, 1, 3), 9_000)]
    assert billing.usage_in(readings, MONTH.start, MONTH.end) == 90_000 + 5_000
    assert billing.usage_in(readings[:1], MONTH.start, MONTH.end) is None


# --- runs in the database --------------------------------------------------------------------------------------


def _setup(app, world, *, rate="1.85"):
    from saas.extensions import db
    from saas.models import User
    from saas.tenancy import company_context
    from tenants.fees import items
    from tenants.roster.models import Community

    with app.app_context(), company_context(world.company.id):
        admin = db.session.get(User, world.admin.id)
        community = db.session.get(Community, (world.company.id, world.ids["community_id"]))
        item = items.create_item(community, name="物业服务费", kind="per_area", area_basis="gross", actor=admin)
        items.add_rate(item, price=rate, effective_from=date(2026, 1, 1), actor=admin)
        return item.id


def _run(app, world, start=date(2026, 12, 1), issue=True):
    from saas.extensions import db
    from saas.models import User
    from saas.tenancy import company_context
    from tenants.fees import runs
    from tenants.roster.models import Community

    with app.app_context(), company_context(world.company.id):
        admin = db.session.get(User, world.admin.id)
        community = db.session.get(Community, (world.company.id, world.ids["community_id"]))
        run = runs.start_preview(community, period_kind="month", period_start=start, actor=admin)
        if issue:
            run = runs.start_issue(run, actor=admin)
        return run.id, run.status, dict(run.preview), run.issued_bills, run.total_fen


def _bills(app, world):
    from sqlalchemy import select

    from saas.extensions import db
    from saas.tenancy import company_context
    from tenants.fees.models import Bill

    with app.app_context(), company_context(world.company.id):
        rows = db.session.execute(select(Bill)).scalars().all()
        db.session.expunge_all()
        return rows


@pytest.mark.world()
def test_preview_then_issue_inserts_each_charge_once_and_a_rerun_adds_nothing(app, two_companies):
    from tenants.fees.models import BillRunStatus

    a, b = two_companies
    _setup(app, a)
    run_id, status, preview, *_ = _run(app, a, issue=False)
    assert status == BillRunStatus.PREVIEWED
    assert preview["households"] == 4 and preview["bills"] == 4 and preview["total_fen"] == 4 * 16373
    assert _bills(app, a) == []  # a preview issues nothing
    _, status, _, issued, total = _run(app, a)
    assert status == BillRunStatus.ISSUED and issued == 4 and total == 4 * 16373
    _, status, _, issued, total = _run(app, a)  # the same period again
    assert status == BillRunStatus.ISSUED and issued == 0 and total == 0
    bills = _bills(app, a)
    assert len(bills) == 4 and {bill.due_on > bill.period_start for bill in bills} == {True}
    assert _bills(app, b) == []


@pytest.mark.world()
def test_issuing_tells_the_owner_in_app_and_by_sms(app, two_companies):
    from sqlalchemy import select

    from saas.extensions import db
    from saas.notifications.models import OutboxMessage
    from saas.tenancy import company_context
    from tenants.inbox.models import Notification

    a, _ = two_companies
    _setup(app, a)
    _run(app, a)
    with app.app_context(), company_context(a.company.id):
        notices = db.session.execute(select(Notification).where(Notification.user_id == a.owner.id)).scalars().all()
        assert len(notices) == 1 and "¥163.73" in notices[0].body
        assert db.session.execute(select(OutboxMessage).where(OutboxMessage.kind == "fee_bills_issued")
                                  ).scalars().all()


@pytest.mark.world()
def test_a_rate_used_by_a_bill_is_only_succeeded_after_the_billed_period(app, two_companies):
    from saas.extensions import db
    from saas.models import User
    from saas.tenancy import company_context
    from tenants.fees import items
    from tenants.fees.models import FeeItem

    a, _ = two_companies
    item_id = _setup(app, a)
    _run(app, a)
    with app.app_context(), company_context(a.company.id):
        admin = db.session.get(User, a.admin.id)
        item = db.session.get(FeeItem, (a.company.id, item_id))
        for day in (date(2026, 12, 1), date(2026, 11, 1)):
            with pytest.raises(items.FeeItemError) as refused:
                items.add_rate(item, price="2", effective_from=day, actor=admin)
            assert refused.value.field == "effective_from"
        rate = items.add_rate(item, price="2.1", effective_from=date(2026, 12, 2), actor=admin)
        assert rate.unit_price_cfen == 21000


@requires_postgres
@pytest.mark.world()
def test_two_admins_issuing_at_once_on_two_connections_never_double_bill(app, two_companies):
    """Both issue jobs run at the same moment on their own connections: the unique index and ON CONFLICT DO
    NOTHING leave one bill per household and charge."""
    import threading

    from sqlalchemy import update

    from saas.extensions import db
    from saas.tenancy import company_context
    from tenants.fees import runs
    from tenants.fees.models import BillRun, BillRunStatus

    a, _ = two_companies
    _setup(app, a)
    first = _run(app, a, issue=False)[0]
    second = _run(app, a, issue=False)[0]
    with app.app_context(), company_context(a.company.id):
        db.session.execute(update(BillRun).values(status=BillRunStatus.ISSUING))
        db.session.commit()
    barrier, results, errors = threading.Barrier(2), [], []

    def issue(run_id):
        try:
            with app.app_context(), company_context(a.company.id):
                barrier.wait(10)
                results.append(runs.issue_run(str(run_id), str(a.admin.id)))
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=issue, args=(r,)) for r in (first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors and results == ["issued", "issued"]
    assert len(_bills(app, a)) == 4
    with app.app_context(), company_context(a.company.id):
        issued = sorted(r.issued_bills for r in db.session.query(BillRun))
    assert issued == [0, 4]


@pytest.mark.world()
def test_bill_run_pages_preview_issue_and_history(app, two_companies, login_as):
    from tenants.fees.models import BillRun

    a, _ = two_companies
    _setup(app, a)
    client = login_as(a.admin)
    base = f"/c/{a.company.slug}/fees/runs"
    response = client.post(base, data={"community_id": str(a.ids["community_id"]), "period_kind": "month",
                                       "period_start": "2026-12-01"})
    assert response.status_code == 303
    run_url = response.headers["Location"]
    page = client.get(run_url).get_data(as_text=True)
    assert "¥654.92" in page
    run_id = run_url.rstrip("/").split("/")[-1]
    assert client.post(f"{base}/{run_id}/issue").status_code == 303
    assert len(_bills(app, a)) == 4
    history = client.get(base).get_data(as_text=True)
    assert str(BillRun.__tablename__) and run_id in history
    # A quarter must start on a quarter's first day.
    bad = client.post(base, data={"community_id": str(a.ids["community_id"]), "period_kind": "quarter",
                                  "period_start": "2026-12-01"})
    assert bad.status_code == 422
    assert login_as(a.steward).get(base).status_code == 403


@pytest.mark.world()
def test_one_off_charge_needs_a_reason_and_an_amount(app, two_companies, login_as):
    from tenants.fees.models import BillKind

    a, _ = two_companies
    client = login_as(a.admin)
    url = f"/c/{a.company.slug}/fees/households/{a.ids['household_id']}/charges"
    assert client.post(url, data={"title": "清运费", "amount": "1e30", "reason": "装修"}).status_code == 422
    assert client.post(url, data={"title": "清运费", "amount": "200", "reason": ""}).status_code == 422
    assert client.post(url, data={"title": "清运费", "amount": "200", "reason": "装修"}).status_code == 303
    (bill,) = _bills(app, a)
    assert bill.kind == BillKind.ONE_OFF and bill.amount_fen == 20000 and bill.charge_key.startswith("once:")


@pytest.mark.world("work_orders")
def test_an_accepted_quote_becomes_a_repair_bill_once(app, two_companies):
    from sqlalchemy import select

    from saas.extensions import db
    from saas.models import Membership
    from saas.tenancy import company_context
    from tenants.fees import ledger
    from tenants.fees.models import BillKind, CreditEntry, CreditKind
    from tenants.work_orders import services
    from tenants.work_orders.models import WorkOrder

    a, _ = two_companies
    with app.app_context(), company_context(a.company.id):
        tech = db.session.execute(select(Membership).where(Membership.user_id == a.technician.id)).scalar_one()
        owner = db.session.execute(select(Membership).where(Membership.user_id == a.owner.id)).scalar_one()
        order = db.session.get(WorkOrder, (a.company.id, a.ids["order_id"]))
        order = services.perform(order, "accept", actor=tech.user, membership=tech)
        order = services.perform(order, "quote", actor=tech.user, membership=tech, quote_fen=12050, note="换阀门")
        # The home has ¥50 prepaid: the repair bill spends it at once, in the acceptance's transaction.
        db.session.add(CreditEntry(household_id=order.household_id, kind=CreditKind.PREPAYMENT, amount_fen=5000,
                                   note="预交"))
        db.session.commit()
        order = services.perform(order, "accept_quote", actor=owner.user, membership=owner)
        number, home = order.number, order.household_id
    (bill,) = _bills(app, a)
    assert bill.kind == BillKind.REPAIR and bill.amount_fen == 12050 and bill.charge_key == f"repair:{a.ids['order_id']}"
    assert number in bill.title
    assert bill.paid_fen == 5000 and bill.outstanding_fen == 7050
    with app.app_context(), company_context(a.company.id):
        assert ledger.credit_balance(home) == 0


@pytest.mark.world()
def test_issuing_spends_a_households_credit_on_its_new_bills(app, two_companies):
    from saas.extensions import db
    from saas.tenancy import company_context
    from tenants.fees import ledger
    from tenants.fees.models import CreditEntry, CreditKind

    a, _ = two_companies
    _setup(app, a)
    home = a.ids["household_id"]
    with app.app_context(), company_context(a.company.id):
        db.session.add(CreditEntry(household_id=home, kind=CreditKind.PREPAYMENT, amount_fen=10000, note="预交"))
        db.session.commit()
    _run(app, a)
    (bill,) = [b for b in _bills(app, a) if b.household_id == home]
    assert bill.paid_fen == 10000 and bill.outstanding_fen == 16373 - 10000
    with app.app_context(), company_context(a.company.id):
        assert ledger.credit_balance(home) == 0
