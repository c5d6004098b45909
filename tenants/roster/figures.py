"""The roster's counts, kept by the writes: households per building and occupancy (and how many of them have a
steward now), and each steward's load (their current households). The households list, the stewards overview and
the company dashboard add up a few hundred small rows instead of counting 20,000 households on every view.

Exact by recounting, not by adding deltas: a write names what it touched (a household, a building, a steward) and,
just before COMMIT, the figures of exactly those buildings and stewards are counted again from the households and
the steward periods, and stored (an upsert). How the touched keys are found:

- ORM writes of a household or a steward period: a session listener (``_collect``), with the old building and
  steward from the attributes' history (a household moved to another building changes both buildings' figures).
- Bulk SQL that bypasses the ORM calls ``touch()`` itself: the stewards' reassignment (tenants/stewards/
  services.py ``_reassign``: handover, assign, auto-assign apply, release) and the roster import's commit.
- Bulk loads (benches, demo seed) call ``rebuild()`` afterwards; it recounts the whole company.

Concurrency (PostgreSQL, READ COMMITTED): two transactions touching the same building must not each count without
the other's rows and then store a count missing one of them. So each touched key is locked first (a
transaction-level advisory lock, all keys in one statement in one global order, so two writers never deadlock on
them), and only THEN counted, in a new statement: it sees every transaction that held the lock before, since a
lock is released only after its holder's commit is visible. Counting before taking the lock would read a stale
count (the race the tests' ``test_figures_count_after_the_lock`` guards against). SQLite has one writer at a time.
"""

from __future__ import annotations

import uuid
from functools import cache

from sqlalchemy import Index, Integer, Uuid, and_, bindparam, event, func, select, text, update
from sqlalchemy.orm import Mapped, Session, attributes, mapped_column

from saas.extensions import db
from saas.models import _enum
from saas.tenancy import CompanyScoped, built_once, require_company_id
from tenants.roster.models import Building, Community, Household, Occupancy

_TOUCHED = "roster_figures_touched"
_CHUNK = 500


class HouseholdFigure(CompanyScoped, db.Model):
    """Live households of one building with one occupancy; ``with_steward``: those with a current steward."""

    __tablename__ = "household_figures"
    __table_args__ = (Index("uq_household_figures_key", "company_id", "building_id", "occupancy", unique=True),)

    building_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    occupancy: Mapped[Occupancy] = mapped_column(_enum(Occupancy, "household_occupancy"))
    households: Mapped[int] = mapped_column(Integer, default=0)
    with_steward: Mapped[int] = mapped_column(Integer, default=0)


class StewardLoad(CompanyScoped, db.Model):
    """A steward's load: the live households they currently look after."""

    __tablename__ = "steward_loads"
    __table_args__ = (Index("uq_steward_loads_steward", "company_id", "steward_id", unique=True),)

    steward_id: Mapped[uuid.UUID] = mapped_column(Uuid)  # the steward's membership
    households: Mapped[int] = mapped_column(Integer, default=0)


# --- what a transaction touched ----------------------------------------------------------------------------


def _touched(session: Session) -> dict:
    return session.info.setdefault(_TOUCHED, {"households": set(), "buildings": set(), "stewards": set()})


def touch(*, households=(), buildings=(), stewards=(), company_id=None, session: Session | None = None) -> None:
    """Name what a bulk write (one that bypasses the ORM) changed: the figures of those households' buildings and
    current stewards, and of the given buildings and stewards, are recounted before this transaction commits."""
    session = session or db.session()
    company_id = company_id or require_company_id()
    touched = _touched(session)
    touched["households"].update((company_id, h) for h in households)
    touched["buildings"].update((company_id, b) for b in buildings if b is not None)
    touched["stewards"].update((company_id, s) for s in stewards if s is not None)


def _old_and_new(obj, name: str) -> set:
    history = attributes.get_history(obj, name)
    return {v for v in (*history.deleted, *history.unchanged, *history.added) if v is not None}


@event.listens_for(Session, "after_flush")
def _collect(session: Session, flush_context) -> None:
    """ORM writes of households and steward periods: the keys they touch (old values from the history)."""
    from tenants.stewards.models import StewardAssignment

    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, Household):
            touched = _touched(session)
            touched["households"].add((obj.company_id, obj.id))
            touched["buildings"].update((obj.company_id, b) for b in _old_and_new(obj, "building_id"))
        elif isinstance(obj, StewardAssignment):
            touched = _touched(session)
            touched["households"].update((obj.company_id, h) for h in _old_and_new(obj, "household_id"))
            touched["stewards"].update((obj.company_id, s) for s in _old_and_new(obj, "steward_id"))


