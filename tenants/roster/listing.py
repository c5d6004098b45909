"""The household list in address order (community, building, unit, room), paged a building at a time.

The address order spans three tables and sorts by expressions (``length(room)`` so that 901 comes before 1001), so
no index can give it: ``ORDER BY … LIMIT 20 OFFSET n`` sorted every matching household of the company to show 20
(20,000 at ten times a small company, on every page, every search keystroke). Instead one statement counts the
matching households per building, in the buildings' address order (a few hundred rows at most; a search walks the
buildings in that order and stops after the first 1,000 matches and one: "more than 1,000"); the page's
position then names the one or two buildings it falls in, and the second statement sorts only their households.
Same two statements as before (the count and the page), same order, same filters. Without a search the counts
per building come from the roster's figures (tenants/roster/figures.py: a row per building and occupancy) rather
than from counting the households.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import Integer, bindparam, case, func, or_, select, true
from sqlalchemy.orm import contains_eager

from saas.extensions import db, on_postgresql
from saas.tenancy import built_once
from tenants.roster.models import Building, Community, Household

BUILDING_ORDER = (Community.name, func.length(Building.name), Building.name, Building.id)
HOME_ORDER = (Household.unit, func.length(Household.room), Household.room, Household.id)


def like_pattern(q: str) -> str:
    """``%q%`` for LIKE with q's own % and _ taken literally (escaped with a backslash)."""
    escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


@dataclass(frozen=True)
class HouseholdFilter:
    """The list's filters as statement parameters. Its ``shape`` (which filters are set) picks a statement built
    once per shape and run with ``params``: a search built its four statements anew on each keystroke, and
    building them (the nested counting select most) cost about what running them did."""

    community_id: object = None
    building_id: object = None
    q: str = ""
    buildings_named: tuple = ()  # ids of the buildings whose name contains q, found beforehand
    occupancy: object = None
    params: dict = field(init=False, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "params", {
            "community_id": self.community_id, "building_id": self.building_id,
            "like": like_pattern(self.q) if self.q else None, "named": list(self.buildings_named),
            "occupancy": self.occupancy})

    @property
    def shape(self) -> tuple:
        return (self.community_id is not None, self.building_id is not None, bool(self.q),
                bool(self.buildings_named), self.occupancy is not None)

    def apply(self, stmt, *, homes: bool = True, places: bool = True):
        """The filters added to a select that joins households to buildings and communities (homes / places:
        only the households' own conditions, or only the community's and building's; counted_by_building
        applies each where its table is).

        The search compares the household's own columns (the trigram index ix_households_search serves them on
        PostgreSQL: one bitmap scan per column, or-ed) and its building among ``buildings_named``, so that no
        condition on a joined table blocks the index."""
        community, building, search, named, occupancy = self.shape
        if places:
            if community:
                stmt = stmt.where(Community.id == bindparam("community_id"))
            if building:
                stmt = stmt.where(Building.id == bindparam("building_id"))
        if not homes:
            return stmt
        stmt = stmt.where(Household.live())
        if search:
            like = bindparam("like")
            # The phone first: PostgreSQL checks an OR's terms in order, and a phone's LIKE is the cheapest
            # (no case folding) and, for digits, the one that matches: the other terms are skipped for its rows.
            matches = [Household.owner_phone.like(like, escape="\\"), Household.room.ilike(like, escape="\\"),
                       Household.owner_name.ilike(like, escape="\\")]
            if named:
                matches.append(Household.building_id.in_(bindparam("named", expanding=True)))
            stmt = stmt.where(or_(*matches))
        if occupancy:
            stmt = stmt.where(Household.occupancy == bindparam("occupancy"))
        return stmt


_STATEMENTS: dict = {}  # (what, shape, …) → a statement built once


def _kept(key, build):
    statement = _STATEMENTS.get(key)
    if statement is None:
        statement = _STATEMENTS[key] = built_once(build())
    return statement


