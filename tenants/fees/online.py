"""Owners paying online with WeChat Pay: orders, what WeChat's answers do to the ledger, refunds.

An order is one Payment (method wechat_pay) for one household: the sum of the chosen bills' outstanding amounts at
that moment. It is created (status created, a PaymentRoute so the callback finds the company), committed, then
sent to WeChat (pending with its code_url / h5_url, or failed). The money is applied by ledger.mark_paid exactly
once, whoever reports it first (the callback, the reconciliation job, the owner's "I have paid" check); it settles
the household's open bills oldest first, and what is no longer owed (staff recorded cash for the same bill
meanwhile) becomes visible credit.

Every report from WeChat is checked against the payment (order number, sub-merchant, amount) before it changes
anything; its trade state and time are stored unless what we already know is newer.
"""

from __future__ import annotations

import logging
import secrets
import uuid
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, select

from saas.audit import record
from saas.clock import utcnow
from saas.errors import ServiceError
from saas.extensions import db
from saas.i18n import _l
from saas.models import Company
from saas.money import format_yuan
from saas.tenancy import new_id, require_company_id
from tenants.fees import ledger, payment_states, wechat_pay
from tenants.fees.models import (
    Bill,
    Payment,
    PaymentMethod,
    PaymentRefund,
    PaymentRoute,
    PaymentStatus,
    RefundStatus,
)
from tenants.roster.models import Household

log = logging.getLogger(__name__)

S = PaymentStatus
OPEN = (S.CREATED, S.PENDING)
CHANNELS = ("native", "h5")
# WeChat's trade states by how far along they are: a report of an earlier one never overwrites a later one.
TRADE_RANK = {"NOTPAY": 0, "USERPAYING": 1, "PAYERROR": 2, "CLOSED": 2, "REVOKED": 2, "SUCCESS": 3, "REFUND": 4}
PAID_STATES = ("SUCCESS", "REFUND")  # REFUND: paid, then (part) refunded; the money did arrive


class OnlinePaymentError(ServiceError):
    """An online payment cannot be made or changed as asked (nothing chosen, bills of two homes, WeChat refused)."""


def order_minutes() -> int:
    return int(current_app.config.get("WECHATPAY_ORDER_MINUTES", 15))


def new_out_trade_no() -> str:
    """Unique and unguessable, ≤ 32 characters of [A-Za-z0-9]: 'GJ' + 24 hex of randomness."""
    return "GJ" + secrets.token_hex(12).upper()


def new_out_refund_no() -> str:
    return "GJR" + secrets.token_hex(12).upper()


def current_company() -> Company:
    return db.session.get(Company, require_company_id())


# --- ordering -------------------------------------------------------------------------------------------------


def _description(company: Company, household: Household, bills: list[Bill]) -> str:
    first = bills[0].title if bills else ""
    more = f" 等{len(bills)}项" if len(bills) > 1 else ""
    return f"{company.name} {household.label} {first}{more}"[:120]


