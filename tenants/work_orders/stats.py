"""The work-orders dashboard's figures: jobs opened and done per week, response and resolution times, on-time
rates and ratings, in total, by category and by assignee, for the last N Shanghai weeks.

Each figure counts a job in the period when the thing it measures happened:

- opened: ``created_at`` in the period; its response (``accepted_at − created_at``, and whether it was accepted
  by ``response_due_at``) belongs to the same jobs, those of them accepted so far;
- done: ``completed_at`` in the period (rated or closed later or not); resolution time is ``completed_at −
  created_at`` in wall-clock time, on time means ``completed_at ≤ resolution_due_at`` (the deadline already
  moves for time spent waiting for the owner);
- rating: ``rated_at`` in the period.

The counts are not taken from the jobs on each view: they are the weekly rows of figures.py, kept exact by every
write to a job, so the page adds up at most a thousand small rows however many jobs the company has (for all
communities, the rows that already add them up). Medians cannot be
added up week by week; they come from the jobs (two index-only statements on PostgreSQL: ``percentile_cont``; on
SQLite the durations, medians taken here, see ``_medians``) and are cached per period under the fingerprint of the
weekly rows (``figures.cached_medians``): a view reads them back as long as no job of the period has changed.

Statements, whatever the amount of data: one of weekly counts (with the categories' and assignees' names), one
cache read; on a cache miss the medians' statements (two on PostgreSQL, one on SQLite) and the cache write besides.
"""

from __future__ import annotations

import functools
import statistics
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from flask_babel import gettext as _
from sqlalchemy import (
    Date,
    String,
    Uuid,
    and_,
    bindparam,
    case,
    func,
    literal,
    null,
    or_,
    select,
    tuple_,
    type_coerce,
    union_all,
)

from saas.clock import SHANGHAI
from saas.extensions import db, on_postgresql
from saas.models import Membership, Role, User
from saas.tenancy import built_once, utcnow
from tenants.work_orders import figures
from tenants.work_orders.figures import ALL, ASSIGNEE, CATEGORY, COUNTS, NIL, WorkOrderWeek
from tenants.work_orders.models import WorkOrder, WorkOrderCategory

PERIODS = (4, 12, 26)
WEEK = "w"  # the kind of the weekly chart's rows in dashboard()'s statement
_CHART = (1, 4)  # of (revision, *COUNTS): opened and completed
DEFAULT_WEEKS = 12
RATING_FIELDS = ("overall", "speed", "attitude")


@dataclass
class Figures:
    """One row of the dashboard: the whole company, one category or one assignee."""

    key: uuid.UUID | None = None
    name: str = ""
    opened: int = 0
    accepted: int = 0  # of the opened jobs, those accepted so far
    response_on_time: int = 0  # of those, accepted by their response deadline
    completed: int = 0
    on_time: int = 0  # of the completed jobs, done by their resolution deadline
    rated: int = 0
    rating_sums: list[int] = field(default_factory=lambda: [0, 0, 0])
    rating_counts: list[int] = field(default_factory=lambda: [0, 0, 0])
    median_response: float | None = None  # seconds
    median_resolution: float | None = None  # seconds

    @property
    def on_time_rate(self) -> float | None:
        return self.on_time / self.completed if self.completed else None

    @property
    def response_on_time_rate(self) -> float | None:
        return self.response_on_time / self.accepted if self.accepted else None

    def average(self, which: str = "overall") -> float | None:
        i = RATING_FIELDS.index(which)
        return self.rating_sums[i] / self.rating_counts[i] if self.rating_counts[i] else None

    @property
    def active(self) -> bool:
        return bool(self.opened or self.completed or self.rated)


@dataclass
class Week:
    start: date  # the Monday, Shanghai
    opened: int = 0
    closed: int = 0


@dataclass
class Dashboard:
    weeks: list[Week]
    total: Figures
    categories: list[Figures]
    assignees: list[Figures]

    @property
    def empty(self) -> bool:
        return not self.total.active

    @property
    def axis_max(self) -> int:
        """The weekly chart's top: a round number at or above the busiest week, even so that the middle grid
        line is a whole number of jobs."""
        busiest = max([1, *(max(w.opened, w.closed) for w in self.weeks)])
        return next(n for n in _ROUND_NUMBERS if n >= busiest)

    @property
    def on_time_categories(self) -> list[Figures]:
        return [f for f in self.categories if f.completed]


_ROUND_NUMBERS = sorted({m * 10**k for k in range(9) for m in (2, 3, 4, 5, 6, 8)} - {3, 5})


