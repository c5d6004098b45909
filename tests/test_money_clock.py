"""saas/money.py and saas/clock.py: the one home of fen ↔ yuan, rounding, and Shanghai time."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from saas.clock import SHANGHAI, aware, end_of_local_day, local, local_midnight, local_today
from saas.money import format_yuan, parse_yuan, round_fen, yuan_text


@pytest.mark.parametrize(("raw", "fen"), [
    ("120", 12000), ("120.5", 12050), ("¥1,200.00", 120000), ("￥3.07", 307), ("88元", 8800), ("0", 0),
    (" 1 000 ", 100000),
])
def test_yuan_written_the_ways_people_write_it_becomes_fen(raw, fen):
    assert parse_yuan(raw) == fen


@pytest.mark.parametrize("raw", ["", None, "abc", "1.234", "-5", "1e30", "NaN", "Infinity", "12..5"])
def test_anything_else_is_refused_rather_than_guessed(raw):
    assert parse_yuan(raw) is None


def test_rounding_is_half_up_to_the_fen():
    assert round_fen(Decimal("0.5")) == 1
    assert round_fen(Decimal("1.49")) == 1
    assert round_fen(Decimal("2.5")) == 3  # not banker's rounding (which gives 2)
    assert round_fen("-0.5") == -1
    assert round_fen(89.5 * 3) == 269  # 268.5 → 269


@given(st.integers(min_value=0, max_value=10**12))
def test_formatting_and_parsing_agree(fen):
    assert parse_yuan(yuan_text(fen)) == fen
    assert parse_yuan(format_yuan(fen)) == fen


def test_formats():
    assert format_yuan(39900) == "¥399"
    assert format_yuan(39950) == "¥399.50"
    assert format_yuan(123456789) == "¥1,234,567.89"
    assert format_yuan(-150) == "-¥1.50"
    assert format_yuan(None) == ""
    assert yuan_text(5) == "0.05"


def test_local_days_are_shanghai_days():
    late_utc = datetime(2026, 12, 4, 17, 30, tzinfo=UTC)  # 01:30 on 5 December in Shanghai
    assert local_today(late_utc) == date(2026, 12, 5)
    assert local(late_utc).tzinfo == SHANGHAI and local(late_utc).hour == 1
    assert local_midnight(date(2026, 12, 5)) == datetime(2026, 12, 4, 16, 0, tzinfo=UTC)
    assert end_of_local_day(date(2026, 12, 5)) == datetime(2026, 12, 5, 15, 59, 59, tzinfo=UTC)
    assert aware(datetime(2026, 1, 1, 8, 0)) == datetime(2026, 1, 1, 8, 0, tzinfo=UTC)
    assert aware(None) is None


def test_every_timestamp_column_comes_back_aware(app):
    """Every DateTime column of every model is AwareDateTime, so SQLite and PostgreSQL agree on arithmetic."""
    from sqlalchemy import DateTime

    from saas.clock import AwareDateTime
    from saas.extensions import db

    plain = [f"{table.name}.{column.name}" for table in db.metadata.tables.values() for column in table.columns
             if isinstance(column.type, DateTime) and not isinstance(column.type, AwareDateTime)]
    assert plain == []
