"""The SLA deadline calendar: working-hours arithmetic over Chinese public holidays and 调休 working weekends."""

from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from saas import workdays
from saas.clock import SHANGHAI
from tenants.work_orders.sla import TimeLeft, WorkCalendar, format_time_left, time_left, urgency


@pytest.fixture(autouse=True)
def _clean_database():
    """Overrides the suite's autouse fixture: this module is pure arithmetic and needs no app or database."""
    yield


OFFICE = WorkCalendar(business_hours=True)  # 08:30–17:30 on Chinese working days
ALWAYS = WorkCalendar()  # 24/7
WEEKDAYS = WorkCalendar(business_hours=True, observe_holidays=False)


def sh(y, m, d, hh=0, mm=0, ss=0):
    return datetime(y, m, d, hh, mm, ss, tzinfo=SHANGHAI)


def local(dt: datetime) -> datetime:
    assert dt.tzinfo is UTC, "the calendar hands back UTC"
    return dt.astimezone(SHANGHAI)


# --- working days ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("day", "working"), [
    (date(2026, 3, 6), True),  # an ordinary Friday
    (date(2026, 3, 7), False),  # an ordinary Saturday
    (date(2026, 1, 1), False),  # New Year's Day
    (date(2026, 1, 4), True),  # Sunday worked for New Year
    # Spring Festival 2026: Feb 15–23 off, Saturdays Feb 14 and Feb 28 worked.
    (date(2026, 2, 13), True),
    (date(2026, 2, 14), True),
    (date(2026, 2, 15), False),
    (date(2026, 2, 17), False),
    (date(2026, 2, 20), False),
    (date(2026, 2, 23), False),
    (date(2026, 2, 24), True),
    (date(2026, 2, 28), True),
    (date(2026, 3, 1), False),
    # Mid-Autumn Sep 25–27 and National Day Oct 1–7 off, Sunday Sep 20 and Saturday Oct 10 worked.
    (date(2026, 9, 19), False),
    (date(2026, 9, 20), True),
    (date(2026, 9, 25), False),
    (date(2026, 9, 28), True),
    (date(2026, 10, 1), False),
    (date(2026, 10, 5), False),
    (date(2026, 10, 7), False),
    (date(2026, 10, 8), True),
    (date(2026, 10, 10), True),
    (date(2026, 10, 11), False),
])
def test_working_days_2026(day, working):
    assert OFFICE.is_working_day(day) is working


def test_without_holidays_a_holiday_thursday_works_and_a_make_up_saturday_does_not():
    assert WEEKDAYS.is_working_day(date(2026, 10, 1)) is True
    assert WEEKDAYS.is_working_day(date(2026, 10, 10)) is False
    assert local(WEEKDAYS.add(sh(2026, 9, 30, 17), 60)) == sh(2026, 10, 1, 9)


def test_a_year_without_a_published_arrangement_keeps_statutory_holidays_and_never_crashes():
    assert OFFICE.is_working_day(date(2027, 1, 1)) is False  # New Year's Day is statutory
    assert OFFICE.is_working_day(date(2027, 1, 4)) is True
    assert OFFICE.is_working_day(date(2027, 1, 9)) is False  # no make-up Saturdays are invented


def test_outside_the_packages_years_working_days_are_monday_to_friday():
    for year in (1900, 2150):
        days = [date(year, 10, 1) + timedelta(days=n) for n in range(14)]
        assert [OFFICE.is_working_day(d) for d in days] == [d.weekday() < 5 for d in days]


