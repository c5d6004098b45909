"""WeChat Pay's callbacks (支付通知 / 退款通知): POST /wechatpay/notify, no login, no CSRF token (WeChat signs each
notice instead). Not under /c/<slug>/: the notice names only the order, so PaymentRoute (a platform table) says
which company it belongs to, and everything after that runs in that company's context.

Answers follow WeChat's spec: 204 when the notice is handled (or a repeat of one that was), otherwise 4xx/5xx with
{"code": "FAIL", "message": …} so WeChat sends it again later. A notice with a bad signature, for an unknown order,
of another company's sub-merchant or with an amount that differs from the payment changes nothing and is logged.
"""

from __future__ import annotations

import logging

from flask import Blueprint, jsonify, request
from sqlalchemy import select

from saas.extensions import csrf, db
from saas.models import Company
from saas.tenancy import company_context
from tenants.fees import online, wechat_pay
from tenants.fees.models import Payment, PaymentRefund, PaymentRoute

log = logging.getLogger(__name__)

notify_bp = Blueprint("wechatpay", __name__)


def _fail(status: int, message: str):
    return jsonify(code="FAIL", message=message), status


@notify_bp.post("/wechatpay/notify")
@csrf.exempt
def notify():
    body = request.get_data(cache=False)
    try:
        notice = wechat_pay.parse_callback(request.headers, body)
    except wechat_pay.CallbackRejected as exc:
        log.warning("WeChat Pay callback refused: %s", exc)
        return _fail(401, "signature verification failed")
    resource = notice["resource"]
    event = str(notice.get("event_type") or "")
    out_trade_no = resource.get("out_trade_no")
    if not isinstance(out_trade_no, str) or not out_trade_no:
        log.warning("WeChat Pay callback %s without an order number", event)
        return _fail(400, "no out_trade_no")
    route = db.session.get(PaymentRoute, out_trade_no[:32]) if len(out_trade_no) <= 32 else None
    if route is None:
        log.warning("WeChat Pay callback %s for an unknown order %r", event, out_trade_no)
        return _fail(404, "unknown order")
    company = db.session.get(Company, route.company_id)
    db.session.rollback()
    with company_context(company.id):
        company = db.session.get(Company, route.company_id)
        payment = db.session.execute(select(Payment).where(Payment.id == route.payment_id)).scalar_one_or_none()
        if payment is None:
            log.warning("WeChat Pay callback: order %s has no payment in company %s", out_trade_no, company.id)
            return _fail(404, "unknown order")
        try:
            if event.startswith("REFUND."):
                outcome = _refund(payment, resource)
            else:
                outcome = online.apply_trade(payment, resource, source="callback", company=company)
        except online.Mismatch as exc:
            db.session.rollback()
            log.warning("WeChat Pay callback %s for %s refused: %s", event, out_trade_no, exc)
            return _fail(400, "notice does not match the order")
        except Exception:
            db.session.rollback()
            log.exception("WeChat Pay callback %s for %s failed", event, out_trade_no)
            return _fail(500, "could not apply the notice")
        db.session.commit()
    log.info("WeChat Pay callback %s for %s: %s", event, out_trade_no, outcome)
    return "", 204


def _refund(payment: Payment, resource: dict) -> str:
    out_refund_no = resource.get("out_refund_no")
    refund = db.session.execute(select(PaymentRefund).where(
        PaymentRefund.out_refund_no == out_refund_no, PaymentRefund.payment_id == payment.id)).scalar_one_or_none() \
        if isinstance(out_refund_no, str) else None
    if refund is None:
        raise online.Mismatch(f"unknown refund {out_refund_no!r}")
    if resource.get("sub_mchid") and resource.get("sub_mchid") != online.current_company().wechat_sub_mchid:
        raise online.Mismatch("sub-merchant differs")
    return online.apply_refund_result(refund, resource, source="callback")
