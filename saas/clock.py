"""Time, in one place: stored in UTC, shown and counted in Asia/Shanghai.

- ``utcnow()`` is the only "now" services use (tests pass their own ``now``).
- ``SHANGHAI`` is the zone every local day, week and year is counted in (work-order numbers, SLA calendars,
  dashboards, "today" for a steward).
- ``AwareDateTime`` is the column type of every timestamp: SQLite hands back naive values, PostgreSQL aware ones, and
  arithmetic between the two would raise on the embedded default only.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import DateTime
from sqlalchemy.types import TypeDecorator

SHANGHAI = ZoneInfo("Asia/Shanghai")


def utcnow() -> datetime:
    return datetime.now(UTC)


def aware(value: datetime | None) -> datetime | None:
    """A stored timestamp as an aware UTC datetime (a naive value is UTC: that is how it was stored)."""
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def local(value: datetime) -> datetime:
    """The Shanghai wall-clock time of a UTC (or naive-UTC) timestamp."""
    return aware(value).astimezone(SHANGHAI)


def local_today(now: datetime | None = None) -> date:
    """Today's date in Shanghai (at ``now``, default the real now)."""
    return (aware(now) if now is not None else utcnow()).astimezone(SHANGHAI).date()


def local_midnight(day: date) -> datetime:
    """The UTC instant a Shanghai day begins."""
    return datetime.combine(day, time(0), SHANGHAI).astimezone(UTC)


def end_of_local_day(day: date) -> datetime:
    """The last second of a Shanghai day, in UTC (a plan or trial "until 3 March" ends then)."""
    return datetime.combine(day, time(23, 59, 59), SHANGHAI).astimezone(UTC)


class AwareDateTime(TypeDecorator):
    """A UTC timestamp that always comes back timezone-aware, on SQLite too."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        # SQLite stores the text as given: a Shanghai time would be read back as UTC, 8 hours off.
        if value is not None and value.tzinfo is not None:
            return value.astimezone(UTC)
        return value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value
