"""The ledger's writes: every movement of money between payments, bills and a household's credit goes through
here, so the invariants of tenants/fees/models.py hold whatever page, job or callback asks.

Concurrency: every function that moves a household's money first locks that household's row (SELECT … FOR UPDATE
on PostgreSQL; SQLite serialises writers anyway), then the bills it touches in id order. Two cashiers, an owner
paying online while staff record cash, a bill run applying credit: they queue, and none can pay a bill beyond its
amount (the CHECK on bills is the last line) — money beyond what is owed becomes visible credit.

Where money sits, always: Σ payments − Σ refunds = Σ bills.paid_fen + credit balance. Each function below moves
an amount from one side to another, or adds it to both.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date, datetime, timedelta

from sqlalchemy import bindparam, func, select, update

from saas.audit import record
from saas.clock import SHANGHAI, local_today, utcnow
from saas.errors import ServiceError
from saas.extensions import db, on_postgresql
from saas.i18n import _l
from saas.money import format_yuan
from saas.tenancy import built_once, new_id, require_company_id
from tenants.fees import payment_states
from tenants.fees.models import (
    AdjustmentKind,
    Bill,
    BillAdjustment,
    BillKind,
    CreditEntry,
    CreditKind,
    FeeSettings,
    Payment,
    PaymentAllocation,
    PaymentMethod,
    PaymentRefund,
    PaymentStatus,
    ReceiptCounter,
    RefundStatus,
)
from tenants.roster.models import Household

RECEIPT_PREFIX = "SJ"
MAX_PAYMENT_FEN = 100_000_000  # ¥1,000,000 in one payment: beyond that it is a typing mistake
REASON_MAX = 200


class LedgerError(ServiceError):
    """A ledger rule refused the change (an amount beyond what is owed or paid, a bill of another home…)."""


# --- reading --------------------------------------------------------------------------------------------------


def credit_balance(household_id: uuid.UUID) -> int:
    return int(db.session.scalar(_CREDIT_BALANCE, {"household_id": household_id}) or 0)


_CREDIT_BALANCE = built_once(select(func.coalesce(func.sum(CreditEntry.amount_fen), 0))
                             .where(CreditEntry.household_id == bindparam("household_id")))


def outstanding_fen(household_id: uuid.UUID) -> int:
    return int(db.session.scalar(
        select(func.coalesce(func.sum(Bill.amount_fen - Bill.paid_fen - Bill.credited_fen), 0))
        .where(Bill.household_id == household_id)) or 0)


def settings() -> FeeSettings:
    """The company's fee settings (the defaults until an admin saves them)."""
    from tenants.fees.settings import get_settings

    return get_settings()


# --- locking --------------------------------------------------------------------------------------------------


def _lock_household(household_id: uuid.UUID) -> Household:
    household = db.session.execute(
        select(Household).where(Household.id == household_id).with_for_update(of=Household)
        .execution_options(populate_existing=True)).scalar_one_or_none()
    if household is None:
        raise LedgerError(_l("This home does not exist."))
    return household


def _open_bills(household_id: uuid.UUID, bill_ids: Iterable[uuid.UUID] | None = None) -> list[Bill]:
    """The household's bills with something left to pay, locked, oldest first (or only those named)."""
    stmt = (select(Bill).where(Bill.household_id == household_id,
                               Bill.amount_fen > Bill.paid_fen + Bill.credited_fen)
            .order_by(Bill.due_on, Bill.period_start, Bill.created_at, Bill.id)
            .with_for_update(of=Bill).execution_options(populate_existing=True))
    if bill_ids is not None:
        wanted = list(bill_ids)
        stmt = stmt.where(Bill.id.in_(wanted))
        bills = list(db.session.execute(stmt).scalars())
        if len(bills) != len(set(wanted)):
            raise LedgerError(_l("Some of the chosen bills are not this home's or are already settled. Reload the "
                                 "page and choose again."), "bill_ids")
        return bills
    return list(db.session.execute(stmt).scalars())


def _lock_bill(bill: Bill) -> Bill:
    return db.session.execute(select(Bill).where(Bill.id == bill.id).with_for_update(of=Bill)
                              .execution_options(populate_existing=True)).scalar_one()


# --- receipt numbers ------------------------------------------------------------------------------------------


