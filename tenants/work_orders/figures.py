"""The dashboard's weekly figures, kept up to date by every write to a work order (not recomputed on each view).

One row per company, Shanghai week (its Monday), community and either one category or one assignee (``kind``):
the jobs opened that week (and of them, accepted so far and accepted by their response deadline), the jobs done
that week (and done by their resolution deadline), the jobs rated that week (with the sums and counts of each
rating). That is exactly what stats.py used to count over the work orders themselves: the dashboard now adds up
at most weeks × (categories + assignees) small rows instead of reading every job of the period. (A row per
category × assignee pair would be nearly one row per job in a week: no saving.)

Each job counts twice more, under ``community_key`` = ``ALL``: rows that already add up every community (the job's
own community or none). The page for all communities, the usual one, reads those alone (about 780 rows at 26
weeks instead of 2,800 at four communities: the sums cost a third); a page of one community reads that
community's rows. They are written by the same upserts, so they are exactly the sum of the others.

How it stays exact: a session listener sees every work order inserted, changed or deleted in a flush. Before the
flush it takes the job's old contribution (from the values loaded before the change, or the database when they were
not loaded), after the flush the new one, and adds the difference to the rows in the same transaction (an upsert:
``INSERT … ON CONFLICT DO UPDATE SET n = n + excluded.n``, on PostgreSQL and SQLite). A rolled-back write rolls
back its figures too. The deltas are written at commit (see ``_write``). Bulk SQL that bypasses the ORM
(``update(WorkOrder)``, ``session.execute(insert(WorkOrder), rows)``) would bypass this: the app has none, and
``rebuild()`` recomputes a company's rows from its jobs (the migration's backfill does the same).

The same listeners keep ``work_order_status_counts``: how many of a company's jobs are in each status (the board's
column totals, the lists' "N in all" without a COUNT over 200,000 rows). A job's old status is the one loaded
under ``services.lock`` (SELECT … FOR UPDATE, then the change): read before the lock, a concurrent move of the
same job would be counted from a stale status.

``revision`` goes up on every change to a row, even one that leaves the counts as they were (a job moving between
two assignees in the same week, a changed acceptance time): the medians' cache (``cached_medians``) keys on it.
"""

from __future__ import annotations

import functools
import json
import uuid
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import BigInteger, Date, Index, Integer, String, Text, Uuid, event, func, select, update
from sqlalchemy.orm import Mapped, Session, attributes, mapped_column

from saas.clock import SHANGHAI
from saas.extensions import db, on_postgresql
from saas.tenancy import CompanyScoped, built_once

NIL = uuid.UUID(int=0)  # "nobody" / "no community" in a key column (NULLs never conflict in a unique index)
ALL = uuid.UUID(int=(1 << 128) - 1)  # community_key of the rows that add up every community (never a real id)
CATEGORY, ASSIGNEE = "c", "a"
COUNTS = ("opened", "accepted", "response_on_time", "completed", "on_time", "rated",
          "rating_sum_overall", "rating_sum_speed", "rating_sum_attitude",
          "rating_count_overall", "rating_count_speed", "rating_count_attitude")
# The work order's attributes the figures read; a change to any other leaves them as they are.
FIELDS = ("created_at", "accepted_at", "response_due_at", "completed_at", "resolution_due_at", "rated_at",
          "category_id", "assignee_id", "community_id", "rating_overall", "rating_speed", "rating_attitude")
_OLD = "work_order_figures_old"
_PENDING = "work_order_figures_pending"
_OLD_STATUS = "work_order_status_old"
_PENDING_STATUS = "work_order_status_pending"


