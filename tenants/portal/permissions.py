"""Who sees what in the owner portal: an owner sees the live households bound to their own current
membership (a verified HouseholdOwner link that has not ended), nothing else of the company's roster.

Every portal view reads households through these, never with a query of its own."""

from __future__ import annotations

from sqlalchemy import Select, Uuid, bindparam, select

from saas.extensions import db
from saas.tenancy import built_once
from tenants.roster.models import Household, HouseholdOwner


def visible_households(membership) -> Select:
    """The households ``membership`` may see, as a query to refine (order, limit) or execute."""
    return (
        select(Household)
        .select_from(HouseholdOwner)
        .join(HouseholdOwner.household)
        .where(HouseholdOwner.membership_id == membership.id, HouseholdOwner.ended_at.is_(None),
               Household.live())
    )


def own_households(membership) -> list[Household]:
    return list(db.session.execute(_OWN, {"membership_id": membership.id}).scalars().all())


class _Member:
    """Stands in for the member in a statement built once: their id is the parameter ``membership_id``."""

    id = bindparam("membership_id", type_=Uuid)


_OWN = built_once(visible_households(_Member))  # own_households', on every owner page

