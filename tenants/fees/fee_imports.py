"""Fee imports from Excel or CSV: meter readings, and opening balances (arrears carried over from the old ledger).

Both are kinds of the roster import (tenants/imports): the same batches, upload, background validation with
progress, per-row problems, and an all-or-nothing commit that runs only on a clean file. This module gives each
kind its file layout and its engine, and registers them in tenants.imports.services.KINDS.

A household is named as in the roster import: community + building + unit + room.

- Readings: a metered fee item of the household's community by name, the day, the figure (up to 3 decimals) and
  whether it is a new meter (换新表). A figure lower than the household's reading before it (or higher than a
  later one) is refused unless the row is a new meter. A reading already recorded for that day with the same
  figure is left as it is (re-importing a file changes nothing); with another figure it is refused.
- Opening balances: the amount in yuan, the month or day it relates to, a note. Each becomes a bill of kind
  OPENING (charge_key "opening", title 期初欠费, reason = the note, due on the given day, or the month's last
  day). One per household: the same amount and period again is left as it is; anything else is refused, since a
  bill is corrected with a credit, never by importing over it.
"""

from __future__ import annotations

import calendar
import hashlib
import io
import re
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from flask_babel import gettext
from sqlalchemy import func, insert, select

from saas.audit import record
from saas.clock import local_today
from saas.extensions import db
from saas.money import parse_yuan, yuan_text
from saas.tenancy import new_id, utcnow
from tenants.fees.models import Bill, BillKind, FeeItem, FeeKind, MeterReading
from tenants.imports import services as imports
from tenants.imports.parsing import N_, FileProblem, Layout, read_rows
from tenants.roster.models import Building, Community, Household

READINGS = "readings"
OPENING = "opening"
FEE_KINDS = (READINGS, OPENING)

CHUNK_ROWS = imports.CHUNK_ROWS
LOOKUP_IDS = 500  # household ids per query when reading what is already recorded
MAX_READING = Decimal("999999999.999")  # no real meter shows more
MAX_OPENING_FEN = 10_000_000 * 100  # ¥10,000,000: far above any household's arrears
EARLIEST = date(1990, 1, 1)
OPENING_TITLE = "期初欠费"
OPENING_KEY = "opening"

_PLACE = {
    "community": ("小区名称", "小区名", "community"),
    "building": ("楼号", "楼栋号", "楼", "building"),
    "unit": ("单元号", "unit"),
    "room": ("房间号", "室号", "门牌号", "room"),
}
READINGS_LAYOUT = Layout(
    ("小区", "楼栋", "单元", "房号", "收费项目", "抄表日期", "读数", "换新表"),
    ("community", "building", "unit", "room", "item", "read_on", "reading", "new_meter"),
    {**_PLACE, "item": ("项目", "收费项目名称", "表类", "item"), "read_on": ("日期", "抄表日", "date"),
     "reading": ("本期读数", "表读数", "止码", "reading"), "new_meter": ("新表", "是否换表", "换表", "newmeter")},
    no_rows=N_("The file has the column headings but no readings below them."),
)
OPENING_LAYOUT = Layout(
    ("小区", "楼栋", "单元", "房号", "欠费金额(元)", "所属期间", "备注"),
    ("community", "building", "unit", "room", "amount", "period", "note"),
    {**_PLACE, "amount": ("欠费金额", "金额(元)", "金额", "期初欠费", "amount"),
     "period": ("所属月份", "期间", "日期", "欠费日期", "period", "date"), "note": ("说明", "note")},
    no_rows=N_("The file has the column headings but no balances below them."),
)
LAYOUTS = {READINGS: READINGS_LAYOUT, OPENING: OPENING_LAYOUT}

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_NUMBER = re.compile(r"\d+(\.\d+)?")
_DAY = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[T ]00:00(?::00)?)?")
_MONTH = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*月?")
YES = {"是", "y", "yes", "true", "1", "新表", "换表"}
NO = {"", "否", "n", "no", "false", "0"}


