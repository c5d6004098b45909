"""Staff pages for money counted at the counter (admin or cashier): find a home, record an offline payment
against its open bills (or pay ahead), list payments, refund one. Every write goes through tenants/fees/ledger.py."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta

from flask import request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_sqlalchemy.pagination import SelectPagination
from flask_wtf import FlaskForm
from sqlalchemy import func, or_, select
from sqlalchemy.orm import contains_eager
from wtforms import BooleanField, SelectField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length
from wtforms.widgets import CheckboxInput, ListWidget

from saas.clock import SHANGHAI
from saas.errors import ServiceError
from saas.extensions import db, htmx
from saas.forms import submit
from saas.htmx import render
from saas.i18n import _l
from saas.money import format_yuan, parse_yuan
from saas.pagination import page_number
from saas.tenancy import get_or_404, parse_uuid_or_404, require_company_id
from saas.validators import CleanText
from tenants.access import Role, generic_plans, require_role
from tenants.fees import bp, ledger, receipts
from tenants.fees.models import Bill, FeePaymentDay, Payment, PaymentMethod, PaymentStatus
from tenants.roster.models import Building, Community, Household
from tenants.roster.queries import live_communities

CASHIERS = (Role.ADMIN, Role.CASHIER)
OFFLINE_METHODS = [m for m in PaymentMethod if m.offline]
PER_PAGE = 30


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def pre_validate(self, form):  # a bill settled meanwhile is the ledger's to refuse, at this field
        pass


class PaymentForm(FlaskForm):
    method = SelectField(_l("Paid by"), default="cash",
                         choices=[(m.value, PaymentMethod._labels()[m]) for m in OFFLINE_METHODS])  # lazy labels
    amount = StringField(_l("Amount received (yuan)"), validators=[CleanText(), DataRequired(_l("Enter the amount."))])
    reference = StringField(_l("Reference"), validators=[CleanText(), Length(max=64)],
                            description=_l("The transfer's or POS slip's number; needed for bank transfers and POS."))
    note = StringField(_l("Note"), validators=[CleanText(), Length(max=200)])
    bill_ids = MultiCheckboxField(_l("Bills this pays"), choices=[])
    prepay = BooleanField(_l("Pay ahead: what is left after the ticked bills becomes prepaid credit"))

    def validate_amount(self, field):
        self.amount_fen = parse_yuan(field.data)
        if not self.amount_fen:
            from wtforms.validators import ValidationError

            raise ValidationError(_l("Enter an amount in yuan, e.g. 1280 or 1280.50."))


class RefundForm(FlaskForm):
    amount = StringField(_l("Amount to give back (yuan)"),
                         validators=[CleanText(), DataRequired(_l("Enter the amount."))])
    reason = StringField(_l("Reason"), validators=[CleanText(), DataRequired(_l("Say why.")), Length(max=200)])


# --- finding a home -------------------------------------------------------------------------------------------


def _search(q: str):
    if not q:
        return []
    like = f"%{q}%"
    return db.session.execute(
        select(Household).join(Household.building).join(Building.community)
        .options(contains_eager(Household.building).contains_eager(Building.community))
        .where(Household.live(), Building.live(), Community.live(),
               or_(Household.room.ilike(like), Household.owner_name.ilike(like), Household.owner_phone.like(like),
                   Building.name.ilike(like), Community.name.ilike(like)))
        .order_by(Community.name, func.length(Building.name), Building.name, Household.unit,
                  func.length(Household.room), Household.room).limit(20)).scalars().all()


@bp.get("/fees/payments/new")
@require_role(*CASHIERS)
def new_payment():
    q = (request.args.get("q") or "").strip()[:50]
    block = "results" if htmx and htmx.target == "household-results" else None
    return render("tenants/fees/payments/find.html", block, q=q, households=_search(q))


# --- recording ------------------------------------------------------------------------------------------------


def _open_bills(household_id):
    return db.session.execute(
        select(Bill).where(Bill.household_id == household_id, Bill.amount_fen > Bill.paid_fen + Bill.credited_fen)
        .order_by(Bill.due_on, Bill.period_start, Bill.created_at, Bill.id)).scalars().all()


def _payment_page(household, form=None, *, status=200, block=None):
    bills = _open_bills(household.id)
    if form is None:
        form = PaymentForm(formdata=None)
        form.bill_ids.data = [str(b.id) for b in bills]
        owed = sum(b.outstanding_fen for b in bills)
        if owed:
            form.amount.data = f"{owed // 100}.{owed % 100:02d}"
    form.bill_ids.choices = [(str(b.id), b.title) for b in bills]
    return render("tenants/fees/payments/form.html", block, status=status, household=household, form=form,
                  bills=bills, owed=sum(b.outstanding_fen for b in bills), period_label=receipts.period_label,
                  credit=ledger.credit_balance(household.id), prepay_limit=ledger.prepay_limit_fen(household))


@bp.get("/fees/households/<household_id>/pay")
@require_role(*CASHIERS)
def payment_form(household_id):
    return _payment_page(get_or_404(Household, household_id))


def _record(household, form):
    chosen = []
    for raw in form.bill_ids.data or []:
        try:
            chosen.append(uuid.UUID(str(raw)))
        except ValueError:
            from tenants.fees.ledger import LedgerError

            raise LedgerError(_l("Some of the chosen bills are not this home's or are already settled. Reload the "
                                 "page and choose again."), "bill_ids") from None
    return _committed(lambda: ledger.record_offline_payment(
        household, method=PaymentMethod(form.method.data), amount_fen=form.amount_fen,
        reference=form.reference.data or "", note=form.note.data or "", bill_ids=chosen or None,
        actor=current_user, prepay=bool(form.prepay.data)))


def _committed(action):
    """The ledger writes in the caller's transaction: commit what it did, or roll back what it refused."""
    try:
        result = action()
    except ServiceError:
        db.session.rollback()
        raise
    db.session.commit()
    return result


