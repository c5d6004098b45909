"""The owner's bills (/my/bills): what is due by home (oldest first), credit, what was paid with its receipts, and
paying one, several or all open bills of a home with WeChat Pay (a Native QR on a computer or at the counter, H5
in a phone's browser), or the company's offline instructions when online payment is not available.

An owner sees only the homes bound to their own membership (tenants/portal/permissions.py own_households); a bill
or payment of any other home is 404."""

from __future__ import annotations

import io
import uuid
from datetime import timedelta
from urllib.parse import quote

import segno
from flask import abort, current_app, flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import bindparam, select

from saas.extensions import db
from saas.htmx import redirect_to, render
from saas.models import Role
from saas.tenancy import built_once, get_or_404
from tenants.access import current_company, current_membership, require_role
from tenants.fees import bp, ledger, online, wechat_pay
from tenants.fees.models import Bill, CreditEntry, Payment, PaymentMethod, PaymentStatus
from tenants.fees.payment_states import SETTLED
from tenants.portal.permissions import own_households

HISTORY = 20  # paid payments shown per home


def endpoint_exists(name: str) -> bool:
    """For links to pages another part of the module adds (receipts, invoices): shown once they exist."""
    return name in current_app.view_functions


def _own_ids() -> list[uuid.UUID]:
    return [h.id for h in own_households(current_membership)]


def _own_payment(payment_id) -> Payment:
    payment = get_or_404(Payment, payment_id)
    if payment.household_id not in _own_ids():
        abort(404)
    return payment


def _is_phone() -> bool:
    agent = request.headers.get("User-Agent", "")
    return any(word in agent for word in ("Mobile", "Android", "iPhone")) and "iPad" not in agent


def _in_wechat() -> bool:
    return "MicroMessenger" in request.headers.get("User-Agent", "")


def offline_context() -> dict:
    return {"offline_instructions": ledger.settings().offline_instructions,
            "service_phone": current_company.service_phone}


# The owner's bills page's reads, built once and run with parameters: what the homes owe, and per home the
# paid payments, the WeChat payments still waiting and the credit entries.
_DUE = built_once(select(Bill).where(Bill.household_id.in_(bindparam("ids", expanding=True)),
                                     Bill.amount_fen > Bill.paid_fen + Bill.credited_fen)
                  .order_by(Bill.due_on, Bill.period_start, Bill.created_at, Bill.id))
_PAID = built_once(select(Payment).where(Payment.household_id == bindparam("household_id"),
                                         Payment.status.in_(SETTLED))
                   .order_by(Payment.paid_at.desc(), Payment.created_at.desc()).limit(HISTORY))
_WAITING = built_once(select(Payment).where(Payment.household_id == bindparam("household_id"),
                                            Payment.method == PaymentMethod.WECHAT_PAY,
                                            Payment.status == PaymentStatus.PENDING)
                      .order_by(Payment.created_at.desc()).limit(3))
_CREDIT_ENTRIES = built_once(select(CreditEntry).where(CreditEntry.household_id == bindparam("household_id"))
                             .order_by(CreditEntry.created_at.desc()).limit(10))


@bp.get("/my/bills")
@require_role(Role.OWNER)
def my_bills():
    households = own_households(current_membership)
    ids = [h.id for h in households]
    bills = list(db.session.execute(_DUE, {"ids": ids}).scalars()) if ids else []
    due = {h.id: [b for b in bills if b.household_id == h.id] for h in households}
    credit = {h.id: ledger.credit_balance(h.id) for h in households}

    def rows(statement, household_id):
        return list(db.session.execute(statement, {"household_id": household_id}).scalars())

    paid = {h.id: rows(_PAID, h.id) for h in households}
    waiting = {h.id: rows(_WAITING, h.id) for h in households}
    credit_entries = {h.id: rows(_CREDIT_ENTRIES, h.id) for h in households if credit[h.id]}
    return render("tenants/fees/my/bills.html", households=households, due=due, credit=credit, paid=paid,
                  waiting=waiting, credit_entries=credit_entries, online=wechat_pay.available_for(current_company),
                  endpoint_exists=endpoint_exists, last_day=lambda end: end - timedelta(days=1),
                  **offline_context())