def counted_by_building(filters: HouseholdFilter, cap: int) -> list[tuple]:
    """[(building id, matching households)] in the buildings' address order, of the first ``cap`` + 1 matching
    households only: a search matching half the company does not count 10,000 homes to show 20. Walks the
    buildings in address order and stops at the ``cap`` + 1st match, so it costs what those matches cost; a sum
    over ``cap`` means "more". The community and building filters apply to the walked buildings and the
    households' own conditions to each building's households (an index scan on company and building)."""
    def build():
        order = [c.label(f"o{i}") for i, c in enumerate(BUILDING_ORDER)]
        # OFFSET 0 keeps the ordered buildings a subquery of their own, and the LIMIT in each building's subquery
        # keeps that one a subquery run per building (LATERAL): PostgreSQL walks the buildings in order, each by
        # an index scan of its households, and stops at the outer LIMIT. (A plain join has it scan and keep every
        # match first.)
        buildings = (filters.apply(select(*order).select_from(Building).join(Building.community), homes=False)
                     .order_by(*BUILDING_ORDER).offset(0).subquery())
        keys = [buildings.c[f"o{i}"] for i in range(len(order))]
        homes_of = filters.apply(select(Household.building_id), places=False)
        if on_postgresql():
            homes = homes_of.where(Household.building_id == keys[-1]).limit(cap + 1).lateral()
            walk = select(*keys).join(homes, true())
        else:  # SQLite has no LATERAL; the same rows by a join
            homes = homes_of.subquery()
            walk = select(*keys).join(homes, homes.c.building_id == keys[-1])
        first = walk.order_by(*keys).limit(cap + 1).subquery()
        keys = [first.c[f"o{i}"] for i in range(len(order))]
        return select(keys[-1], func.count()).group_by(*keys).order_by(*keys)

    statement = _kept(("counted", filters.shape, cap, on_postgresql()), build)
    return db.session.execute(statement, filters.params).all()


def _page_statement(filters: HouseholdFilter, buildings: int):
    """The page's households (with their building and community) among ``buildings`` chosen buildings (parameters
    b0, b1, …, in address order), from ``start`` for ``size``. The page's ids first, in a subquery of their own
    (its LIMIT keeps it one), and only then their buildings and communities: joined before the LIMIT,
    PostgreSQL (which expects a search to match one home) scanned the company's buildings once per matching
    home. The chosen buildings are in address order already, so their position orders them."""
    def build():
        chosen = [bindparam(f"b{i}", type_=Household.building_id.type) for i in range(buildings)]
        homes = filters.apply(select(Household.id), places=False).where(Household.building_id.in_(chosen))
        position = [case(*((Household.building_id == b, i) for i, b in enumerate(chosen)))] if buildings > 1 else []
        page = (homes.order_by(*position, *HOME_ORDER)
                .offset(bindparam("start", type_=Integer)).limit(bindparam("size", type_=Integer)).subquery())
        return (select(Household).join(Household.building).join(Building.community)
                .options(contains_eager(Household.building).contains_eager(Building.community))
                .join(page, page.c.id == Household.id).order_by(*BUILDING_ORDER, *HOME_ORDER))

    return _kept(("page", filters.shape, buildings), build)


class AddressPagination(Pagination):
    """``counts()`` gives [(building id, matching households)] in address order (from the roster's figures when
    the filters allow, else ``counted_by_building`` with ``cap``); ``filters`` (a HouseholdFilter) the matching
    households' own conditions (the counts already chose the buildings)."""

    total_capped = False

    def _query_items(self) -> list:
        filters = self._query_args["filters"]
        counts = self._query_args["counts"]()
        cap = self._query_args.get("cap")
        self._total = sum(n for _, n in counts)
        # Counts of a search (counted_by_building): over the cap means "more than cap"; the pages go up to the cap.
        self.total_capped = cap is not None and self._total > cap
        if self.total_capped:
            self._total = cap
        start, end = self._query_offset, self._query_offset + self.per_page
        if self.total_capped:
            end = min(end, self._total)
        if start >= end:
            return []
        chosen, skipped, seen = [], 0, 0
        for building_id, n in counts:
            if seen + n > start and seen < end:
                chosen.append(building_id)
            elif seen + n <= start:
                skipped += n
            seen += n
        if not chosen:
            return []
        params = {**filters.params, "start": start - skipped, "size": end - start,
                  **{f"b{i}": b for i, b in enumerate(chosen)}}
        return list(db.session.execute(_page_statement(filters, len(chosen)), params).unique().scalars())

    def _query_count(self) -> int:
        return self._total