class WorkOrderWeek(CompanyScoped, db.Model):
    __tablename__ = "work_order_weeks"
    __table_args__ = (
        # community_key before the week: a page reads the index entries of its community (or ALL) only.
        Index("uq_work_order_weeks_key", "company_id", "community_key", "week", "kind", "key_id", unique=True),
    )

    week: Mapped[date] = mapped_column(Date)  # the Monday, Shanghai
    kind: Mapped[str] = mapped_column(String(1))  # CATEGORY or ASSIGNEE
    key_id: Mapped[uuid.UUID] = mapped_column(Uuid)  # the category, or the assignee (NIL: nobody)
    community_key: Mapped[uuid.UUID] = mapped_column(Uuid)  # NIL: no community; ALL: every community
    opened: Mapped[int] = mapped_column(Integer, default=0)
    accepted: Mapped[int] = mapped_column(Integer, default=0)
    response_on_time: Mapped[int] = mapped_column(Integer, default=0)
    completed: Mapped[int] = mapped_column(Integer, default=0)
    on_time: Mapped[int] = mapped_column(Integer, default=0)
    rated: Mapped[int] = mapped_column(Integer, default=0)
    rating_sum_overall: Mapped[int] = mapped_column(Integer, default=0)
    rating_sum_speed: Mapped[int] = mapped_column(Integer, default=0)
    rating_sum_attitude: Mapped[int] = mapped_column(Integer, default=0)
    rating_count_overall: Mapped[int] = mapped_column(Integer, default=0)
    rating_count_speed: Mapped[int] = mapped_column(Integer, default=0)
    rating_count_attitude: Mapped[int] = mapped_column(Integer, default=0)
    revision: Mapped[int] = mapped_column(Integer, default=0)


class WorkOrderMedianCache(CompanyScoped, db.Model):
    """The dashboard's medians for one period and community, with the ``fingerprint`` of the weekly rows they were
    computed under: the sum of those rows' revisions, which grows with every change to any job of the period
    (see the module's docstring). A page whose weekly rows add up to the same fingerprint reads these medians;
    any other computes them again. Medians cannot be added up week by week, so they are cached instead."""

    __tablename__ = "work_order_median_cache"
    __table_args__ = (
        Index("uq_work_order_median_cache_key", "company_id", "first_week", "weeks", "community_key", unique=True),
    )

    first_week: Mapped[date] = mapped_column(Date)
    weeks: Mapped[int] = mapped_column(Integer)
    community_key: Mapped[uuid.UUID] = mapped_column(Uuid)  # NIL: every community
    fingerprint: Mapped[int] = mapped_column(BigInteger)
    payload: Mapped[str] = mapped_column(Text)  # JSON: [[kind, key or null, response s, resolution s], …]


class WorkOrderStatusCount(CompanyScoped, db.Model):
    """How many of the company's jobs are in one status, kept exact by the writes (see the module's docstring)."""

    __tablename__ = "work_order_status_counts"
    __table_args__ = (Index("uq_work_order_status_counts_key", "company_id", "status", unique=True),)

    status: Mapped[str] = mapped_column(String(20))  # a Status value
    n: Mapped[int] = mapped_column(Integer, default=0)


def status_counts() -> dict:
    """{Status: jobs} of the current company (statuses with none are missing): one read of at most nine rows."""
    from tenants.work_orders.states import Status

    return {Status(status): n for status, n in db.session.execute(_status_counts_statement())}


@functools.cache
def _status_counts_statement():
    return built_once(select(WorkOrderStatusCount.status, WorkOrderStatusCount.n).where(WorkOrderStatusCount.n != 0))


