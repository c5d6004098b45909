"""SLA deadline calendar for work orders (报修工单): pure date arithmetic, no Flask or database.

Holidays come from the ``holidays`` package (``country_holidays("CN")``): it is released monthly, encodes each
year's State Council notice including the 调休 make-up working weekends, and never raises for a year it lacks,
whereas ``chinese-calendar`` raises NotImplementedError outside its table. For a year whose notice it does not
carry yet it still knows the statutory holidays (with its own estimate of substitute days, but no make-up
weekends), and outside 1950–2100 it knows nothing, which leaves plain Monday–Friday working days.
"""

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal, NamedTuple

from saas.clock import SHANGHAI
from saas.workdays import china_year as _china_year

# Longest deadline or span the calendar walks: it steps a day at a time, so this bounds the work per call, and
# anything further away is a bad policy or a bad timestamp rather than a real deadline.
MAX_SPAN = timedelta(days=3 * 366)

SOON_SHARE = 0.25
SOON_MINIMUM = timedelta(minutes=30)

Urgency = Literal["ok", "soon", "overdue"]

_MINUTE = timedelta(minutes=1)
_DAY = timedelta(days=1)
_ZERO = timedelta(0)

log = logging.getLogger(__name__)


def _utc(value: datetime, name: str) -> datetime:
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime, not {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")
    try:
        value.astimezone(SHANGHAI)  # the calendar counts Shanghai days, and 9999-12-31 UTC reaches past the last
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"{name} is outside the range of dates the calendar handles") from None


@dataclass(frozen=True)
class WorkCalendar:
    """When a company's SLA clock runs: 24/7, or between day_start and day_end (Shanghai time) on working days."""

    business_hours: bool = False
    day_start: time = time(8, 30)
    day_end: time = time(17, 30)
    observe_holidays: bool = True

    def __post_init__(self) -> None:
        if self.day_start.tzinfo is not None or self.day_end.tzinfo is not None:
            raise ValueError("day_start and day_end are Shanghai wall-clock times and must not carry a tzinfo")
        if not self.day_start < self.day_end:
            raise ValueError("day_start must be before day_end")

    def is_working_day(self, d: date) -> bool:
        """A weekday that is not a public holiday, or a 调休 working weekend (only Mon–Fri without holidays)."""
        if isinstance(d, datetime):
            # A UTC datetime's date is the wrong calendar day for eight hours of every day in Shanghai.
            raise TypeError("pass the Shanghai calendar date, not a datetime")
        weekend = d.weekday() >= 5
        if not self.observe_holidays:
            return not weekend
        days_off, weekend_workdays = _china_year(d.year)
        return d in weekend_workdays if weekend else d not in days_off

    def add(self, start: datetime, minutes: int) -> datetime:
        """The deadline `minutes` of SLA-clock time after `start`, in UTC.

        In business hours a start outside hours counts from the next opening, and a deadline that falls exactly
        at closing time stays there. Adding 0 minutes returns `start` itself (in UTC) in either mode.
        """
        start = _utc(start, "start")
        if isinstance(minutes, bool) or not isinstance(minutes, int):
            raise TypeError("minutes must be an int")
        if minutes < 0:
            raise ValueError("minutes must not be negative")
        if minutes > MAX_SPAN // _MINUTE:
            raise ValueError(f"a deadline more than {MAX_SPAN.days} days away is not supported")
        return self._advance(start, minutes * _MINUTE)

    def elapsed(self, start: datetime, end: datetime) -> int:
        """Whole SLA-clock minutes between two instants (0 when end <= start)."""
        return self._worked(_utc(start, "start"), _utc(end, "end")) // _MINUTE

    def shift(self, due: datetime, paused_from: datetime, paused_to: datetime) -> datetime:
        """`due` pushed back by the SLA-clock time that passed while the job was paused, in UTC."""
        due = _utc(due, "due")
        paused_from, paused_to = _utc(paused_from, "paused_from"), _utc(paused_to, "paused_to")
        if paused_to < paused_from:
            raise ValueError("paused_to is before paused_from")
        # Exact time rather than whole minutes, so that a pause of 90 seconds isn't lost or rounded.
        return self._advance(due, self._worked(paused_from, paused_to))

    def _hours(self, day: date) -> tuple[datetime, datetime]:
        return (datetime.combine(day, self.day_start, SHANGHAI).astimezone(UTC),
                datetime.combine(day, self.day_end, SHANGHAI).astimezone(UTC))

    def _advance(self, start: datetime, amount: timedelta) -> datetime:
        if amount == _ZERO:
            # Rolling to the next opening would move a deadline that sits at closing time when a pause spent
            # no working time, and would break add(s, elapsed(s, e)) <= e.
            return start
        day = start.astimezone(SHANGHAI).date()
        try:
            if not self.business_hours:
                return start + amount
            last = day + MAX_SPAN
            while day <= last:
                if self.is_working_day(day):
                    opens, closes = self._hours(day)
                    begin = max(opens, start)
                    if begin < closes:
                        if amount <= closes - begin:
                            return begin + amount
                        amount -= closes - begin
                day += _DAY
        except OverflowError:
            raise ValueError("the deadline falls after the year 9999") from None
        raise ValueError(f"the deadline lies more than {MAX_SPAN.days} days after {start.isoformat()}")

    def _worked(self, start: datetime, end: datetime) -> timedelta:
        if end <= start:
            return _ZERO
        if not self.business_hours:
            return end - start
        if end - start > MAX_SPAN:
            raise ValueError(f"spans longer than {MAX_SPAN.days} days are not supported in business hours")
        total = _ZERO
        day, last = start.astimezone(SHANGHAI).date(), end.astimezone(SHANGHAI).date()
        while day <= last:
            if self.is_working_day(day):
                opens, closes = self._hours(day)
                begin, finish = max(opens, start), min(closes, end)
                if begin < finish:
                    total += finish - begin
            if day == last:
                break  # stepping past it could overflow at date.max
            day += _DAY
        return total


class TimeLeft(NamedTuple):
    """The magnitude of a time left, split for display; `overdue` says which side of the deadline it is on."""

    days: int
    hours: int
    minutes: int
    overdue: bool


def time_left(due: datetime, now: datetime) -> timedelta:
    """Wall-clock time until `due`, negative once it has passed."""
    return _utc(due, "due") - _utc(now, "now")


def urgency(due: datetime, now: datetime, total: timedelta) -> Urgency:
    """Colour of the time-left badge: "soon" under SOON_SHARE of the whole window `total` or under SOON_MINIMUM."""
    return urgency_of(time_left(due, now), total)


def urgency_of(left: timedelta, total: timedelta) -> Urgency:
    """``urgency`` of a time left already worked out (a page of badges works it out once per job)."""
    if total < _ZERO:
        raise ValueError("total must not be negative")
    if left < _ZERO:
        return "overdue"
    if left < SOON_MINIMUM or left < total * SOON_SHARE:
        return "soon"
    return "ok"


def format_time_left(delta: timedelta) -> TimeLeft:
    """Split a time left into whole days, hours and minutes (seconds dropped) for the template to word."""
    hours, minutes = divmod(abs(delta) // _MINUTE, 60)
    days, hours = divmod(hours, 24)
    return TimeLeft(days, hours, minutes, delta < _ZERO)
