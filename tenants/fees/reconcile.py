"""Reconciliation of WeChat Pay (`flask check-fee-payments`, every 5 minutes from saas.cron): a callback can be
lost, so orders still open N minutes after they were made (WECHATPAY_RECONCILE_MINUTES, default 10) are queried:
SUCCESS is applied (exactly once, as the callback would), an expired order still unpaid is closed at WeChat and
here, and refunds still pending are queried too. One company's context at a time; idempotent.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select

from saas.clock import utcnow
from saas.extensions import db
from saas.models import Company
from saas.tenancy import company_context
from tenants.fees import online, wechat_pay
from tenants.fees.models import Payment, PaymentMethod, PaymentRefund, RefundStatus

log = logging.getLogger(__name__)

COUNTS = ("checked", "paid", "closed", "refunds_applied", "refunds_failed", "failed")
BATCH = 200  # orders per company and run; the next run carries on


def minutes() -> int:
    return int(current_app.config.get("WECHATPAY_RECONCILE_MINUTES", 10))


def companies_to_check() -> list:
    """Companies that are WeChat Pay sub-merchants (`companies` is a platform table: no all_companies() needed).
    A read-only or suspended company is checked too: money its owners paid must still reach their bills."""
    ids = list(db.session.execute(select(Company.id).where(Company.wechat_sub_mchid.is_not(None),
                                                           Company.wechat_sub_mchid != "")
                                  .order_by(Company.created_at, Company.id)).scalars())
    db.session.rollback()
    return ids


def check_company(now: datetime) -> Counter:
    """The current company's open orders older than N minutes and its pending refunds."""
    counts: Counter = Counter()
    cutoff = now - timedelta(minutes=minutes())
    payments = list(db.session.execute(
        select(Payment).where(Payment.method == PaymentMethod.WECHAT_PAY, Payment.status.in_(online.OPEN),
                              Payment.created_at <= cutoff)
        .order_by(Payment.created_at).limit(BATCH)).scalars())
    for payment in payments:
        counts["checked"] += 1
        try:
            outcome = online.refresh(payment, source="reconcile")
            payment = db.session.get(Payment, (payment.company_id, payment.id))
            if outcome == "paid":
                counts["paid"] += 1
            elif outcome == "closed":
                counts["closed"] += 1
            elif payment.status in online.OPEN and payment.expires_at is not None and payment.expires_at <= now:
                if online.close_order(payment, source="reconcile"):
                    counts["closed"] += 1
        except wechat_pay.WeChatPayError:
            db.session.rollback()
            counts["failed"] += 1
    refunds = list(db.session.execute(
        select(PaymentRefund).where(PaymentRefund.status == RefundStatus.PENDING,
                                    PaymentRefund.out_refund_no.is_not(None), PaymentRefund.created_at <= cutoff)
        .order_by(PaymentRefund.created_at).limit(BATCH)).scalars())
    for refund in refunds:
        try:
            outcome = online.refresh_refund(refund, source="reconcile")
        except wechat_pay.WeChatPayError:
            db.session.rollback()
            counts["failed"] += 1
            continue
        if outcome == "applied":
            counts["refunds_applied"] += 1
        elif outcome == "failed":
            counts["refunds_failed"] += 1
    return counts


def check_all_companies(now: datetime | None = None) -> dict[str, int]:
    """Job: ``check_company`` in each sub-merchant company's own context. Returns the totals."""
    now = now or utcnow()
    totals: Counter = Counter({key: 0 for key in COUNTS})
    checked = 0
    if wechat_pay.configured():
        for company_id in companies_to_check():
            with company_context(company_id):
                try:
                    totals.update(check_company(now))
                except Exception:  # one company's failure must not stop the others
                    db.session.rollback()
                    log.exception("WeChat Pay reconciliation failed for company %s", company_id)
                    totals["failed"] += 1
                    continue
            checked += 1
    result = {"companies": checked, **{key: totals[key] for key in COUNTS}}
    log.info("%s", summary(result))
    return result


def summary(totals: dict[str, int]) -> str:
    return ("WeChat Pay reconciliation: {companies} companies; {checked} open orders checked, {paid} found paid, "
            "{closed} closed; {refunds_applied} refunds applied, {refunds_failed} refunds failed; {failed} failed."
            ).format(**totals)
