"""The company's own SaaS plan (the company pays the platform): status, prices, Stripe Checkout and customer
portal. Not to be confused with fees (owners paying the company). Views in routes.py; the plans, limits and
payments themselves are the platform's (saas/subscriptions)."""

from flask import Blueprint
from sqlalchemy import func, select

bp = Blueprint("plan", __name__)


def count_households() -> int:
    """The current company's live households: what the plan limits count. Registered with the platform
    (saas.subscriptions.plans.count_households_with) by tenants.register, as saas/ imports no company module."""
    from saas.extensions import db
    from tenants.roster.models import Household

    return db.session.scalar(select(func.count()).select_from(Household).where(Household.live()))