@bp.post("/fees/households/<household_id>/pay")
@require_role(*CASHIERS)
def record_payment(household_id):
    household = get_or_404(Household, household_id)
    form = PaymentForm()
    form.bill_ids.choices = [(str(b.id), b.title) for b in _open_bills(household.id)]
    return submit(
        form, lambda: _record(household, form),
        success=lambda p: _("Payment of %(amount)s recorded: receipt %(number)s.", amount=format_yuan(p.amount_fen),
                            number=p.receipt_number),
        next_url=lambda p: url_for(".receipt", payment_id=p.id),
    ) or _payment_page(household, form, status=422, block="payment_form")


# --- the list -------------------------------------------------------------------------------------------------


def _day(raw: str | None) -> date | None:
    try:
        return date.fromisoformat((raw or "").strip()[:10]) if raw else None
    except ValueError:
        return None


def _filters() -> dict:
    args = request.args
    filters = {
        "date_from": _day(args.get("date_from")), "date_to": _day(args.get("date_to")),
        "method": args.get("method") or "", "status": args.get("status") or "",
        "community_id": args.get("community_id") or "",
    }
    if filters["method"] not in {m.value for m in PaymentMethod}:
        filters["method"] = ""
    if filters["status"] not in {s.value for s in PaymentStatus}:
        filters["status"] = ""
    return filters


def _conditions(filters: dict) -> list:
    # paid_at is set with the receipt number; named too so the list counts what fee_payment_days counts.
    where = [Payment.receipt_number.is_not(None), Payment.paid_at.is_not(None)]
    if filters["date_from"]:
        where.append(Payment.paid_at >= datetime.combine(filters["date_from"], time(), SHANGHAI))
    if filters["date_to"]:
        where.append(Payment.paid_at < datetime.combine(filters["date_to"] + timedelta(days=1), time(), SHANGHAI))
    if filters["method"]:
        where.append(Payment.method == PaymentMethod(filters["method"]))
    if filters["status"]:
        where.append(Payment.status == PaymentStatus(filters["status"]))
    if filters["community_id"]:  # where the payment was made (its own column), as fee_payment_days counts it
        where.append(Payment.community_id == parse_uuid_or_404(filters["community_id"]))
    return where