def test_broken_holiday_data_degrades_to_monday_to_friday(monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("no data")

    monkeypatch.setattr(workdays.holidays, "country_holidays", broken)
    workdays.china_year.cache_clear()
    try:
        assert OFFICE.is_working_day(date(2026, 10, 1)) is True  # a Thursday
        assert OFFICE.is_working_day(date(2026, 10, 10)) is False  # a Saturday
    finally:
        workdays.china_year.cache_clear()


def test_is_working_day_refuses_a_datetime():
    with pytest.raises(TypeError):
        OFFICE.is_working_day(datetime(2026, 3, 6, 20, tzinfo=UTC))


# --- deadlines in business hours ---------------------------------------------------------------------------


@pytest.mark.parametrize(("start", "minutes", "due"), [
    (sh(2026, 3, 10, 9), 120, sh(2026, 3, 10, 11)),  # inside hours
    (sh(2026, 3, 6, 17), 60, sh(2026, 3, 9, 9)),  # Friday evening over the weekend
    (sh(2026, 3, 10, 17), 60, sh(2026, 3, 11, 9)),  # over a night
    (sh(2026, 3, 10, 7), 30, sh(2026, 3, 10, 9)),  # before opening
    (sh(2026, 3, 10, 20), 30, sh(2026, 3, 11, 9)),  # after closing
    (sh(2026, 3, 11, 0, 15), 30, sh(2026, 3, 11, 9)),  # after midnight Shanghai, still the previous day in UTC
    (sh(2026, 3, 7, 10), 30, sh(2026, 3, 9, 9)),  # Saturday
    (sh(2026, 3, 10, 17, 30), 1, sh(2026, 3, 11, 8, 31)),  # at closing time
    (sh(2026, 3, 10, 16, 30), 60, sh(2026, 3, 10, 17, 30)),  # lands exactly on closing time and stays there
    (sh(2026, 3, 10, 8, 30), 540, sh(2026, 3, 10, 17, 30)),
    (sh(2026, 3, 10, 8, 30), 541, sh(2026, 3, 11, 8, 31)),
    (sh(2026, 3, 9, 8, 30), 5 * 540, sh(2026, 3, 13, 17, 30)),  # a whole working week
    (sh(2026, 3, 10, 9, 0, 30), 60, sh(2026, 3, 10, 10, 0, 30)),  # seconds are kept
])
def test_business_hours_deadline(start, minutes, due):
    assert local(OFFICE.add(start, minutes)) == due


@pytest.mark.parametrize(("start", "minutes", "due"), [
    (sh(2026, 9, 18, 17), 60, sh(2026, 9, 20, 9)),  # Friday → the Sunday worked for National Day
    (sh(2026, 9, 24, 17), 60, sh(2026, 9, 28, 9)),  # over Mid-Autumn (Fri–Sun)
    (sh(2026, 9, 30, 17), 60, sh(2026, 10, 8, 9)),  # over the National Day week
    (sh(2026, 10, 1, 10), 30, sh(2026, 10, 8, 9)),  # reported during the holiday
    (sh(2026, 10, 9, 17), 60, sh(2026, 10, 10, 9)),  # Friday → the Saturday worked
    (sh(2026, 10, 10, 17), 60, sh(2026, 10, 12, 9)),  # that Saturday → Monday, Sunday off
    (sh(2026, 9, 30, 8, 30), 4 * 540, sh(2026, 10, 10, 17, 30)),  # Sep 30, Oct 8, Oct 9, Oct 10
])
def test_national_day_2026(start, minutes, due):
    assert local(OFFICE.add(start, minutes)) == due


@pytest.mark.parametrize(("start", "minutes", "due"), [
    (sh(2026, 2, 13, 17), 60, sh(2026, 2, 14, 9)),  # Friday → the Saturday worked
    (sh(2026, 2, 14, 17), 60, sh(2026, 2, 24, 9)),  # over the nine-day Spring Festival
    (sh(2026, 2, 27, 17), 60, sh(2026, 2, 28, 9)),  # the second Saturday worked
    (sh(2026, 2, 28, 17), 60, sh(2026, 3, 2, 9)),
])
def test_spring_festival_2026(start, minutes, due):
    assert local(OFFICE.add(start, minutes)) == due


def test_custom_working_hours():
    nine_to_six = WorkCalendar(business_hours=True, day_start=time(9), day_end=time(18))
    assert local(nine_to_six.add(sh(2026, 3, 6, 17), 90)) == sh(2026, 3, 9, 9, 30)


def test_zero_minutes_is_the_start_itself():
    assert local(OFFICE.add(sh(2026, 3, 7, 10), 0)) == sh(2026, 3, 7, 10)
    assert local(OFFICE.add(sh(2026, 3, 10, 17, 30), 0)) == sh(2026, 3, 10, 17, 30)


def test_result_is_utc_whatever_zone_comes_in():
    start = datetime(2026, 3, 10, 2, tzinfo=UTC)  # 10:00 in Shanghai
    due = OFFICE.add(start, 30)
    assert due.tzinfo is UTC and due == datetime(2026, 3, 10, 2, 30, tzinfo=UTC)


def test_a_month_of_working_time_steps_by_day_not_by_minute(monkeypatch):
    calls = []
    real = WorkCalendar.is_working_day

    def counting(self, d):
        calls.append(d)
        return real(self, d)

    monkeypatch.setattr(WorkCalendar, "is_working_day", counting)
    # September 2026 has 22 working days (Sunday the 20th in, Mid-Autumn Friday out), then Oct 8, 9 and 10.
    due = OFFICE.add(sh(2026, 9, 1, 8, 30), 25 * 540)
    assert local(due) == sh(2026, 10, 10, 17, 30)
    assert len(calls) <= 45


# --- 24/7 ----------------------------------------------------------------------------------------------------


def test_round_the_clock_ignores_hours_and_holidays():
    assert local(ALWAYS.add(sh(2026, 9, 30, 17), 60)) == sh(2026, 9, 30, 18)
    assert local(ALWAYS.add(sh(2026, 9, 30, 17), 3 * 24 * 60)) == sh(2026, 10, 3, 17)
    assert ALWAYS.elapsed(sh(2026, 10, 1), sh(2026, 10, 2)) == 24 * 60


# --- elapsed and shift ------------------------------------------------------------------------------------


def test_elapsed():
    assert OFFICE.elapsed(sh(2026, 3, 6, 17), sh(2026, 3, 9, 9)) == 60
    assert OFFICE.elapsed(sh(2026, 3, 7, 9), sh(2026, 3, 8, 18)) == 0  # a weekend
    assert OFFICE.elapsed(sh(2026, 2, 13, 17), sh(2026, 2, 24, 9)) == 30 + 540 + 30
    assert OFFICE.elapsed(sh(2026, 3, 10, 12), sh(2026, 3, 10, 11)) == 0
    assert OFFICE.elapsed(sh(2026, 3, 10, 9), sh(2026, 3, 10, 9, 1, 59)) == 1  # whole minutes, rounded down


def test_shift_over_a_night():
    due = sh(2026, 3, 10, 10)
    # Paused Monday 17:00 to Tuesday 09:00: 30 minutes that evening plus 30 the next morning.
    assert local(OFFICE.shift(due, sh(2026, 3, 9, 17), sh(2026, 3, 10, 9))) == sh(2026, 3, 10, 11)


def test_shift_into_the_next_day_and_over_a_holiday():
    assert local(OFFICE.shift(sh(2026, 9, 30, 17), sh(2026, 9, 30, 9), sh(2026, 9, 30, 10))) == sh(2026, 10, 8, 9)


def test_a_pause_outside_working_time_leaves_the_deadline_alone():
    due = sh(2026, 3, 10, 17, 30)  # a deadline at closing time must not roll to the next morning
    assert local(OFFICE.shift(due, sh(2026, 3, 9, 18), sh(2026, 3, 10, 8))) == due
    assert local(OFFICE.shift(due, sh(2026, 3, 10, 9), sh(2026, 3, 10, 9))) == due


def test_shift_round_the_clock():
    assert local(ALWAYS.shift(sh(2026, 3, 10, 10), sh(2026, 3, 9, 17), sh(2026, 3, 10, 8))) == sh(2026, 3, 11, 1)


def test_shift_keeps_seconds_of_a_short_pause():
    due = OFFICE.shift(sh(2026, 3, 10, 10), sh(2026, 3, 10, 9), sh(2026, 3, 10, 9, 1, 30))
    assert local(due) == sh(2026, 3, 10, 10, 1, 30)


# --- validation ---------------------------------------------------------------------------------------------


def test_validation():
    naive = datetime(2026, 3, 10, 9)
    with pytest.raises(ValueError, match="timezone-aware"):
        OFFICE.add(naive, 10)
    with pytest.raises(ValueError, match="timezone-aware"):
        OFFICE.elapsed(sh(2026, 3, 10), naive)
    with pytest.raises(ValueError, match="timezone-aware"):
        OFFICE.shift(sh(2026, 3, 10), naive, sh(2026, 3, 10))
    with pytest.raises(ValueError, match="timezone-aware"):
        time_left(naive, sh(2026, 3, 10))
    with pytest.raises(ValueError, match="negative"):
        OFFICE.add(sh(2026, 3, 10), -1)
    with pytest.raises(TypeError):
        OFFICE.add(sh(2026, 3, 10), 1.5)
    with pytest.raises(ValueError, match="before"):
        OFFICE.shift(sh(2026, 3, 10), sh(2026, 3, 10, 10), sh(2026, 3, 10, 9))
    with pytest.raises(ValueError, match="day_start"):
        WorkCalendar(business_hours=True, day_start=time(18), day_end=time(9))
    with pytest.raises(ValueError, match="day_start"):
        WorkCalendar(day_start=time(9), day_end=time(9))


def test_deadlines_beyond_three_years_are_refused():
    with pytest.raises(ValueError):
        OFFICE.add(sh(2026, 3, 10), 10**6)  # ~1,850 working days
    with pytest.raises(ValueError):
        ALWAYS.add(sh(2026, 3, 10), 4 * 366 * 24 * 60)
    with pytest.raises(ValueError):
        OFFICE.elapsed(sh(2026, 3, 10), sh(2030, 3, 10))
    with pytest.raises(ValueError):
        ALWAYS.add(datetime(9999, 12, 30, tzinfo=UTC), 3 * 24 * 60)
    # Under the cap, a long deadline still comes out.
    assert OFFICE.elapsed(sh(2026, 3, 10), OFFICE.add(sh(2026, 3, 10), 300_000)) == 300_000


# --- time left ----------------------------------------------------------------------------------------------


NOW = sh(2026, 3, 10, 10)


@pytest.mark.parametrize(("left", "total", "expected"), [
    (timedelta(hours=3), timedelta(hours=8), "ok"),
    (timedelta(hours=2), timedelta(hours=8), "ok"),  # exactly a quarter is not yet "soon"
    (timedelta(hours=1, minutes=59), timedelta(hours=8), "soon"),  # under a quarter
    (timedelta(minutes=30), timedelta(hours=1), "ok"),
    (timedelta(minutes=29), timedelta(days=3), "soon"),  # under 30 minutes of a long window
    (timedelta(minutes=31), timedelta(minutes=31), "ok"),
    (timedelta(0), timedelta(hours=8), "soon"),  # due this instant, not yet late
    (timedelta(minutes=20), timedelta(0), "soon"),
    (timedelta(hours=1), timedelta(0), "ok"),
    (-timedelta(seconds=1), timedelta(hours=8), "overdue"),
    (-timedelta(days=2), timedelta(hours=8), "overdue"),
])
def test_urgency(left, total, expected):
    assert urgency(NOW + left, NOW, total) == expected


def test_urgency_refuses_a_negative_window():
    with pytest.raises(ValueError):
        urgency(NOW, NOW, -timedelta(minutes=1))


def test_time_left():
    assert time_left(sh(2026, 3, 10, 12), NOW) == timedelta(hours=2)
    assert time_left(datetime(2026, 3, 10, 1, tzinfo=UTC), NOW) == timedelta(hours=-1)  # 09:00 Shanghai


@pytest.mark.parametrize(("delta", "expected"), [
    (timedelta(days=2, hours=3), TimeLeft(2, 3, 0, False)),
    (timedelta(hours=3, minutes=5), TimeLeft(0, 3, 5, False)),
    (timedelta(minutes=12, seconds=59), TimeLeft(0, 0, 12, False)),
    (-timedelta(hours=1, minutes=20), TimeLeft(0, 1, 20, True)),
    (-timedelta(days=1, minutes=1), TimeLeft(1, 0, 1, True)),
    (timedelta(seconds=59), TimeLeft(0, 0, 0, False)),
    (timedelta(0), TimeLeft(0, 0, 0, False)),
])
def test_format_time_left(delta, expected):
    assert format_time_left(delta) == expected


# --- properties ---------------------------------------------------------------------------------------------

# Mid-2025 to mid-2027: the official 2026 arrangement plus a year without one.
instants = st.datetimes(min_value=datetime(2025, 6, 1), max_value=datetime(2027, 6, 30), timezones=st.just(UTC))
minutes = st.integers(min_value=0, max_value=30 * 540)
calendars = st.sampled_from([OFFICE, WEEKDAYS, WorkCalendar(business_hours=True, day_start=time(0),
                                                              day_end=time(23, 59))])
fast = settings(max_examples=200, deadline=None)


@fast
@given(calendars, instants, minutes, minutes)
def test_add_is_monotonic_in_minutes(calendar, start, a, b):
    low, high = sorted((a, b))
    assert calendar.add(start, low) <= calendar.add(start, high)


@fast
@given(calendars, instants, minutes)
def test_elapsed_inverts_add(calendar, start, m):
    assert calendar.elapsed(start, calendar.add(start, m)) == m


@fast
@given(calendars, instants, st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=40)))
def test_add_of_elapsed_does_not_pass_the_end(calendar, start, span):
    end = start + span
    assert calendar.add(start, calendar.elapsed(start, end)) <= end


@fast
@given(calendars, instants, st.integers(min_value=1, max_value=30 * 540))
def test_deadlines_fall_inside_working_hours_on_working_days(calendar, start, m):
    due = local(calendar.add(start, m))
    assert calendar.is_working_day(due.date())
    assert datetime.combine(due.date(), calendar.day_start, SHANGHAI) < due
    assert due <= datetime.combine(due.date(), calendar.day_end, SHANGHAI)


@fast
@given(instants, minutes)
def test_round_the_clock_is_plain_addition(start, m):
    assert ALWAYS.add(start, m) == start + timedelta(minutes=m)
    assert ALWAYS.elapsed(start, start + timedelta(minutes=m)) == m
