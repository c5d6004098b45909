"""The fee sheets of the company export (tenants/exports): bills, payments with their receipt numbers, credit
entries, and arrears per household by age.

They join the company's one export workbook rather than a workbook of their own: the export is "everything the
company keeps here", made by one job with one progress bar and one download, and a company leaving the platform or
handing its books to an auditor wants the ledger next to the households it refers to.

Money is yuan with two decimals as an Excel number (a Decimal: the export writes it with the 0.00 format), never
text and never a float; days are dates. Each sheet is (title, headings, statement, row → values), as
tenants.exports.services._sheets wants, and every statement streams.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import and_, case, func, literal, or_, select

from saas.clock import local, local_today
from saas.i18n import _l
from tenants.fees.models import Bill, CreditEntry, Payment
from tenants.roster.models import Building, Community, Household

CENT = Decimal("0.01")


def yuan(fen) -> Decimal:
    """Integer fen → yuan as a Decimal with two places (an Excel number cell)."""
    return (Decimal(int(fen or 0)) / 100).quantize(CENT)


def _label(value) -> str:
    label = getattr(value, "label", None)
    return str(label) if label is not None else str(getattr(value, "value", value) or "")


def _time(value):
    return local(value).replace(tzinfo=None) if value is not None else None


def _place():
    return (Community.name, Building.name, Household.unit, Household.room)


def _joined(statement, household_id):
    return (statement.join(Household, Household.id == household_id)
            .join(Building, Building.id == Household.building_id)
            .join(Community, Community.id == Building.community_id))


def sheets() -> list:
    place_headings = [_l("Community"), _l("Building"), _l("Unit"), _l("Room")]
    outstanding = Bill.amount_fen - Bill.paid_fen - Bill.credited_fen

    bills = (_l("Bills"),
             [_l("Bill ID"), _l("Household ID"), *place_headings, _l("Kind"), _l("Item"), _l("Detail"),
              _l("Period from"), _l("Period to"), _l("Due on"), _l("Amount (yuan)"), _l("Paid (yuan)"),
              _l("Credited (yuan)"), _l("Outstanding (yuan)"), _l("Reason"), _l("Reissue of"), _l("Created")],
             _joined(select(Bill.id, Bill.household_id, *_place(), Bill.kind, Bill.title, Bill.detail,
                            Bill.period_start, Bill.period_end, Bill.due_on, Bill.amount_fen, Bill.paid_fen,
                            Bill.credited_fen, outstanding, Bill.reason, Bill.replaces_id, Bill.created_at),
                     Bill.household_id)
             .order_by(Community.name, Building.name, Household.unit, Household.room, Bill.period_start, Bill.id),
             lambda r: [str(r[0]), str(r[1]), r[2], r[3], r[4], r[5], _label(r[6]), r[7], r[8], r[9],
                        r[10] - timedelta(days=1), r[11], yuan(r[12]), yuan(r[13]), yuan(r[14]), yuan(r[15]),
                        r[16], str(r[17]) if r[17] else "", _time(r[18])])

    payments = (_l("Payments"),
                [_l("Receipt number"), _l("Payment ID"), _l("Household ID"), *place_headings, _l("Method"),
                 _l("Status"), _l("Amount (yuan)"), _l("Refunded (yuan)"), _l("Reference"), _l("Note"),
                 _l("Paid at"), _l("Created")],
                _joined(select(Payment.receipt_number, Payment.id, Payment.household_id, *_place(), Payment.method,
                               Payment.status, Payment.amount_fen, Payment.refunded_fen, Payment.reference,
                               Payment.note, Payment.paid_at, Payment.created_at), Payment.household_id)
                .order_by(Payment.created_at, Payment.id),
                lambda r: [r[0] or "", str(r[1]), str(r[2]), r[3], r[4], r[5], r[6], _label(r[7]), _label(r[8]),
                           yuan(r[9]), yuan(r[10]), r[11], r[12], _time(r[13]), _time(r[14])])

    credits = (_l("Credit entries"),
               [_l("Time"), _l("Household ID"), *place_headings, _l("Kind"), _l("Amount (yuan)"),
                _l("Payment ID"), _l("Bill ID"), _l("Note")],
               _joined(select(CreditEntry.created_at, CreditEntry.household_id, *_place(), CreditEntry.kind,
                              CreditEntry.amount_fen, CreditEntry.payment_id, CreditEntry.bill_id, CreditEntry.note),
                       CreditEntry.household_id)
               .order_by(CreditEntry.created_at, CreditEntry.id),
               lambda r: [_time(r[0]), str(r[1]), r[2], r[3], r[4], r[5], _label(r[6]), yuan(r[7]),
                          str(r[8]) if r[8] else "", str(r[9]) if r[9] else "", r[10]])

    return [bills, payments, credits, _arrears(place_headings, outstanding)]


def _arrears(place_headings, outstanding):
    """One row per household with bills or credit: billed, paid, credited, outstanding by age of the due date
    (not yet due, ≤30 days, 31–90, 91–365, over a year), its unused credit, and its oldest unpaid due date."""
    today = local_today()

    def aged(condition):
        return func.coalesce(func.sum(case((condition, outstanding), else_=literal(0))), 0)

    unpaid = outstanding > 0
    per_bill = (select(
        Bill.household_id.label("household_id"),
        func.sum(Bill.amount_fen).label("billed"), func.sum(Bill.paid_fen).label("paid"),
        func.sum(Bill.credited_fen).label("credited"), func.sum(outstanding).label("owed"),
        aged(and_(unpaid, Bill.due_on >= today)).label("not_due"),
        aged(and_(unpaid, Bill.due_on < today, Bill.due_on >= today - timedelta(days=30))).label("d30"),
        aged(and_(unpaid, Bill.due_on < today - timedelta(days=30),
                  Bill.due_on >= today - timedelta(days=90))).label("d90"),
        aged(and_(unpaid, Bill.due_on < today - timedelta(days=90),
                  Bill.due_on >= today - timedelta(days=365))).label("d365"),
        aged(and_(unpaid, Bill.due_on < today - timedelta(days=365))).label("older"),
        func.min(case((unpaid, Bill.due_on))).label("oldest"),
    ).group_by(Bill.household_id).subquery())
    credit = (select(CreditEntry.household_id.label("household_id"),
                     func.sum(CreditEntry.amount_fen).label("credit"))
              .group_by(CreditEntry.household_id).subquery())
    statement = (
        select(Household.id, *_place(), Household.owner_name, per_bill.c.billed, per_bill.c.paid,
               per_bill.c.credited, per_bill.c.owed, per_bill.c.not_due, per_bill.c.d30, per_bill.c.d90,
               per_bill.c.d365, per_bill.c.older, credit.c.credit, per_bill.c.oldest)
        .select_from(Household)
        .join(Building, Building.id == Household.building_id)
        .join(Community, Community.id == Building.community_id)
        .outerjoin(per_bill, per_bill.c.household_id == Household.id)
        .outerjoin(credit, credit.c.household_id == Household.id)
        .where(or_(per_bill.c.household_id.is_not(None), credit.c.household_id.is_not(None)))
        .order_by(Community.name, Building.name, Household.unit, Household.room, Household.id))
    return (_l("Arrears by household"),
            [_l("Household ID"), *place_headings, _l("Owner name"), _l("Billed (yuan)"), _l("Paid (yuan)"),
             _l("Credited (yuan)"), _l("Outstanding (yuan)"), _l("Not yet due (yuan)"), _l("Up to 30 days (yuan)"),
             _l("31–90 days (yuan)"), _l("91–365 days (yuan)"), _l("Over a year (yuan)"),
             _l("Unused credit (yuan)"), _l("Oldest unpaid due date")],
            statement,
            lambda r: [str(r[0]), r[1], r[2], r[3], r[4], r[5], *(yuan(v) for v in r[6:16]), r[16]])
