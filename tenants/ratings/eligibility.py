"""Who may rate the company, read in its context: an owner's current household links, since when, in which
community, and whether the account ever worked for the company (refused while it does; a signal if it did)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from saas.clock import local
from saas.extensions import db
from saas.models import STAFF_ROLES, Membership, Role
from tenants.roster.models import HouseholdOwner


@dataclass
class Home:
    household_id: object
    label: str           # shown to the owner only, never published
    community_name: str
    owner_since: date


def homes_of(membership: Membership) -> list[Home]:
    if membership.role is not Role.OWNER:
        return []
    links = db.session.execute(select(HouseholdOwner).where(
        HouseholdOwner.membership_id == membership.id, HouseholdOwner.ended_at.is_(None))
        .order_by(HouseholdOwner.created_at)).scalars().all()
    return [Home(link.household_id, link.household.label, link.household.building.community.name,
                 local(link.verified_at or link.created_at).date()) for link in links]


def is_staff(membership: Membership) -> bool:
    return membership.role in STAFF_ROLES


def was_staff(user_id) -> bool:
    return db.session.execute(select(Membership.id).where(
        Membership.user_id == user_id, Membership.ended_at.is_not(None),
        Membership.role.in_(STAFF_ROLES)).limit(1)).first() is not None