def create_order(household_ids: list[uuid.UUID], bill_ids: list[uuid.UUID] | None, *, channel: str, payer,
                 client_ip: str = "", now: datetime | None = None) -> Payment:
    """An order for the chosen open bills (or, with ``bill_ids`` None, every open bill of the one household in
    ``household_ids``). ``household_ids`` are the homes the payer may pay for. Committed before WeChat is asked, so
    a callback always finds it."""
    now = now or utcnow()
    if channel not in CHANNELS:
        raise OnlinePaymentError(_l("Choose how to pay."))
    company = current_company()
    if not wechat_pay.available_for(company):
        raise OnlinePaymentError(_l("Online payment is not available. Please pay at the property office."))
    allowed = set(household_ids)
    stmt = select(Bill).where(Bill.household_id.in_(allowed), Bill.amount_fen > Bill.paid_fen + Bill.credited_fen)
    if bill_ids is not None:
        wanted = set(bill_ids)
        if not wanted:
            raise OnlinePaymentError(_l("Choose at least one bill to pay."), "bill_ids")
        stmt = stmt.where(Bill.id.in_(wanted))
    bills = list(db.session.execute(stmt.order_by(Bill.due_on, Bill.period_start, Bill.id)).scalars())
    if bill_ids is not None and len(bills) != len(set(bill_ids)):
        raise OnlinePaymentError(_l("Some of the chosen bills are already paid or are not yours. Reload the page "
                                    "and choose again."), "bill_ids")
    homes = {bill.household_id for bill in bills}
    if not bills:
        raise OnlinePaymentError(_l("There is nothing to pay right now."), "bill_ids")
    if len(homes) > 1:
        raise OnlinePaymentError(_l("Pay the bills of one home at a time."), "bill_ids")
    household = db.session.get(Household, (company.id, homes.pop()))
    amount = sum(bill.outstanding_fen for bill in bills)
    if amount > ledger.MAX_PAYMENT_FEN:
        raise OnlinePaymentError(_l("That is more than one online payment can carry; choose fewer bills."),
                                 "bill_ids")
    reuse = _reusable(household.id, amount, channel, now)
    if reuse is not None:
        return reuse
    out_trade_no = new_out_trade_no()
    payment = Payment(id=new_id(), household_id=household.id, community_id=household.building.community_id,
                      method=PaymentMethod.WECHAT_PAY, status=S.CREATED,
                      amount_fen=amount, payer_user_id=payer.id if payer else None, out_trade_no=out_trade_no,
                      wechat_channel=channel, expires_at=now + timedelta(minutes=order_minutes()),
                      note=_description(company, household, bills)[:200])
    db.session.add(payment)
    payment_states.start(payment, S.CREATED, source="owner", actor=payer,
                         details={"channel": channel, "bill_ids": [str(b.id) for b in bills],
                                  "sub_mchid": company.wechat_sub_mchid})
    db.session.add(PaymentRoute(out_trade_no=out_trade_no, company_id=company.id, payment_id=payment.id))
    db.session.commit()  # the order and its route exist before WeChat hears of it
    try:
        if channel == "native":
            url = wechat_pay.create_native(company.wechat_sub_mchid, out_trade_no, payment.note, amount,
                                           payment.expires_at, attach=str(company.id))
        else:
            url = wechat_pay.create_h5(company.wechat_sub_mchid, out_trade_no, payment.note, amount,
                                       payment.expires_at, client_ip, attach=str(company.id))
    except wechat_pay.WeChatPayError:
        payment = db.session.get(Payment, (company.id, payment.id))
        payment_states.move(payment, S.FAILED, source="owner", actor=payer, details={"error": "order refused"})
        db.session.commit()
        raise
    payment = db.session.get(Payment, (company.id, payment.id))
    payment.wechat_code_url = url[:512]
    payment.wechat_trade_state = "NOTPAY"
    payment.wechat_state_at = now
    payment_states.move(payment, S.PENDING, source="owner", actor=payer, details={"channel": channel})
    record("fee.wechat_order_created", actor=payer, object_type="payment", object_id=payment.id,
           object_label=f"{household.label} {format_yuan(amount)}",
           changes={"amount_fen": [None, amount]})
    db.session.commit()
    return payment


def _reusable(household_id: uuid.UUID, amount: int, channel: str, now: datetime) -> Payment | None:
    """The same home's unexpired waiting order for the same sum and channel (a double tap, the back button): shown
    again rather than a second order that could be paid twice."""
    return db.session.execute(
        select(Payment).where(Payment.household_id == household_id, Payment.method == PaymentMethod.WECHAT_PAY,
                              Payment.status == S.PENDING, Payment.amount_fen == amount,
                              Payment.wechat_channel == channel, Payment.expires_at > now + timedelta(minutes=2))
        .order_by(Payment.created_at.desc()).limit(1)).scalar_one_or_none()


# --- what WeChat says -----------------------------------------------------------------------------------------


class Mismatch(Exception):
    """A report from WeChat that does not fit the payment it names (another company, another amount)."""


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def check_trade(payment: Payment, trade: dict, company: Company) -> None:
    """Raise Mismatch unless ``trade`` (a callback's resource or a query's answer) is this payment's order, of this
    company's sub-merchant, for this amount."""
    if trade.get("out_trade_no") != payment.out_trade_no:
        raise Mismatch("order number differs")
    if trade.get("sub_mchid") and trade.get("sub_mchid") != company.wechat_sub_mchid:
        raise Mismatch("sub-merchant differs")
    if trade.get("sp_mchid") and trade.get("sp_mchid") != current_app.config.get("WECHATPAY_SP_MCHID"):
        raise Mismatch("service provider differs")
    amount = trade.get("amount") or {}
    state = trade.get("trade_state")
    if state in PAID_STATES and amount.get("total") != payment.amount_fen:
        raise Mismatch(f"amount {amount.get('total')} differs from {payment.amount_fen}")