class _CountedPagination(SelectPagination):
    """A page of a select whose total is known beforehand (the payment figures count it): no count(*) query."""

    def _query_count(self) -> int:
        return self._query_args["total"]


def _totals(filters: dict) -> tuple[int, int, int]:
    """How many payments with a receipt match the filters and their sums, from fee_payment_days (kept by the
    payments' triggers, tenants/fees/figures.py): a few hundred rows a year instead of every payment."""
    d = FeePaymentDay.__table__
    where = [d.c.company_id == require_company_id()]
    if filters["date_from"]:
        where.append(d.c.day >= filters["date_from"])
    if filters["date_to"]:
        where.append(d.c.day <= filters["date_to"])
    if filters["method"]:
        where.append(d.c.method == filters["method"])
    if filters["status"]:
        where.append(d.c.status == filters["status"])
    if filters["community_id"]:
        where.append(d.c.community_id == parse_uuid_or_404(filters["community_id"]))
    row = db.session.execute(select(*(func.coalesce(func.sum(d.c[name]), 0)
                                      for name in ("payments", "amount_fen", "refunded_fen"))).where(*where)).one()
    return int(row[0]), int(row[1]), int(row[2])


@bp.get("/fees/payments")
@generic_plans
@require_role(*CASHIERS)
def payments():
    filters = _filters()
    where = _conditions(filters)
    count, amount, refunded = _totals(filters)
    stmt = (select(Payment).join(Payment.household).join(Household.building).join(Building.community)
            .options(contains_eager(Payment.household).contains_eager(Household.building)
                     .contains_eager(Building.community))
            .where(*where).order_by(Payment.paid_at.desc(), Payment.id.desc()))
    page = _CountedPagination(select=stmt, session=db.session(), total=count, page=page_number(), per_page=PER_PAGE,
                              max_per_page=100, error_out=False)
    communities = live_communities()
    block = "results" if htmx and htmx.target == "payment-results" else None
    return render("tenants/fees/payments/index.html", block, page=page, filters=filters, communities=communities,
                  totals={"count": count, "amount": amount, "refunded": refunded},
                  methods=list(PaymentMethod), statuses=list(PaymentStatus), local_minute=local_minute,
                  method_names={m: str(m.label) for m in PaymentMethod},
                  status_names={s: str(s.label) for s in PaymentStatus})


def local_minute(moment: datetime | None) -> str:
    """A UTC time as Shanghai's "2026-12-06 14:05" (the localtime filter's default pattern), without Babel's
    formatter per row."""
    if moment is None:
        return ""
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


# --- refunds --------------------------------------------------------------------------------------------------


def _refund(payment, form):
    amount = parse_yuan(form.amount.data)
    if not amount:
        from tenants.fees.ledger import LedgerError

        raise LedgerError(_l("Enter an amount in yuan, e.g. 100 or 99.50."), "amount")
    return _committed(lambda: ledger.record_offline_refund(payment, amount, form.reason.data, current_user))


@bp.post("/fees/payments/<payment_id>/refund")
@require_role(*CASHIERS)
def refund_payment(payment_id):
    payment = receipts.payment_or_404(payment_id)
    form = RefundForm()
    from tenants.fees.receipt_views import receipt_page

    return submit(
        form, lambda: _refund(payment, form),
        success=lambda r: _("%(amount)s refunded.", amount=format_yuan(r.amount_fen)),
        next_url=url_for(".receipt", payment_id=payment.id),
    ) or receipt_page(payment, refund_form=form, status=422, block="refund_form")