def week_bounds(weeks: int, now: datetime) -> list[datetime]:
    """``weeks + 1`` UTC instants: midnight of each Monday in Shanghai, the current week last (it ends next
    Monday). Shanghai keeps no summer time, so every week is exactly seven days long."""
    today = now.astimezone(SHANGHAI).date()
    first = today - timedelta(days=today.weekday(), weeks=weeks - 1)
    return [datetime.combine(first + timedelta(weeks=i), time(0), SHANGHAI).astimezone(UTC)
            for i in range(weeks + 1)]


def _in_period(column, bounds: list[datetime]):
    return and_(column >= bounds[0], column < bounds[-1])


def dashboard(weeks: int = DEFAULT_WEEKS, community_id: uuid.UUID | None = None,
              now: datetime | None = None) -> Dashboard:
    bounds = week_bounds(weeks, now or utcnow())
    scope = [WorkOrder.community_id == community_id] if community_id is not None else []
    week_rows = [Week(start=bound.astimezone(SHANGHAI).date()) for bound in bounds[:-1]]
    total = Figures()
    categories: dict = defaultdict(Figures)
    category_order: dict = {}  # category: its position
    assignees: dict = defaultdict(Figures)

    # The counts: the pre-aggregated weekly rows (figures.py) of the community, or those that already add up every
    # community (``ALL``); see _figures_statement.
    first, last = (bound.astimezone(SHANGHAI).date() for bound in (bounds[0], bounds[-1]))
    index_of = {row.start: i for i, row in enumerate(week_rows)}
    rows = db.session.execute(_figures_statement(), {"first": first, "last": last, "community": community_id or ALL})
    fingerprint = 0
    for kind, key, week, revisions, *n, position, name in rows:
        (opened_n, accepted, response_on_time, completed_n, on_time, rated, *ratings) = (int(v or 0) for v in n)
        if kind == WEEK:
            week_rows[index_of[_date(week)]].opened += opened_n
            week_rows[index_of[_date(week)]].closed += completed_n
            continue
        fingerprint += int(revisions or 0)
        if kind == CATEGORY:
            targets = (total, categories[key])
            categories[key].key, categories[key].name, category_order[key] = key, name, position
        else:
            targets = (assignees[None if key == NIL else key],)
            if key != NIL:
                assignees[key].key, assignees[key].name = key, "?" if name is None else name  # "?": not staff
        for f in targets:
            f.opened += opened_n
            f.accepted += accepted
            f.response_on_time += response_on_time
            f.completed += completed_n
            f.on_time += on_time
            f.rated += rated
            for i in range(3):
                f.rating_sums[i] += ratings[i]
                f.rating_counts[i] += ratings[3 + i]

    medians = figures.cached_medians(first, weeks, community_id, fingerprint,
                                     lambda: _medians(_in_period(WorkOrder.created_at, bounds),
                                                      _in_period(WorkOrder.completed_at, bounds), scope))
    for (kind, key), (response, resolution) in medians.items():
        f = total if kind == "total" else (categories if kind == "category" else assignees)[key]
        f.median_response, f.median_resolution = response, resolution

    return Dashboard(weeks=week_rows, total=total, categories=_categories(categories, category_order),
                     assignees=_assignees(assignees))


@functools.cache
def _figures_statement():
    """The period's counts, one statement of two parts: the sums per category and per assignee (a few dozen rows,
    with their names: no statement of their own, no read of the whole staff), and the weekly chart's opened and
    done per week (once per job: its category rows). It adds up a thousand weekly rows at most, whatever the
    number of jobs (each job is there twice, under its category and under its assignee); summed per week, kind and
    key, the page added up 700 rows in Python at 26 weeks.

    Built once, its values bound at each execution (``first``, ``last``: the period's Mondays; ``community``):
    building it and working out its cache key on every view was a tenth of the page's time (saas.tenancy.built_once)."""
    weekly = [WorkOrderWeek.week >= bindparam("first", type_=Date), WorkOrderWeek.week < bindparam("last", type_=Date),
              WorkOrderWeek.community_key == bindparam("community", type_=Uuid)]
    sums = (func.sum(WorkOrderWeek.revision), *(func.sum(getattr(WorkOrderWeek, name)) for name in COUNTS))
    by_key = (select(WorkOrderWeek.kind, WorkOrderWeek.key_id, null().label("week"), *sums)
              .where(*weekly).group_by(WorkOrderWeek.kind, WorkOrderWeek.key_id))
    by_week = (select(literal(WEEK).label("kind"), literal(NIL, Uuid).label("key_id"), WorkOrderWeek.week,
                      *(literal(0) if i not in _CHART else s for i, s in enumerate(sums)))
               .where(*weekly, WorkOrderWeek.kind == CATEGORY).group_by(WorkOrderWeek.week))
    summed = union_all(by_key, by_week).subquery()
    return built_once(
        select(summed, WorkOrderCategory.position, func.coalesce(WorkOrderCategory.name, User.name))
        .outerjoin(WorkOrderCategory, and_(summed.c.kind == CATEGORY, WorkOrderCategory.id == summed.c.key_id))
        .outerjoin(Membership, and_(summed.c.kind == ASSIGNEE, Membership.id == summed.c.key_id,
                                    Membership.role != Role.OWNER))
        .outerjoin(User, User.id == Membership.user_id))