# --- reading one cell ------------------------------------------------------------------------------------------


def parse_day(text: str) -> date | None:
    """'2026-11-30', '2026/11/30', '2026年11月30日', an Excel date cell ('2026-11-30T00:00:00') → date."""
    match = _DAY.fullmatch(text.strip())
    if not match:
        return None
    try:
        return date(*(int(g) for g in match.groups()))
    except ValueError:
        return None


def parse_period(text: str) -> tuple[date, date, date] | None:
    """A day or a month → (period start, period end exclusive, due on). A day d is [d, d+1) due on d; a month
    is [1st, next 1st) due on its last day."""
    day = parse_day(text)
    if day is not None:
        return day, day + timedelta(days=1), day
    match = _MONTH.fullmatch(text.strip())
    if not match:
        return None
    year, month = int(match.group(1)), int(match.group(2))
    if not 1 <= month <= 12:
        return None
    start = date(year, month, 1)
    end = date(year + (month == 12), month % 12 + 1, 1)
    return start, end, date(year, month, calendar.monthrange(year, month)[1])


def _plain_number(text: str) -> str:
    return text.replace(",", "").replace("，", "").replace(" ", "")


# --- rows -----------------------------------------------------------------------------------------------------


@dataclass
class Place:
    row: int
    community: str
    building: str
    unit: str
    room: str
    household_id: uuid.UUID | None = None
    community_id: uuid.UUID | None = None
    building_id: uuid.UUID | None = None
    ok: bool = True  # False: another cell of the row has a problem (its household is still looked up)


@dataclass
class ReadingRow:
    place: Place
    item: str
    read_on: date
    milli: int
    reset: bool
    item_id: uuid.UUID | None = None


@dataclass
class OpeningRow:
    place: Place
    amount_fen: int
    period_start: date
    period_end: date
    due_on: date
    note: str


