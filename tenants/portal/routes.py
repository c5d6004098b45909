"""The owner portal: an owner sees only the households bound to their own membership (permissions.py)."""

from __future__ import annotations

from saas.htmx import render
from saas.models import Role
from tenants.access import current_membership, require_role
from tenants.portal import bp
from tenants.portal.permissions import own_households


@bp.get("/my")
@require_role(Role.OWNER)
def index():
    households = own_households(current_membership)
    from tenants.stewards.queries import steward_cards

    stewards = steward_cards(h.id for h in households)
    # With no company phone published, the portal names someone to ask: the steward of the first home.
    contact_steward = next((stewards[h.id] for h in households if h.id in stewards), None)
    return render("tenants/portal/index.html", households=households, stewards=stewards,
                  contact_steward=contact_steward)