def apply_trade(payment: Payment, trade: dict, *, source: str, company: Company | None = None) -> str:
    """Apply what WeChat says of ``payment``'s order. Returns what happened: 'paid', 'repeat', 'closed',
    'failed', 'waiting' or 'stale'. Raises Mismatch (changing nothing) for a report that does not fit."""
    company = company or current_company()
    check_trade(payment, trade, company)
    state = trade.get("trade_state") or ""
    if state not in TRADE_RANK:
        raise Mismatch(f"unknown trade state {state!r}")
    at = _parse_time(trade.get("success_time")) or utcnow()
    known = TRADE_RANK.get(payment.wechat_trade_state or "", -1)
    newer = TRADE_RANK[state] > known or (TRADE_RANK[state] == known and (
        payment.wechat_state_at is None or at >= payment.wechat_state_at))
    outcome = "stale"
    if state in PAID_STATES:
        details = {"transaction_id": trade.get("transaction_id"), "trade_state": state,
                   "success_time": trade.get("success_time")}
        if ledger.mark_paid(payment, source=source, paid_at=at, details=details):
            payment.wechat_transaction_id = (trade.get("transaction_id") or "")[:32] or None
            outcome = "paid"
        else:
            outcome = "repeat"
    elif state in ("CLOSED", "REVOKED"):
        outcome = "closed" if payment_states.move(payment, S.CLOSED, source=source,
                                                  details={"trade_state": state}) else "stale"
    elif state == "PAYERROR":
        outcome = "failed" if payment_states.move(payment, S.FAILED, source=source,
                                                  details={"trade_state": state}) else "stale"
    else:
        outcome = "waiting"
    if newer:
        payment.wechat_trade_state = state
        payment.wechat_state_at = at
    return outcome


def refresh(payment: Payment, *, source: str) -> str:
    """Ask WeChat about an open order now (the owner's "I have paid", the reconciliation job) and apply the answer.
    Commits. Returns apply_trade's outcome, or 'unchanged' when there was nothing to ask."""
    company = current_company()
    if payment.method != PaymentMethod.WECHAT_PAY or payment.status not in OPEN or not payment.out_trade_no \
            or not wechat_pay.available_for(company):
        return "unchanged"
    trade = wechat_pay.query(company.wechat_sub_mchid, payment.out_trade_no)
    try:
        outcome = apply_trade(payment, trade, source=source, company=company)
    except Mismatch as exc:
        db.session.rollback()
        log.warning("WeChat Pay query for %s does not fit the payment: %s", payment.out_trade_no, exc)
        return "mismatch"
    db.session.commit()
    return outcome


def close_order(payment: Payment, *, source: str) -> bool:
    """Close an expired unpaid order at WeChat and here. A payment that turns out paid is applied instead."""
    company = current_company()
    trade = wechat_pay.query(company.wechat_sub_mchid, payment.out_trade_no)
    if trade.get("trade_state") in PAID_STATES or trade.get("trade_state") in ("CLOSED", "REVOKED", "PAYERROR"):
        apply_trade(payment, trade, source=source, company=company)
        db.session.commit()
        return payment.status == S.CLOSED
    wechat_pay.close(company.wechat_sub_mchid, payment.out_trade_no)
    payment_states.move(payment, S.CLOSED, source=source, details={"reason": "expired"})
    payment.wechat_trade_state = "CLOSED"
    payment.wechat_state_at = utcnow()
    db.session.commit()
    return True


# --- refunds --------------------------------------------------------------------------------------------------


def pending_refunds_fen(payment: Payment) -> int:
    return int(db.session.scalar(select(func.coalesce(func.sum(PaymentRefund.amount_fen), 0)).where(
        PaymentRefund.payment_id == payment.id, PaymentRefund.status == RefundStatus.PENDING)) or 0)


