"""The fee ledger (tenants/fees/ledger.py): payments settle bills oldest first, what is left is visible credit,
credit settles later bills, corrections never edit a bill, refunds take money back from credit then from bills,
receipt numbers never repeat, and for any sequence of these the books balance."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from saas.extensions import db
from saas.models import User
from saas.tenancy import company_context, new_id
from tenants.fees import ledger, payment_states
from tenants.fees.models import (
    Bill,
    BillAdjustment,
    BillKind,
    CreditEntry,
    CreditKind,
    FeeSettings,
    Payment,
    PaymentAllocation,
    PaymentEvent,
    PaymentMethod,
    PaymentRefund,
    PaymentStatus,
)
from tenants.roster.models import Household

# The base world only: the other builders (tests/world/fees_items.py issues a bill run) would add bills to the home.
pytestmark = pytest.mark.world()

PROPERTY = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

pytestmark = pytest.mark.world()  # the base world only: the fee world builders put bills in its homes


@pytest.fixture
def home(app, two_companies):
    """Company A's first household, inside its company context for the test's body."""
    a, _ = two_companies
    with app.app_context(), company_context(a.company.id):
        household = db.session.get(Household, (a.company.id, a.ids["household_id"]))
        actor = db.session.get(User, a.admin.id)
        yield household, actor
        db.session.rollback()


def bill(household, amount_fen, month, *, kind=BillKind.RUN, key="item:test", generation=0) -> Bill:
    start = date(2026, month, 1)
    end = date(2026 + month // 12, month % 12 + 1, 1)
    row = Bill(id=new_id(), household_id=household.id, community_id=household.building.community_id,
               building_id=household.building_id, kind=kind, charge_key=key, generation=generation,
               title="物业费", period_start=start, period_end=end, amount_fen=amount_fen,
               due_on=date(2026, month, 15))
    db.session.add(row)
    db.session.flush()
    return row


def books(household) -> dict:
    """The household's totals, each read from its own table."""
    def total(stmt):
        return int(db.session.scalar(stmt) or 0)

    hid = household.id
    return {
        "billed": total(select(func.sum(Bill.amount_fen)).where(Bill.household_id == hid)),
        "credited": total(select(func.sum(Bill.credited_fen)).where(Bill.household_id == hid)),
        "bills_paid": total(select(func.sum(Bill.paid_fen)).where(Bill.household_id == hid)),
        "payments": total(select(func.sum(Payment.amount_fen)).where(Payment.household_id == hid,
                                                                      Payment.status.in_(payment_states.SETTLED))),
        "refunded": total(select(func.sum(Payment.refunded_fen)).where(Payment.household_id == hid)),
        "credit": ledger.credit_balance(hid),
        "owed": ledger.outstanding_fen(hid),
    }


def assert_balanced(household) -> None:
    b = books(household)
    # Where money sits: what came in and stayed = what bills hold + the credit.
    assert b["payments"] - b["refunded"] == b["bills_paid"] + b["credit"], b
    # The equation: what the home owes net of credit = billed − credited − paid + refunded.
    assert b["owed"] - b["credit"] == b["billed"] - b["credited"] - b["payments"] + b["refunded"], b
    assert b["credit"] >= 0, b
    for row in db.session.execute(select(Bill).where(Bill.household_id == household.id)).scalars():
        assert 0 <= row.paid_fen and 0 <= row.credited_fen and row.paid_fen + row.credited_fen <= row.amount_fen
        allocated = db.session.scalar(select(func.coalesce(func.sum(PaymentAllocation.amount_fen), 0))
                                      .where(PaymentAllocation.bill_id == row.id))
        from_credit = -db.session.scalar(select(func.coalesce(func.sum(CreditEntry.amount_fen), 0)).where(
            CreditEntry.bill_id == row.id, CreditEntry.kind.in_([CreditKind.APPLIED, CreditKind.CREDIT_NOTE])))
        assert row.paid_fen == allocated + from_credit, row.title


# --- payments -------------------------------------------------------------------------------------------------


def test_cash_settles_the_oldest_bills_first_and_the_rest_is_credit_that_settles_the_next_bill(home):
    household, actor = home
    march, april = bill(household, 15000, 3), bill(household, 15000, 4)
    payment = ledger.record_offline_payment(household, method=PaymentMethod.CASH, amount_fen=20000, actor=actor)
    assert payment.status == PaymentStatus.PAID and payment.receipt_number.startswith("SJ-")
    assert (march.paid_fen, april.paid_fen) == (15000, 5000)
    assert ledger.credit_balance(household.id) == 0
    extra = ledger.record_offline_payment(household, method=PaymentMethod.CASH, amount_fen=20000, actor=actor)
    assert april.paid_fen == 15000 and ledger.credit_balance(household.id) == 10000
    may = bill(household, 15000, 5)
    assert ledger.apply_credit([household.id], actor) == 10000
    assert may.paid_fen == 10000 and ledger.credit_balance(household.id) == 0
    assert_balanced(household)
    numbers = [payment.receipt_number, extra.receipt_number]
    assert numbers[0][-6:] == "000001" and numbers[1][-6:] == "000002"
    [event] = db.session.execute(select(PaymentEvent).where(PaymentEvent.payment_id == payment.id)).scalars()
    assert (event.from_status, event.to_status, event.source) == (None, "paid", "staff")


