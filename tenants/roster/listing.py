"""The household list in address order (community, building, unit, room), paged a building at a time.

The address order spans three tables and sorts by expressions (``length(room)`` so that 901 comes before 1001), so
no index can give it: ``ORDER BY … LIMIT 20 OFFSET n`` sorted every matching household of the company to show 20
(20,000 at ten times a small company, on every page, every search keystroke). Instead one statement counts the
matching households per building, in the buildings' address order (a few hundred rows at most); the page's
position then names the one or two buildings it falls in, and the second statement sorts only their households.
Same two statements as before (the count and the page), same order, same filters. Without a search the counts
per building come from the roster's figures (tenants/roster/figures.py: a row per building and occupancy) rather
than from counting the households.
"""

from __future__ import annotations

from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import and_, func, select

from saas.extensions import db
from saas.tenancy import require_company_id
from tenants.roster.models import Building, Community, Household

BUILDING_ORDER = (Community.name, func.length(Building.name), Building.name, Building.id)
HOME_ORDER = (Household.unit, func.length(Household.room), Household.room, Household.id)


def counted_by_building(filtered) -> list[tuple]:
    """[(building id, matching households)] in the buildings' address order, counted over the households."""
    # Counted per building first, then joined to the buildings for their order: the join is made for the few
    # hundred counts, not for each of (up to) 20,000 matching households.
    counts = (filtered(select(Household.building_id, func.count().label("n")).select_from(Household)
                       .join(Household.building).join(Building.community))
              .group_by(Household.building_id).subquery())
    return db.session.execute(
        select(counts.c.building_id, counts.c.n)
        .join(Building, and_(Building.company_id == require_company_id(), Building.id == counts.c.building_id))
        .join(Building.community)
        .order_by(*BUILDING_ORDER)
    ).all()


class AddressPagination(Pagination):
    """``counts()`` gives [(building id, matching households)] in address order (from the roster's figures when
    the filters allow, else ``counted_by_building``); ``rows`` is the select of the matching households with their
    building and community (contains_eager) to page."""

    def _query_items(self) -> list:
        rows = self._query_args["rows"]
        counts = self._query_args["counts"]()
        self._total = sum(n for _, n in counts)
        start, end = self._query_offset, self._query_offset + self.per_page
        chosen, skipped, seen = [], 0, 0
        for building_id, n in counts:
            if seen + n > start and seen < end:
                chosen.append(building_id)
            elif seen + n <= start:
                skipped += n
            seen += n
        if not chosen:
            return []
        return list(db.session.execute(
            rows.where(Household.building_id.in_(chosen)).order_by(*BUILDING_ORDER, *HOME_ORDER)
            .offset(start - skipped).limit(self.per_page)
        ).unique().scalars())

    def _query_count(self) -> int:
        return self._total
