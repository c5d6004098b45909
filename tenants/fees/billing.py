"""What a bill run charges, worked out without the database: pure functions over plain values, so every rule is
tested on its own (tests/test_bill_runs.py) and the run service (tenants/fees/runs.py) only loads and stores.

For one community and one period [start, end) each household gets one line per fee item (per area, fixed,
metered) and one per parking space it holds (parking items). A line's amount is computed exactly (Decimal) and
rounded half-up to the fen once, by saas.money.round_fen. The rate is the one effective on the period's first day.
Metered items pass the supplier's price through: usage × unit price, nothing added (物业管理条例 44).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from saas.i18n import _l
from saas.money import round_fen
from tenants.fees.models import AreaBasis, FeeKind, MeterKind, PeriodKind

MONTHS = {PeriodKind.MONTH: 1, PeriodKind.QUARTER: 3, PeriodKind.YEAR: 12}
METER_UNITS = {MeterKind.WATER: "m³", MeterKind.ELECTRICITY: "kWh", MeterKind.GAS: "m³", MeterKind.HEATING: "GJ"}

# Why a household (or one of its lines) is not billed; codes stored in a run's preview, phrases shown on the page.
NO_AREA, NO_OWNER, VACANT, NO_READING, NO_RATE = "no_area", "no_owner", "vacant", "no_reading", "no_rate"
SKIP_REASONS = {
    NO_AREA: _l("No floor area for this item's area basis"),
    NO_OWNER: _l("No owner on record"),
    VACANT: _l("Vacant, and the item charges vacant homes 0%"),
    NO_READING: _l("No meter readings to work out the usage in this period"),
    NO_RATE: _l("No rate in effect on the period's first day"),
}


def skip_reason_label(code: str) -> str:
    return str(SKIP_REASONS.get(code, code))


# --- periods ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    kind: PeriodKind
    start: date
    end: date  # exclusive

    @property
    def months(self) -> int:
        return MONTHS[self.kind]

    @property
    def last_day(self) -> date:
        """The period's last day, as people write a period (1–31 December, not 1 December – 1 January)."""
        return self.end - timedelta(days=1)

    @property
    def label(self) -> str:
        if self.kind == PeriodKind.MONTH:
            return f"{self.start.year}年{self.start.month}月"
        if self.kind == PeriodKind.QUARTER:
            return f"{self.start.year}年第{(self.start.month - 1) // 3 + 1}季度"
        return f"{self.start.year}年"


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def period_containing(kind: PeriodKind | str, day: date) -> Period:
    """The month, quarter or year that ``day`` falls in."""
    kind = PeriodKind(kind)
    if kind == PeriodKind.MONTH:
        start = date(day.year, day.month, 1)
    elif kind == PeriodKind.QUARTER:
        start = date(day.year, (day.month - 1) // 3 * 3 + 1, 1)
    else:
        start = date(day.year, 1, 1)
    return Period(kind, start, _add_months(start, MONTHS[kind]))


def period_starting(kind: PeriodKind | str, start: date) -> Period | None:
    """The period of ``kind`` that begins on ``start``; None when no such period begins that day."""
    period = period_containing(kind, start)
    return period if period.start == start else None


def period_choices(kind: PeriodKind | str, today: date, *, back: int = 3, ahead: int = 2) -> list[Period]:
    """Periods around today for a form: ``back`` before the current one, then it and ``ahead`` after."""
    kind = PeriodKind(kind)
    current = period_containing(kind, today)
    step = MONTHS[kind]
    return [period_containing(kind, _add_months(current.start, step * n)) for n in range(-back, ahead + 1)]


# --- inputs and results ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rate:
    id: uuid.UUID
    effective_from: date
    unit_price_cfen: int  # hundredths of a fen per unit


@dataclass(frozen=True)
class Item:
    id: uuid.UUID
    name: str
    kind: FeeKind
    rates: Sequence[Rate] = ()
    area_basis: AreaBasis | None = None
    meter_kind: MeterKind | None = None
    vacant_percent: int = 100


@dataclass(frozen=True)
class Reading:
    read_on: date
    reading_milli: int
    reset: bool = False


@dataclass(frozen=True)
class Home:
    id: uuid.UUID
    label: str
    gross_dm2: int | None
    inner_dm2: int | None = None
    vacant: bool = False
    has_owner: bool = True
    spaces: Sequence[tuple[uuid.UUID, str]] = ()  # parking spaces it holds: (id, name)
    readings: dict = field(default_factory=dict)  # fee item id → its readings, any order


@dataclass(frozen=True)
class Line:
    household_id: uuid.UUID
    fee_item_id: uuid.UUID
    rate_id: uuid.UUID
    charge_key: str
    title: str
    detail: str
    amount_fen: int
    parking_space_id: uuid.UUID | None = None


@dataclass(frozen=True)
class Skip:
    household_id: uuid.UUID | None  # None: the whole item is skipped (no rate)
    label: str  # the home, or the item
    reason: str  # a code of SKIP_REASONS
    item: str = ""  # the item's name, when only that item's line is skipped


@dataclass
class Result:
    lines: list[Line] = field(default_factory=list)
    skipped: list[Skip] = field(default_factory=list)

    @property
    def total_fen(self) -> int:
        return sum(line.amount_fen for line in self.lines)

    @property
    def households(self) -> int:
        return len({line.household_id for line in self.lines})


# --- the rules -------------------------------------------------------------------------------------------------


def rate_on(rates: Iterable[Rate], day: date) -> Rate | None:
    """The rate in effect on ``day``: the latest one that starts on or before it."""
    candidates = [r for r in rates if r.effective_from <= day]
    return max(candidates, key=lambda r: r.effective_from) if candidates else None


def price_text(unit_price_cfen: int) -> str:
    """18500 → '¥1.85', 100000 → '¥10.00', 5325 → '¥0.5325': two decimals, up to four where the price has them
    (supplier prices for water or power carry four)."""
    text = f"{Decimal(unit_price_cfen) / 10000:,.4f}"
    return "¥" + (text[:-2] if text.endswith("00") else text)


def area_text(dm2: int) -> str:
    return f"{Decimal(dm2) / 100:.2f}"


def usage_in(readings: Iterable[Reading], start: date, end: date) -> int | None:
    """Usage (× 1000) in [start, end): from the last reading before ``start`` (or the first one in the period)
    to the last reading in the period, over every step between; a reset reading (a new meter) starts afresh, so
    the step into it counts nothing. None when fewer than two readings bound the period's usage."""
    ordered = sorted(readings, key=lambda r: r.read_on)
    before = [r for r in ordered if r.read_on < start]
    within = [r for r in ordered if start <= r.read_on < end]
    if not within:
        return None
    chain = before[-1:] + within
    if len(chain) < 2:
        return None
    usage = 0
    for previous, current in zip(chain, chain[1:], strict=False):
        if current.reset:
            continue
        usage += max(current.reading_milli - previous.reading_milli, 0)
    return usage


def _vacant_factor(item: Item, home: Home) -> tuple[Decimal, str]:
    if home.vacant and item.vacant_percent != 100:
        return Decimal(item.vacant_percent) / 100, f" × 空置 {item.vacant_percent}%"
    return Decimal(1), ""


def lines_for(period: Period, items: Sequence[Item], homes: Sequence[Home]) -> Result:
    """Every line of the run and every household (or item) left out, with why."""
    result = Result()
    priced: list[tuple[Item, Rate]] = []
    for item in items:
        if item.kind == FeeKind.ONE_OFF:
            continue
        rate = rate_on(item.rates, period.start)
        if rate is None:
            result.skipped.append(Skip(None, item.name, NO_RATE, item.name))
        else:
            priced.append((item, rate))
    months = period.months
    for home in homes:
        if not home.has_owner:
            result.skipped.append(Skip(home.id, home.label, NO_OWNER))
            continue
        for item, rate in priced:
            if home.vacant and item.vacant_percent == 0 and item.kind != FeeKind.METERED:
                result.skipped.append(Skip(home.id, home.label, VACANT, item.name))
                continue
            factor, vacant_note = _vacant_factor(item, home) if item.kind != FeeKind.METERED else (Decimal(1), "")
            price = Decimal(rate.unit_price_cfen) / 100  # fen per unit
            key = f"item:{item.id}"
            if item.kind == FeeKind.PER_AREA:
                dm2 = home.inner_dm2 if item.area_basis == AreaBasis.INNER else home.gross_dm2
                if not dm2:
                    result.skipped.append(Skip(home.id, home.label, NO_AREA, item.name))
                    continue
                amount = Decimal(dm2) / 100 * price * months * factor
                detail = f"{area_text(dm2)} m² × {price_text(rate.unit_price_cfen)} × {months} 个月{vacant_note}"
                result.lines.append(Line(home.id, item.id, rate.id, key, item.name, detail, round_fen(amount)))
            elif item.kind == FeeKind.FIXED:
                amount = price * months * factor
                detail = f"{price_text(rate.unit_price_cfen)} × {months} 个月{vacant_note}"
                result.lines.append(Line(home.id, item.id, rate.id, key, item.name, detail, round_fen(amount)))
            elif item.kind == FeeKind.PARKING:
                for space_id, space_name in sorted(home.spaces, key=lambda s: s[1]):
                    amount = price * months * factor
                    detail = f"车位 {space_name}：{price_text(rate.unit_price_cfen)} × {months} 个月{vacant_note}"
                    result.lines.append(Line(home.id, item.id, rate.id, f"{key}:space:{space_id}",
                                             f"{item.name} {space_name}"[:60], detail[:200], round_fen(amount),
                                             parking_space_id=space_id))
            elif item.kind == FeeKind.METERED:
                usage = usage_in(home.readings.get(item.id, ()), period.start, period.end)
                if usage is None:
                    result.skipped.append(Skip(home.id, home.label, NO_READING, item.name))
                    continue
                unit = METER_UNITS.get(item.meter_kind, "")
                amount = Decimal(usage) / 1000 * price
                detail = f"用量 {Decimal(usage) / 1000:.3f} {unit} × {price_text(rate.unit_price_cfen)}"
                result.lines.append(Line(home.id, item.id, rate.id, key, item.name, detail, round_fen(amount)))
    return result
