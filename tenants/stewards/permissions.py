"""Who may see which steward and which household, in one place.

An id a person may not see is a 404, exactly as if it belonged to another company: a steward sees owners'
personal details only for the households they currently look after, and a steward's page or portrait exists
only while they are a current steward."""

from __future__ import annotations

from flask import abort
from sqlalchemy import select

from saas.extensions import db
from saas.models import Membership
from saas.tenancy import parse_uuid_or_404
from tenants.access import current_membership
from tenants.roster.models import Household
from tenants.stewards import services
from tenants.stewards.models import StewardAssignment, StewardProfile


def steward_or_404(member_id) -> Membership:
    """A current steward of the company (an ended membership, another role or a stranger's id: 404)."""
    steward = services.get_steward_or_none(member_id)
    if steward is None:
        abort(404)
    return steward


def my_household_or_404(household_id) -> Household:
    """A live household the signed-in steward looks after now."""
    household_id = parse_uuid_or_404(household_id)
    household = db.session.execute(
        select(Household)
        .join(Household.steward_periods)
        .where(Household.id == household_id, Household.live(),
               StewardAssignment.steward_id == current_membership.id, StewardAssignment.ended_at.is_(None))
    ).scalar_one_or_none()
    if household is None:
        abort(404)
    return household


def steward_photo_or_404(member_id) -> bytes:
    """A current steward's portrait, which every member of the company may see (owners in their portal)."""
    steward = steward_or_404(member_id)
    profile = db.session.execute(
        select(StewardProfile).where(StewardProfile.membership_id == steward.id)
    ).scalar_one_or_none()
    if profile is None or profile.photo is None:
        abort(404)
    return profile.photo
