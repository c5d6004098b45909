"""A household's ledger (staff: admins, and a steward for the homes they look after), its written demand
(书面催缴通知书, printable) and its SMS reminder.

The ledger lists bills, corrections, payments, refunds and credit entries in date order with a running balance:
what the home owes (positive) or holds as credit (negative). Bills are +, corrections and payments −, refunds +;
credit entries only move money between the home's credit and its bills, so they do not change the balance."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, datetime

from flask import url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import bindparam, select
from werkzeug.routing import BuildError

from saas.clock import SHANGHAI, local_today, utcnow
from saas.extensions import db
from saas.forms import attempt
from saas.htmx import render
from saas.i18n import _l
from saas.models import Role
from saas.tenancy import built_once, get_or_404
from tenants.access import current_company, current_membership, generic_plans, require_role
from tenants.fees import arrears, bp, collection, ledger
from tenants.fees.models import (
    AdjustmentKind,
    Bill,
    BillAdjustment,
    CreditEntry,
    Payment,
    PaymentRefund,
    PaymentStatus,
    RefundStatus,
)
from tenants.inbox.routes import links_subject
from tenants.roster.models import Household
from tenants.stewards.permissions import my_household_or_404

LEDGER_ROLES = (Role.ADMIN, Role.STEWARD)

BILL_STATUS = {
    "unpaid": _l("Unpaid"),
    "partly_paid": _l("Partly paid"),
    "paid": _l("Paid"),
    "credited": _l("Credited"),
    "reissued": _l("Reissued"),
}


def period_label(bill: Bill) -> str:
    """A bill's period as people say it: "2026-11" for a calendar month, else its first and last day."""
    from datetime import timedelta

    start, end = bill.period_start, bill.period_end
    if start.day == 1 and end.day == 1 and (end.year * 12 + end.month) - (start.year * 12 + start.month) == 1:
        return f"{start:%Y-%m}"
    return f"{start}–{end - timedelta(days=1)}"


@bp.context_processor
def _period_label():
    return {"bill_period": period_label}


def household_or_404(household_id) -> Household:
    """An admin reaches any home of the company (a deleted one too: its ledger stays); a steward only the homes
    they look after now."""
    if current_membership.role == Role.ADMIN:
        return get_or_404(Household, household_id, include_deleted=True)
    return my_household_or_404(household_id)


def bill_status(bill: Bill, reissued: bool) -> str:
    if reissued:
        return "reissued"
    if bill.amount_fen and bill.credited_fen >= bill.amount_fen:
        return "credited"
    if bill.outstanding_fen <= 0:
        return "paid"
    if bill.paid_fen or bill.credited_fen:
        return "partly_paid"
    return "unpaid"


@dataclass
class Entry:
    at: datetime
    kind: str  # bill | adjustment | payment | refund | credit
    obj: object
    change: int  # on the balance: + owed more, − owed less
    balance: int = 0
    status: str = ""

    @property
    def day(self) -> str:
        """The Shanghai date, as the page shows it (strftime: Babel's formatter per row cost more than the row)."""
        at = self.at if self.at.tzinfo else self.at.replace(tzinfo=UTC)
        return at.astimezone(SHANGHAI).strftime("%Y-%m-%d")


@functools.cache
def _ledger_statements() -> tuple:
    """entries_of's five statements, built once (parameter ``household_id``): building and keying them on every
    view cost as much as running them (saas.tenancy.built_once)."""
    home = bindparam("household_id", type_=Bill.household_id.type)
    return tuple(built_once(stmt) for stmt in (
        select(Bill).where(Bill.household_id == home),
        select(BillAdjustment).join(Bill, Bill.id == BillAdjustment.bill_id).where(Bill.household_id == home),
        select(Payment).where(Payment.household_id == home, Payment.paid_at.is_not(None),
                              Payment.status.in_((PaymentStatus.PAID, PaymentStatus.PARTLY_REFUNDED,
                                                  PaymentStatus.REFUNDED))),
        select(PaymentRefund).join(Payment, Payment.id == PaymentRefund.payment_id)
        .where(Payment.household_id == home, PaymentRefund.status == RefundStatus.SUCCEEDED),
        select(CreditEntry).where(CreditEntry.household_id == home),
    ))


