"""The owner portal: an owner sees only the households bound to their own membership."""

from __future__ import annotations

from flask import Blueprint
from sqlalchemy import select

from saas.extensions import db
from saas.htmx import render
from saas.models import Role
from tenants.access import current_membership, require_role
from tenants.roster.models import Household, HouseholdOwner

bp = Blueprint("portal", __name__)


@bp.get("/my")
@require_role(Role.OWNER)
def index():
    households = db.session.execute(
        select(Household)
        .join(HouseholdOwner, (HouseholdOwner.household_id == Household.id)
              & (HouseholdOwner.company_id == Household.company_id))
        .where(HouseholdOwner.membership_id == current_membership.id, HouseholdOwner.ended_at.is_(None),
               Household.live())
    ).scalars().all()
    from tenants.stewards.queries import steward_cards

    stewards = steward_cards(h.id for h in households)
    # With no company phone published, the portal names someone to ask: the steward of the first home.
    contact_steward = next((stewards[h.id] for h in households if h.id in stewards), None)
    return render("tenants/portal/index.html", households=households, stewards=stewards,
                  contact_steward=contact_steward)
