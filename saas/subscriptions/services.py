"""Plans and payments: Stripe Checkout and customer portal, Stripe webhooks, and the platform admin's
manual plan activation (bank transfer, 对公转账), trial extension and suspension.

Each verb checks, changes the company, records an audit event the company admin can read (platform actions
also a PlatformAuditEvent) and commits. Stripe is called before anything is written, so a failing call leaves
the company exactly as it was.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import uuid
from calendar import monthrange
from datetime import UTC, date, datetime, timedelta

import stripe
from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from saas.audit import diff, record
from saas.clock import aware, end_of_local_day
from saas.errors import ServiceError
from saas.extensions import db
from saas.i18n import _l
from saas.models import Company, PlatformAuditEvent, StripeEvent, SubscriptionStatus, User
from saas.subscriptions import stripe_client
from saas.subscriptions.plans import Plan, get_plan, live_household_count, plan_for_price, smallest_plan_for
from saas.tenancy import company_context, utcnow

log = logging.getLogger(__name__)

WEBHOOK_TOLERANCE_SECONDS = 300
MAX_TRIAL_EXTENSION_DAYS = 90
MAX_MANUAL_MONTHS = 36
LIVE = (SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE)

NOT_CONFIGURED = _l("Online card payment is not set up. Pay by bank transfer (对公转账) instead: "
                    "the platform activates your plan when the transfer arrives.")
STRIPE_FAILED = _l("The payment service did not respond as expected. Nothing was changed; "
                   "please try again in a few minutes.")


class SubscriptionError(ServiceError):
    """The company's plan (checkout, the customer portal) or the platform's plan actions refused the change."""



def _snapshot(company: Company) -> dict:
    return {
        "status": company.subscription_status,
        "plan": company.plan_code,
        "trial_ends_at": aware(company.trial_ends_at),
        "current_period_end": aware(company.current_period_end),
        "stripe_customer_id": company.stripe_customer_id,
        "stripe_subscription_id": company.stripe_subscription_id,
        "suspended_at": aware(company.suspended_at),
    }


def _plan_too_small(plan: Plan, households: int):
    fitting = smallest_plan_for(households)
    if fitting is None:
        return _l("This company has %(n)s households, more than any plan holds.", n=households)
    return _l("This company has %(n)s households; the %(plan)s plan holds %(max)s. "
              "The %(fitting)s plan (up to %(fitting_max)s households) fits.",
              n=households, plan=plan.name, max=plan.max_households, fitting=fitting.name,
              fitting_max=fitting.max_households)


# --- Stripe Checkout and the customer portal ------------------------------------------------------------

# Idempotency keys are per intent, not per HTTP request. The billing page renders a fresh random `attempt`
# token into its forms: a double tap, a resubmitted form or the client's own network retries reuse it, so
# Stripe answers with the session it already made instead of opening a second one, while reloading the page
# starts a new attempt. Stripe refuses a reused key with different parameters, so the plan is in the key.
# The customer is made once per company: its key is the company id (and its name, the only other parameter).
_ATTEMPT = re.compile(r"^[A-Za-z0-9-]{8,64}$")


def new_attempt() -> str:
    return uuid.uuid4().hex


def _attempt(value: str | None) -> str:
    return value if value and _ATTEMPT.match(value) else new_attempt()


def _customer_id(sc: stripe.StripeClient, company: Company) -> str:
    if company.stripe_customer_id:
        return company.stripe_customer_id
    name_hash = hashlib.sha256(company.name.encode()).hexdigest()[:12]
    customer = sc.v1.customers.create(
        {"name": company.name, "metadata": {"company_id": str(company.id), "slug": company.slug}},
        {"idempotency_key": f"customer-{company.id}-{name_hash}"},
    )
    return customer.id


def start_checkout(company: Company, plan_code: str, *, actor: User, attempt: str | None, success_url: str,
                   cancel_url: str) -> str:
    """Open a subscription-mode Checkout Session for ``plan_code``; returns the URL to send the browser to.

    Nothing changes the plan here: the webhook does, when Stripe confirms the payment.
    """
    plan = get_plan(plan_code or "")
    if plan is None:
        raise SubscriptionError(_l("Choose one of the plans."), "plan")
    if not stripe_client.is_configured():
        raise SubscriptionError(NOT_CONFIGURED)
    if not plan.stripe_price_id:
        raise SubscriptionError(_l("The %(plan)s plan cannot be paid by card yet. Pay by bank transfer (对公转账) "
                              "and the platform activates it.", plan=plan.name), "plan")
    if company.suspended_at is not None:
        raise SubscriptionError(_l("This company is suspended by the platform. Contact the platform first."))
    if company.stripe_subscription_id and company.subscription_status in LIVE:
        raise SubscriptionError(_l("You already pay by card. Use “Manage billing” to change your plan or card."))
    households = live_household_count()
    if households > plan.max_households:
        raise SubscriptionError(_plan_too_small(plan, households), "plan")

    nonce = _attempt(attempt)
    metadata = {"company_id": str(company.id), "plan": plan.code}
    try:
        sc = stripe_client.client()
        customer_id = _customer_id(sc, company)
        session = sc.v1.checkout.sessions.create(
            {
                "mode": "subscription",
                "customer": customer_id,
                "client_reference_id": str(company.id),
                "line_items": [{"price": plan.stripe_price_id, "quantity": 1}],
                "metadata": metadata,
                "subscription_data": {"metadata": metadata},
                "success_url": success_url + "?session_id={CHECKOUT_SESSION_ID}",
                "cancel_url": cancel_url,
                "locale": "auto",
            },
            {"idempotency_key": f"checkout-{company.id}-{plan.code}-{nonce}"},
        )
        url = session.url
    except stripe.StripeError as exc:
        log.warning("stripe checkout failed for company %s: %s", company.id, exc)
        raise SubscriptionError(STRIPE_FAILED) from None
    if not url:
        log.warning("stripe checkout session for company %s has no url", company.id)
        raise SubscriptionError(STRIPE_FAILED)

    if company.stripe_customer_id != customer_id:
        record("subscription.customer_linked", actor=actor, object_type="company", object_id=company.id,
               object_label=company.name, changes={"stripe_customer_id": [company.stripe_customer_id, customer_id]},
               company_id=company.id)
        company.stripe_customer_id = customer_id
    record("subscription.checkout_started", actor=actor, object_type="company", object_id=company.id,
           object_label=company.name, changes={"plan": plan.code}, company_id=company.id)
    db.session.commit()
    return url


def open_portal(company: Company, *, attempt: str | None, return_url: str) -> str:
    """A Stripe customer portal session (change card, plan, cancel); returns its URL. Changes nothing here."""
    if not stripe_client.is_configured():
        raise SubscriptionError(NOT_CONFIGURED)
    if not company.stripe_customer_id:
        raise SubscriptionError(_l("There is no card payment to manage yet. Choose a plan first."))
    try:
        session = stripe_client.client().v1.billing_portal.sessions.create(
            {"customer": company.stripe_customer_id, "return_url": return_url},
            {"idempotency_key": f"portal-{company.id}-{_attempt(attempt)}"},
        )
        url = session.url
    except stripe.StripeError as exc:
        log.warning("stripe portal failed for company %s: %s", company.id, exc)
        raise SubscriptionError(STRIPE_FAILED) from None
    if not url:
        raise SubscriptionError(STRIPE_FAILED)
    return url


# --- Stripe webhooks ----------------------------------------------------------------------------------


class WebhookRejected(Exception):
    """Not a genuine, fresh Stripe event: answer 400 and change nothing."""


def verify_webhook(payload: bytes, signature: str | None) -> dict:
    """Check the Stripe-Signature header (HMAC and a 5-minute timestamp tolerance); return the event as a dict."""
    secret = current_app.config.get("STRIPE_WEBHOOK_SECRET") or ""
    if not secret:
        log.error("Stripe webhook refused: STRIPE_WEBHOOK_SECRET is not set")
        raise WebhookRejected("webhook secret not configured")
    try:
        # The verification half of stripe.Webhook.construct_event; the event is then read as plain JSON.
        stripe.WebhookSignature.verify_header(payload, signature, secret, WEBHOOK_TOLERANCE_SECONDS)
        event = json.loads(payload)
    except (ValueError, stripe.SignatureVerificationError) as exc:
        raise WebhookRejected(str(exc)) from None
    if not (isinstance(event, dict) and isinstance(event.get("id"), str) and isinstance(event.get("type"), str)
            and _timestamp(event.get("created")) is not None):
        raise WebhookRejected("not a Stripe event")
    return event


STRIPE_STATUS = {
    "active": SubscriptionStatus.ACTIVE,
    "trialing": SubscriptionStatus.ACTIVE,  # a Stripe-side trial is a plan the company has chosen
    "past_due": SubscriptionStatus.PAST_DUE,
    "unpaid": SubscriptionStatus.PAST_DUE,
    "canceled": SubscriptionStatus.CANCELED,
    "incomplete_expired": SubscriptionStatus.CANCELED,
    "paused": SubscriptionStatus.CANCELED,  # no payment is being taken: writes stop until it resumes
    # "incomplete": the first payment has not happened yet; nothing changes.
}


def _id(value) -> str | None:
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) and value else None


def _dict(value) -> dict:
    return value if isinstance(value, dict) else {}


def _list(value) -> list:
    data = _dict(value).get("data")
    return [item for item in data if isinstance(item, dict)] if isinstance(data, list) else []


def _timestamp(value) -> datetime | None:
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**33:  # up to the year 2242
        return datetime.fromtimestamp(value, UTC)
    return None


def _invoice_subscription(invoice: dict) -> str | None:
    # API versions since 2025-03-31 moved it under parent.subscription_details; older ones have it on top.
    details = _dict(_dict(invoice.get("parent")).get("subscription_details"))
    return _id(details.get("subscription")) or _id(invoice.get("subscription"))


def _subscription_period_end(sub: dict) -> datetime | None:
    # Since 2025-03-31 the period lives on the subscription items; older API versions have it on top.
    ends = [_timestamp(item.get("current_period_end")) for item in _list(sub.get("items"))]
    ends.append(_timestamp(sub.get("current_period_end")))
    ends = [e for e in ends if e is not None]
    return max(ends) if ends else None


def _subscription_plan(sub: dict) -> Plan | None:
    for item in _list(sub.get("items")):
        plan = plan_for_price(_id(item.get("price")))
        if plan is not None:
            return plan
    return get_plan(str(_dict(sub.get("metadata")).get("plan") or ""))


def _metadata_company_id(obj: dict) -> uuid.UUID | None:
    details = _dict(_dict(obj.get("parent")).get("subscription_details"))
    for candidate in (_dict(obj.get("metadata")).get("company_id"), obj.get("client_reference_id"),
                      _dict(details.get("metadata")).get("company_id")):
        try:
            return uuid.UUID(str(candidate))
        except ValueError:
            continue
    return None


def _find_company(obj: dict) -> Company | None:
    """The company an event is about, locked for the rest of the transaction (PostgreSQL row lock), so two
    events for one company are applied one after the other. Companies are a platform table: no scoping."""
    subscription_id = obj.get("id") if obj.get("object") == "subscription" else (
        _id(obj.get("subscription")) or _invoice_subscription(obj))
    conditions = []
    if customer_id := _id(obj.get("customer")):
        conditions.append(Company.stripe_customer_id == customer_id)
    if isinstance(subscription_id, str) and subscription_id:
        conditions.append(Company.stripe_subscription_id == subscription_id)
    if company_id := _metadata_company_id(obj):
        conditions.append(Company.id == company_id)
    for condition in conditions:
        company = db.session.execute(
            select(Company).where(condition).with_for_update().execution_options(populate_existing=True)
        ).scalar_one_or_none()
        if company is not None:
            return company
    return None


def _on_checkout_completed(company: Company, session: dict):
    if session.get("mode") != "subscription":
        return "ignored_not_subscription", None
    subscription_id = _id(session.get("subscription"))
    if (subscription_id and company.stripe_subscription_id not in (None, subscription_id)
            and company.subscription_status in LIVE):
        # Two checkouts paid at once (two tabs): keep the first, and say so loudly; a refund is a human job.
        log.error("company %s paid a second subscription %s while %s is live", company.id, subscription_id,
                  company.stripe_subscription_id)
        return "ignored_second_subscription", None
    if customer_id := _id(session.get("customer")):
        company.stripe_customer_id = company.stripe_customer_id or customer_id
    if subscription_id:
        company.stripe_subscription_id = subscription_id
    if session.get("payment_status") not in ("paid", "no_payment_required"):
        return "applied", "subscription.checkout_completed"  # linked; the subscription events activate it
    company.subscription_status = SubscriptionStatus.ACTIVE
    if plan := get_plan(str(_dict(session.get("metadata")).get("plan") or "")):
        company.plan_code = plan.code
    return "applied", "subscription.activated"


def _on_subscription(company: Company, sub: dict, *, deleted: bool = False):
    status = STRIPE_STATUS.get("canceled" if deleted else str(sub.get("status")))
    if status is None:
        return "ignored_status", None
    subscription_id = _id(sub.get("id"))
    if subscription_id != company.stripe_subscription_id:
        # Another subscription than the one on record: adopt it only when it is live and the one on record
        # is not (a new subscription after a canceled one, or its events arriving before checkout's).
        on_record_live = company.stripe_subscription_id is not None and company.subscription_status in LIVE
        if status not in LIVE or on_record_live or subscription_id is None:
            return "ignored_other_subscription", None
        company.stripe_subscription_id = subscription_id
    if customer_id := _id(sub.get("customer")):
        company.stripe_customer_id = company.stripe_customer_id or customer_id
    previous = company.subscription_status
    company.subscription_status = status
    if period_end := _subscription_period_end(sub):
        company.current_period_end = period_end
    if plan := _subscription_plan(sub):
        company.plan_code = plan.code
    if status == previous:
        return "applied", "subscription.updated"
    return "applied", {SubscriptionStatus.ACTIVE: "subscription.activated",
                       SubscriptionStatus.PAST_DUE: "subscription.past_due",
                       SubscriptionStatus.CANCELED: "subscription.canceled"}[status]


def _on_invoice_paid(company: Company, invoice: dict):
    if _invoice_subscription(invoice) != company.stripe_subscription_id or company.stripe_subscription_id is None:
        return "ignored_other_subscription", None
    if company.subscription_status == SubscriptionStatus.CANCELED:
        return "ignored_canceled", None
    company.subscription_status = SubscriptionStatus.ACTIVE
    ends = [_timestamp(_dict(line.get("period")).get("end")) for line in _list(invoice.get("lines"))]
    ends = [e for e in ends if e is not None]
    current = aware(company.current_period_end)
    if ends and (current is None or max(ends) > current):
        company.current_period_end = max(ends)
    return "applied", "subscription.renewed"


def _on_invoice_failed(company: Company, invoice: dict):
    if _invoice_subscription(invoice) != company.stripe_subscription_id or company.stripe_subscription_id is None:
        return "ignored_other_subscription", None
    if company.subscription_status == SubscriptionStatus.CANCELED:
        return "ignored_canceled", None
    company.subscription_status = SubscriptionStatus.PAST_DUE
    return "applied", "subscription.past_due"


_HANDLERS = {
    "checkout.session.completed": _on_checkout_completed,
    "customer.subscription.created": _on_subscription,
    "customer.subscription.updated": _on_subscription,
    "customer.subscription.deleted": lambda company, sub: _on_subscription(company, sub, deleted=True),
    "invoice.paid": _on_invoice_paid,
    "invoice.payment_failed": _on_invoice_failed,
}


def apply_webhook_event(event: dict) -> str:
    """Apply one verified Stripe event exactly once; returns what happened (stored with the event id).

    The StripeEvent row is inserted in the same transaction as the change, so a replay (or a concurrent
    duplicate delivery, which fails on the primary key) changes nothing. Events older than the newest one
    already applied to the company (``stripe_state_at``) are recorded but change nothing: out-of-order delivery
    cannot roll a company back.
    """
    event_id = event["id"][:255]
    if db.session.get(StripeEvent, event_id) is not None:
        return "duplicate"
    created = _timestamp(event["created"])
    handler = _HANDLERS.get(event["type"])
    obj = _dict(event.get("data")).get("object")
    if handler is None:
        return _finish(event, created, None, "ignored_type")
    if not isinstance(obj, dict):
        return _finish(event, created, None, "ignored_no_object")
    company = _find_company(obj)
    if company is None:
        log.warning("stripe event %s (%s) matches no company", event_id, event["type"])
        return _finish(event, created, None, "ignored_no_company")
    with company_context(company.id):
        if company.stripe_state_at is not None and created < aware(company.stripe_state_at):
            return _finish(event, created, company.id, "stale")
        before = _snapshot(company)
        outcome, action = handler(company, obj)
        if outcome == "applied":
            company.stripe_state_at = created
            changes = diff(before, _snapshot(company))
            if changes:
                audit = record(action, actor=None, object_type="company", object_id=company.id,
                               object_label=company.name, changes={**changes, "stripe_event": event_id},
                               company_id=company.id)
                audit.actor_name = "Stripe"
        return _finish(event, created, company.id, outcome)


def _finish(event: dict, created: datetime, company_id: uuid.UUID | None, outcome: str) -> str:
    db.session.add(StripeEvent(id=event["id"][:255], type=event["type"][:100], stripe_created_at=created,
                               company_id=company_id, outcome=outcome))
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        if db.session.get(StripeEvent, event["id"][:255]) is not None:
            return "duplicate"  # the same event, delivered twice at once, was applied by the other request
        raise
    return outcome


# --- the platform admin -------------------------------------------------------------------------------


def end_of_day(day: date) -> datetime:
    """The last second of ``day`` in China, as UTC: "paid until 2026-06-30" means through that day."""
    return end_of_local_day(day)


def add_months(moment: datetime, months: int) -> datetime:
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    return moment.replace(year=year, month=month, day=min(moment.day, monthrange(year, month)[1]))


def _platform_audit(company: Company, action: str, *, actor: User, company_action: str, changes: dict,
                    details: dict) -> None:
    """The same action in the platform's log and in the company's own audit log (its admin reads it)."""
    db.session.add(PlatformAuditEvent(actor_id=actor.id, actor_name=actor.name, action=action,
                                      company_id=company.id, details=details))
    record(company_action, actor=actor, object_type="company", object_id=company.id, object_label=company.name,
           changes=changes, company_id=company.id)


def activate_manually(company: Company, *, plan_code: str, reference: str, actor: User, months: int | None = None,
                      period_end: datetime | None = None, now: datetime | None = None) -> Company:
    """A plan paid by bank transfer (对公转账): active until ``period_end`` (or ``months`` from the current
    manual period end, or from now), with the transfer reference recorded in both audit logs."""
    now = now or utcnow()
    plan = get_plan(plan_code or "")
    if plan is None:
        raise SubscriptionError(_l("Choose a plan."), "plan")
    reference = (reference or "").strip()
    if not reference:
        raise SubscriptionError(_l("Enter the bank-transfer reference so the payment can be traced."), "reference")
    if company.stripe_subscription_id and company.subscription_status in LIVE:
        raise SubscriptionError(_l("This company pays by card through Stripe. Its plan changes there; "
                              "cancel that subscription before activating a plan by hand."))
    with company_context(company.id):
        households = live_household_count()
        if households > plan.max_households:
            raise SubscriptionError(_plan_too_small(plan, households), "plan")
        if months is not None:
            if not 1 <= months <= MAX_MANUAL_MONTHS:
                raise SubscriptionError(_l("Enter a whole number of months from 1 to %(max)s.", max=MAX_MANUAL_MONTHS),
                                   "months")
            current_end = aware(company.current_period_end)
            renewing = (company.subscription_status == SubscriptionStatus.ACTIVE and company.stripe_subscription_id
                        is None and current_end is not None and current_end > now)
            period_end = add_months(current_end if renewing else now, months)
        if period_end is None:
            raise SubscriptionError(_l("Enter the number of months paid or the date the plan is paid until."), "months")
        period_end = aware(period_end)
        if period_end <= now:
            raise SubscriptionError(_l("The end date must be in the future."), "period_end")
        if period_end > now + timedelta(days=366 * 5):
            raise SubscriptionError(_l("The end date can be at most 5 years ahead."), "period_end")

        before = _snapshot(company)
        company.subscription_status = SubscriptionStatus.ACTIVE
        company.plan_code = plan.code
        company.current_period_end = period_end
        # A canceled card subscription stays with Stripe; the company is now on a transfer-paid plan, and
        # Stripe events older than this decision must not undo it.
        company.stripe_subscription_id = None
        company.stripe_state_at = now
        changes = diff(before, _snapshot(company))
        _platform_audit(company, "company.plan_activated", actor=actor, company_action="platform.plan_activated",
                        changes={**changes, "reference": reference},
                        details={"plan": plan.code, "period_end": period_end.isoformat(), "months": months,
                                 "reference": reference, "households": households,
                                 "changes": changes})
        db.session.commit()
    return company


def extend_trial(company: Company, *, days: int, actor: User, now: datetime | None = None) -> Company:
    now = now or utcnow()
    if not isinstance(days, int) or not 1 <= days <= MAX_TRIAL_EXTENSION_DAYS:
        raise SubscriptionError(_l("Enter a whole number of days from 1 to %(max)s.", max=MAX_TRIAL_EXTENSION_DAYS),
                           "days")
    if company.subscription_status != SubscriptionStatus.TRIALING:
        raise SubscriptionError(_l("This company is not on a trial, so there is no trial to extend."))
    with company_context(company.id):
        before = _snapshot(company)
        current_end = aware(company.trial_ends_at)
        # An ended trial restarts from today, so the company gets the days it was given.
        company.trial_ends_at = max(current_end or now, now) + timedelta(days=days)
        changes = diff(before, _snapshot(company))
        _platform_audit(company, "company.trial_extended", actor=actor, company_action="platform.trial_extended",
                        changes={**changes, "days": days},
                        details={"days": days, "trial_ends_at": company.trial_ends_at.isoformat(),
                                 "changes": changes})
        db.session.commit()
    return company


def suspend(company: Company, *, reason: str, actor: User, now: datetime | None = None) -> Company:
    reason = (reason or "").strip()
    if not reason:
        raise SubscriptionError(_l("Enter the reason."), "reason")
    if company.suspended_at is not None:
        raise SubscriptionError(_l("This company is already suspended."))
    with company_context(company.id):
        before = _snapshot(company)
        company.suspended_at = now or utcnow()
        changes = diff(before, _snapshot(company))
        _platform_audit(company, "company.suspended", actor=actor, company_action="platform.suspended",
                        changes={**changes, "reason": reason}, details={"reason": reason, "changes": changes})
        db.session.commit()
    return company


def unsuspend(company: Company, *, reason: str, actor: User) -> Company:
    reason = (reason or "").strip()
    if not reason:
        raise SubscriptionError(_l("Enter the reason."), "reason")
    if company.suspended_at is None:
        raise SubscriptionError(_l("This company is not suspended."))
    with company_context(company.id):
        before = _snapshot(company)
        company.suspended_at = None
        changes = diff(before, _snapshot(company))
        _platform_audit(company, "company.unsuspended", actor=actor, company_action="platform.unsuspended",
                        changes={**changes, "reason": reason}, details={"reason": reason, "changes": changes})
        db.session.commit()
    return company
