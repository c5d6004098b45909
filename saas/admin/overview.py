"""The platform admin's figures: companies by plan state, trials ending soon, households, jobs this week.

A fixed number of aggregate queries however many companies there are. The plan state is computed in SQL by
``state_expression``, which mirrors ``Company.is_read_only`` and ``plans.billing_status`` (tests compare them
company by company), so the figures and the company list filtered by state always agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, case, func, select

from saas.clock import local_midnight, local_today
from saas.extensions import db
from saas.i18n import _l
from saas.models import Company, Membership, Role, SubscriptionStatus
from saas.subscriptions.plans import live_household_count
from saas.tenancy import all_companies, company_context
from tenants.roster.models import Community, Household
from tenants.work_orders.models import WorkOrder

# The order the overview shows them in; the labels are what the platform admin reads.
STATES = {
    "trialing": _l("On trial"),
    "active": _l("Paid plan"),
    "past_due": _l("Past due"),
    "read_only": _l("Read-only (trial or plan ended)"),
    "suspended": _l("Suspended"),
}
TRIAL_HORIZON = timedelta(days=7)
TRIALS_LISTED = 20


def state_expression(now: datetime):
    """A company's plan state as one of STATES, in SQL (one CASE, the same on SQLite and PostgreSQL)."""
    ended = and_(Company.current_period_end.is_not(None), Company.current_period_end <= now)
    return case(
        (Company.suspended_at.is_not(None), "suspended"),
        (Company.subscription_status == SubscriptionStatus.TRIALING,
         case((and_(Company.trial_ends_at.is_not(None), Company.trial_ends_at <= now), "read_only"),
              else_="trialing")),
        # A plan paid by transfer ends at its period end; a card subscription reports its end by webhook.
        (Company.subscription_status == SubscriptionStatus.ACTIVE,
         case((and_(Company.stripe_subscription_id.is_(None), ended), "read_only"), else_="active")),
        (Company.subscription_status == SubscriptionStatus.PAST_DUE, "past_due"),
        else_="read_only",  # canceled
    )


@dataclass
class PlatformFigures:
    states: dict[str, int]
    trials_ending: list[Company]
    households: int
    jobs_this_week: int
    week_start: datetime


def platform_figures(now: datetime, *, actor: str | None = None) -> PlatformFigures:
    state = state_expression(now)
    # Grouped by the output column's name: PostgreSQL would not match a repeated CASE with its own parameters.
    counts = dict(db.session.execute(
        select(state.label("state"), func.count()).select_from(Company).group_by("state")).all())
    trials_ending = list(db.session.execute(
        select(Company).where(state == "trialing", Company.trial_ends_at > now,
                              Company.trial_ends_at <= now + TRIAL_HORIZON)
        .order_by(Company.trial_ends_at, Company.name).limit(TRIALS_LISTED)
    ).scalars())
    today = local_today(now)
    week_start = local_midnight(today - timedelta(days=today.weekday()))  # Monday 00:00 in Shanghai
    # Households and jobs are company rows: counting them across companies is the explicit, logged escape hatch.
    with all_companies("platform overview: households and jobs this week", actor=actor):
        households = db.session.scalar(
            select(func.count()).select_from(Household).where(Household.deleted_at.is_(None)))
        jobs = db.session.scalar(
            select(func.count()).select_from(WorkOrder).where(WorkOrder.created_at >= week_start))
    return PlatformFigures(states={key: counts.get(key, 0) for key in STATES}, trials_ending=trials_ending,
                           households=households or 0, jobs_this_week=jobs or 0, week_start=week_start)


def filter_by_state(stmt, state: str, now: datetime):
    """The company list narrowed to one state (unknown states are ignored by the caller)."""
    return stmt.where(state_expression(now) == state)


def company_usage(company: Company) -> dict:
    """Households, communities and staff of one company (for the platform admin's company page)."""
    with company_context(company.id):
        return {
            "households": live_household_count(),
            "communities": db.session.scalar(
                select(func.count()).select_from(Community).where(Community.live())),
            "staff": db.session.scalar(
                select(func.count()).select_from(Membership)
                .where(Membership.ended_at.is_(None), Membership.role != Role.OWNER)),
            "owners": db.session.scalar(
                select(func.count()).select_from(Membership)
                .where(Membership.ended_at.is_(None), Membership.role == Role.OWNER)),
        }