def entries_of(household: Household) -> tuple[list[Entry], dict]:
    """Every line of the home's ledger, oldest first, with the running balance (five statements)."""
    params = {"household_id": household.id}
    bills, adjustments, payments, refunds, credits = (
        db.session.execute(stmt, params).scalars().all() for stmt in _ledger_statements())
    reissued = {a.bill_id for a in adjustments if a.kind == AdjustmentKind.REISSUE}
    titles = {b.id: b for b in bills}
    entries = [Entry(b.created_at, "bill", b, b.amount_fen, status=bill_status(b, b.id in reissued)) for b in bills]
    entries += [Entry(a.created_at, "adjustment", a, -a.amount_fen) for a in adjustments]
    entries += [Entry(p.paid_at, "payment", p, -p.amount_fen) for p in payments]
    entries += [Entry(r.refunded_at or r.created_at, "refund", r, r.amount_fen) for r in refunds]
    entries += [Entry(c.created_at, "credit", c, 0) for c in credits]
    order = {"bill": 0, "adjustment": 1, "payment": 2, "refund": 3, "credit": 4}
    entries.sort(key=lambda e: (e.at, order[e.kind]))
    balance = 0
    for entry in entries:
        balance += entry.change
        entry.balance = balance
    return entries, titles


@bp.get("/fees/households/<household_id>/ledger")
@generic_plans
@require_role(*LEDGER_ROLES)
def household_ledger(household_id):
    household = household_or_404(household_id)
    entries, bills = entries_of(household)
    today = local_today()
    owed = sum(b.outstanding_fen for b in bills.values())
    overdue = sum(b.outstanding_fen for b in bills.values() if b.due_on < today)
    credit = sum(e.obj.amount_fen for e in entries if e.kind == "credit")
    last = collection.last_reminders([household.id]).get(household.id)
    interval = ledger.settings().reminder_interval_days
    allowed = collection.next_allowed(last, interval)
    return render("tenants/fees/ledger/show.html", household=household, entries=list(reversed(entries)),
                  bills=bills, owed=owed, overdue=overdue, credit=credit, today=today, last_reminder=last,
                  can_remind=overdue > 0 and (allowed is None or allowed <= utcnow()), next_reminder=allowed,
                  statuses={k: str(v) for k, v in BILL_STATUS.items()}, is_admin=current_membership.role == Role.ADMIN)


@bp.post("/fees/households/<household_id>/remind")
@require_role(*LEDGER_ROLES)
def remind_household(household_id):
    household = household_or_404(household_id)
    back = url_for(".household_ledger", household_id=household.id)
    return attempt(lambda: collection.remind_household(household, actor=current_user), next_url=back,
                   success=lambda owed: _("Reminder sent to the owners of %(home)s: %(amount)s past due.",
                                          home=household.label, amount=_yuan(owed)))


def _yuan(fen: int) -> str:
    from saas.money import format_yuan

    return format_yuan(fen)


@bp.get("/fees/households/<household_id>/demand")
@require_role(*LEDGER_ROLES)
def demand(household_id):
    """书面催缴通知书: one A4 page, what is owed bill by bill, polite, with the company's phone."""
    household = household_or_404(household_id)
    today = local_today()
    bills = arrears.overdue_bills(household.id, today)
    return render("tenants/fees/ledger/demand.html", household=household, bills=bills,
                  total=sum(b.outstanding_fen for b in bills), today=today, settings=ledger.settings(),
                  phone=collection.service_phone(current_company))


@links_subject(collection.SUBJECT)
def _arrears_link(household_id, role):
    """A reminder leads staff to the home's ledger; an owner to their bills, when that page exists."""
    if household_id is None:
        return None
    if role in LEDGER_ROLES:
        return url_for("company.fees.household_ledger", household_id=household_id)
    try:
        return url_for("company.fees.my_bills")
    except BuildError:  # the owner's bills page is another part of the module; until it exists, no link
        return None
