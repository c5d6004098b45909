"""Read side of the stewards module: the numbers and lists the pages show, each in a fixed number of queries
(however many households or stewards a company has)."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import Uuid, bindparam, exists, func, or_, select
from sqlalchemy.orm import contains_eager

from saas.clock import local_today  # noqa: F401  (the steward pages use queries.local_today)
from saas.extensions import db
from saas.models import Company, Membership, User
from saas.tenancy import built_once
from tenants.roster import figures
from tenants.roster.models import Building, Community, Household, Occupancy, room_label
from tenants.roster.queries import live_community_names
from tenants.stewards import services
from tenants.stewards.models import StewardAssignment, StewardContact, StewardProfile

NOT_CONTACTED_DAYS = 90
_ROOM_FLOOR = re.compile(r"^(\d{1,3})(\d{2})$")


def floor_of(room: str) -> int | None:
    """The floor a room number encodes: 1201 → 12, 302 → 3 (the usual Chinese numbering). None otherwise."""
    match = _ROOM_FLOOR.match((room or "").strip())
    return int(match.group(1)) if match else None


def profile_of(membership_id) -> StewardProfile | None:
    return services.profiles_by_membership([membership_id]).get(membership_id)


def live_buildings() -> list[Building]:
    return list(db.session.execute(
        select(Building).join(Building.community).options(contains_eager(Building.community))
        .where(Building.live(), Community.live())
        .order_by(Community.name, func.length(Building.name), Building.name)
    ).scalars())


@dataclass(frozen=True, slots=True)
class PlaceFilter:
    """The overview's place filter: the live communities, the chosen one, and only its buildings (a company of 20,000
    homes has 140 buildings: all of them in one select was unusable on a phone, and reading and drawing them a tenth
    of the page). A building implies its community; one of another community than the chosen one (left in the form
    when the community changed) is dropped."""
    communities: list  # [(id, name)] by name
    community_id: object
    building_id: object
    buildings: list  # [(id, name)] of the chosen community, in address order; empty without one


def place_filter(community_id=None, building_id=None) -> PlaceFilter:
    """Two small statements: the communities, and the chosen community's buildings (found from the building when
    only it is given)."""
    communities = [tuple(row) for row in live_community_names()]
    buildings = []
    if community_id is not None or building_id is not None:
        rows = db.session.execute(_buildings_statement(), {
            "community_id": community_id, "building_id": building_id}).all()
        if community_id is None:
            community_id = rows[0].community_id if rows else None
        buildings = [(b.id, b.name) for b in rows if b.community_id == community_id]
    if building_id is not None and all(b != building_id for b, _ in buildings):
        building_id = None
    if community_id is not None and all(c != community_id for c, _ in communities):
        community_id, buildings = None, []
    return PlaceFilter(communities, community_id, building_id, buildings)


@functools.cache
def _buildings_statement():
    """The live buildings of community ``community_id``, or of building ``building_id``'s community when the first
    is null. Built once (saas.tenancy.built_once)."""
    of_building = (select(Building.community_id).where(Building.id == bindparam("building_id", type_=Uuid))
                   .scalar_subquery())
    community_id = func.coalesce(bindparam("community_id", type_=Uuid), of_building)
    return built_once(
        select(Building.id, Building.name, Building.community_id)
        .where(Building.live(), Building.community_id == community_id)
        .order_by(func.length(Building.name), Building.name))


# --- the stewards page -------------------------------------------------------------------------------------


@dataclass
class StewardRow:
    membership: Membership
    profile: StewardProfile | None
    load: int  # all the steward's households
    in_scope: int  # within the filtered community/building
    capacity: int

    @property
    def overloaded(self) -> bool:
        return self.load > self.capacity

    @property
    def ratio(self) -> float:
        return self.load / self.capacity if self.capacity else 0.0


class UnassignedFigures:
    """What the assign page's and the overview's figures share: ``unassigned`` is {Occupancy: live households
    without a steward} within the scope."""

    unassigned: dict

    @property
    def unassigned_occupied(self) -> int:
        return self.unassigned.get(Occupancy.OCCUPIED, 0)

    @property
    def unassigned_total(self) -> int:
        return sum(self.unassigned.values())


@dataclass
class Overview(UnassignedFigures):
    rows: list[StewardRow]
    unassigned: dict  # Occupancy -> households without a steward, within the scope
    households: int  # live households within the scope
    missing: int  # stewards short to cover the unassigned occupied households

    @property
    def overloaded(self) -> list[StewardRow]:
        return [r for r in self.rows if r.overloaded]


def overview(company: Company, *, community_id=None, building_id=None) -> Overview:
    stewards = services.current_stewards()
    profiles = services.profiles_by_membership()
    totals = services.loads()
    scoped = totals if community_id is None and building_id is None else services.loads(
        community_id=community_id, building_id=building_id)
    rows = [StewardRow(m, profiles.get(m.id), totals.get(m.id, 0), scoped.get(m.id, 0),
                       services.capacity_of(profiles.get(m.id), company)) for m in stewards]
    counts = figures.by_occupancy(community_id=community_id, building_id=building_id)  # kept by the writes
    unassigned = {occ: n - with_steward for occ, (n, with_steward) in counts.items()}
    households = sum(n for n, _ in counts.values())
    spare = sum(max(0, r.capacity - r.load) for r in rows)
    missing = services.stewards_missing(max(0, unassigned.get(Occupancy.OCCUPIED, 0) - spare), company)
    return Overview(rows=rows, unassigned=unassigned, households=households, missing=missing)


# --- the assign page ---------------------------------------------------------------------------------------


@dataclass
class Candidate:
    household: Household
    steward_id: object | None


def assign_candidates(building_id, *, unit: str = "", floor_from: int | None = None, floor_to: int | None = None,
                      unassigned_only: bool = False, limit: int = 1000) -> list[Candidate]:
    """The households of one building matching the filters, with their current steward (two queries)."""
    stmt = (
        select(Household, StewardAssignment.steward_id)
        .join(Household.building)
        .outerjoin(Household.steward_periods.and_(StewardAssignment.ended_at.is_(None)))
        .options(contains_eager(Household.building))
        .where(Household.building_id == building_id, Household.live())
        .order_by(Household.unit, func.length(Household.room), Household.room)
    )
    if unit:
        stmt = stmt.where(Household.unit == unit)
    if unassigned_only:
        stmt = stmt.where(StewardAssignment.id.is_(None))
    out = []
    for household, steward_id in db.session.execute(stmt.limit(limit)).all():
        floor = floor_of(household.room)
        if floor_from is not None and (floor is None or floor < floor_from):
            continue
        if floor_to is not None and (floor is None or floor > floor_to):
            continue
        out.append(Candidate(household, steward_id))
    return out


def units_of(building_id) -> list[str]:
    return list(db.session.execute(
        select(Household.unit).where(Household.building_id == building_id, Household.live())
        .distinct().order_by(Household.unit)
    ).scalars())


# --- one steward, seen by an admin -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BuildingRow:
    id: object
    label: str  # "翠湖湾 3号楼", as Building.label


@dataclass(frozen=True, slots=True)
class HomeRow:
    """What the steward pages show of a home, read as columns: a steward has 50 homes, and loading each as a
    Household with its building and community was a fifth of the steward's home page."""

    id: object
    room_label: str
    label: str
    owner_name: str | None
    owner_phone: str | None
    building: BuildingRow