def start_refund(payment: Payment, amount_fen: int, reason: str, actor) -> PaymentRefund:
    """Give back all or part of a WeChat Pay payment through WeChat (staff). The refund is pending until WeChat
    says SUCCESS (at once, by callback or by the reconciliation job's query); then ledger.apply_refund moves it."""
    if payment.method != PaymentMethod.WECHAT_PAY:
        raise OnlinePaymentError(_l("Only WeChat Pay payments are refunded here."))
    reason = (reason or "").strip()
    if not reason:
        raise OnlinePaymentError(_l("Say why: the reason stays in the home's ledger."), "reason")
    if len(reason) > ledger.REASON_MAX:
        raise OnlinePaymentError(_l("Keep the reason under %(n)s characters.", n=ledger.REASON_MAX), "reason")
    company = current_company()
    if not wechat_pay.available_for(company):
        raise OnlinePaymentError(_l("WeChat Pay is not set up for this company, so it cannot refund now."))
    ledger.check_refund(payment, amount_fen)
    pending = pending_refunds_fen(payment)
    room = payment.amount_fen - payment.refunded_fen - pending
    if amount_fen > room:
        raise OnlinePaymentError(_l("Enter an amount between ¥0.01 and %(max)s (what is left of this payment "
                                    "after the refunds in progress).", max=format_yuan(max(room, 0))), "amount")
    ledger._lock_household(payment.household_id)
    ledger._refund_plan(payment, amount_fen + pending)  # refuses, writing nothing, when the money has moved on
    refund = PaymentRefund(id=new_id(), payment_id=payment.id, amount_fen=amount_fen, reason=reason,
                           status=RefundStatus.PENDING, out_refund_no=new_out_refund_no(),
                           created_by_id=actor.id if actor else None)
    db.session.add(refund)
    record("fee.wechat_refund_requested", actor=actor, object_type="payment", object_id=payment.id,
           object_label=payment.receipt_number or "", changes={"amount_fen": [None, amount_fen],
                                                              "reason": [None, reason]})
    db.session.commit()
    refund_id = refund.id
    try:
        answer = wechat_pay.refund(company.wechat_sub_mchid, out_trade_no=payment.out_trade_no,
                                   out_refund_no=refund.out_refund_no, amount_fen=amount_fen,
                                   total_fen=payment.amount_fen, reason=reason)
    except wechat_pay.WeChatPayError:
        refund = db.session.get(PaymentRefund, (company.id, refund_id))
        refund.status = RefundStatus.FAILED
        db.session.commit()
        raise
    refund = db.session.get(PaymentRefund, (company.id, refund_id))
    apply_refund_result(refund, answer, source="refund", actor=actor)
    db.session.commit()
    return refund


def apply_refund_result(refund: PaymentRefund, result: dict, *, source: str, actor=None) -> str:
    """Apply what WeChat says of a refund (the refund API's answer, its callback or a query). Exactly once: a
    refund no longer pending is left alone. Returns 'applied', 'failed', 'waiting' or 'repeat'."""
    if result.get("out_refund_no") and result.get("out_refund_no") != refund.out_refund_no:
        raise Mismatch("refund number differs")
    payment = db.session.get(Payment, (refund.company_id, refund.payment_id))
    if result.get("out_trade_no") and result.get("out_trade_no") != payment.out_trade_no:
        raise Mismatch("order number differs")
    status = result.get("status") or result.get("refund_status") or ""
    amount = (result.get("amount") or {}).get("refund")
    if amount is not None and amount != refund.amount_fen:
        raise Mismatch(f"refund amount {amount} differs from {refund.amount_fen}")
    if refund.status != RefundStatus.PENDING:
        return "repeat"
    if result.get("refund_id"):
        refund.wechat_refund_id = str(result["refund_id"])[:64]
    if status == "SUCCESS":
        ledger.apply_refund(refund, source=source, actor=actor,
                            details={"refund_id": result.get("refund_id"), "out_refund_no": refund.out_refund_no})
        refund.refunded_at = _parse_time(result.get("success_time")) or refund.refunded_at
        record("fee.payment_refunded", actor=actor, object_type="payment", object_id=payment.id,
               object_label=payment.receipt_number or "",
               changes={"amount_fen": [None, refund.amount_fen], "reason": [None, refund.reason]})
        return "applied"
    if status in ("CLOSED", "ABNORMAL"):
        refund.status = RefundStatus.FAILED
        record("fee.wechat_refund_failed", actor=actor, object_type="payment", object_id=payment.id,
               object_label=payment.receipt_number or "", changes={"status": [None, status]})
        return "failed"
    return "waiting"


def refresh_refund(refund: PaymentRefund, *, source: str) -> str:
    company = current_company()
    if refund.status != RefundStatus.PENDING or not refund.out_refund_no or not wechat_pay.available_for(company):
        return "unchanged"
    answer = wechat_pay.query_refund(company.wechat_sub_mchid, refund.out_refund_no)
    try:
        outcome = apply_refund_result(refund, answer, source=source)
    except Mismatch as exc:
        db.session.rollback()
        log.warning("WeChat Pay refund query for %s does not fit: %s", refund.out_refund_no, exc)
        return "mismatch"
    db.session.commit()
    return outcome
