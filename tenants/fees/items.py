"""Fee items of a community, their rate versions, parking spaces and a household's inner floor area.

An item is archived, never deleted (its bills keep it). A rate is a version from a date on: one used by a bill is
never edited; a new rate succeeds it, and its date must fall after the last period already billed on the item."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal, InvalidOperation

from sqlalchemy import func, select

from saas import audit
from saas.clock import utcnow
from saas.errors import ServiceError
from saas.extensions import db
from saas.i18n import _l
from tenants.fees.models import AreaBasis, Bill, FeeItem, FeeKind, FeeRate, MeterKind, ParkingSpace
from tenants.roster.models import Building, Community, Household

MAX_PRICE_CFEN = 100_000_000  # ¥10,000 a unit: the table's CHECK


class FeeItemError(ServiceError):
    """A fee item, rate or parking space change refused."""


# Checks other modules add on a new rate without fees importing them: check(item, unit_price_cfen, effective_from)
# raises a ServiceError to refuse it. The disclosures module adds the 30-day public notice (its install_rate_rule).
RATE_CHECKS: list = []


def add_rate_check(check) -> None:
    if check not in RATE_CHECKS:
        RATE_CHECKS.append(check)


def parse_price(raw) -> int:
    """'1.85' (yuan per unit, up to four decimals) → 18500 hundredths of a fen. Raises FeeItemError."""
    text = str(raw or "").strip().replace("¥", "").replace("￥", "").replace("元", "").replace(",", "")
    if not text:
        raise FeeItemError(_l("Enter the price in yuan, e.g. 1.85."), "price")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise FeeItemError(_l("The price must be a number in yuan, e.g. 1.85."), "price") from None
    if not value.is_finite() or value < 0:
        raise FeeItemError(_l("The price must be a number in yuan, e.g. 1.85."), "price")
    if value * 10000 > MAX_PRICE_CFEN:  # before quantize, which fails on '1e30'
        raise FeeItemError(_l("The price must be at most ¥10,000 a unit."), "price")
    if value != value.quantize(Decimal("0.0001")):
        raise FeeItemError(_l("A price can have at most four decimals."), "price")
    return int(value * 10000)


def _clean_name(name: str, max_len: int, field: str = "name") -> str:
    name = " ".join((name or "").split())
    if not name:
        raise FeeItemError(_l("Enter a name."), field)
    if len(name) > max_len:
        raise FeeItemError(_l("Keep the name under %(n)d characters.", n=max_len), field)
    return name


def _check_item_name(community_id, name: str, *, exclude=None) -> None:
    stmt = select(func.count()).select_from(FeeItem).where(
        FeeItem.community_id == community_id, FeeItem.name == name, FeeItem.archived_at.is_(None))
    if exclude is not None:
        stmt = stmt.where(FeeItem.id != exclude)
    if db.session.execute(stmt).scalar_one():
        raise FeeItemError(_l("This community already has a fee item of that name."), "name")


# --- items -----------------------------------------------------------------------------------------------------


def create_item(community: Community, *, name: str, kind, area_basis=None, meter_kind=None,
                vacant_percent: int = 100, actor) -> FeeItem:
    name = _clean_name(name, 40)
    try:
        kind = FeeKind(kind)
    except ValueError:
        raise FeeItemError(_l("Choose what the item charges for."), "kind") from None
    basis = meter = None
    if kind == FeeKind.PER_AREA:
        try:
            basis = AreaBasis(area_basis or AreaBasis.GROSS)
        except ValueError:
            raise FeeItemError(_l("Choose the floor area it is charged on."), "area_basis") from None
    if kind == FeeKind.METERED:
        try:
            meter = MeterKind(meter_kind)
        except ValueError:
            raise FeeItemError(_l("Choose the meter."), "meter_kind") from None
        vacant_percent = 100  # usage is usage: a pass-through charge has no vacancy discount either
    if not isinstance(vacant_percent, int) or not 0 <= vacant_percent <= 100:
        raise FeeItemError(_l("Enter a percentage between 0 and 100."), "vacant_percent")
    _check_item_name(community.id, name)
    position = db.session.execute(select(func.coalesce(func.max(FeeItem.position), 0))
                                  .where(FeeItem.community_id == community.id)).scalar_one() + 1
    item = FeeItem(community_id=community.id, name=name, kind=kind, area_basis=basis, meter_kind=meter,
                   vacant_percent=vacant_percent, position=position)
    db.session.add(item)
    db.session.flush()
    audit.record("fee_item.create", actor=actor, object_type="fee_item", object_id=item.id,
                 object_label=f"{community.name} {name}",
                 changes={"name": [None, name], "kind": [None, kind.value], "vacant_percent": [None, vacant_percent]})
    db.session.commit()
    return item


def update_item(item: FeeItem, *, name: str, vacant_percent: int | None = None, actor) -> FeeItem:
    if item.archived_at is not None:
        raise FeeItemError(_l("This item is archived."))
    name = _clean_name(name, 40)
    changes = {}
    if name != item.name:
        _check_item_name(item.community_id, name, exclude=item.id)
        changes["name"] = [item.name, name]
        item.name = name
    if vacant_percent is not None and item.kind != FeeKind.METERED and vacant_percent != item.vacant_percent:
        if not isinstance(vacant_percent, int) or not 0 <= vacant_percent <= 100:
            raise FeeItemError(_l("Enter a percentage between 0 and 100."), "vacant_percent")
        changes["vacant_percent"] = [item.vacant_percent, vacant_percent]
        item.vacant_percent = vacant_percent
    if changes:
        audit.record("fee_item.update", actor=actor, object_type="fee_item", object_id=item.id,
                     object_label=item.name, changes=changes)
    db.session.commit()
    return item


def archive_item(item: FeeItem, *, actor) -> FeeItem:
    if item.archived_at is None:
        item.archived_at = utcnow()
        audit.record("fee_item.archive", actor=actor, object_type="fee_item", object_id=item.id,
                     object_label=item.name, changes={"archived": [False, True]})
        db.session.commit()
    return item


def items_of(community_id, *, archived: bool = False) -> list[FeeItem]:
    clause = FeeItem.archived_at.is_not(None) if archived else FeeItem.archived_at.is_(None)
    return list(db.session.execute(select(FeeItem).where(FeeItem.community_id == community_id, clause)
                                   .order_by(FeeItem.position, FeeItem.name)).scalars())


# --- rates -----------------------------------------------------------------------------------------------------


def rates_of(item_id) -> list[FeeRate]:
    return list(db.session.execute(select(FeeRate).where(FeeRate.fee_item_id == item_id)
                                   .order_by(FeeRate.effective_from.desc())).scalars())


def last_billed_period(item_id) -> date | None:
    """The start of the latest period billed on the item: a new rate must start after it."""
    return db.session.execute(select(func.max(Bill.period_start)).where(Bill.fee_item_id == item_id)).scalar()


def used_rate_ids(item_id) -> set[uuid.UUID]:
    return set(db.session.execute(select(Bill.rate_id).where(Bill.fee_item_id == item_id,
                                                             Bill.rate_id.is_not(None)).distinct()).scalars())


def add_rate(item: FeeItem, *, price, effective_from: date | None, note: str = "", actor) -> FeeRate:
    if item.archived_at is not None:
        raise FeeItemError(_l("This item is archived."))
    if item.kind == FeeKind.ONE_OFF:
        raise FeeItemError(_l("A one-off item has no rate: each charge states its own amount."))
    cfen = parse_price(price)
    if effective_from is None:
        raise FeeItemError(_l("Enter the date the rate takes effect."), "effective_from")
    if not date(2000, 1, 1) <= effective_from <= date(2100, 1, 1):
        raise FeeItemError(_l("Enter a date between 2000 and 2100."), "effective_from")
    last = last_billed_period(item.id)
    if last is not None and effective_from <= last:
        raise FeeItemError(_l("Bills up to the period from %(day)s already use the old rate: a new rate must take "
                              "effect after that day.", day=last.isoformat()), "effective_from")
    if db.session.execute(select(func.count()).select_from(FeeRate).where(
            FeeRate.fee_item_id == item.id, FeeRate.effective_from == effective_from)).scalar_one():
        raise FeeItemError(_l("A rate already takes effect on that day. Choose another day."), "effective_from")
    for check in RATE_CHECKS:
        check(item, cfen, effective_from)
    note = " ".join((note or "").split())[:200]
    rate = FeeRate(fee_item_id=item.id, effective_from=effective_from, unit_price_cfen=cfen, note=note,
                   created_by_id=actor.id if actor else None)
    db.session.add(rate)
    db.session.flush()
    audit.record("fee_rate.create", actor=actor, object_type="fee_item", object_id=item.id, object_label=item.name,
                 changes={"unit_price": [None, f"{Decimal(cfen) / 10000:.4f}"],
                          "effective_from": [None, effective_from.isoformat()]})
    db.session.commit()
    return rate


# --- parking spaces --------------------------------------------------------------------------------------------


def _check_space_name(community_id, name: str, *, exclude=None) -> None:
    stmt = select(func.count()).select_from(ParkingSpace).where(
        ParkingSpace.community_id == community_id, ParkingSpace.name == name, ParkingSpace.live())
    if exclude is not None:
        stmt = stmt.where(ParkingSpace.id != exclude)
    if db.session.execute(stmt).scalar_one():
        raise FeeItemError(_l("This community already has a parking space of that name."), "name")


def _holder(community_id, household_id) -> uuid.UUID | None:
    if not household_id:
        return None
    try:
        household_id = uuid.UUID(str(household_id))
    except ValueError:
        raise FeeItemError(_l("Choose a household of this community."), "holder") from None
    found = db.session.execute(select(Household.id).join(Building, Building.id == Household.building_id).where(
        Household.id == household_id, Household.live(), Building.community_id == community_id)).scalar()
    if found is None:
        raise FeeItemError(_l("Choose a household of this community."), "holder")
    return found


def create_space(community: Community, *, name: str, holder_household_id=None, actor) -> ParkingSpace:
    name = _clean_name(name, 20)
    _check_space_name(community.id, name)
    holder = _holder(community.id, holder_household_id)
    space = ParkingSpace(community_id=community.id, name=name, holder_household_id=holder)
    db.session.add(space)
    db.session.flush()
    audit.record("parking_space.create", actor=actor, object_type="parking_space", object_id=space.id,
                 object_label=f"{community.name} {name}", changes={"name": [None, name]})
    db.session.commit()
    return space


def update_space(space: ParkingSpace, *, name: str, holder_household_id=None, actor) -> ParkingSpace:
    name = _clean_name(name, 20)
    holder = _holder(space.community_id, holder_household_id)
    changes = {}
    if name != space.name:
        _check_space_name(space.community_id, name, exclude=space.id)
        changes["name"] = [space.name, name]
        space.name = name
    if holder != space.holder_household_id:
        labels = {h.id: h.label for h in db.session.execute(select(Household).where(
            Household.id.in_([x for x in (space.holder_household_id, holder) if x]))).scalars()}
        changes["holder"] = [labels.get(space.holder_household_id), labels.get(holder)]
        space.holder_household_id = holder
    if changes:
        audit.record("parking_space.update", actor=actor, object_type="parking_space", object_id=space.id,
                     object_label=space.name, changes=changes)
    db.session.commit()
    return space


def delete_space(space: ParkingSpace, *, actor) -> None:
    space.mark_deleted(actor.id if actor else None)
    audit.record("parking_space.delete", actor=actor, object_type="parking_space", object_id=space.id,
                 object_label=space.name)
    db.session.commit()


def spaces_of(community_id) -> list[ParkingSpace]:
    return list(db.session.execute(select(ParkingSpace).where(ParkingSpace.community_id == community_id,
                                                              ParkingSpace.live())
                                   .order_by(func.length(ParkingSpace.name), ParkingSpace.name)).scalars())


# --- a household's inner floor area (套内面积) ------------------------------------------------------------------


def set_inner_area(household: Household, raw: str, *, actor) -> Household:
    """'' clears it; otherwise m² with at most two decimals, no more than the gross floor area."""
    from saas.validators import parse_area

    text = (raw or "").strip()
    if not text:
        new = None
    else:
        try:
            new = int((parse_area(text) * 100).to_integral_value())
        except ValueError as exc:
            raise FeeItemError(str(exc), "inner_area") from None
        if new > household.floor_area_dm2:
            raise FeeItemError(_l("The inner floor area cannot be larger than the gross floor area."), "inner_area")
    if new != household.inner_area_dm2:
        audit.record("household.inner_area", actor=actor, object_type="household", object_id=household.id,
                     object_label=household.label,
                     changes={"inner_area": [household.inner_area_dm2 and f"{household.inner_area_dm2 / 100:.2f}",
                                             new and f"{new / 100:.2f}"]})
        household.inner_area_dm2 = new
    db.session.commit()
    return household