@event.listens_for(Session, "before_commit")
def _refresh(session: Session) -> None:
    session.flush()  # the last ORM changes, so their keys are in
    touched = session.info.pop(_TOUCHED, None)
    if not touched or not any(touched.values()):
        return
    # Each company's keys as that company (the commit may come after the block that made the changes left its
    # company, as the demo seed's does; row-level security wants the company's setting anyway).
    from saas.tenancy import company_context

    companies = {c for keys in touched.values() for c, _ in keys}
    for company_id in sorted(companies, key=str):
        with company_context(company_id):
            recount(session, {name: {k for k in keys if k[0] == company_id} for name, keys in touched.items()})


@event.listens_for(Session, "after_transaction_end")
def _forget(session: Session, transaction) -> None:
    if transaction.parent is None:  # committed or rolled back: nothing is pending any more
        session.info.pop(_TOUCHED, None)


# --- recounting ----------------------------------------------------------------------------------------------


def _chunks(items: list, size: int = _CHUNK):
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _current_period():
    from tenants.stewards.models import StewardAssignment

    return StewardAssignment, and_(StewardAssignment.company_id == Household.company_id,
                                   StewardAssignment.household_id == Household.id,
                                   StewardAssignment.ended_at.is_(None))


def recount(session: Session, touched: dict) -> None:
    """Lock the touched keys, then count them again and store the counts (see the module's docstring)."""
    period, on_current = _current_period()
    buildings, stewards = set(touched["buildings"]), set(touched["stewards"])
    households = sorted(touched["households"], key=str)
    for chunk in _chunks(households):
        for company_id, building_id, steward_id in session.execute(
                select(Household.company_id, Household.building_id, period.steward_id)
                .outerjoin(period, on_current)
                .where(Household.id.in_([h for _, h in chunk]))):
            buildings.add((company_id, building_id))
            if steward_id is not None:
                stewards.add((company_id, steward_id))
    _lock(session, [f"b:{c}:{b}" for c, b in buildings] + [f"s:{c}:{s}" for c, s in stewards])
    _store_buildings(session, sorted(buildings, key=str))
    _store_stewards(session, sorted(stewards, key=str))


def _lock(session: Session, keys: list[str]) -> None:
    """Transaction-level advisory locks on the keys, taken in the order of their hashes: every writer takes them
    in that one order, so two writers wait for each other instead of deadlocking."""
    if not keys or session.get_bind().dialect.name != "postgresql":
        return
    session.execute(text(
        "SELECT count(pg_advisory_xact_lock(k)) FROM "
        "(SELECT hashtextextended('roster_figures:' || key, 0) AS k FROM unnest(CAST(:keys AS text[])) AS key "
        "ORDER BY 1) AS ordered"), {"keys": sorted(keys)})


def _insert(session: Session):
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


def _store_buildings(session: Session, keys: list[tuple]) -> None:
    from saas.tenancy import new_id, utcnow

    period, on_current = _current_period()
    insert, now = _insert(session), utcnow()
    for chunk in _chunks(keys):
        counts = {(c, b, occ): (n, with_steward) for c, b, occ, n, with_steward in session.execute(
            select(Household.company_id, Household.building_id, Household.occupancy, func.count(),
                   func.count(period.id))
            .outerjoin(period, on_current)
            .where(Household.building_id.in_([b for _, b in chunk]), Household.live())
            .group_by(Household.company_id, Household.building_id, Household.occupancy))}
        rows = [{"company_id": c, "id": new_id(), "created_at": now, "building_id": b, "occupancy": occ,
                 "households": counts.get((c, b, occ), (0, 0))[0],
                 "with_steward": counts.get((c, b, occ), (0, 0))[1]}
                for c, b in chunk for occ in Occupancy]
        stmt = insert(HouseholdFigure.__table__).values(rows)
        session.execute(stmt.on_conflict_do_update(
            index_elements=["company_id", "building_id", "occupancy"],
            set_={"households": stmt.excluded.households, "with_steward": stmt.excluded.with_steward}))


def _store_stewards(session: Session, keys: list[tuple]) -> None:
    from saas.tenancy import new_id, utcnow

    period, on_current = _current_period()
    insert, now = _insert(session), utcnow()
    for chunk in _chunks(keys):
        counts = dict(((c, s), n) for c, s, n in session.execute(
            select(period.company_id, period.steward_id, func.count())
            .join(Household, on_current)
            .where(period.steward_id.in_([s for _, s in chunk]), Household.live())
            .group_by(period.company_id, period.steward_id)))
        rows = [{"company_id": c, "id": new_id(), "created_at": now, "steward_id": s,
                 "households": counts.get((c, s), 0)} for c, s in chunk]
        stmt = insert(StewardLoad.__table__).values(rows)
        session.execute(stmt.on_conflict_do_update(index_elements=["company_id", "steward_id"],
                                                   set_={"households": stmt.excluded.households}))


