"""One-off charges: a charge staff add to a household with a reason ("once:<uuid>"), and a paid repair: when an
owner accepts a work order's quote, a REPAIR bill for the quote's amount ("repair:<work order>"), made by the
``quote_accepted`` signal of tenants/work_orders/services.py in the same transaction as the acceptance."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import func, select

from saas import audit
from saas.clock import local_today
from saas.errors import ServiceError
from saas.extensions import db
from saas.i18n import _l
from saas.money import MAX_FEN, format_yuan
from tenants.fees.models import Bill, BillKind
from tenants.fees.settings import get_settings
from tenants.roster.models import Household

MAX_ONE_OFF_FEN = 100_000_000  # ¥1,000,000: anything above is a typo


class ChargeError(ServiceError):
    """A one-off charge refused."""


def _bill(household: Household, *, kind: BillKind, charge_key: str, title: str, amount_fen: int, reason: str = "",
          detail: str = "", actor=None, work_order_id=None) -> Bill:
    today = local_today()
    return Bill(household_id=household.id, community_id=household.building.community_id,
                building_id=household.building_id, kind=kind, charge_key=charge_key, generation=0,
                title=title[:60], detail=detail[:200], reason=reason[:200], period_start=today,
                period_end=today + timedelta(days=1), amount_fen=amount_fen, paid_fen=0, credited_fen=0,
                due_on=today + timedelta(days=get_settings().due_days), work_order_id=work_order_id,
                created_by_id=actor.id if actor else None)


def add_one_off(household: Household, *, amount_fen: int | None, title: str, reason: str, actor) -> Bill:
    title = " ".join((title or "").split())
    reason = " ".join((reason or "").split())
    if not title:
        raise ChargeError(_l("Say what the charge is for, e.g. 装修垃圾清运费."), "title")
    if len(title) > 60:
        raise ChargeError(_l("Keep it under %(n)d characters.", n=60), "title")
    if amount_fen is None or not 0 < amount_fen <= min(MAX_ONE_OFF_FEN, MAX_FEN):
        raise ChargeError(_l("Enter an amount between ¥0.01 and ¥1,000,000."), "amount")
    if not reason:
        raise ChargeError(_l("Say why the household is charged."), "reason")
    if len(reason) > 200:
        raise ChargeError(_l("Keep it under %(n)d characters.", n=200), "reason")
    bill = _bill(household, kind=BillKind.ONE_OFF, charge_key=f"once:{uuid.uuid4()}", title=title,
                 amount_fen=amount_fen, reason=reason, actor=actor)
    db.session.add(bill)
    db.session.flush()
    audit.record("bill.one_off", actor=actor, object_type="household", object_id=household.id,
                 object_label=household.label,
                 changes={"title": [None, title], "amount": [None, format_yuan(amount_fen)], "reason": [None, reason]})
    _tell_owners(household, bill, actor)
    db.session.commit()
    from tenants.fees import ledger

    ledger.apply_credit([household.id], actor=actor)  # a prepayment settles it at once
    db.session.commit()
    return bill


def _tell_owners(household: Household, bill: Bill, actor) -> None:
    from saas.models import Membership
    from saas.notifications.services import deliver_after_commit  # noqa: F401  (SMS go out after commit)
    from tenants.inbox.services import notify
    from tenants.roster.models import HouseholdOwner

    users = db.session.execute(select(Membership.user_id).join(
        HouseholdOwner, HouseholdOwner.membership_id == Membership.id).where(
        HouseholdOwner.household_id == household.id, HouseholdOwner.ended_at.is_(None),
        Membership.ended_at.is_(None))).scalars().all()
    notify(users, f"新的收费：{bill.title} {format_yuan(bill.amount_fen)}。", subject_type="fee_bill",
           subject_id=bill.id, actor=actor)


def repair_bill_for(order, *, actor=None) -> Bill | None:
    """The REPAIR bill of an accepted quote (the work order's quote_fen, integer fen), added to the session of the
    acceptance; None when the job is not for a home or has no amount, or the home already has this charge."""
    if not order.household_id or not order.quote_fen or order.quote_fen <= 0:
        return None
    key = f"repair:{order.id}"
    if db.session.execute(select(func.count()).select_from(Bill).where(Bill.charge_key == key)).scalar_one():
        return None  # one bill per job: a new quote on the same job is corrected in the ledger, not re-billed
    household = db.session.get(Household, (order.company_id, order.household_id))
    if household is None:
        return None
    bill = _bill(household, kind=BillKind.REPAIR, charge_key=key, title=f"有偿维修 {order.number}",
                 amount_fen=int(order.quote_fen), detail=order.quote_note or "", actor=actor,
                 work_order_id=order.id)
    db.session.add(bill)
    audit.record("bill.repair", actor=actor, object_type="household", object_id=household.id,
                 object_label=household.label,
                 changes={"title": [None, bill.title], "amount": [None, format_yuan(bill.amount_fen)]})
    db.session.flush()
    from tenants.fees import ledger

    # A prepayment settles it at once, in the acceptance's own transaction (the caller commits both together).
    ledger.apply_credit([household.id], actor=actor)
    return bill


def on_quote_accepted(order, actor=None, **_) -> None:
    """Receiver of tenants.work_orders.services.quote_accepted (connected in tenants/fees/__init__.py)."""
    repair_bill_for(order, actor=actor)
