"""Writes to the roster. Each verb changes state, records an audit event, and commits."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from saas.audit import diff, record
from saas.errors import ServiceError
from saas.extensions import db
from saas.i18n import _l
from saas.models import Company, User
from saas.subscriptions.plans import PlanLimitExceeded, check_household_capacity
from saas.tenancy import utcnow
from tenants.roster.codes import generate_household_code
from tenants.roster.models import Building, Community, Household, Occupancy


class RosterError(ServiceError):
    """A roster rule was broken (a duplicate name, a building that still has households…)."""


# --- communities --------------------------------------------------------------------------------


def _community_name_taken(name: str, exclude=None) -> bool:
    stmt = select(func.count()).select_from(Community).where(
        Community.name == name, Community.live()
    )
    if exclude is not None:
        stmt = stmt.where(Community.id != exclude.id)
    return db.session.scalar(stmt) > 0


def create_community(*, name: str, address: str, actor: User) -> Community:
    if _community_name_taken(name):
        raise RosterError(_l("A community with this name already exists."), "name")
    community = Community(name=name, address=address or "")
    db.session.add(community)
    db.session.flush()
    record("community.create", actor=actor, object_type="community", object_id=community.id,
           object_label=community.name, changes={"name": [None, name], "address": [None, address]})
    _commit_or_raise(_l("A community with this name already exists."), "name")
    return community


def update_community(community: Community, *, name: str, address: str, actor: User) -> Community:
    if _community_name_taken(name, exclude=community):
        raise RosterError(_l("A community with this name already exists."), "name")
    before = {"name": community.name, "address": community.address}
    community.name, community.address = name, address or ""
    changes = diff(before, {"name": community.name, "address": community.address})
    if changes:
        record("community.update", actor=actor, object_type="community", object_id=community.id,
               object_label=community.name, changes=changes)
    _commit_or_raise(_l("A community with this name already exists."), "name")
    return community


def delete_community(community: Community, *, actor: User) -> None:
    live_buildings = db.session.scalar(
        select(func.count()).select_from(Building).where(
            Building.community_id == community.id, Building.live()
        )
    )
    if live_buildings:
        raise RosterError(_l("Delete or move this community's buildings first."))
    _soft_delete(community, actor, "community")


# --- buildings ----------------------------------------------------------------------------------


def _building_name_taken(community: Community, name: str, exclude=None) -> bool:
    stmt = select(func.count()).select_from(Building).where(
        Building.community_id == community.id, Building.name == name, Building.live()
    )
    if exclude is not None:
        stmt = stmt.where(Building.id != exclude.id)
    return db.session.scalar(stmt) > 0


def create_building(community: Community, *, name: str, actor: User) -> Building:
    if _building_name_taken(community, name):
        raise RosterError(_l("This community already has a building with this name."), "name")
    building = Building(community_id=community.id, company_id=community.company_id, name=name)
    db.session.add(building)
    db.session.flush()
    record("building.create", actor=actor, object_type="building", object_id=building.id,
           object_label=f"{community.name} {name}", changes={"name": [None, name]})
    _commit_or_raise(_l("This community already has a building with this name."), "name")
    return building


def rename_building(building: Building, *, name: str, actor: User) -> Building:
    if _building_name_taken(building.community, name, exclude=building):
        raise RosterError(_l("This community already has a building with this name."), "name")
    changes = diff({"name": building.name}, {"name": name})
    building.name = name
    if changes:
        record("building.update", actor=actor, object_type="building", object_id=building.id,
               object_label=building.label, changes=changes)
    _commit_or_raise(_l("This community already has a building with this name."), "name")
    return building


def delete_building(building: Building, *, actor: User) -> None:
    live_households = db.session.scalar(
        select(func.count()).select_from(Household).where(
            Household.building_id == building.id, Household.live()
        )
    )
    if live_households:
        raise RosterError(_l("This building still has %(n)s households; delete them first.", n=live_households))
    _soft_delete(building, actor, "building")


# --- households ---------------------------------------------------------------------------------


@dataclass
class HouseholdData:
    building: Building
    unit: str
    room: str
    floor_area: object  # Decimal, already validated
    occupancy: Occupancy
    owner_name: str
    owner_phone: str

    def as_dict(self) -> dict:
        return {
            "building": self.building.label,
            "unit": self.unit,
            "room": self.room,
            "floor_area": str(self.floor_area),
            "occupancy": self.occupancy.value,
            "owner_name": self.owner_name,
            "owner_phone": self.owner_phone,
        }


def _household_snapshot(h: Household) -> dict:
    return {
        "building": h.building.label,
        "unit": h.unit,
        "room": h.room,
        "floor_area": str(h.floor_area),
        "occupancy": h.occupancy.value,
        "owner_name": h.owner_name,
        "owner_phone": h.owner_phone,
    }


_DUPLICATE_ROOM = _l("This room already exists in this building and unit.")


def _room_taken(data: HouseholdData, exclude: Household | None = None) -> bool:
    stmt = select(func.count()).select_from(Household).where(
        Household.building_id == data.building.id,
        Household.unit == data.unit,
        Household.room == data.room,
        Household.live(),
    )
    if exclude is not None:
        stmt = stmt.where(Household.id != exclude.id)
    return db.session.scalar(stmt) > 0


def create_household(data: HouseholdData, *, actor: User) -> Household:
    if _room_taken(data):
        raise RosterError(_DUPLICATE_ROOM, "room")
    company = db.session.get(Company, data.building.company_id)
    try:
        check_household_capacity(company, 1)
    except PlanLimitExceeded as exc:
        raise RosterError(exc.message) from None
    household = Household(
        company_id=data.building.company_id,
        building_id=data.building.id,
        unit=data.unit,
        room=data.room,
        occupancy=data.occupancy,
        owner_name=data.owner_name,
        owner_phone=data.owner_phone,
        household_code=generate_household_code(),
    )
    household.floor_area = data.floor_area
    household.building = data.building
    db.session.add(household)
    db.session.flush()
    record("household.create", actor=actor, object_type="household", object_id=household.id,
           object_label=household.label,
           changes={k: [None, v] for k, v in data.as_dict().items()})
    _commit_or_raise(_DUPLICATE_ROOM, "room")
    return household


def update_household(household: Household, data: HouseholdData, *, actor: User) -> Household:
    if _room_taken(data, exclude=household):
        raise RosterError(_DUPLICATE_ROOM, "room")
    before = _household_snapshot(household)
    household.building_id = data.building.id
    household.building = data.building
    household.unit, household.room = data.unit, data.room
    household.floor_area = data.floor_area
    household.occupancy = data.occupancy
    household.owner_name, household.owner_phone = data.owner_name, data.owner_phone
    changes = diff(before, _household_snapshot(household))
    if changes:
        record("household.update", actor=actor, object_type="household", object_id=household.id,
               object_label=household.label, changes=changes)
    _commit_or_raise(_DUPLICATE_ROOM, "room")
    return household


def delete_household(household: Household, *, actor: User) -> None:
    if household.deleted_at is None:
        from tenants.stewards.services import end_household_period

        end_household_period(household, actor=actor)  # committed with the delete below
    _soft_delete(household, actor, "household")


def restore_household(household: Household, *, actor: User) -> Household:
    if household.deleted_at is None:
        return household
    snapshot = HouseholdData(household.building, household.unit, household.room, household.floor_area,
                             household.occupancy, household.owner_name, household.owner_phone)
    if household.building.deleted_at is not None:
        raise RosterError(_l("Its building was deleted; restore the building first."))
    if _room_taken(snapshot, exclude=household):
        raise RosterError(_l("Another household now uses this room number, so this one cannot come back."))
    household.deleted_at = None
    household.deleted_by_id = None
    record("household.restore", actor=actor, object_type="household", object_id=household.id,
           object_label=household.label)
    _commit_or_raise(_DUPLICATE_ROOM, "room")
    return household


# --- shared -------------------------------------------------------------------------------------


def _soft_delete(obj, actor: User, object_type: str) -> None:
    if obj.deleted_at is not None:
        return
    obj.deleted_at = utcnow()
    obj.deleted_by_id = actor.id
    record(f"{object_type}.delete", actor=actor, object_type=object_type, object_id=obj.id,
           object_label=obj.label)
    db.session.commit()


def _commit_or_raise(message, field: str | None) -> None:
    """A concurrent request may have taken the same name between our check and the commit."""
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise RosterError(message, field) from None