def next_receipt_number(now: datetime | None = None) -> str:
    """The next SJ-<year>-<n> of the current company: the counter row stays locked until the caller commits, so
    concurrent payments queue for it and never share a number; a number is used only by a committed payment."""
    now = now or utcnow()
    year = now.astimezone(SHANGHAI).year
    bump = (update(ReceiptCounter).where(ReceiptCounter.year == year)
            .values(last_number=ReceiptCounter.last_number + 1).returning(ReceiptCounter.last_number))
    number = db.session.execute(bump, execution_options={"synchronize_session": False}).scalar_one_or_none()
    if number is None:
        if on_postgresql():
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        db.session.execute(insert(ReceiptCounter).values(
            company_id=require_company_id(), id=new_id(), created_at=now, year=year, last_number=0,
        ).on_conflict_do_nothing())
        number = db.session.execute(bump, execution_options={"synchronize_session": False}).scalar_one()
    return f"{RECEIPT_PREFIX}-{year}-{number:06d}"


# --- moving money ---------------------------------------------------------------------------------------------


def _pay_bill(bill: Bill, amount: int) -> None:
    bill.paid_fen += amount


def _allocate(payment: Payment, bills: list[Bill], amount: int) -> int:
    """Settle ``bills`` in order with up to ``amount`` of ``payment``; returns what was used."""
    used = 0
    for bill in bills:
        part = min(bill.outstanding_fen, amount - used)
        if part <= 0:
            continue
        _pay_bill(bill, part)
        db.session.add(PaymentAllocation(payment_id=payment.id, bill_id=bill.id, amount_fen=part))
        used += part
        if used == amount:
            break
    return used


def settle(payment: Payment, bill_ids: Iterable[uuid.UUID] | None = None, *, prepay: bool = False,
           actor=None) -> int:
    """Put a received payment to work: the chosen bills (or every open bill, oldest first), then the rest as the
    household's credit (prepayment if it was meant so, else overpayment: two payers at once, a round sum).
    The household is locked by the caller (record_offline_payment, the WeChat callback). Returns what settled
    bills."""
    bills = _open_bills(payment.household_id, bill_ids)
    used = _allocate(payment, bills, payment.amount_fen)
    rest = payment.amount_fen - used
    if rest:
        db.session.add(CreditEntry(household_id=payment.household_id, payment_id=payment.id, amount_fen=rest,
                                   kind=CreditKind.PREPAYMENT if prepay else CreditKind.OVERPAYMENT,
                                   created_by_id=actor.id if actor else None,
                                   note=payment.receipt_number or ""))
    return used


def apply_credit(household_ids: Iterable[uuid.UUID], actor=None) -> int:
    """Spend each household's credit on its open bills, oldest first (after a bill run, a reissue, a payment).
    Returns the total applied."""
    applied = 0
    # Only homes with credit are visited (one statement over the few that have any): a bill run of 5,000 homes
    # would otherwise lock and read each of them.
    with_credit = set(db.session.execute(
        select(CreditEntry.household_id).group_by(CreditEntry.household_id)
        .having(func.sum(CreditEntry.amount_fen) > 0)).scalars())
    for household_id in sorted(set(household_ids) & with_credit):
        _lock_household(household_id)
        balance = credit_balance(household_id)
        if balance <= 0:
            continue
        for bill in _open_bills(household_id):
            part = min(bill.outstanding_fen, balance)
            if part <= 0:
                break
            _pay_bill(bill, part)
            db.session.add(CreditEntry(household_id=household_id, bill_id=bill.id, amount_fen=-part,
                                       kind=CreditKind.APPLIED, created_by_id=actor.id if actor else None))
            balance -= part
            applied += part
            if balance == 0:
                break
    return applied


def prepay_limit_fen(household: Household) -> int | None:
    """How much more this home may pay ahead: the cap in months (FeeSettings, never past the contract's end) times
    its monthly charge (its latest periodic bills per month), less the credit it already holds. None when nothing
    has been billed yet, so there is no monthly charge to base it on."""
    conf = settings()
    latest = db.session.execute(
        select(Bill.period_start, Bill.period_end, func.sum(Bill.amount_fen))
        .where(Bill.household_id == household.id, Bill.kind == BillKind.RUN, Bill.generation == 0)
        .group_by(Bill.period_start, Bill.period_end).order_by(Bill.period_start.desc()).limit(1)).first()
    if latest is None:
        return None
    start, end, total = latest
    months = max(1, (end.year - start.year) * 12 + end.month - start.month)
    monthly = int(total) // months
    cap_months = conf.prepay_cap_months
    if conf.contract_ends_on is not None:
        today = local_today()
        left = (conf.contract_ends_on.year - today.year) * 12 + conf.contract_ends_on.month - today.month
        cap_months = max(0, min(cap_months, left))
    return max(0, monthly * cap_months - max(0, credit_balance(household.id)))