class _FeeEngine:
    """Walks the file once: checks each row, finds its household chunk by chunk (one query per chunk), keeps the
    rows that are right; then ``finish`` compares them with what is recorded and, with ``write``, writes them in
    the caller's transaction. Memory grows with the accepted rows only (the file is at most IMPORT_MAX_ROWS)."""

    layout: Layout

    def __init__(self, *, company_id: uuid.UUID, write: bool, progress, actor_id: uuid.UUID | None):
        self.company_id, self.write, self.progress, self.actor_id = company_id, write, progress, actor_id
        self.outcome = imports.Outcome()
        self.column = self.layout.column_of
        self.today = local_today()
        self.communities = dict(db.session.execute(select(Community.name, Community.id).where(Community.live())).all())
        self.buildings = {(c, name): b for c, name, b in db.session.execute(
            select(Building.community_id, Building.name, Building.id).where(Building.live()))}
        self.accepted: list = []
        self.seen: dict[bytes, int] = {}

    def problem(self, at, field: str, message, /, **params) -> None:
        self.outcome.problem(at, self.column.get(field, ""), message, **params)

    def run(self, path: Path, fmt: str, max_rows: int) -> imports.Outcome:
        outcome = self.outcome
        chunk: list = []
        try:
            for number, values in read_rows(path, fmt, max_rows=max_rows, layout=self.layout):
                outcome.total += 1
                data = self.check_row(number, dict(zip(self.layout.fields, values, strict=True)))
                if data is not None:
                    chunk.append(data)
                if len(chunk) >= CHUNK_ROWS:
                    self._place(chunk)
                    chunk = []
                self.progress(outcome.total)
            self._place(chunk)
        except FileProblem as exc:
            outcome.problem(None, "", exc.message, **exc.params)
            return outcome
        if outcome.total == 0:
            outcome.problem(None, "", self.layout.no_rows)
        self.finish()
        return outcome

    # -- the household of a row

    def text(self, row: int, field: str, value: str, max_len: int, required=None) -> str:
        if _CONTROL.search(value):
            self.problem(row, field, N_("Remove line breaks and control characters."))
        elif required and not value:
            self.problem(row, field, required)
        elif len(value) > max_len:
            self.problem(row, field, N_("At most %(max)s characters."), max=max_len)
        return value

    def check_place(self, row: int, values: dict) -> Place:
        unit = values["unit"]
        if unit.endswith("单元"):
            unit = unit[: -len("单元")].strip()
        return Place(row,
                     self.text(row, "community", values["community"], 64, N_("Enter the community name.")),
                     self.text(row, "building", values["building"], 32, N_("Enter the building, e.g. 3号楼.")),
                     self.text(row, "unit", unit, 16),
                     self.text(row, "room", values["room"], 16, N_("Enter the room number.")))

    def _place(self, chunk: list) -> None:
        """Find each row's household (one query for the chunk); a row whose household is unknown is dropped."""
        placed = []
        for data in chunk:
            place = data.place
            place.community_id = self.communities.get(place.community)
            if place.community_id is None:
                self.problem(place.row, "community", N_("No community is named “%(name)s”. Check the name as it "
                                                        "is written in the roster."), name=place.community)
                continue
            place.building_id = self.buildings.get((place.community_id, place.building))
            if place.building_id is None:
                self.problem(place.row, "building", N_("%(community)s has no building “%(building)s”."),
                             community=place.community, building=place.building)
                continue
            placed.append(data)
        if not placed:
            return
        building_ids = sorted({d.place.building_id for d in placed})
        homes = {(b, u, r): h for b, u, r, h in db.session.execute(
            select(Household.building_id, Household.unit, Household.room, Household.id)
            .where(Household.live(), Household.building_id.in_(building_ids)))}
        for data in placed:
            place = data.place
            place.household_id = homes.get((place.building_id, place.unit, place.room))
            if place.household_id is None:
                where = f"{place.unit}单元 {place.room}" if place.unit else place.room
                self.problem(place.row, "room", N_("%(community)s %(building)s has no household %(home)s. Add it to "
                                                   "the roster first, or correct the unit and room."),
                             community=place.community, building=place.building, home=where)
                continue
            if self.accept(data):
                self.accepted.append(data)

    def once(self, row: int, field: str, *key, message) -> bool:
        digest = hashlib.blake2b("\x1f".join(map(str, key)).encode(), digest_size=8).digest()
        first = self.seen.setdefault(digest, row)
        if first != row:
            self.problem(row, field, message, row=first)
            return False
        return True

    def check_row(self, row: int, values: dict):
        raise NotImplementedError

    def accept(self, data) -> bool:
        return True

    def finish(self) -> None:
        raise NotImplementedError


# --- meter readings -------------------------------------------------------------------------------------------