def test_chosen_bills_are_settled_and_a_bill_of_another_home_is_refused_changing_nothing(home, app):
    household, actor = home
    march, april = bill(household, 15000, 3), bill(household, 15000, 4)
    ledger.record_offline_payment(household, method=PaymentMethod.BANK_TRANSFER, amount_fen=15000,
                                  reference="HX123", bill_ids=[april.id], actor=actor)
    assert (march.paid_fen, april.paid_fen) == (0, 15000)
    with pytest.raises(ledger.LedgerError) as refused:
        ledger.record_offline_payment(household, method=PaymentMethod.CASH, amount_fen=100, bill_ids=[uuid.uuid4()],
                                      actor=actor)
    assert refused.value.field == "bill_ids"


@pytest.mark.parametrize("amount, method, reference, field", [
    (0, PaymentMethod.CASH, "", "amount"), (-5, PaymentMethod.CASH, "", "amount"),
    (10**12, PaymentMethod.CASH, "", "amount"), (100, PaymentMethod.BANK_TRANSFER, "", "reference"),
    (100, PaymentMethod.WECHAT_PAY, "", "method"),
])
def test_bad_payments_are_refused_with_their_field(home, amount, method, reference, field):
    household, actor = home
    with pytest.raises(ledger.LedgerError) as refused:
        ledger.record_offline_payment(household, method=method, amount_fen=amount, reference=reference, actor=actor)
    assert refused.value.field == field
    assert db.session.scalar(select(func.count()).select_from(Payment)) == 0


def test_paying_ahead_is_capped_by_months_of_the_monthly_fee(home):
    household, actor = home
    with pytest.raises(ledger.LedgerError):  # nothing billed yet: no monthly fee to base the cap on
        ledger.record_offline_payment(household, method=PaymentMethod.CASH, amount_fen=1000, prepay=True, actor=actor)
    bill(household, 10000, 3)
    db.session.add(FeeSettings(prepay_cap_months=2))
    db.session.flush()
    with pytest.raises(ledger.LedgerError, match="limited"):
        ledger.record_offline_payment(household, method=PaymentMethod.CASH, amount_fen=30001, prepay=True,
                                      actor=actor)
    ledger.record_offline_payment(household, method=PaymentMethod.CASH, amount_fen=30000, prepay=True, actor=actor)
    [entry] = db.session.execute(select(CreditEntry)).scalars()
    assert entry.kind == CreditKind.PREPAYMENT and entry.amount_fen == 20000
    assert_balanced(household)


def test_an_online_payment_is_paid_once_however_often_wechat_says_so(home):
    household, actor = home
    march = bill(household, 15000, 3)
    payment = Payment(id=new_id(), household_id=household.id, community_id=household.building.community_id,
                      method=PaymentMethod.WECHAT_PAY, amount_fen=15000, status=PaymentStatus.CREATED)
    db.session.add(payment)
    payment_states.start(payment, PaymentStatus.CREATED, source="owner")
    assert payment_states.move(payment, PaymentStatus.PENDING, source="owner")
    assert ledger.mark_paid(payment, source="callback")
    assert not ledger.mark_paid(payment, source="reconcile")  # the same news again
    assert not payment_states.move(payment, PaymentStatus.PENDING, source="callback")  # late news
    assert not payment_states.move(payment, PaymentStatus.CLOSED, source="reconcile")  # older than paid
    assert march.paid_fen == 15000 and payment.status == PaymentStatus.PAID
    assert_balanced(household)


def test_the_state_machine_refuses_what_never_happens(home):
    household, _ = home
    payment = Payment(id=new_id(), household_id=household.id, community_id=household.building.community_id,
                      method=PaymentMethod.WECHAT_PAY, amount_fen=100, status=PaymentStatus.CREATED)
    db.session.add(payment)
    with pytest.raises(payment_states.IllegalPaymentMove):
        payment_states.move(payment, PaymentStatus.REFUNDED, source="refund")
    payment_states.move(payment, PaymentStatus.CLOSED, source="reconcile")
    assert payment_states.move(payment, PaymentStatus.PAID, source="callback")  # paid just before we closed it


# --- corrections ----------------------------------------------------------------------------------------------


