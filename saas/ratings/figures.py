"""Where the per-company service figures come from, without saas/ importing a company module: the company side
registers a source at app start (tenants/__init__.py), a function

    fn(company_id, quarter_start: date, quarter_end: date) -> dict of figures

run by the job inside that company's context. A source that is not registered (e.g. disclosures before that
module is connected) is simply missing: its components are left out of the score and their weight is shared
(rules.compute), and the rules page says which sources are connected."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

_SOURCES: dict[str, Callable] = {}


def register_figure_source(name: str, fn: Callable) -> None:
    """Register (or replace: idempotent across app factories) the source called ``name``."""
    _SOURCES[name] = fn


def unregister_figure_source(name: str) -> None:
    _SOURCES.pop(name, None)


def sources() -> dict[str, Callable]:
    return dict(_SOURCES)


def quarter_of(day: date) -> tuple[date, date]:
    """[start, end) of the quarter holding ``day``."""
    start = date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    return start, next_quarter(start)


def next_quarter(start: date) -> date:
    return date(start.year + (start.month + 3 > 12), (start.month + 2) % 12 + 1, 1)


def previous_quarter(start: date) -> date:
    return date(start.year - (start.month == 1), (start.month - 4) % 12 + 1, 1)


def quarter_label(start: date) -> str:
    return f"{start.year} Q{(start.month - 1) // 3 + 1}"
