"""Staff refunding a WeChat Pay payment (all or part) through WeChat Pay: a company admin asks, WeChat gives the
money back to the payer's WeChat, and the ledger moves when WeChat says SUCCESS (at once, by its callback, or by
the reconciliation job's query). Offline payments are refunded by hand elsewhere (ledger.record_offline_refund)."""

from __future__ import annotations

from flask import abort, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import StringField
from wtforms.validators import InputRequired, Length

from saas.forms import submit
from saas.htmx import render
from saas.i18n import _l
from saas.models import Role
from saas.money import format_yuan, parse_yuan
from saas.tenancy import get_or_404
from saas.validators import CleanText
from tenants.access import current_company, require_role
from tenants.fees import bp, online, wechat_pay
from tenants.fees.models import Payment, PaymentMethod, PaymentRefund


class WeChatRefundForm(FlaskForm):
    amount = StringField(_l("Amount to refund (yuan)"), validators=[InputRequired(), Length(max=20)])
    reason = StringField(_l("Reason"), validators=[InputRequired(), CleanText(), Length(max=200)])

    def amount_fen(self) -> int | None:
        return parse_yuan(self.amount.data)


def _payment(payment_id) -> Payment:
    payment = get_or_404(Payment, payment_id)
    if payment.method != PaymentMethod.WECHAT_PAY:
        abort(404)
    return payment


def _page(payment: Payment, form: WeChatRefundForm, status: int = 200):
    refunds = list(db_refunds(payment))
    room = payment.amount_fen - payment.refunded_fen - online.pending_refunds_fen(payment)
    return render("tenants/fees/refunds/wechat_refund.html", status=status, payment=payment, refunds=refunds,
                  form=form, room=room, available=wechat_pay.available_for(current_company))


def db_refunds(payment: Payment):
    from saas.extensions import db

    return db.session.execute(select(PaymentRefund).where(PaymentRefund.payment_id == payment.id)
                              .order_by(PaymentRefund.created_at.desc())).scalars()


@bp.get("/fees/payments/<wechat_payment_id>/wechat-refund")
@require_role(Role.ADMIN)
def wechat_refund_form(wechat_payment_id):
    payment = _payment(wechat_payment_id)
    return _page(payment, WeChatRefundForm(formdata=None))


@bp.post("/fees/payments/<wechat_payment_id>/wechat-refund")
@require_role(Role.ADMIN)
def wechat_refund(wechat_payment_id):
    payment = _payment(wechat_payment_id)
    form = WeChatRefundForm()

    def action():
        amount = form.amount_fen()
        if amount is None or amount <= 0:
            raise online.OnlinePaymentError(_l("Enter an amount in yuan, such as 120 or 120.50."), "amount")
        return online.start_refund(payment, amount, form.reason.data, current_user)

    def done(refund: PaymentRefund) -> str:
        if refund.status.value == "succeeded":
            return _("%(amount)s refunded to the payer's WeChat.", amount=format_yuan(refund.amount_fen))
        return _("Refund of %(amount)s asked; WeChat Pay is processing it.", amount=format_yuan(refund.amount_fen))

    return submit(form, action, success=done,
                  next_url=lambda _r: url_for(".wechat_refund_form", wechat_payment_id=payment.id)) \
        or _page(_payment(wechat_payment_id), form, status=422)
