"""Paid plans, priced by household count. Amounts in fen (分). Stripe price ids come from configuration."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import current_app

from saas.i18n import _l


@dataclass(frozen=True)
class Plan:
    code: str
    name: object  # lazy string
    max_households: int
    monthly_price_fen: int

    @property
    def stripe_price_id(self) -> str:
        return current_app.config.get("STRIPE_PRICES", {}).get(self.code, "")


PLANS: tuple[Plan, ...] = (
    Plan("basic", _l("Basic"), 500, 39_900),
    Plan("standard", _l("Standard"), 2_000, 99_900),
    Plan("professional", _l("Professional"), 10_000, 299_900),
)
# A trial may hold as many households as the middle plan: enough to import a real roster.
TRIAL_MAX_HOUSEHOLDS = 2_000


class PlanLimitExceeded(Exception):
    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


def get_plan(code: str) -> Plan | None:
    return next((p for p in PLANS if p.code == code), None)


def household_limit(company) -> int:
    plan = get_plan(company.plan_code)
    return plan.max_households if plan else TRIAL_MAX_HOUSEHOLDS


def smallest_plan_for(households: int) -> Plan | None:
    return next((p for p in PLANS if p.max_households >= households), None)


# Households belong to the roster, a company module, which saas/ does not import: the company side registers
# the function that counts them (tenants.register → tenants.plan.count_households) when the app is made.
_household_counter: Callable[[], int] | None = None


def count_households_with(counter: Callable[[], int]) -> None:
    """Register how the current company's live households are counted (the plan limits are in households)."""
    global _household_counter
    _household_counter = counter


def live_household_count() -> int:
    """The current company's live households (not deleted), as the plan limits count them."""
    if _household_counter is None:
        raise RuntimeError("no household counter registered: tenants.register(app) registers it")
    return _household_counter()


def check_household_capacity(company, adding: int, *, existing: int | None = None) -> None:
    """Raise PlanLimitExceeded, naming a plan that fits, when ``adding`` more households would not fit."""
    existing = live_household_count() if existing is None else existing
    limit = household_limit(company)
    needed = existing + adding
    if needed <= limit:
        return
    fitting = smallest_plan_for(needed)
    if fitting is None:
        raise PlanLimitExceeded(_l(
            "Your plan allows %(limit)s households and this would make %(needed)s, more than any plan holds. "
            "Contact us for a custom plan.", limit=limit, needed=needed))
    raise PlanLimitExceeded(_l(
        "Your plan allows %(limit)s households and this would make %(needed)s. "
        "The %(plan)s plan (up to %(max)s households) fits.",
        limit=limit, needed=needed, plan=fitting.name, max=fitting.max_households))




def plan_for_price(price_id: str | None) -> Plan | None:
    """The plan whose configured Stripe price id is ``price_id`` (STRIPE_PRICES reverse lookup)."""
    if not price_id:
        return None
    return next((p for p in PLANS if p.stripe_price_id and p.stripe_price_id == price_id), None)


def plan_label(code: str) -> str:
    plan = get_plan(code)
    return str(plan.name) if plan else str(_l("Free trial"))


@dataclass(frozen=True)
class BillingStatus:
    """What the billing pages say about a company's plan, decided once here rather than in templates.

    kind: trial, trial_ended, active (paid through Stripe, renews itself), active_until (paid by transfer,
    ends at ``until``), expired (a transfer-paid plan that ended), past_due, canceled, suspended.
    """

    kind: str
    read_only: bool
    plan_code: str
    until: object = None  # datetime or None
    days_left: int | None = None
    stripe_managed: bool = False

    @property
    def plan_name(self) -> str:
        return plan_label(self.plan_code)

    @property
    def has_paid_plan(self) -> bool:
        return self.kind in ("active", "active_until", "past_due")


def billing_status(company, now=None) -> BillingStatus:
    from saas.models import SubscriptionStatus
    from saas.tenancy import utcnow

    now = now or utcnow()
    read_only = company.is_read_only(now)
    stripe_managed = company.stripe_subscription_id is not None
    common = {"read_only": read_only, "plan_code": company.plan_code, "stripe_managed": stripe_managed}
    status = company.subscription_status
    if company.suspended_at is not None:
        return BillingStatus("suspended", until=company.suspended_at, **common)
    if status == SubscriptionStatus.TRIALING:
        kind = "trial_ended" if read_only else "trial"
        return BillingStatus(kind, until=company.trial_ends_at, days_left=company.trial_days_left(now), **common)
    if status == SubscriptionStatus.ACTIVE:
        if stripe_managed:
            return BillingStatus("active", until=company.current_period_end, **common)
        return BillingStatus("expired" if read_only else "active_until", until=company.current_period_end, **common)
    if status == SubscriptionStatus.PAST_DUE:
        return BillingStatus("past_due", until=company.current_period_end, **common)
    return BillingStatus("canceled", until=company.current_period_end, **common)
