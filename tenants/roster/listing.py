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

from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import case, func, select, true

from saas.extensions import db, on_postgresql
from tenants.roster.models import Building, Community, Household

BUILDING_ORDER = (Community.name, func.length(Building.name), Building.name, Building.id)
HOME_ORDER = (Household.unit, func.length(Household.room), Household.room, Household.id)


def counted_by_building(filtered, cap: int) -> list[tuple]:
    """[(building id, matching households)] in the buildings' address order, of the first ``cap`` + 1 matching
    households only: a search matching half the company does not count 10,000 homes to show 20. Walks the
    buildings in address order and stops at the ``cap`` + 1st match, so it costs what those matches cost; a sum
    over ``cap`` means "more".
    ``filtered(stmt, homes=…, places=…)`` applies the community and building filters to the walked buildings and
    the households' own conditions to each building's households (an index scan on company and building)."""
    order = [c.label(f"o{i}") for i, c in enumerate(BUILDING_ORDER)]
    # OFFSET 0 keeps the ordered buildings a subquery of their own, and the LIMIT in each building's subquery keeps
    # that one a subquery run per building (LATERAL): PostgreSQL walks the buildings in order, each by an index
    # scan of its households, and stops at the outer LIMIT. (A plain join has it scan and keep every match first.)
    buildings = (filtered(select(*order).select_from(Building).join(Building.community), homes=False)
                 .order_by(*BUILDING_ORDER).offset(0).subquery())
    keys = [buildings.c[f"o{i}"] for i in range(len(order))]
    homes_of = filtered(select(Household.building_id), places=False)
    if on_postgresql():
        homes = homes_of.where(Household.building_id == keys[-1]).limit(cap + 1).lateral()
        walk = select(*keys).join(homes, true())
    else:  # SQLite has no LATERAL; the same rows by a join
        homes = homes_of.subquery()
        walk = select(*keys).join(homes, homes.c.building_id == keys[-1])
    first = walk.order_by(*keys).limit(cap + 1).subquery()
    keys = [first.c[f"o{i}"] for i in range(len(order))]
    return db.session.execute(select(keys[-1], func.count()).group_by(*keys).order_by(*keys)).all()


class AddressPagination(Pagination):
    """``counts()`` gives [(building id, matching households)] in address order (from the roster's figures when
    the filters allow, else ``counted_by_building`` with ``cap``); ``homes`` is the select of the matching
    households' ids (their own conditions only: the counts already chose the buildings); ``rows`` the select of
    households with their building and community (contains_eager) that the page's ids are joined to."""

    total_capped = False

    def _query_items(self) -> list:
        rows = self._query_args["rows"]
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
        # The page's ids first, in a subquery of their own (its LIMIT keeps it one), and only then their buildings
        # and communities: joined before the LIMIT, PostgreSQL (which expects a search to match one home) scanned
        # the company's buildings once per matching home. The chosen buildings are in address order already, so
        # their position orders them.
        homes = self._query_args["homes"].where(Household.building_id.in_(chosen))
        position = case({b: i for i, b in enumerate(chosen)}, value=Household.building_id) if len(chosen) > 1 else None
        page = (homes.order_by(*([position] if position is not None else []), *HOME_ORDER)
                .offset(start - skipped).limit(end - start).subquery())
        return list(db.session.execute(
            rows.join(page, page.c.id == Household.id).order_by(*BUILDING_ORDER, *HOME_ORDER)
        ).unique().scalars())

    def _query_count(self) -> int:
        return self._total
