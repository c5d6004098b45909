"""Invoice requests (发票): the owner's form (``request_invoice``, linked from /my/bills and the owner's receipt),
the staff list and handling (issue with number and PDF, or decline with a reason), and the invoice file."""

from __future__ import annotations

from flask import abort, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from sqlalchemy import select
from sqlalchemy.orm import contains_eager
from wtforms import EmailField, RadioField, StringField
from wtforms.validators import DataRequired, Email, Length, Optional

from saas.extensions import db
from saas.forms import submit
from saas.htmx import render
from saas.i18n import _l
from saas.pagination import paginate
from saas.tenancy import get_or_404
from saas.validators import CleanText
from tenants.access import Role, current_membership, require_role
from tenants.fees import bp, invoices, receipts
from tenants.fees.models import InvoiceRequest, InvoiceStatus, Payment
from tenants.fees.payment_views import CASHIERS
from tenants.inbox.routes import links_subject
from tenants.portal.permissions import own_households


class InvoiceRequestForm(FlaskForm):
    kind = RadioField(_l("For"), choices=[("person", _l("A person")), ("company", _l("A company"))],
                      default="person")
    title = StringField(_l("Invoice title (抬头)"), validators=[CleanText(), DataRequired(
        _l("Enter the invoice title: your name, or your company's full name.")), Length(max=100)])
    tax_number = StringField(_l("Tax number (税号)"), validators=[CleanText(), Length(max=20)],
                             description=_l("Needed for a company; a person may leave it empty."))
    email = EmailField(_l("E-mail"), validators=[CleanText(), Optional(), Length(max=254),
                                                 Email(_l("Enter a valid e-mail address, e.g. name@example.com."))],
                       description=_l("Optional: where to send the invoice as well."))


class IssueForm(FlaskForm):
    invoice_number = StringField(_l("Invoice number"), validators=[CleanText(), DataRequired(
        _l("Enter the invoice number.")), Length(max=40)])
    file = FileField(_l("Invoice PDF"))


class DeclineForm(FlaskForm):
    reason = StringField(_l("Reason"), validators=[CleanText(), DataRequired(_l("Say why: the owner reads it.")),
                                                   Length(max=200)])


# --- the owner ------------------------------------------------------------------------------------------------


@bp.route("/my/receipts/<payment_id>/invoice", methods=["GET", "POST"])
@require_role(Role.OWNER)
def request_invoice(payment_id):
    payment = receipts.own_payment_or_404(payment_id, current_membership)
    form = InvoiceRequestForm()
    if request.method == "POST":
        response = submit(
            form, lambda: invoices.request_invoice(payment, kind=form.kind.data, title=form.title.data,
                                                   tax_number=form.tax_number.data or "", email=form.email.data or "",
                                                   actor=current_user),
            success=_("Your request is with the office. You will get a notice when the invoice is ready."),
            next_url=url_for(".my_receipt", payment_id=payment.id))
        if response is not None:
            return response
    existing = db.session.execute(select(InvoiceRequest).where(InvoiceRequest.payment_id == payment.id)
                                  .order_by(InvoiceRequest.created_at.desc())).scalars().all()
    return render("tenants/fees/invoices/request.html", "request_form",
                  status=422 if request.method == "POST" else 200, form=form, payment=payment, existing=existing)


# --- staff ----------------------------------------------------------------------------------------------------


@bp.get("/fees/invoices")
@require_role(*CASHIERS)
def invoices_list():
    status = request.args.get("status") or InvoiceStatus.REQUESTED.value
    if status not in {s.value for s in InvoiceStatus} and status != "all":
        status = InvoiceStatus.REQUESTED.value
    stmt = (select(InvoiceRequest).join(InvoiceRequest.payment).options(contains_eager(InvoiceRequest.payment))
            .order_by(InvoiceRequest.created_at.desc(), InvoiceRequest.id.desc()))
    if status != "all":
        stmt = stmt.where(InvoiceRequest.status == InvoiceStatus(status))
    page = paginate(stmt, per_page=30, max_per_page=100)
    return render("tenants/fees/invoices/index.html", page=page, current=status, statuses=list(InvoiceStatus))


def _invoice_page(invoice, *, issue_form=None, decline_form=None, status=200):
    return render("tenants/fees/invoices/show.html", status=status, invoice=invoice, payment=invoice.payment,
                  issue_form=issue_form or IssueForm(formdata=None),
                  decline_form=decline_form or DeclineForm(formdata=None), InvoiceStatus=InvoiceStatus)


@bp.get("/fees/invoices/<invoice_id>")
@require_role(*CASHIERS)
def invoice(invoice_id):
    return _invoice_page(get_or_404(InvoiceRequest, invoice_id))


@bp.post("/fees/invoices/<invoice_id>/issue")
@require_role(*CASHIERS)
def issue_invoice(invoice_id):
    invoice = get_or_404(InvoiceRequest, invoice_id)
    form = IssueForm()
    return submit(
        form, lambda: invoices.issue(invoice, invoice_number=form.invoice_number.data, upload=form.file.data,
                                     actor=current_user),
        success=_("Invoice recorded; the owner has been told."),
        next_url=url_for(".invoice", invoice_id=invoice.id),
    ) or _invoice_page(invoice, issue_form=form, status=422)


@bp.post("/fees/invoices/<invoice_id>/decline")
@require_role(*CASHIERS)
def decline_invoice(invoice_id):
    invoice = get_or_404(InvoiceRequest, invoice_id)
    form = DeclineForm()
    return submit(
        form, lambda: invoices.decline(invoice, reason=form.reason.data, actor=current_user),
        success=_("Request declined; the owner has been told."),
        next_url=url_for(".invoice", invoice_id=invoice.id),
    ) or _invoice_page(invoice, decline_form=form, status=422)


@bp.get("/fees/invoices/<invoice_id>/file")
@require_role(*CASHIERS, Role.OWNER)
def invoice_file(invoice_id):
    invoice = get_or_404(InvoiceRequest, invoice_id)
    if current_membership.role == Role.OWNER and invoice.household_id not in {
            h.id for h in own_households(current_membership)}:
        abort(404)
    path = invoices.file_path(invoice) if invoice.status == InvoiceStatus.ISSUED else None
    if path is None:
        abort(404)
    response = send_file(path, mimetype="application/pdf", download_name=f"invoice-{invoice.invoice_number}.pdf"
                         if invoice.invoice_number.isalnum() else "invoice.pdf")
    response.headers["Cache-Control"] = "private, no-store"
    return response


@links_subject(invoices.SUBJECT)
def _invoice_link(invoice_id, role):
    if invoice_id is None:
        return None
    if role in CASHIERS:
        return url_for("company.fees.invoice", invoice_id=invoice_id)
    if role == Role.OWNER:
        payment_id = db.session.scalar(select(Payment.id).join(InvoiceRequest, InvoiceRequest.payment_id == Payment.id)
                                       .where(InvoiceRequest.id == invoice_id))
        return url_for("company.fees.my_receipt", payment_id=payment_id) if payment_id else None
    return None
