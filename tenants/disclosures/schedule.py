"""The disclosure calendar: which statement is due for which period, and by when. Pure date arithmetic.

Default cadence (PRODUCT.md "Fee transparency"): common-area income quarterly, maintenance-fund use half-yearly,
shared energy quarterly, parking half-yearly, service income and spending yearly, the annual report by the end of
Q1. A statement is due ``GRACE_DAYS`` after its period ends (the annual ones on 31 March); a due day that is not a
working day (a weekend or a public holiday on the SLA calendar, tenants/work_orders/sla.py) moves to the next one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from saas.workdays import is_working_day
from tenants.disclosures.models import Kind

GRACE_DAYS = 30
SOON_DAYS = 14  # "due soon" on the editor, and when the admins are reminded
MAX_PERIODS = 200  # a bound on the walk: 50 years of quarters

MONTHS = {Kind.COMMON_INCOME: 3, Kind.SHARED_ENERGY: 3, Kind.MAINTENANCE_FUND: 6, Kind.PARKING: 6,
          Kind.SERVICE_ACCOUNTS: 12, Kind.ANNUAL_REPORT: 12}



def _add_months(day: date, months: int) -> date:
    total = day.year * 12 + day.month - 1 + months
    return date(total // 12, total % 12 + 1, 1)


def period_containing(kind: Kind, day: date) -> tuple[date, date]:
    """The [start, end] (inclusive) period of ``kind`` that contains ``day``."""
    months = MONTHS[kind]
    start = date(day.year, (day.month - 1) // months * months + 1, 1)
    return start, _add_months(start, months) - timedelta(days=1)


def next_working_day(day: date) -> date:
    for _ in range(30):
        if is_working_day(day):
            return day
        day += timedelta(days=1)
    return day


def due_on(kind: Kind, period_end: date) -> date:
    if MONTHS[kind] == 12:
        raw = date(period_end.year + 1, 3, 31)
    else:
        raw = period_end + timedelta(days=GRACE_DAYS)
    return next_working_day(raw)


@dataclass(frozen=True)
class Due:
    kind: Kind
    period_start: date
    period_end: date
    due_on: date


def dues(calendar_from: date, until: date, kinds=tuple(MONTHS)) -> list[Due]:
    """Every statement due on or before ``until`` for periods ending on or after ``calendar_from``, by due day."""
    out: list[Due] = []
    for kind in kinds:
        start, end = period_containing(kind, calendar_from)
        for _ in range(MAX_PERIODS):
            day = due_on(kind, end)
            if day > until:
                break
            out.append(Due(kind, start, end, day))
            start = end + timedelta(days=1)
            end = _add_months(start, MONTHS[kind]) - timedelta(days=1)
    return sorted(out, key=lambda d: (d.due_on, d.kind))


def next_due(calendar_from: date, today: date, kind: Kind) -> Due:
    """The first period of ``kind`` whose statement is due after ``today`` (what comes next)."""
    start, end = period_containing(kind, max(calendar_from, today - timedelta(days=400)))
    for _ in range(MAX_PERIODS):
        day = due_on(kind, end)
        if day >= today and end >= calendar_from:
            return Due(kind, start, end, day)
        start = end + timedelta(days=1)
        end = _add_months(start, MONTHS[kind]) - timedelta(days=1)
    raise ValueError("no due day found")