@bp.post("/my/bills/pay")
@require_role(Role.OWNER)
def pay():
    ids = _own_ids()
    household_raw = request.form.get("household_id", "")
    pay_all = request.form.get("which") == "all"
    chosen = [] if pay_all else request.form.getlist("bill_id")
    if not pay_all and not chosen:
        flash(_("Choose at least one bill to pay."), "warning")
        return redirect_to(url_for(".my_bills"))
    try:
        bill_ids = [uuid.UUID(value) for value in chosen] if chosen else None
        household_ids = ids
        if bill_ids is None:
            household = uuid.UUID(household_raw) if household_raw else None
            if household is None or household not in ids:
                raise ValueError
            household_ids = [household]
    except ValueError:
        flash(_("Choose at least one bill to pay."), "warning")
        return redirect_to(url_for(".my_bills"))
    channel = "h5" if _is_phone() and not _in_wechat() else "native"
    try:
        payment = online.create_order(household_ids, bill_ids, channel=channel, payer=current_user,
                                      client_ip=request.remote_addr or "")
    except (online.OnlinePaymentError, wechat_pay.WeChatPayError) as exc:
        db.session.rollback()
        flash(str(exc), "danger")
        return redirect_to(url_for(".my_bills"))
    back = url_for(".my_payment", wechat_payment_id=payment.id, _external=True)
    if payment.wechat_channel == "h5" and payment.wechat_code_url:
        joiner = "&" if "?" in payment.wechat_code_url else "?"
        return redirect_to(f"{payment.wechat_code_url}{joiner}redirect_url={quote(back, safe='')}")
    return redirect_to(url_for(".my_payment", wechat_payment_id=payment.id))


def _payment_context(payment: Payment) -> dict:
    household = next((h for h in own_households(current_membership) if h.id == payment.household_id), None)
    return {"payment": payment, "household": household, "open": payment.status in online.OPEN,
            "paid": payment.status in SETTLED, "endpoint_exists": endpoint_exists, **offline_context()}


@bp.get("/my/bills/payments/<wechat_payment_id>")
@require_role(Role.OWNER)
def my_payment(wechat_payment_id):
    payment = _own_payment(wechat_payment_id)
    return render("tenants/fees/online/payment.html", **_payment_context(payment))


@bp.get("/my/bills/payments/<wechat_payment_id>/status")
@require_role(Role.OWNER)
def payment_status(wechat_payment_id):
    """The payment's status as the page polls it (htmx, every few seconds while waiting); reads only."""
    payment = _own_payment(wechat_payment_id)
    return render("tenants/fees/online/payment.html", "status", **_payment_context(payment))


@bp.post("/my/bills/payments/<wechat_payment_id>/check")
@require_role(Role.OWNER)
def check_payment(wechat_payment_id):
    """"I have paid": ask WeChat now instead of waiting for its callback."""
    payment = _own_payment(wechat_payment_id)
    try:
        online.refresh(payment, source="owner")
    except wechat_pay.WeChatPayError as exc:
        db.session.rollback()
        flash(str(exc), "warning")
    payment = _own_payment(wechat_payment_id)
    if payment.status in online.OPEN:
        flash(_("WeChat Pay has not confirmed this payment yet. If you have paid, it will show here within a few "
                "minutes."), "info")
    return redirect_to(url_for(".my_payment", wechat_payment_id=payment.id))


@bp.get("/my/bills/payments/<wechat_payment_id>/qr.svg")
@require_role(Role.OWNER)
def payment_qr(wechat_payment_id):
    payment = _own_payment(wechat_payment_id)
    if payment.wechat_channel != "native" or not payment.wechat_code_url or payment.status not in online.OPEN:
        abort(404)
    out = io.BytesIO()
    segno.make(payment.wechat_code_url, error="m").save(out, kind="svg", scale=6, border=2)
    return out.getvalue(), 200, {"Content-Type": "image/svg+xml", "Cache-Control": "no-store"}