class ReadingsEngine(_FeeEngine):
    layout = READINGS_LAYOUT

    def __init__(self, **kw):
        super().__init__(**kw)
        self.items = {(community_id, name): (item_id, kind) for community_id, name, item_id, kind in
                      db.session.execute(select(FeeItem.community_id, FeeItem.name, FeeItem.id, FeeItem.kind)
                                         .where(FeeItem.archived_at.is_(None)))}

    def check_row(self, row: int, values: dict) -> ReadingRow | None:
        before = self.outcome.error_count
        place = self.check_place(row, values)
        item = self.text(row, "item", values["item"], 40, N_("Enter the metered fee item, e.g. 水费."))
        placed = self.outcome.error_count == before  # household and item are looked up together

        read_on = None
        if not values["read_on"]:
            self.problem(row, "read_on", N_("Enter the day of the reading, e.g. 2026-11-30."))
        else:
            read_on = parse_day(values["read_on"])
            if read_on is None:
                self.problem(row, "read_on", N_("“%(value)s” is not a date. Write it as 2026-11-30."),
                             value=values["read_on"][:20])
            elif read_on > self.today:
                self.problem(row, "read_on", N_("%(date)s is in the future: a meter can only be read on a day "
                                                "that has come."), date=read_on.isoformat())
            elif read_on < EARLIEST:
                self.problem(row, "read_on", N_("%(date)s is too long ago. Check the year."),
                             date=read_on.isoformat())

        milli = self.reading(row, values["reading"])

        flag = values["new_meter"].strip().lower()
        if flag not in YES and flag not in NO:
            self.problem(row, "new_meter", N_("Write 是 for a new meter, or leave it empty (not “%(value)s”)."),
                         value=values["new_meter"][:20])
        if not placed:
            return None  # no household to look for
        place.ok = self.outcome.error_count == before
        return ReadingRow(place, item, read_on, milli, flag in YES)

    def reading(self, row: int, raw: str) -> int | None:
        text = _plain_number(raw)
        if not text:
            self.problem(row, "reading", N_("Enter the meter's figure, e.g. 1234.5."))
        elif text.startswith("-") and _NUMBER.fullmatch(text[1:]):
            self.problem(row, "reading", N_("A meter reading cannot be negative."))
        elif not _NUMBER.fullmatch(text):
            self.problem(row, "reading", N_("“%(value)s” is not a meter figure. Write digits only, e.g. 1234.5."),
                         value=raw[:20])
        else:
            value = Decimal(text)
            if value.as_tuple().exponent < -3:
                self.problem(row, "reading", N_("A reading has at most 3 decimals."))
            elif value > MAX_READING:
                self.problem(row, "reading", N_("%(value)s is more than any meter shows. Check the figure."),
                             value=text[:20])
            else:
                return int(value * 1000)
        return None

    def accept(self, data: ReadingRow) -> bool:
        place = data.place
        found = self.items.get((place.community_id, data.item))
        if found is None:
            self.problem(place.row, "item", N_("%(community)s has no fee item named “%(item)s”."),
                         community=place.community, item=data.item)
            return False
        if found[1] != FeeKind.METERED:
            self.problem(place.row, "item", N_("“%(item)s” is not a metered item: readings are imported only for "
                                               "metered items such as water or electricity."), item=data.item)
            return False
        data.item_id = found[0]
        return place.ok and self.once(place.row, "read_on", place.household_id, data.item_id, data.read_on,
                         message=N_("The same household, item and day as row %(row)s."))

    def finish(self) -> None:
        # What is recorded for these households' items, then each new reading in order with its neighbours.
        series: dict[tuple, list[tuple]] = {}  # (household, item) → [(day, milli, reset, row or None)]
        household_ids = sorted({d.place.household_id for d in self.accepted})
        wanted = {(d.place.household_id, d.item_id) for d in self.accepted}
        for start in range(0, len(household_ids), LOOKUP_IDS):
            for h, i, day, milli, reset in db.session.execute(
                    select(MeterReading.household_id, MeterReading.fee_item_id, MeterReading.read_on,
                           MeterReading.reading_milli, MeterReading.reset)
                    .where(MeterReading.household_id.in_(household_ids[start:start + LOOKUP_IDS]))):
                if (h, i) in wanted:
                    series.setdefault((h, i), []).append((day, milli, reset, None))
        recorded = {(key, entry[0]): entry for key, entries in series.items() for entry in entries}
        new = []
        for data in self.accepted:
            key = (data.place.household_id, data.item_id)
            same_day = recorded.get((key, data.read_on))
            if same_day is not None:
                if same_day[1] == data.milli and same_day[2] == data.reset:
                    self.outcome.unchanged += 1
                else:
                    self.problem(data.place.row, "reading", N_("A reading of %(value)s is already recorded for "
                                                               "this day. A recorded reading is not changed by an "
                                                               "import: remove this row."),
                                 value=_figure(same_day[1]))
                continue
            series.setdefault(key, []).append((data.read_on, data.milli, data.reset, data))
            new.append(data)
        for entries in series.values():
            entries.sort(key=lambda e: e[0])
            for before, after in zip(entries, entries[1:], strict=False):
                if after[2] or after[1] >= before[1]:
                    continue  # a new meter starts again; otherwise a figure never goes down
                if isinstance(after[3], ReadingRow):
                    self.problem(after[3].place.row, "reading",
                                 N_("%(value)s is lower than the reading before it, %(last)s on %(date)s. If the "
                                    "meter was replaced, write 是 under 换新表."),
                                 value=_figure(after[1]), last=_figure(before[1]), date=before[0].isoformat())
                elif isinstance(before[3], ReadingRow):
                    self.problem(before[3].place.row, "reading",
                                 N_("%(value)s is higher than the reading already recorded after it, %(next)s on "
                                    "%(date)s."),
                                 value=_figure(before[1]), next=_figure(after[1]), date=after[0].isoformat())
        if not self.outcome.error_count:
            self.outcome.created = len(new)
        if self.write and not self.outcome.error_count and new:
            now = utcnow()
            rows = [{"company_id": self.company_id, "id": new_id(), "created_at": now,
                     "household_id": d.place.household_id, "fee_item_id": d.item_id, "read_on": d.read_on,
                     "reading_milli": d.milli, "reset": d.reset, "source": "import", "recorded_by_id": self.actor_id}
                    for d in new]
            for start in range(0, len(rows), CHUNK_ROWS):
                db.session.execute(insert(MeterReading), rows[start:start + CHUNK_ROWS])