def _medians(opened, completed, scope) -> dict[tuple[str, uuid.UUID | None], tuple[float | None, float | None]]:
    """Median response (of the opened jobs accepted so far) and resolution (of the completed jobs), in seconds,
    for ("total", None), ("category", id) and ("assignee", id). One statement either way.

    PostgreSQL: ``percentile_cont(0.5)`` over the three groupings at once (GROUPING SETS). SQLite has neither,
    and holds a small company's data: it returns each job's durations and Python takes the medians (the mean
    of the two middle values for an even count, as percentile_cont does)."""
    accepted = and_(opened, WorkOrder.accepted_at.is_not(None))
    if on_postgresql():
        # Two statements, each an index-only walk of the period in a covering index (ix_work_orders_opened_cover,
        # ix_work_orders_completed_cover): one "opened OR completed" statement had to visit every job's row.
        groups = (WorkOrder.category_id, WorkOrder.assignee_id)
        out: dict = defaultdict(lambda: [None, None])
        for slot, (condition, end) in enumerate(((accepted, WorkOrder.accepted_at),
                                                 (completed, WorkOrder.completed_at))):
            # Of intervals: they sort about twice as fast as epoch seconds (numeric).
            rows = db.session.execute(
                select(*map(func.grouping, groups), *groups,
                       func.percentile_cont(0.5).within_group(end - WorkOrder.created_at))
                .where(condition, *scope)
                .group_by(func.grouping_sets(tuple_(groups[0]), tuple_(groups[1]), tuple_()))
            )
            for by_category, by_assignee, category_id, assignee_id, value in rows:
                key = (("total", None) if by_category and by_assignee
                       else ("category", category_id) if by_assignee else ("assignee", assignee_id))
                out[key][slot] = _seconds(value)
        return {key: (response, resolution) for key, (response, resolution) in out.items()}

    # SQLite: the durations come out of SQL as seconds (julianday keeps milliseconds) and the ids as the text
    # they are stored as, so no datetime or UUID object is made per row; Python groups and takes the medians.
    def seconds(condition, end):
        return case((condition, func.round((func.julianday(end) - func.julianday(WorkOrder.created_at)) * 86400, 3)))

    durations: dict = defaultdict(lambda: ([], []))
    rows = db.session.execute(
        select(*_raw_ids(), seconds(accepted, WorkOrder.accepted_at), seconds(completed, WorkOrder.completed_at))
        .where(or_(opened, completed), *scope)
    )
    for category_id, assignee_id, response, resolution in rows:
        for key in (("total", None), ("category", category_id), ("assignee", assignee_id)):
            if response is not None:
                durations[key][0].append(response)
            if resolution is not None:
                durations[key][1].append(resolution)
    return {(kind, _uuid(key)): (_median(response), _median(resolution))
            for (kind, key), (response, resolution) in durations.items()}


def _raw_ids():
    """The category and assignee ids without the UUID conversion per row (thousands of rows make a visible
    share of the page's time): SQLite returns its stored text, psycopg its own UUID objects; see _uuid."""
    return type_coerce(WorkOrder.category_id, String), type_coerce(WorkOrder.assignee_id, String)


@functools.lru_cache(maxsize=4096)
def _uuid(raw: str | uuid.UUID | None) -> uuid.UUID | None:
    return uuid.UUID(raw) if isinstance(raw, str) else raw


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def _seconds(value: timedelta | None) -> float | None:
    return None if value is None else value.total_seconds()


def _date(value) -> date:
    return date.fromisoformat(value) if isinstance(value, str) else value  # SQLite: the union loses the type


def _categories(found: dict, position: dict) -> list[Figures]:
    """Categories with anything in the period, in the company's order (archived ones keep their name)."""
    return sorted((f for f in found.values() if f.active and f.name is not None),
                  key=lambda f: (position[f.key], f.name))


def _assignees(found: dict) -> list[Figures]:
    """Everyone with jobs in the period by name (a former employee too), then the jobs nobody holds."""
    out = sorted((f for key, f in found.items() if key is not None and f.active), key=lambda f: (f.name, str(f.key)))
    unassigned = found.get(None)
    if unassigned is not None and unassigned.active:
        unassigned.name = _("Not assigned")
        out.append(unassigned)
    return out