def rebuild() -> None:
    """Recount every figure of the current company (after a bulk load that bypassed the writes; a repair tool).
    Rows are zeroed, not deleted (the app role may not delete), then every building and steward recounted."""
    from tenants.stewards.models import StewardAssignment

    session = db.session()
    company_id = require_company_id()
    session.execute(update(HouseholdFigure).values(households=0, with_steward=0),
                    execution_options={"synchronize_session": False})
    session.execute(update(StewardLoad).values(households=0), execution_options={"synchronize_session": False})
    buildings = session.execute(select(Building.id)).scalars().all()
    stewards = session.execute(select(StewardAssignment.steward_id)
                               .where(StewardAssignment.ended_at.is_(None)).distinct()).scalars().all()
    recount(session, {"households": set(), "buildings": {(company_id, b) for b in buildings},
                      "stewards": {(company_id, s) for s in stewards}})


# --- reading -------------------------------------------------------------------------------------------------


@cache
def _by_building_statement(occupancy: bool, community: bool, building: bool):
    """by_building's statement for the filters set, built once and run with parameters."""
    total = func.sum(HouseholdFigure.households)
    stmt = (select(HouseholdFigure.building_id, total)
            .join(Building, and_(Building.company_id == HouseholdFigure.company_id,
                                 Building.id == HouseholdFigure.building_id))
            .join(Building.community)
            .group_by(HouseholdFigure.building_id, Community.name, Building.name, Building.id)
            .having(total > 0)
            .order_by(Community.name, func.length(Building.name), Building.name, Building.id))
    if occupancy:
        stmt = stmt.where(HouseholdFigure.occupancy == bindparam("occupancy"))
    if community:
        stmt = stmt.where(Community.id == bindparam("community_id"))
    if building:
        stmt = stmt.where(Building.id == bindparam("building_id"))
    return built_once(stmt)


def by_building(*, occupancy: Occupancy | None = None, community_id=None, building_id=None) -> list[tuple]:
    """[(building id, live households)] in the buildings' address order, buildings with none left out."""
    stmt = _by_building_statement(occupancy is not None, community_id is not None, building_id is not None)
    params = {"occupancy": occupancy, "community_id": community_id, "building_id": building_id}
    return [(b, int(n)) for b, n in db.session.execute(stmt, params)]


def by_occupancy(*, community_id=None, building_id=None) -> dict:
    """{Occupancy: (live households, of them with a current steward)} of the company, a community or a building
    (live buildings only, as the stewards overview counts)."""
    stmt = _by_occupancy_statement(community_id is not None, building_id is not None)
    out = {occ: (0, 0) for occ in Occupancy}
    out.update({occ: (int(n or 0), int(w or 0)) for occ, n, w in db.session.execute(
        stmt, {"community_id": community_id, "building_id": building_id})})
    return out


@cache
def _by_occupancy_statement(community: bool, building: bool):
    """by_occupancy's statement for the filters set, built once and run with parameters."""
    stmt = (select(HouseholdFigure.occupancy, func.sum(HouseholdFigure.households),
                   func.sum(HouseholdFigure.with_steward))
            .join(Building, and_(Building.company_id == HouseholdFigure.company_id,
                                 Building.id == HouseholdFigure.building_id))
            .where(Building.live())
            .group_by(HouseholdFigure.occupancy))
    if community:
        stmt = stmt.where(Building.community_id == bindparam("community_id"))
    if building:
        stmt = stmt.where(Building.id == bindparam("building_id"))
    return built_once(stmt)


def steward_loads(steward_ids=None) -> dict:
    """{steward membership id: live households they look after now}; stewards with none left out."""
    stmt = select(StewardLoad.steward_id, StewardLoad.households).where(StewardLoad.households > 0)
    if steward_ids is not None:
        stmt = stmt.where(StewardLoad.steward_id.in_(bindparam("ids", list(steward_ids), expanding=True)))
    return dict(db.session.execute(stmt).all())


# --- for the tests: the stored figures against a direct count ----------------------------------------------


def stored_counts() -> dict:
    buildings = {(b, occ): (n, w) for b, occ, n, w in db.session.execute(
        select(HouseholdFigure.building_id, HouseholdFigure.occupancy, HouseholdFigure.households,
               HouseholdFigure.with_steward)) if n or w}
    return {"buildings": buildings, "stewards": steward_loads()}


def direct_counts() -> dict:
    period, on_current = _current_period()
    buildings = {(b, occ): (n, w) for b, occ, n, w in db.session.execute(
        select(Household.building_id, Household.occupancy, func.count(), func.count(period.id))
        .outerjoin(period, on_current).where(Household.live())
        .group_by(Household.building_id, Household.occupancy))}
    stewards = dict(db.session.execute(
        select(period.steward_id, func.count()).join(Household, on_current).where(Household.live())
        .group_by(period.steward_id)).all())
    return {"buildings": buildings, "stewards": stewards}