def record_offline_payment(household: Household, *, method: PaymentMethod, amount_fen: int, reference: str = "",
                           note: str = "", bill_ids: Iterable[uuid.UUID] | None = None, actor=None,
                           prepay: bool = False, now: datetime | None = None) -> Payment:
    """Money counted by staff (cash, transfer, POS…): paid at once, with a receipt number, settling the chosen
    bills or the oldest; what is left becomes credit. Prepayment (预交) is refused beyond the cap."""
    if not method.offline:
        raise LedgerError(_l("WeChat Pay payments come from WeChat, not from this form."), "method")
    if not isinstance(amount_fen, int) or amount_fen <= 0 or amount_fen > MAX_PAYMENT_FEN:
        raise LedgerError(_l("Enter an amount between ¥0.01 and %(max)s.", max=format_yuan(MAX_PAYMENT_FEN)),
                          "amount")
    reference, note = (reference or "").strip()[:64], (note or "").strip()[:REASON_MAX]
    if method in (PaymentMethod.BANK_TRANSFER, PaymentMethod.POS) and not reference:
        raise LedgerError(_l("Enter the transfer's or the POS slip's reference number."), "reference")
    household = _lock_household(household.id)
    wanted = list(bill_ids) if bill_ids is not None else None
    if wanted is not None:
        _open_bills(household.id, wanted)  # refuses another home's or a settled bill before anything is written
    if prepay:
        limit = prepay_limit_fen(household)
        owed = outstanding_fen(household.id)
        if limit is None:
            raise LedgerError(_l("This home has no periodic fee billed yet, so there is nothing to pay ahead for."),
                              "amount")
        if amount_fen - owed > limit:
            raise LedgerError(_l("Paying ahead is limited to %(limit)s for this home (the company's cap in months)."
                                 , limit=format_yuan(limit)), "amount")
    now = now or utcnow()
    payment = Payment(id=new_id(), household_id=household.id, community_id=household.building.community_id,
                      method=method, amount_fen=amount_fen, reference=reference, note=note,
                      recorded_by_id=actor.id if actor else None, paid_at=now,
                      receipt_number=next_receipt_number(now), status=PaymentStatus.PAID)
    db.session.add(payment)
    payment_states.start(payment, PaymentStatus.PAID, source="staff", actor=actor,
                         details={"method": method.value})
    settled = settle(payment, wanted, prepay=prepay, actor=actor)
    record("fee.payment_recorded", actor=actor, object_type="payment", object_id=payment.id,
           object_label=f"{payment.receipt_number} {household.label}",
           changes={"amount_fen": [None, amount_fen], "method": [None, method.value],
                    "settled_fen": [None, settled], "credit_fen": [None, amount_fen - settled]})
    return payment


def mark_paid(payment: Payment, *, source: str, paid_at: datetime | None = None, details: dict | None = None,
              actor=None) -> bool:
    """An online payment's money has arrived (WeChat's callback or the reconciliation query): paid, numbered and
    settled exactly once. Returns False when it was already paid (a repeated or late callback)."""
    _lock_household(payment.household_id)
    payment = db.session.execute(select(Payment).where(Payment.id == payment.id).with_for_update(of=Payment)
                                 .execution_options(populate_existing=True)).scalar_one()
    if not payment_states.move(payment, PaymentStatus.PAID, source=source, actor=actor, details=details):
        return False
    payment.paid_at = paid_at or utcnow()
    payment.receipt_number = next_receipt_number(payment.paid_at)
    settled = settle(payment, None, actor=actor)
    record("fee.payment_paid", actor=actor, object_type="payment", object_id=payment.id,
           object_label=payment.receipt_number,
           changes={"amount_fen": [None, payment.amount_fen], "settled_fen": [None, settled]})
    return True


# --- corrections ----------------------------------------------------------------------------------------------


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise LedgerError(_l("Say why: the reason stays in the home's ledger."), "reason")
    if len(reason) > REASON_MAX:
        raise LedgerError(_l("Keep the reason under %(n)s characters.", n=REASON_MAX), "reason")
    return reason


def _credit(bill: Bill, amount_fen: int, kind: AdjustmentKind, reason: str, actor) -> BillAdjustment:
    """Take ``amount_fen`` off ``bill``: first what is still owed, then (if more) from what was paid, which comes
    back to the household as credit."""
    owed = bill.outstanding_fen
    from_paid = max(0, amount_fen - owed)
    if from_paid:
        bill.paid_fen -= from_paid
        db.session.add(CreditEntry(household_id=bill.household_id, bill_id=bill.id, amount_fen=from_paid,
                                   kind=CreditKind.CREDIT_NOTE, note=reason[:REASON_MAX],
                                   created_by_id=actor.id if actor else None))
    bill.credited_fen += amount_fen
    adjustment = BillAdjustment(id=new_id(), bill_id=bill.id, kind=kind, amount_fen=amount_fen, reason=reason,
                                created_by_id=actor.id if actor else None)
    db.session.add(adjustment)
    return adjustment


