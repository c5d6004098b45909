"""Chinese working days: weekends and public holidays off, 调休 weekends on (the `holidays` package's CN data).

One home for the rule, used by the work-order SLA clock (tenants/work_orders/sla.py: WorkCalendar), the disclosure
reply deadlines and the platform's appeal deadlines (saas/ratings)."""

from __future__ import annotations

import functools
import logging
from datetime import date, datetime, timedelta

import holidays

log = logging.getLogger(__name__)


@functools.lru_cache(maxsize=64)
def china_year(year: int) -> tuple[frozenset[date], frozenset[date]]:
    """(days off, make-up working weekend days) of one year."""
    try:
        calendar = holidays.country_holidays("CN", years=year)
        days_off = frozenset(d for d in calendar if d.year == year)
        weekend_workdays = frozenset(d for d in calendar.weekend_workdays if d.year == year)
    except Exception:
        # A deadline must still come out: a missing or broken year degrades to Monday–Friday.
        log.exception("no Chinese holiday data for %s; treating Monday-Friday as working days", year)
        return frozenset(), frozenset()
    return days_off, weekend_workdays


def is_working_day(d: date) -> bool:
    """A weekday that is not a public holiday, or a 调休 working weekend."""
    if isinstance(d, datetime):
        # A UTC datetime's date is the wrong calendar day for eight hours of every day in Shanghai.
        raise TypeError("pass the Shanghai calendar date, not a datetime")
    days_off, weekend_workdays = china_year(d.year)
    return d in weekend_workdays if d.weekday() >= 5 else d not in days_off


def add_working_days(day: date, days: int) -> date:
    """The day ``days`` Chinese working days after ``day``."""
    while days > 0:
        day += timedelta(days=1)
        if is_working_day(day):
            days -= 1
    return day