def week_of(moment: datetime) -> date:
    """The Monday (Shanghai) of the week a UTC instant falls in."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # SQLite hands back naive UTC
    day = moment.astimezone(SHANGHAI).date()
    return day - timedelta(days=day.weekday())


def _aware(moment: datetime | None) -> datetime | None:
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment


def contribution(values: dict) -> dict[tuple, dict[str, int]]:
    """What one job adds to the figures: {(week, kind, key, community): {count: n}} (stats.py's rules), each
    count four times: under its category and under its assignee, each in its community and in ``ALL``."""
    out: dict[tuple, dict[str, int]] = {}
    for (week, category, assignee, community), counts in _by_pair(values).items():
        for where in (community, ALL):
            out[(week, CATEGORY, category, where)] = counts
            out[(week, ASSIGNEE, assignee, where)] = counts
    return out


def _by_pair(values: dict) -> dict[tuple, dict[str, int]]:
    created, accepted, completed, rated = (_aware(values[k]) for k in
                                           ("created_at", "accepted_at", "completed_at", "rated_at"))
    if created is None or values["category_id"] is None:
        return {}
    who = (values["category_id"], values["assignee_id"] or NIL, values["community_id"] or NIL)
    out: dict[tuple, dict[str, int]] = defaultdict(dict)
    opened = out[(week_of(created), *who)]
    opened["opened"] = 1
    if accepted is not None:
        opened["accepted"] = 1
        opened["response_on_time"] = int(accepted <= _aware(values["response_due_at"]))
    if completed is not None:
        done = out[(week_of(completed), *who)]
        done["completed"] = done.get("completed", 0) + 1
        done["on_time"] = done.get("on_time", 0) + int(completed <= _aware(values["resolution_due_at"]))
    if rated is not None:
        row = out[(week_of(rated), *who)]
        row["rated"] = row.get("rated", 0) + 1
        for name in ("overall", "speed", "attitude"):
            stars = values[f"rating_{name}"]
            if stars is not None:
                row[f"rating_sum_{name}"] = row.get(f"rating_sum_{name}", 0) + stars
                row[f"rating_count_{name}"] = row.get(f"rating_count_{name}", 0) + 1
    return out


# --- upkeep ---------------------------------------------------------------------------------------------------


def _work_order_class():
    from tenants.work_orders.models import WorkOrder

    return WorkOrder


@event.listens_for(Session, "before_flush")
def _remember_old(session: Session, flush_context, instances) -> None:
    """The old contribution of every changed (or deleted) job, before the flush overwrites the row."""
    work_order = _work_order_class()
    old: dict = session.info.setdefault(_OLD, {})
    _remember_old_status(session, work_order)
    unknown = []
    for obj in list(session.dirty) + list(session.deleted):
        if not isinstance(obj, work_order) or id(obj) in old:
            continue
        state = attributes.instance_state(obj)
        changed = [f for f in FIELDS if f in state.committed_state]
        if not changed and obj not in session.deleted:
            continue
        values = {}
        for f in FIELDS:
            if f in state.committed_state:
                before = state.committed_state[f]
                if before is attributes.NO_VALUE:  # set without being loaded first: ask the database
                    unknown.append(obj)
                    break
                values[f] = before
            else:
                values[f] = getattr(obj, f)
        else:
            old[id(obj)] = (obj, values)
    for obj in unknown:
        row = session.connection().execute(
            select(*(getattr(work_order, f) for f in FIELDS))
            .where(work_order.company_id == obj.company_id, work_order.id == obj.id)).one()
        old[id(obj)] = (obj, dict(zip(FIELDS, row, strict=True)))


def _remember_old_status(session: Session, work_order) -> None:
    """The status each changed (or deleted) job had before this flush; a changed job's first old status in a
    flush is kept (a job changed twice before one flush moves once, from the status it was loaded with)."""
    old: dict = session.info.setdefault(_OLD_STATUS, {})
    for obj in list(session.dirty) + list(session.deleted):
        if not isinstance(obj, work_order) or id(obj) in old:
            continue
        state = attributes.instance_state(obj)
        if obj in session.deleted:
            before = state.committed_state.get("status", obj.status)
        elif "status" in state.committed_state:
            before = state.committed_state["status"]
        else:
            continue
        if before is attributes.NO_VALUE:  # set without being loaded first: ask the database
            before = session.connection().execute(
                select(work_order.status).where(work_order.company_id == obj.company_id,
                                                work_order.id == obj.id)).scalar_one()
        old[id(obj)] = (obj, before)


def _collect_status(session: Session, work_order) -> None:
    old: dict = session.info.pop(_OLD_STATUS, {})
    pending: dict = session.info.setdefault(_PENDING_STATUS, defaultdict(int))
    for obj, before in old.values():
        if before is not None:
            pending[(obj.company_id, str(before))] -= 1
        if obj not in session.deleted:
            pending[(obj.company_id, str(obj.status))] += 1
    for obj in session.new:
        if isinstance(obj, work_order):
            pending[(obj.company_id, str(obj.status))] += 1


@event.listens_for(Session, "after_flush")
def _collect(session: Session, flush_context) -> None:
    """The difference this flush makes, added to the transaction's pending deltas (written at commit)."""
    work_order = _work_order_class()
    _collect_status(session, work_order)
    old: dict = session.info.pop(_OLD, {})
    pending: dict = session.info.setdefault(_PENDING, {})

    def add(company_id, values: dict, sign: int) -> None:
        for key, counts in contribution(values).items():
            row = pending.setdefault((company_id, *key), defaultdict(int))
            for name, n in counts.items():
                row[name] += sign * n

    for obj, values in old.values():
        add(obj.company_id, values, -1)
    for obj in session.new:
        if isinstance(obj, work_order):
            add(obj.company_id, {f: getattr(obj, f) for f in FIELDS}, +1)
    for obj, _values in old.values():
        if obj not in session.deleted:
            add(obj.company_id, {f: getattr(obj, f) for f in FIELDS}, +1)


@event.listens_for(Session, "before_commit")
def _write(session: Session) -> None:
    """Write the transaction's deltas last, just before COMMIT: the figure rows are shared by every job of a
    week, category, assignee and community, and an upsert locks its row until the commit, so it is taken as late
    as possible (concurrent reports of one company then queue only for the commit itself)."""
    session.flush()  # the last changes, so their deltas are in
    pending: dict = session.info.pop(_PENDING, {})
    if pending:
        _upsert(session, sorted(pending.items(), key=lambda kv: tuple(str(k) for k in kv[0])))  # one lock order
    statuses: dict = session.info.pop(_PENDING_STATUS, {})
    changed = sorted((key, n) for key, n in statuses.items() if n)  # a move there and back changes nothing
    if changed:
        _add_status_counts(session, [(company_id, status, n) for (company_id, status), n in changed])


@event.listens_for(Session, "after_transaction_end")
def _forget(session: Session, transaction) -> None:
    if transaction.parent is None:  # the outermost transaction ended (committed or rolled back)
        for key in (_PENDING, _OLD, _PENDING_STATUS, _OLD_STATUS):
            session.info.pop(key, None)


def _upsert(session: Session, rows: list[tuple[tuple, dict[str, int]]]) -> None:
    from saas.tenancy import new_id, utcnow

    table = WorkOrderWeek.__table__
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    now = utcnow()
    values = [{"company_id": company_id, "id": new_id(), "created_at": now, "week": week, "kind": kind,
               "key_id": key, "community_key": community, "revision": 1,
               **{name: counts.get(name, 0) for name in COUNTS}}
              for (company_id, week, kind, key, community), counts in rows]
    # In chunks: a statement may carry at most 65,535 parameters on PostgreSQL (32,766 on SQLite), and each row
    # has twenty (a rebuild of a two-year company writes over 10,000 rows).
    for start in range(0, len(values), _UPSERT_CHUNK):
        stmt = insert(table).values(values[start:start + _UPSERT_CHUNK])
        stmt = stmt.on_conflict_do_update(
            index_elements=["company_id", "week", "kind", "key_id", "community_key"],
            set_={**{name: table.c[name] + stmt.excluded[name] for name in COUNTS},
                  "revision": table.c.revision + 1})
        session.connection().execute(stmt)


_UPSERT_CHUNK = 1000


def _insert_for(session: Session):
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


def _add_status_counts(session: Session, rows: list[tuple]) -> None:
    """Add (company, status, n) to the status counts: one upsert, rows in a fixed order (one lock order)."""
    from saas.tenancy import new_id, utcnow

    table = WorkOrderStatusCount.__table__
    now = utcnow()
    stmt = _insert_for(session)(table).values([
        {"company_id": company_id, "id": new_id(), "created_at": now, "status": status, "n": n}
        for company_id, status, n in rows])
    session.connection().execute(stmt.on_conflict_do_update(
        index_elements=["company_id", "status"], set_={"n": table.c.n + stmt.excluded.n}))


def cached_medians(first_week: date, weeks: int, community_id: uuid.UUID | None, fingerprint: int, compute):
    """The medians of a period from the cache when its fingerprint still holds, else ``compute()``d and stored
    (committed at once: the page is a GET, and a cache row is no business data)."""
    from saas.tenancy import new_id, utcnow

    community_key = community_id or NIL
    row = db.session.execute(
        select(WorkOrderMedianCache.fingerprint, WorkOrderMedianCache.payload)
        .where(WorkOrderMedianCache.first_week == first_week, WorkOrderMedianCache.weeks == weeks,
               WorkOrderMedianCache.community_key == community_key)).first()
    if row is not None and row.fingerprint == fingerprint:
        return {(kind, uuid.UUID(key) if key else None): (response, resolution)
                for kind, key, response, resolution in json.loads(row.payload)}
    medians = compute()
    payload = json.dumps([[kind, str(key) if key else None, response, resolution]
                          for (kind, key), (response, resolution) in medians.items()])
    if on_postgresql():
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    from saas.tenancy import require_company_id

    stmt = insert(WorkOrderMedianCache.__table__).values(
        company_id=require_company_id(), id=new_id(), created_at=utcnow(), first_week=first_week, weeks=weeks,
        community_key=community_key, fingerprint=fingerprint, payload=payload)
    db.session.execute(stmt.on_conflict_do_update(
        index_elements=["company_id", "first_week", "weeks", "community_key"],
        set_={"fingerprint": stmt.excluded.fingerprint, "payload": stmt.excluded.payload}))
    session = db.session()
    session.expire_on_commit = False  # the page goes on with the objects it loaded: no reload after this commit
    try:
        session.commit()
    finally:
        session.expire_on_commit = True
    return medians


def rebuild() -> int:
    """Recompute the current company's rows from its jobs (a repair tool and the tests' reference): returns the
    number of rows written."""
    work_order = _work_order_class()
    # Zeroed rather than deleted (the app role may not delete; and revisions must only grow, or an old
    # fingerprint of the medians' cache could come back), then the jobs' contributions added.
    db.session.execute(update(WorkOrderWeek).values(**{name: 0 for name in COUNTS},
                                                    revision=WorkOrderWeek.revision + 1),
                       execution_options={"synchronize_session": False})
    totals: dict[tuple, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    company_id = None
    for row in db.session.execute(select(work_order.company_id, *(getattr(work_order, f) for f in FIELDS))):
        company_id = row[0]
        for key, counts in contribution(dict(zip(FIELDS, row[1:], strict=True))).items():
            for name, n in counts.items():
                totals[(company_id, *key)][name] += n
    if totals:
        _upsert(db.session, list(totals.items()))
    _rebuild_status_counts(work_order)
    return len(totals)


def _rebuild_status_counts(work_order) -> None:
    """The current company's status counts set to a direct count of its jobs (zeroed first, as above)."""
    from saas.tenancy import require_company_id

    db.session.execute(update(WorkOrderStatusCount).values(n=0), execution_options={"synchronize_session": False})
    counted = db.session.execute(select(work_order.status, func.count()).group_by(work_order.status)).all()
    if counted:
        company_id = require_company_id()
        _add_status_counts(db.session, [(company_id, str(status), n) for status, n in sorted(counted)])