def credit_bill(bill: Bill, amount_fen: int, reason: str, actor) -> BillAdjustment:
    """减免 / a correction of part or all of a bill, never an edit of it."""
    reason = _reason(reason)
    _lock_household(bill.household_id)
    bill = _lock_bill(bill)
    room = bill.amount_fen - bill.credited_fen
    if not isinstance(amount_fen, int) or amount_fen <= 0 or amount_fen > room:
        raise LedgerError(_l("Enter an amount between ¥0.01 and %(max)s (what is left of this bill).",
                             max=format_yuan(room)), "amount")
    adjustment = _credit(bill, amount_fen, AdjustmentKind.CREDIT, reason, actor)
    record("fee.bill_credited", actor=actor, object_type="bill", object_id=bill.id, object_label=bill.title,
           changes={"amount_fen": [None, amount_fen], "reason": [None, reason]})
    apply_credit([bill.household_id], actor)  # a paid part that came back settles other open bills
    return adjustment


def reissue(bill: Bill, amount_fen: int, reason: str, actor, *, detail: str | None = None) -> Bill:
    """A wrong bill is credited in full and a corrected one issued for the same charge and period (the next
    generation); what was paid on the old one moves to the new one through the household's credit."""
    reason = _reason(reason)
    _lock_household(bill.household_id)
    bill = _lock_bill(bill)
    if bill.credited_fen >= bill.amount_fen:
        raise LedgerError(_l("This bill has already been credited in full or reissued."))
    if not isinstance(amount_fen, int) or amount_fen < 0 or amount_fen > MAX_PAYMENT_FEN:
        raise LedgerError(_l("Enter the corrected amount in yuan."), "amount")
    generation = db.session.scalar(select(func.max(Bill.generation)).where(
        Bill.household_id == bill.household_id, Bill.period_start == bill.period_start,
        Bill.charge_key == bill.charge_key)) + 1
    replacement = Bill(
        id=new_id(), household_id=bill.household_id, community_id=bill.community_id, building_id=bill.building_id,
        kind=bill.kind, fee_item_id=bill.fee_item_id, rate_id=bill.rate_id, bill_run_id=bill.bill_run_id,
        parking_space_id=bill.parking_space_id, work_order_id=bill.work_order_id, charge_key=bill.charge_key,
        generation=generation, replaces_id=bill.id, title=bill.title,
        detail=(detail if detail is not None else bill.detail)[:200], period_start=bill.period_start,
        period_end=bill.period_end, amount_fen=amount_fen, due_on=bill.due_on, late_fee_clause=bill.late_fee_clause,
        reason=reason, created_by_id=actor.id if actor else None)
    db.session.add(replacement)
    db.session.flush()  # the replacement exists before the adjustment points at it
    adjustment = _credit(bill, bill.amount_fen - bill.credited_fen, AdjustmentKind.REISSUE, reason, actor)
    adjustment.replacement_bill_id = replacement.id
    record("fee.bill_reissued", actor=actor, object_type="bill", object_id=bill.id, object_label=bill.title,
           changes={"amount_fen": [bill.amount_fen, amount_fen], "reason": [None, reason]})
    apply_credit([bill.household_id], actor)
    return replacement


# --- refunds --------------------------------------------------------------------------------------------------


def check_refund(payment: Payment, amount_fen: int) -> None:
    if payment.status not in (PaymentStatus.PAID, PaymentStatus.PARTLY_REFUNDED):
        raise LedgerError(_l("Only a paid payment can be refunded."))
    room = payment.amount_fen - payment.refunded_fen
    if not isinstance(amount_fen, int) or amount_fen <= 0 or amount_fen > room:
        raise LedgerError(_l("Enter an amount between ¥0.01 and %(max)s (what is left of this payment).",
                             max=format_yuan(room)), "amount")


