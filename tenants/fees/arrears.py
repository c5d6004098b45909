"""Arrears (欠费): what households owe on bills past their due date, by community → building → household, by age.

Every figure is aggregated in SQL, so a page makes the same number of statements for 10 or 100,000 households:
the totals of the scope, one row per community (or building), and one page of households.

Age is counted from a bill's ``due_on``: up to 30 days, 31–90, 91–365 and over a year. A household whose oldest
unpaid bill fell due 30 months ago or more is flagged: the 3-year limitation period of 民法典 188 approaches for it.
Bills not yet due are not arrears and are left out.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, fields
from datetime import date, timedelta
from functools import cache

from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import bindparam, case, func, literal, select, true

from saas.extensions import db, on_postgresql
from saas.pagination import page_number
from saas.tenancy import built_once, require_company_id
from tenants.fees.models import Bill, FeeArrearsState, FeeBuildingArrears, FeeHouseholdArrears
from tenants.roster.models import Building, Community, Household

BUCKETS = ("d30", "d90", "d365", "older")
LIMITATION_WARNING_MONTHS = 30
PER_PAGE = 50
SORTS = ("owed", "oldest", "room")


def months_before(day: date, months: int) -> date:
    """The same day ``months`` months earlier (the month's last day when it is shorter)."""
    total = day.year * 12 + day.month - 1 - months
    year, month = divmod(total, 12)
    month += 1
    for d in (day.day, 30, 29, 28):
        try:
            return date(year, month, d)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def limitation_cutoff(today: date) -> date:
    """A household whose oldest unpaid bill fell due on or before this day is flagged."""
    return months_before(today, LIMITATION_WARNING_MONTHS)


def _owed():
    return Bill.amount_fen - Bill.paid_fen - Bill.credited_fen


def _columns(today: date) -> list:
    """The aggregate columns: per age bucket, the total, how many households and the oldest due date."""
    owed = _owed()
    d30, d90, d365 = today - timedelta(days=30), today - timedelta(days=90), today - timedelta(days=365)
    bucket = {
        "d30": Bill.due_on >= d30,
        "d90": (Bill.due_on < d30) & (Bill.due_on >= d90),
        "d365": (Bill.due_on < d90) & (Bill.due_on >= d365),
        "older": Bill.due_on < d365,
    }
    return [func.coalesce(func.sum(case((cond, owed), else_=literal(0))), 0).label(name)
            for name, cond in bucket.items()] + [
        func.coalesce(func.sum(owed), 0).label("total"),
        func.min(Bill.due_on).label("oldest_due"),
    ]


def _overdue(today: date, community_id=None, building_id=None, household_ids=None) -> list:
    # Written as the partial index ix_bills_open's predicate, so PostgreSQL reads only the open bills.
    where = [Bill.amount_fen > Bill.paid_fen + Bill.credited_fen, Bill.due_on < today]
    if community_id is not None:
        where.append(Bill.community_id == community_id)
    if building_id is not None:
        where.append(Bill.building_id == building_id)
    if household_ids is not None:
        where.append(Bill.household_id.in_(household_ids))
    return where


@dataclass
class Totals:
    d30: int = 0
    d90: int = 0
    d365: int = 0
    older: int = 0
    total: int = 0
    households: int = 0
    flagged: int = 0


def _totals(row) -> Totals:
    return Totals(*(int(row[i] or 0) for i in range(7)))


_TOTALS_FIELDS = tuple(f.name for f in fields(Totals))


def sum_totals(parts) -> Totals:
    """The Totals of a scope from those of its parts (a community's from its buildings', the company's from its
    communities'): what scope_totals counts, without its statement."""
    return Totals(*(sum(getattr(t, name) for t in parts) for name in _TOTALS_FIELDS))


def _fresh(today: date) -> None:
    """The figures count for ``today`` (once per request: the first call checks, and recounts on a new day)."""
    from flask import g

    from saas.tenancy import require_company_id
    from tenants.fees import figures

    key = (require_company_id(), today)
    if getattr(g, "fee_arrears_fresh", None) != key:
        figures.ensure_fresh(today)
        g.fee_arrears_fresh = key


def _sums(table, cutoff=None) -> list:
    """The buckets, households and flagged of rows of fee_building_arrears, or of fee_household_arrears (then
    flagged counts the rows whose oldest due date is on or before ``cutoff``)."""
    sums = [func.coalesce(func.sum(table.c[name]), 0) for name in (*BUCKETS, "total")]
    if cutoff is None:
        return [*sums, func.coalesce(func.sum(table.c.households), 0), func.coalesce(func.sum(table.c.flagged), 0)]
    return [*sums, func.count(), func.coalesce(func.sum(case((table.c.oldest_due <= cutoff, 1), else_=0)), 0)]


def scope_totals(today: date, *, community_id=None, building_id=None) -> Totals:
    """The whole scope's arrears by age, how many households owe and how many are flagged (one statement, over the
    buildings' figures, or a building's households'; it also asks which day they count for, and on a new day they
    are recounted first and asked again)."""
    from flask import g

    from tenants.fees.models import FeeArrearsState

    company_id = require_company_id()
    if building_id is not None:
        t = FeeHouseholdArrears.__table__
        stmt = select(*_sums(t, limitation_cutoff(today))).where(t.c.company_id == company_id,
                                                                 t.c.building_id == building_id, t.c.total > 0)
    else:
        t = FeeBuildingArrears.__table__
        stmt = select(*_sums(t)).where(t.c.company_id == company_id, t.c.households > 0)
        if community_id is not None:
            stmt = stmt.where(t.c.community_id == community_id)
    if getattr(g, "fee_arrears_fresh", None) == (company_id, today):
        return _totals(db.session.execute(stmt).one())
    as_of = select(FeeArrearsState.as_of).where(FeeArrearsState.company_id == company_id).scalar_subquery()
    row = db.session.execute(stmt.add_columns(as_of)).one()
    if row[-1] != today:
        _fresh(today)  # recounts, then the totals again
        return _totals(db.session.execute(stmt).one())
    g.fee_arrears_fresh = (company_id, today)
    return _totals(row[:-1])


@dataclass
class GroupRow:
    id: uuid.UUID
    name: str
    totals: Totals


@cache
def _by_group_statement(per_building: bool, one_building: bool):
    """by_group's statement, built once per shape and run with parameters (building it per request cost about as
    much as running it). Its last column is the day the figures count for, so that the first read of a request
    also checks that they are fresh."""
    t = FeeBuildingArrears.__table__
    key = t.c.building_id if per_building else t.c.community_id
    target = Building if per_building else Community
    as_of = select(FeeArrearsState.as_of).where(FeeArrearsState.company_id == bindparam("company_id")).scalar_subquery()
    stmt = (select(key, target.name, *_sums(t), as_of)
            .join(target, (target.company_id == t.c.company_id) & (target.id == key))
            .where(t.c.company_id == bindparam("company_id"), t.c.households > 0)
            .group_by(key, target.name)
            .order_by(func.sum(t.c.total).desc(), target.name))
    if per_building:
        stmt = stmt.where(t.c.community_id == bindparam("community_id"))
    if one_building:
        stmt = stmt.where(t.c.building_id == bindparam("building_id"))
    return built_once(stmt)


def by_group(today: date, *, community_id=None, building_id=None) -> list[GroupRow]:
    """One row per community, or per building when a community is chosen (one statement over the buildings'
    figures), most owed first. Their sum is the scope's Totals (sum_totals). The first read of the figures in a
    request: on a new day (or with no row to tell) they are recounted first and read again."""
    from flask import g

    company_id = require_company_id()
    stmt = _by_group_statement(community_id is not None, building_id is not None)
    params = {"company_id": company_id, "community_id": community_id, "building_id": building_id}
    rows = db.session.execute(stmt, params).all()
    if getattr(g, "fee_arrears_fresh", None) != (company_id, today):
        if rows and rows[0][-1] == today:
            g.fee_arrears_fresh = (company_id, today)
        else:
            _fresh(today)
            rows = db.session.execute(stmt, params).all()
    return [GroupRow(row[0], row[1], _totals(row[2:9])) for row in rows]


@dataclass
class HouseholdRow:
    id: uuid.UUID
    community: str
    building: str
    unit: str
    room: str
    owner_name: str
    totals: Totals
    oldest_due: date
    flagged: bool

    @property
    def room_label(self) -> str:
        unit = f"{self.unit}单元 " if self.unit else ""
        return f"{self.building} {unit}{self.room}"


class _RowPagination(Pagination):
    """Flask-SQLAlchemy's Pagination over a statement of several columns run with parameters (its own paginate
    keeps the first column only), with the total known beforehand (the figures count the households, or
    households() counts the scope)."""

    def _query_items(self):
        params = {**self._query_args["params"], "page_limit": self.per_page, "page_offset": self._query_offset}
        return db.session.execute(self._query_args["select"], params).all()

    def _query_count(self):
        return self._query_args["total"]


def _household_scope(scope: str | None) -> list:
    """The rows of fee_household_arrears that owe in the company, or in the community or building (``scope``: the
    column) given as the parameter ``scope_id``."""
    a = FeeHouseholdArrears.__table__
    where = [a.c.company_id == bindparam("company_id"), a.c.total > 0]
    if scope is not None:
        where.append(a.c[scope] == bindparam("scope_id"))
    return where


@cache
def _count_statement(scope: str | None):
    return built_once(select(func.count()).select_from(FeeHouseholdArrears.__table__).where(*_household_scope(scope)))


@cache
def _page_statement(postgresql: bool, scope: str | None, sort: str, edged: bool):
    """The statement of a page of households, built once per shape and run with parameters (company_id, scope_id,
    reach, page_limit, page_offset): building it per request took longer than PostgreSQL takes to run it.

    The page is read from fee_household_arrears in its index order: the rows up to the page's last one by amount
    (or oldest due date), with ties (the room order breaks them), found by a scalar subquery (``edged``; the
    parameter ``reach``: rows up to the end of the page), so page 1 reads about 50 rows and not every household
    that owes."""
    a = FeeHouseholdArrears.__table__
    where = _household_scope(scope)
    if edged:
        column, descending = (a.c.total, True) if sort == "owed" else (a.c.oldest_due, False)
        # The last of the first ``reach`` values (all of them when fewer). A plain comparison with it, no
        # COALESCE: only leakproof operators reach the index under row-level security.
        first = (select(column.label("v")).where(*where).order_by(column.desc() if descending else column)
                 .limit(bindparam("reach")).subquery())
        edge = select(func.min(first.c.v) if descending else func.max(first.c.v)).scalar_subquery()
        where.append(column >= edge if descending else column <= edge)
    columns = (a.c.company_id, a.c.household_id, *(a.c[name] for name in (*BUCKETS, "total")), a.c.oldest_due,
               Household.building_id, Household.unit, Household.room, Household.owner_name)
    home = (Household.company_id == a.c.company_id) & (Household.id == a.c.household_id)
    if postgresql and edged:
        # The rows past the edge, each one's home by its key (LATERAL, LIMIT 1: PostgreSQL cannot tell how few
        # rows the edge lets through and would otherwise hash-join a scan of every household of the company),
        # kept apart from the names joined below by OFFSET 0 (a subquery with an OFFSET is planned on its own):
        # joined together, the planner put the buildings' hash inside the loop, a scan of every building for each
        # of the page's rows (0.85 of the statement's 1.1 ms). Not a MATERIALIZED CTE: a statement that does not
        # start with SELECT ends the request with a rollback, which drops the prepared statements
        # (saas/read_transactions.py).
        lateral = select(*columns[-4:]).where(home).limit(1).lateral()
        rows = (select(*columns[:-4], *lateral.c).select_from(a).join(lateral, true()).where(*where)
                .offset(0).subquery())
    else:
        # SQLite, and the room order or a deep page on PostgreSQL (every row that owes, so hash joins are right;
        # they were a LATERAL lookup per household, 150 ms for the company's 16,000).
        rows = select(*columns).join(Household, home).where(*where).subquery()
    stmt = (select(rows.c.household_id, Community.name, Building.name, rows.c.unit, rows.c.room, rows.c.owner_name,
                   *(rows.c[name] for name in (*BUCKETS, "total")), rows.c.oldest_due)
            .join(Building, (Building.company_id == rows.c.company_id) & (Building.id == rows.c.building_id))
            .join(Community, (Community.company_id == Building.company_id)
                  & (Community.id == Building.community_id)))
    room_order = (Community.name, Building.name, rows.c.unit, rows.c.room)
    if sort == "room":
        stmt = stmt.order_by(*room_order)
    elif sort == "oldest":
        stmt = stmt.order_by(rows.c.oldest_due, *room_order)
    else:
        stmt = stmt.order_by(rows.c.total.desc(), *room_order)
    return built_once(stmt.limit(bindparam("page_limit")).offset(bindparam("page_offset")))


def households(today: date, *, community_id=None, building_id=None, sort: str = "owed", per_page: int = PER_PAGE,
               total: int | None = None) -> Pagination:
    """One page of the households that owe, items as HouseholdRow: one statement when ``total`` (how many owe in
    the scope, Totals.households) is given, else two."""
    _fresh(today)
    scope, scope_id = None, None  # the narrowest given (a building's community adds nothing)
    if building_id is not None:
        scope, scope_id = "building_id", building_id
    elif community_id is not None:
        scope, scope_id = "community_id", community_id
    params = {"company_id": require_company_id(), "scope_id": scope_id}
    if total is None:  # counted over the scope, before the page's edge narrows the statement
        total = db.session.execute(_count_statement(scope), params).scalar_one()
    number = page_number()
    reach = number * per_page  # rows up to the end of this page
    sort = sort if sort in SORTS else "owed"
    edged = sort != "room" and reach <= 10_000  # deeper: the plain order (nobody pages that far)
    stmt = _page_statement(on_postgresql(), scope, sort, edged)
    page = _RowPagination(select=stmt, params={**params, "reach": reach}, total=total, page=number,
                          per_page=per_page, max_per_page=None, error_out=False)
    cutoff = limitation_cutoff(today)
    page.items = [HouseholdRow(r[0], r[1], r[2], r[3], r[4], r[5],
                               Totals(*(int(v or 0) for v in r[6:11])), r[11], r[11] <= cutoff)
                  for r in page.items]
    return page


# --- the direct counts over the bills (what the figures must equal; tests compare them) -------------------------


def direct_scope_totals(today: date, *, community_id=None, building_id=None) -> Totals:
    per_household = (select(Bill.household_id, *_columns(today))
                     .where(*_overdue(today, community_id, building_id))
                     .group_by(Bill.household_id).subquery())
    cutoff = limitation_cutoff(today)
    row = db.session.execute(select(
        *(func.coalesce(func.sum(per_household.c[name]), 0) for name in (*BUCKETS, "total")),
        func.count(), func.coalesce(func.sum(case((per_household.c.oldest_due <= cutoff, 1), else_=0)), 0),
    )).one()
    return _totals(row)


def direct_by_household(today: date) -> dict[uuid.UUID, tuple]:
    """{household: (d30, d90, d365, older, total, oldest due)} over the bills."""
    rows = db.session.execute(select(Bill.household_id, *_columns(today))
                              .where(*_overdue(today)).group_by(Bill.household_id)).all()
    return {r[0]: (*(int(v) for v in r[1:6]), r[6]) for r in rows}


def owed_by_household(today: date, household_ids) -> dict[uuid.UUID, int]:
    """What each of these households owes past due (one statement); households owing nothing are absent."""
    household_ids = list(household_ids)
    if not household_ids:
        return {}
    rows = db.session.execute(select(Bill.household_id, func.sum(_owed()))
                              .where(*_overdue(today, household_ids=household_ids))
                              .group_by(Bill.household_id)).all()
    return {household_id: int(total) for household_id, total in rows}


def households_owing_more_than(today: date, min_owed_fen: int, *, community_id=None,
                               building_id=None) -> dict[uuid.UUID, int]:
    """Every household of the scope owing more than ``min_owed_fen`` past due: {id: owed} (one statement)."""
    rows = db.session.execute(select(Bill.household_id, func.sum(_owed()))
                              .where(*_overdue(today, community_id, building_id))
                              .group_by(Bill.household_id)
                              .having(func.sum(_owed()) > min_owed_fen)).all()
    return {household_id: int(total) for household_id, total in rows}


def overdue_bills(household_id: uuid.UUID, today: date) -> list[Bill]:
    """A household's bills with something owed past due, oldest first (the written demand lists them)."""
    return list(db.session.execute(
        select(Bill).where(Bill.household_id == household_id, *_overdue(today))
        .order_by(Bill.due_on, Bill.period_start, Bill.title)).scalars())