@functools.cache
def _homes_statement(search: bool):
    """The select of a steward's homes (parameters ``steward_id`` and, for a search, ``like``): built once per
    shape, as building it and working out its cache key cost more than running it (saas.tenancy.built_once)."""
    steward = bindparam("steward_id", type_=StewardAssignment.steward_id.type)
    mine = select(StewardAssignment.household_id).where(StewardAssignment.steward_id == steward,
                                                        StewardAssignment.ended_at.is_(None))
    # Only this steward's households' contacts are aggregated, not the whole company's contact log.
    last_contact = (
        select(StewardContact.household_id, func.max(StewardContact.contacted_on).label("last"))
        .where(StewardContact.household_id.in_(mine))
        .group_by(StewardContact.household_id).subquery()
    )
    stmt = (
        select(Household.id, Household.unit, Household.room, Household.owner_name, Household.owner_phone,
               Building.id, Building.name, Community.name, last_contact.c.last)
        .select_from(Household)
        .join(Household.steward_periods)
        .join(Household.building).join(Building.community)
        .outerjoin(last_contact, last_contact.c.household_id == Household.id)
        .where(StewardAssignment.steward_id == steward, StewardAssignment.ended_at.is_(None),
               Household.live())
        .order_by(Community.name, func.length(Building.name), Building.name, Household.unit,
                  func.length(Household.room), Household.room)
    )
    if search:
        like = bindparam("like", type_=Household.room.type)
        stmt = stmt.where(or_(Household.room.ilike(like), Household.owner_name.ilike(like),
                              Household.owner_phone.like(like), Building.name.ilike(like),
                              Community.name.ilike(like)))
    return built_once(stmt)