def _refund_plan(payment: Payment, amount: int, *,
                 already_refunded: bool = False) -> tuple[int, list[tuple[Bill, int]]]:
    """Where ``amount`` of ``payment`` comes back from: the household's credit first, then the bills this payment
    settled, latest due first. Raises, writing nothing, when the payment's money is no longer there, unless the
    money has ``already_refunded`` (WeChat says the refund succeeded: a correction moved the money after the refund
    was asked for). Then the rest comes from the household's other paid bills, latest due first: the owner has the
    money back, so those bills are owed again, and the ledger still adds up."""
    from_credit = min(amount, max(0, credit_balance(payment.household_id)))
    allocated = db.session.execute(
        select(PaymentAllocation.bill_id, func.sum(PaymentAllocation.amount_fen))
        .where(PaymentAllocation.payment_id == payment.id).group_by(PaymentAllocation.bill_id)).all()
    bills = {b.id: b for b in db.session.execute(
        select(Bill).where(Bill.id.in_([bill_id for bill_id, _ in allocated])).with_for_update(of=Bill)
        .execution_options(populate_existing=True)).scalars()}
    plan, rest = [], amount - from_credit
    for bill_id, net in sorted(allocated, key=lambda row: (bills[row[0]].due_on, str(row[0])), reverse=True):
        part = min(rest, int(net), bills[bill_id].paid_fen)
        if part > 0:
            plan.append((bills[bill_id], part))
            rest -= part
        if rest == 0:
            break
    if rest and already_refunded:
        for bill in db.session.execute(
                select(Bill).where(Bill.household_id == payment.household_id, Bill.paid_fen > 0)
                .order_by(Bill.due_on.desc(), Bill.id.desc()).with_for_update(of=Bill)
                .execution_options(populate_existing=True)).scalars():
            part = min(rest, bill.paid_fen - sum(p for b, p in plan if b.id == bill.id))
            if part > 0:
                plan.append((bill, part))
                rest -= part
            if rest == 0:
                break
    if rest:
        raise LedgerError(_l("This payment's money is no longer with this home (it was moved by a correction); "
                             "refund a smaller amount."), "amount")
    return from_credit, plan


def apply_refund(refund: PaymentRefund, *, source: str, actor=None, details: dict | None = None) -> None:
    """The money of ``refund`` has gone back to the payer: take it first from the household's credit, then from
    the bills this payment settled (latest first), which are owed again."""
    payment = db.session.execute(select(Payment).where(Payment.id == refund.payment_id).with_for_update(of=Payment)
                                 .execution_options(populate_existing=True)).scalar_one()
    _lock_household(payment.household_id)
    amount = refund.amount_fen
    # An offline refund is handed over now (the plan was checked just before); a WeChat refund has already
    # happened when this runs, so it is recorded whatever the ledger did meanwhile.
    from_credit, plan = _refund_plan(payment, amount, already_refunded=source != "staff")
    if from_credit:
        db.session.add(CreditEntry(household_id=payment.household_id, payment_id=payment.id, refund_id=refund.id,
                                   amount_fen=-from_credit, kind=CreditKind.REFUNDED, note=refund.reason[:REASON_MAX],
                                   created_by_id=actor.id if actor else None))
    for bill, part in plan:
        bill.paid_fen -= part
        db.session.add(PaymentAllocation(payment_id=payment.id, bill_id=bill.id, amount_fen=-part,
                                         refund_id=refund.id))
    payment.refunded_fen += amount
    refund.status = RefundStatus.SUCCEEDED
    refund.refunded_at = utcnow()
    target = PaymentStatus.REFUNDED if payment.refunded_fen == payment.amount_fen else PaymentStatus.PARTLY_REFUNDED
    payment_states.move(payment, target, source=source, actor=actor,
                        details={**(details or {}), "refund_fen": amount})


def record_offline_refund(payment: Payment, amount_fen: int, reason: str, actor) -> PaymentRefund:
    """Staff hand money back (cash, a transfer) for an offline payment."""
    reason = _reason(reason)
    check_refund(payment, amount_fen)
    if not payment.method.offline:
        raise LedgerError(_l("A WeChat Pay payment is refunded through WeChat Pay."))
    refund = PaymentRefund(id=new_id(), payment_id=payment.id, amount_fen=amount_fen, reason=reason,
                           status=RefundStatus.PENDING, created_by_id=actor.id if actor else None)
    _lock_household(payment.household_id)
    _refund_plan(payment, amount_fen)  # refuses before anything is written
    db.session.add(refund)
    db.session.flush()  # the refund row before the entries that point at it
    apply_refund(refund, source="staff", actor=actor)
    record("fee.payment_refunded", actor=actor, object_type="payment", object_id=payment.id,
           object_label=payment.receipt_number or "", changes={"amount_fen": [None, amount_fen],
                                                              "reason": [None, reason]})
    return refund


def due_date(issued_on: date | None = None) -> date:
    """When a bill issued on ``issued_on`` (today) falls due: FeeSettings.due_days later."""
    return (issued_on or local_today()) + timedelta(days=settings().due_days)