def _figure(milli: int) -> str:
    return f"{Decimal(milli) / 1000:f}".rstrip("0").rstrip(".") if milli % 1000 else str(milli // 1000)


# --- opening balances -----------------------------------------------------------------------------------------


class OpeningEngine(_FeeEngine):
    layout = OPENING_LAYOUT

    def check_row(self, row: int, values: dict) -> OpeningRow | None:
        before = self.outcome.error_count
        place = self.check_place(row, values)
        placed = self.outcome.error_count == before
        amount = self.amount(row, values["amount"])
        period = None
        if not values["period"]:
            self.problem(row, "period", N_("Enter the month or day the arrears are from, e.g. 2025-12 or "
                                           "2025-12-31."))
        else:
            period = parse_period(values["period"])
            if period is None:
                self.problem(row, "period", N_("“%(value)s” is not a month or a date. Write 2025-12 or 2025-12-31."),
                             value=values["period"][:20])
            elif period[0] > self.today:
                self.problem(row, "period", N_("%(date)s is in the future: opening balances are arrears already "
                                               "owed."), date=period[0].isoformat())
            elif period[0] < EARLIEST:
                self.problem(row, "period", N_("%(date)s is too long ago. Check the year."),
                             date=period[0].isoformat())
        note = self.text(row, "note", values["note"], 200)
        if not placed:
            return None  # no household to look for
        place.ok = self.outcome.error_count == before
        return OpeningRow(place, amount, *(period or (None, None, None)), note)

    def amount(self, row: int, raw: str) -> int | None:
        text = _plain_number(raw).replace("¥", "").replace("￥", "").removesuffix("元")
        if not text:
            self.problem(row, "amount", N_("Enter the amount owed in yuan, e.g. 1280.50."))
        elif text.startswith("-") and _NUMBER.fullmatch(text[1:]):
            self.problem(row, "amount", N_("An opening balance cannot be negative. Money the company owes a "
                                           "household is recorded as its prepayment, not here."))
        elif not _NUMBER.fullmatch(text):
            self.problem(row, "amount", N_("“%(value)s” is not an amount. Write yuan in digits, e.g. 1280.50."),
                         value=raw[:20])
        elif Decimal(text).as_tuple().exponent < -2:
            self.problem(row, "amount", N_("An amount in yuan has at most 2 decimals (fen)."))
        else:
            fen = parse_yuan(text)
            if fen is None or fen > MAX_OPENING_FEN:
                self.problem(row, "amount", N_("%(value)s yuan is more than a household's arrears can be. Check "
                                               "the figure."), value=text[:20])
            elif fen == 0:
                self.problem(row, "amount", N_("The amount is zero: leave out households that owe nothing."))
            else:
                return fen
        return None

    def accept(self, data: OpeningRow) -> bool:
        return data.place.ok and self.once(data.place.row, "room", data.place.household_id,
                         message=N_("The same household as row %(row)s. Put one opening balance per household: "
                                    "the total it owes."))

    def finish(self) -> None:
        household_ids = sorted({d.place.household_id for d in self.accepted})
        existing = {}
        for start in range(0, len(household_ids), LOOKUP_IDS):
            existing.update({h: (amount, start_on, end_on) for h, amount, start_on, end_on in db.session.execute(
                select(Bill.household_id, Bill.amount_fen, Bill.period_start, Bill.period_end)
                .where(Bill.household_id.in_(household_ids[start:start + LOOKUP_IDS]),
                       Bill.charge_key == OPENING_KEY, Bill.generation == 0))})
        new = []
        for data in self.accepted:
            found = existing.get(data.place.household_id)
            if found is None:
                new.append(data)
            elif found == (data.amount_fen, data.period_start, data.period_end):
                self.outcome.unchanged += 1
            else:
                self.problem(data.place.row, "amount",
                             N_("This household already has an opening balance of ¥%(amount)s from %(date)s. "
                                "It is not replaced by an import: to correct it, credit that bill with the "
                                "difference on the household's bills."),
                             amount=yuan_text(found[0]), date=found[1].isoformat())
        if not self.outcome.error_count:
            self.outcome.created = len(new)
            self.outcome.notes.append({"kind": "opening_total", "fen": sum(d.amount_fen for d in new)})
        if self.write and not self.outcome.error_count and new:
            now = utcnow()
            rows = [{"company_id": self.company_id, "id": new_id(), "created_at": now,
                     "household_id": d.place.household_id, "community_id": d.place.community_id,
                     "building_id": d.place.building_id, "kind": BillKind.OPENING, "charge_key": OPENING_KEY,
                     "generation": 0, "title": OPENING_TITLE, "detail": "", "period_start": d.period_start,
                     "period_end": d.period_end, "amount_fen": d.amount_fen, "paid_fen": 0, "credited_fen": 0,
                     "due_on": d.due_on, "late_fee_clause": "", "reason": d.note, "created_by_id": self.actor_id}
                    for d in new]
            for start in range(0, len(rows), CHUNK_ROWS):
                db.session.execute(insert(Bill), rows[start:start + CHUNK_ROWS])
            _apply_credit([d.place.household_id for d in new], self.actor_id)


# --- the kinds, as tenants/imports runs them ----------------------------------------------------------------


def opening_total(outcome_or_errors) -> int:
    """The yuan (in fen) an opening import adds, from its outcome or its stored batch.errors."""
    errors = outcome_or_errors if isinstance(outcome_or_errors, list) else outcome_or_errors.notes
    return next((e["fen"] for e in errors or [] if e.get("kind") == "opening_total"), 0)


def _audit_readings(batch_id, filename: str, outcome, actor, company_id) -> None:
    record("fee_import.readings", actor=actor, object_type="import", object_id=batch_id, object_label=filename,
           changes={"batch_id": str(batch_id), "rows": outcome.total, "readings_added": outcome.created,
                    "unchanged": outcome.unchanged},
           company_id=company_id)


def _audit_opening(batch_id, filename: str, outcome, actor, company_id) -> None:
    record("fee_import.opening", actor=actor, object_type="import", object_id=batch_id, object_label=filename,
           changes={"batch_id": str(batch_id), "rows": outcome.total, "opening_balances_added": outcome.created,
                    "unchanged": outcome.unchanged, "total_yuan": yuan_text(opening_total(outcome))},
           company_id=company_id)


def _apply_credit(household_ids, actor_id) -> None:
    """A household holding credit (a prepayment) has it spent on its new opening bill, as on any new bill. Only
    those households go through the ledger (one grouped query finds them), not every imported one."""
    from saas.models import User
    from tenants.fees import ledger
    from tenants.fees.models import CreditEntry

    with_credit = []
    for start in range(0, len(household_ids), LOOKUP_IDS):
        with_credit += db.session.scalars(
            select(CreditEntry.household_id)
            .where(CreditEntry.household_id.in_(household_ids[start:start + LOOKUP_IDS]))
            .group_by(CreditEntry.household_id).having(func.sum(CreditEntry.amount_fen) > 0)).all()
    if with_credit:
        ledger.apply_credit(with_credit, actor=db.session.get(User, actor_id) if actor_id else None)


imports.register_kind(imports.ImportKind(name=READINGS, layout=READINGS_LAYOUT, engine=ReadingsEngine,
                                         on_commit=_audit_readings))
imports.register_kind(imports.ImportKind(name=OPENING, layout=OPENING_LAYOUT, engine=OpeningEngine,
                                         on_commit=_audit_opening))


# --- the templates -------------------------------------------------------------------------------------------


def template_file(kind: str) -> tuple[bytes, str, str]:
    """(content, mimetype, download name) of the empty .xlsx template of ``kind``."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    layout = LAYOUTS[kind]
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "抄表读数" if kind == READINGS else "期初欠费"
    sheet.append(list(layout.columns))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    widths = (16, 10, 8, 10, 14, 14, 14, 30 if kind == OPENING else 10)
    for index, width in enumerate(widths[: len(layout.columns)], start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    for letter in ("B", "C", "D"):  # unit and room as text, so Excel keeps 0101
        sheet.column_dimensions[letter].number_format = "@"
    if kind == READINGS:
        sheet.column_dimensions["F"].number_format = "yyyy-mm-dd"
        new_meter = DataValidation(type="list", formula1='"是,否"', allow_blank=True)
        new_meter.add("H2:H50001")
        sheet.add_data_validation(new_meter)
        lines = (
            gettext("Fill in one reading per row on the first sheet. Keep the headings in the first row."),
            gettext("Name the household by community, building, unit and room exactly as in the roster."),
            gettext("收费项目 is the name of a metered fee item of that community, e.g. 水费."),
            gettext("抄表日期 is the day the meter was read, e.g. 2026-11-30. 读数 is the figure on the meter "
                    "(up to 3 decimals)."),
            gettext("A reading lower than the one before it is refused, unless the meter was replaced: then "
                    "write 是 under 换新表."),
            gettext("Importing the same file again changes nothing."),
        )
    else:
        sheet.column_dimensions["E"].number_format = "0.00"
        sheet.column_dimensions["F"].number_format = "@"
        lines = (
            gettext("Fill in one household per row on the first sheet: the total it owed in the old ledger. "
                    "Keep the headings in the first row."),
            gettext("Name the household by community, building, unit and room exactly as in the roster."),
            gettext("欠费金额(元) in yuan with at most 2 decimals, e.g. 1280.50."),
            gettext("所属期间 is the month (2025-12) or the day (2025-12-31) the arrears are from; the bill is due "
                    "on that day, or on the last day of that month."),
            gettext("备注 is kept as the bill's reason, e.g. 2024–2025 年物业费."),
            gettext("Each household gets one opening balance. Importing the same file again changes nothing; a "
                    "different amount for the same household is refused: correct the bill with a credit "
                    "instead."),
        )
    notes = workbook.create_sheet(gettext("Instructions")[:31])
    for line in (*lines, gettext("At most %(rows)s rows and %(mb)s MB per file.", rows=imports.limits()["max_rows"],
                                 mb=f"{imports.limits()['max_bytes'] / (1024 * 1024):g}")):
        notes.append([line])
    notes.column_dimensions["A"].width = 110
    out = io.BytesIO()
    workbook.save(out)
    name = "抄表读数导入模板.xlsx" if kind == READINGS else "期初欠费导入模板.xlsx"
    return out.getvalue(), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", name

