"""Meter readings typed on a phone: one household, one metered item, a date and the meter's figure.

A reading lower than the one before is refused, unless it is the first of a new meter ("reset"); usage is the
difference between readings (tenants/fees/billing.py: usage_in)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation

from sqlalchemy import func, select

from saas import audit
from saas.clock import local_today
from saas.errors import ServiceError
from saas.extensions import db
from saas.i18n import _l
from tenants.fees.models import FeeItem, FeeKind, MeterReading
from tenants.roster.models import Household

MAX_READING_MILLI = 10**15


class MeterReadingError(ServiceError):
    """A meter reading refused."""


def parse_reading(raw) -> int:
    text = str(raw or "").strip().replace(",", "")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise MeterReadingError(_l("Enter the meter's figure, e.g. 1234.5."), "reading") from None
    if not value.is_finite() or value < 0:
        raise MeterReadingError(_l("Enter the meter's figure, e.g. 1234.5."), "reading")
    if value * 1000 >= MAX_READING_MILLI:  # before quantize, which fails on '1e30'
        raise MeterReadingError(_l("That reading is too large for a meter."), "reading")
    if value != value.quantize(Decimal("0.001")):
        raise MeterReadingError(_l("A reading can have at most three decimals."), "reading")
    return int(value * 1000)


def readings_of(household_id, item_id, limit: int = 12) -> list[MeterReading]:
    return list(db.session.execute(select(MeterReading).where(
        MeterReading.household_id == household_id, MeterReading.fee_item_id == item_id)
        .order_by(MeterReading.read_on.desc()).limit(limit)).scalars())


def record_reading(household: Household, item: FeeItem, *, read_on: date | None, reading, reset: bool = False,
                   actor, source: str = "phone") -> MeterReading:
    if item.kind != FeeKind.METERED or item.archived_at is not None:
        raise MeterReadingError(_l("Choose a metered item."), "fee_item_id")
    if household.building.community_id != item.community_id:
        raise MeterReadingError(_l("This item belongs to another community."), "fee_item_id")
    if read_on is None:
        raise MeterReadingError(_l("Enter the day of the reading."), "read_on")
    if read_on > local_today() or read_on.year < 2000:
        raise MeterReadingError(_l("A reading cannot be dated in the future."), "read_on")
    milli = parse_reading(reading)
    base = select(MeterReading).where(MeterReading.household_id == household.id,
                                      MeterReading.fee_item_id == item.id)
    if db.session.execute(select(func.count()).select_from(base.where(MeterReading.read_on == read_on)
                                                           .subquery())).scalar_one():
        raise MeterReadingError(_l("There is already a reading on that day."), "read_on")
    before = db.session.execute(base.where(MeterReading.read_on < read_on)
                                .order_by(MeterReading.read_on.desc()).limit(1)).scalar_one_or_none()
    after = db.session.execute(base.where(MeterReading.read_on > read_on)
                               .order_by(MeterReading.read_on).limit(1)).scalar_one_or_none()
    if not reset:
        if before is not None and milli < before.reading_milli:
            raise MeterReadingError(_l("Lower than the last reading (%(last)s on %(day)s). If the meter was "
                                       "replaced, tick “new meter”.", last=_figure(before.reading_milli),
                                       day=before.read_on.isoformat()), "reading")
    if after is not None and not after.reset and milli > after.reading_milli:
        raise MeterReadingError(_l("Higher than the later reading (%(next)s on %(day)s).",
                                   next=_figure(after.reading_milli), day=after.read_on.isoformat()), "reading")
    row = MeterReading(household_id=household.id, fee_item_id=item.id, read_on=read_on, reading_milli=milli,
                       reset=bool(reset), source=source, recorded_by_id=actor.id if actor else None)
    db.session.add(row)
    db.session.flush()
    audit.record("meter_reading.create", actor=actor, object_type="household", object_id=household.id,
                 object_label=household.label,
                 changes={"meter": [None, item.name], "reading": [None, _figure(milli)],
                          "read_on": [None, read_on.isoformat()]} | ({"new_meter": [None, True]} if reset else {}))
    db.session.commit()
    return row


def _figure(milli: int) -> str:
    return f"{(Decimal(milli) / 1000).normalize():f}"