def test_crediting_a_paid_bill_gives_the_paid_part_back_as_credit_that_settles_other_bills(home):
    household, actor = home
    march, april = bill(household, 15000, 3), bill(household, 15000, 4)
    ledger.record_offline_payment(household, method=PaymentMethod.CASH, amount_fen=15000, bill_ids=[march.id],
                                  actor=actor)
    ledger.credit_bill(march, 5000, "面积登记有误", actor)
    assert (march.paid_fen, march.credited_fen, march.amount_fen) == (10000, 5000, 15000)
    assert april.paid_fen == 5000 and ledger.credit_balance(household.id) == 0  # the credit note moved on
    with pytest.raises(ledger.LedgerError):
        ledger.credit_bill(march, 10001, "太多", actor)
    with pytest.raises(ledger.LedgerError) as no_reason:
        ledger.credit_bill(march, 100, "  ", actor)
    assert no_reason.value.field == "reason"
    assert_balanced(household)


def test_a_reissue_keeps_the_old_bill_and_moves_what_was_paid_to_the_new_one(home):
    household, actor = home
    march = bill(household, 15000, 3)
    ledger.record_offline_payment(household, method=PaymentMethod.CASH, amount_fen=15000, actor=actor)
    new = ledger.reissue(march, 12000, "面积应为 80 m²", actor, detail="80.00 m² × ¥1.50 × 1 个月")
    assert march.credited_fen + march.paid_fen == march.amount_fen == 15000  # the old bill is closed, not edited
    assert (new.generation, new.replaces_id, new.amount_fen, new.paid_fen) == (1, march.id, 12000, 12000)
    assert ledger.credit_balance(household.id) == 3000
    [adjustment] = db.session.execute(select(BillAdjustment)).scalars()
    assert adjustment.replacement_bill_id == new.id
    with pytest.raises(ledger.LedgerError):
        ledger.reissue(march, 1, "again", actor)
    assert_balanced(household)


# --- refunds --------------------------------------------------------------------------------------------------


def test_a_refund_takes_credit_first_then_reopens_the_bills_it_paid(home):
    household, actor = home
    march = bill(household, 15000, 3)
    payment = ledger.record_offline_payment(household, method=PaymentMethod.CASH, amount_fen=20000, actor=actor)
    ledger.record_offline_refund(payment, 8000, "多收退回", actor)
    assert ledger.credit_balance(household.id) == 0 and march.paid_fen == 12000
    assert payment.status == PaymentStatus.PARTLY_REFUNDED and payment.refunded_fen == 8000
    with pytest.raises(ledger.LedgerError):
        ledger.record_offline_refund(payment, 12001, "太多", actor)
    ledger.record_offline_refund(payment, 12000, "全部退回", actor)
    assert payment.status == PaymentStatus.REFUNDED and march.paid_fen == 0
    assert db.session.scalar(select(func.count()).select_from(PaymentRefund)) == 2
    assert_balanced(household)


# --- the books balance, whatever happens ---------------------------------------------------------------------

OPERATIONS = st.lists(st.one_of(
    st.tuples(st.just("bill"), st.integers(1, 40000)),
    st.tuples(st.just("pay"), st.integers(1, 60000), st.booleans()),
    st.tuples(st.just("credit"), st.integers(0, 9), st.integers(1, 40000)),
    st.tuples(st.just("reissue"), st.integers(0, 9), st.integers(0, 40000)),
    st.tuples(st.just("refund"), st.integers(0, 9), st.integers(1, 60000)),
    st.tuples(st.just("apply"),),
), min_size=1, max_size=14)


@PROPERTY
@given(operations=OPERATIONS)
def test_for_any_sequence_of_operations_the_books_balance(app, two_companies, operations):
    a, _ = two_companies
    with app.app_context(), company_context(a.company.id):
        household = db.session.get(Household, (a.company.id, a.ids["household_id"]))
        actor = db.session.get(User, a.admin.id)
        bills, payments, month = [], [], 0
        try:
            for op in operations:
                kind = op[0]
                try:
                    if kind == "bill" and month < 11:
                        month += 1
                        bills.append(bill(household, op[1], month, key=f"item:{month}"))
                    elif kind == "pay":
                        payments.append(ledger.record_offline_payment(
                            household, method=PaymentMethod.CASH, amount_fen=op[1], actor=actor))
                    elif kind == "credit" and bills:
                        ledger.credit_bill(bills[op[1] % len(bills)], op[2], "修正", actor)
                    elif kind == "reissue" and bills:
                        bills.append(ledger.reissue(bills[op[1] % len(bills)], op[2], "重开", actor))
                    elif kind == "refund" and payments:
                        ledger.record_offline_refund(payments[op[1] % len(payments)], op[2], "退款", actor)
                    elif kind == "apply":
                        ledger.apply_credit([household.id], actor)
                except ledger.LedgerError:
                    pass  # refused: must have changed nothing, which the balance below checks
                db.session.flush()
                assert_balanced(household)
        finally:
            db.session.rollback()
