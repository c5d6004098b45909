"""The stewards overview: every steward's load against capacity, 50 to a page, searchable by name, filtered by
load band and sorted; the counts of stewards per band as a four-bar chart.

A company of 20,000 homes has about 400 stewards: the page used to load each one as ORM objects (membership, user,
profile) and render all of them, a table row and a chart bar each (126 ms, 400 rows). Now one statement reads
(id, name, own capacity, load) tuples of all stewards (the load from the roster's figures, tenants/roster/
figures.py, not a count over the steward periods), the bands, sort and page are worked out on those small tuples,
and only the page's 50 are rendered. The unassigned homes come from the same figures."""

from __future__ import annotations

import enum
import functools
from dataclasses import dataclass

from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import and_, select

from saas.extensions import db
from saas.i18n import _l
from saas.models import Company, Membership, Role, User
from saas.tenancy import built_once
from tenants.roster import figures
from tenants.roster.models import Occupancy
from tenants.stewards import services
from tenants.stewards.models import StewardProfile
from tenants.stewards.queries import UnassignedFigures

PER_PAGE = 50
NEAR_FULL = 0.9  # from 90 % of capacity a steward is "nearly full" (amber)


class Band(enum.StrEnum):
    IDLE = "idle"  # no households
    ROOM = "room"  # below 90 % of capacity
    NEAR = "near"  # 90 % up to capacity
    OVER = "over"  # above capacity

    @property
    def label(self) -> str:
        return str(BAND_LABELS[self])


BAND_LABELS = {
    Band.IDLE: _l("No households"),
    Band.ROOM: _l("Room to spare"),
    Band.NEAR: _l("Full or nearly full"),
    Band.OVER: _l("Over capacity"),
}
SORTS = {
    "name": _l("Sort by name"),
    "load": _l("Most households first"),
    "free": _l("Most room first"),
}


@dataclass(slots=True)
class Row:
    id: object  # the steward's membership
    name: str
    load: int  # all the steward's households
    capacity: int
    own_capacity: bool  # set on the steward's own page rather than the company default
    in_scope: int = 0  # within the filtered community/building

    @property
    def band(self) -> Band:
        if self.load > self.capacity:
            return Band.OVER
        if self.load == 0:
            return Band.IDLE
        return Band.NEAR if self.load >= NEAR_FULL * self.capacity else Band.ROOM

    @property
    def overloaded(self) -> bool:
        return self.load > self.capacity

    @property
    def free(self) -> int:
        return self.capacity - self.load


class RowsPage(Pagination):
    """A page of rows already in memory (the pagination links of components/_pagination.html)."""

    def _query_items(self) -> list:
        rows = self._query_args["rows"]
        return rows[self._query_offset:self._query_offset + self.per_page]

    def _query_count(self) -> int:
        return len(self._query_args["rows"])


@dataclass
class Overview(UnassignedFigures):
    page: RowsPage
    stewards: int  # all current stewards
    bands: dict  # Band -> stewards in it (all stewards, not only those shown)
    unassigned: dict  # Occupancy -> live households without a steward, within the scope
    missing: int  # stewards short to cover the unassigned occupied households
    overloaded: list  # the first three stewards over capacity, by name (named in the alert)

    @property
    def band_max(self) -> int:
        return max([1, *self.bands.values()])


def all_rows(company: Company) -> list[Row]:
    """Every current steward as a Row, by name (one statement; no ORM objects)."""
    default = company.steward_capacity or services.DEFAULT_CAPACITY
    return [Row(id=m, name=name, load=load or 0, capacity=own if own is not None else default,
                own_capacity=own is not None)
            for m, name, own, load in db.session.execute(_rows_statement())]


@functools.cache
def _rows_statement():
    """Built once: no parameter but the company (saas.tenancy.built_once)."""
    return built_once(
        select(Membership.id, User.name, StewardProfile.capacity, figures.StewardLoad.households)
        .join(Membership.user)
        .outerjoin(StewardProfile, and_(StewardProfile.company_id == Membership.company_id,
                                        StewardProfile.membership_id == Membership.id))
        .outerjoin(figures.StewardLoad, and_(figures.StewardLoad.company_id == Membership.company_id,
                                             figures.StewardLoad.steward_id == Membership.id))
        .where(Membership.role == Role.STEWARD, Membership.ended_at.is_(None))
        .order_by(User.name, Membership.id)
    )


def overview(company: Company, *, q: str = "", band: Band | None = None, sort: str = "name", page: int = 1,
             community_id=None, building_id=None) -> Overview:
    rows = all_rows(company)
    bands = dict.fromkeys(Band, 0)
    for r in rows:
        bands[r.band] += 1
    spare = sum(max(0, r.free) for r in rows)
    overloaded = [r for r in rows if r.overloaded]
    counts = figures.by_occupancy(community_id=community_id, building_id=building_id)
    unassigned = {occ: n - with_steward for occ, (n, with_steward) in counts.items()}
    missing = services.stewards_missing(max(0, unassigned[Occupancy.OCCUPIED] - spare), company)
    shown = rows
    if q:
        needle = q.casefold()
        shown = [r for r in shown if needle in r.name.casefold()]
    if band is not None:
        shown = [r for r in shown if r.band == band]
    if sort == "load":
        shown = sorted(shown, key=lambda r: -r.load)  # stable: by name within a load
    elif sort == "free":
        shown = sorted(shown, key=lambda r: -r.free)
    paged = RowsPage(page=page, per_page=PER_PAGE, error_out=False, rows=shown)
    if community_id is not None or building_id is not None:
        # The page's stewards' households within the scope: a count over the scope's periods, not the company's.
        scoped = services.loads(community_id=community_id, building_id=building_id)
        paged.items = [Row(r.id, r.name, r.load, r.capacity, r.own_capacity, scoped.get(r.id, 0))
                       for r in paged.items]
    return Overview(page=paged, stewards=len(rows), bands=bands, unassigned=unassigned, missing=missing,
                    overloaded=overloaded[:3])