def households_of(membership_id, *, q: str = "") -> list[tuple]:
    """[(HomeRow, last contact date or None)] the steward looks after, by building, in one query."""
    params = {"steward_id": membership_id}
    if q:
        params["like"] = f"%{q}%"
    buildings: dict = {}
    rows = []
    for home_id, unit, room, owner_name, owner_phone, building_id, building_name, community_name, last in \
            db.session.execute(_homes_statement(bool(q)), params):
        building = buildings.get(building_id)
        if building is None:
            building = buildings[building_id] = BuildingRow(building_id, f"{community_name} {building_name}")
        home_room = room_label(building_name, unit, room)
        rows.append((HomeRow(home_id, home_room, f"{community_name} {home_room}", owner_name, owner_phone, building),
                     last))
    return rows


def group_by_building(rows) -> list[tuple]:
    """[(building, [(home, last contact), ...])] keeping the order of ``rows``."""
    groups: dict = {}
    for household, last in rows:
        groups.setdefault(household.building, []).append((household, last))
    return list(groups.items())


@dataclass
class Kpis:
    covered: int
    contacts_this_month: int
    not_contacted: int


@functools.cache
def _kpis_statement():
    """Built once (parameters ``steward_id``, ``since``, ``month_start``, ``today``), like _homes_statement."""
    steward = bindparam("steward_id", type_=StewardAssignment.steward_id.type)
    today = bindparam("today", type_=StewardContact.contacted_on.type)
    mine = (
        select(StewardAssignment.household_id)
        .join(StewardAssignment.household)
        .where(StewardAssignment.steward_id == steward, StewardAssignment.ended_at.is_(None),
               Household.live())
    ).subquery()
    recent = select(StewardContact.id).where(
        StewardContact.household_id == mine.c.household_id,
        StewardContact.contacted_on >= bindparam("since", type_=StewardContact.contacted_on.type))
    contacts = (
        select(func.count()).select_from(StewardContact)
        .where(StewardContact.steward_id == steward,
               StewardContact.contacted_on >= bindparam("month_start", type_=StewardContact.contacted_on.type),
               StewardContact.contacted_on <= today)
    ).scalar_subquery()
    # One statement: the month's contacts ride along as a scalar subquery.
    return built_once(select(func.count(), func.count().filter(~exists(recent)), contacts).select_from(mine))


def kpis(membership_id, today: date) -> Kpis:
    covered, not_contacted, contacts = db.session.execute(_kpis_statement(), {
        "steward_id": membership_id, "since": today - timedelta(days=NOT_CONTACTED_DAYS),
        "month_start": today.replace(day=1), "today": today}).one()
    return Kpis(covered=covered, contacts_this_month=contacts, not_contacted=not_contacted)


def contacts_for(household_id, limit: int = 100) -> list[StewardContact]:
    return list(db.session.execute(_contacts_statement(limit), {"household_id": household_id}).scalars())


@functools.cache
def _contacts_statement(limit: int):
    return built_once(select(StewardContact).where(StewardContact.household_id == bindparam("household_id"))
                      .order_by(StewardContact.contacted_on.desc(), StewardContact.created_at.desc()).limit(limit))


def history_for(household_id) -> list[StewardAssignment]:
    """Every steward period of a household, newest first (the steward's membership joined, one query)."""
    return list(db.session.execute(_HISTORY, {"household_id": household_id}).scalars())


_HISTORY = built_once(select(StewardAssignment).where(StewardAssignment.household_id == bindparam("household_id"))
                      .order_by(StewardAssignment.started_at.desc(), StewardAssignment.created_at.desc()))


@dataclass
class StewardCard:
    name: str
    phone: str
    working_hours: str
    membership_id: object
    has_photo: bool


def steward_cards(household_ids) -> dict:
    """{household id: StewardCard} of the households' current stewards: what an owner sees (one query)."""
    ids = list(household_ids)
    if not ids:
        return {}
    rows = db.session.execute(
        select(StewardAssignment.household_id, Membership.id, User.name, User.phone, StewardProfile.work_phone,
               StewardProfile.working_hours, StewardProfile.photo_updated_at)
        .join(StewardAssignment.steward)
        .join(Membership.user)
        .outerjoin(Membership.steward_profile)
        .where(StewardAssignment.household_id.in_(ids), StewardAssignment.ended_at.is_(None))
    ).all()
    return {
        household_id: StewardCard(name=name, phone=work_phone or phone or "", working_hours=hours or "",
                                  membership_id=membership_id, has_photo=photo_at is not None)
        for household_id, membership_id, name, phone, work_phone, hours, photo_at in rows
    }
