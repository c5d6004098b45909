"""Paid plans, priced by household count. Amounts in fen (分). Stripe price ids come from configuration."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select


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


def live_household_count() -> int:
    from saas.extensions import db
    from tenants.roster.models import Household

    return db.session.scalar(select(func.count()).select_from(Household).where(Household.deleted_at.is_(None)))


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
