"""Invoice requests (发票): an owner asks for a tax invoice for one payment; staff issue it in the tax system
themselves and record its number and PDF here, or decline with a reason. There is no tax-system integration yet.

Files live under UPLOAD_FOLDER/<company_id>/invoices/<request id>.pdf, served only to staff and the owner whose
home the payment was for (tenants/fees/invoice_views.py).
"""

from __future__ import annotations

import re
from pathlib import Path

from flask import current_app
from sqlalchemy import select

from saas.audit import record
from saas.clock import utcnow
from saas.errors import ServiceError
from saas.extensions import db
from saas.i18n import _l
from saas.models import Membership, Role
from saas.tenancy import new_id, require_company_id
from tenants.fees.models import InvoiceRequest, InvoiceStatus, Payment
from tenants.fees.payment_states import SETTLED
from tenants.inbox.services import notify

SUBJECT = "fee_invoice"  # notices about an invoice request link to its payment's receipt
MAX_PDF_BYTES = 10 * 1024 * 1024
# 统一社会信用代码 (18) or an older 税号 (15, 17 or 20): digits and capital letters.
TAX_NUMBER = re.compile(r"^[0-9A-Z]{15,20}$")


class InvoiceError(ServiceError):
    """An invoice request or its handling was refused (a bad tax number, already handled, not a PDF…)."""


def check_tax_number(kind: str, tax_number: str) -> str:
    tax_number = (tax_number or "").strip().upper().replace(" ", "")
    if kind == "company":
        if not TAX_NUMBER.match(tax_number):
            raise InvoiceError(_l("A company's tax number is 15 to 20 digits and capital letters, e.g. "
                                  "91330100MA2XXXXXX1."), "tax_number")
    elif tax_number and not TAX_NUMBER.match(tax_number):
        raise InvoiceError(_l("Leave the tax number empty for a person, or enter 15 to 20 digits and capital "
                              "letters."), "tax_number")
    return tax_number


def request_invoice(payment: Payment, *, kind: str, title: str, tax_number: str, email: str, actor) -> InvoiceRequest:
    if payment.status not in SETTLED:
        raise InvoiceError(_l("Only a paid payment can have an invoice."))
    open_request = db.session.execute(select(InvoiceRequest.id).where(
        InvoiceRequest.payment_id == payment.id,
        InvoiceRequest.status.in_((InvoiceStatus.REQUESTED, InvoiceStatus.ISSUED)))).first()
    if open_request is not None:
        raise InvoiceError(_l("An invoice has already been asked for this payment."))
    title = (title or "").strip()
    if not title:
        raise InvoiceError(_l("Enter the invoice title: your name, or your company's full name."), "title")
    tax_number = check_tax_number(kind, tax_number)
    invoice = InvoiceRequest(id=new_id(), payment_id=payment.id, household_id=payment.household_id,
                             title=title[:100], tax_number=tax_number, email=(email or "").strip()[:254],
                             status=InvoiceStatus.REQUESTED, requested_by_id=actor.id if actor else None)
    db.session.add(invoice)
    record("fee.invoice_requested", actor=actor, object_type="invoice_request", object_id=invoice.id,
           object_label=payment.receipt_number or "", changes={"title": [None, invoice.title]})
    staff = db.session.execute(select(Membership.user_id).where(
        Membership.ended_at.is_(None), Membership.role.in_((Role.ADMIN, Role.CASHIER)))).scalars().all()
    notify(staff, str(_l("An owner asked for an invoice for receipt %(number)s.", number=payment.receipt_number)),
           subject_type=SUBJECT, subject_id=invoice.id, actor=actor)
    db.session.commit()
    return invoice


def _handled(invoice: InvoiceRequest) -> None:
    if invoice.status != InvoiceStatus.REQUESTED:
        raise InvoiceError(_l("This request has already been handled."))


def file_path(invoice: InvoiceRequest) -> Path | None:
    if not invoice.file_path:
        return None
    root = Path(current_app.config["UPLOAD_FOLDER"]).resolve()
    path = (root / invoice.file_path).resolve()
    return path if path.is_relative_to(root) and path.is_file() else None


def is_pdf(data: bytes) -> bool:
    """A PDF by its content (the header every PDF starts with), never by the file's name. Disclosures use it too."""
    return data.startswith(b"%PDF-")


def issue(invoice: InvoiceRequest, *, invoice_number: str, upload, actor) -> InvoiceRequest:
    """The invoice was issued in the tax system: keep its number and PDF, tell the owner."""
    _handled(invoice)
    invoice_number = (invoice_number or "").strip()
    if not invoice_number:
        raise InvoiceError(_l("Enter the invoice number."), "invoice_number")
    data = upload.read(MAX_PDF_BYTES + 1) if upload else b""
    if not data:
        raise InvoiceError(_l("Choose the invoice's PDF file."), "file")
    if len(data) > MAX_PDF_BYTES:
        raise InvoiceError(_l("The file is larger than 10 MB."), "file")
    if not is_pdf(data):
        raise InvoiceError(_l("The file is not a PDF."), "file")
    relative = f"{require_company_id()}/invoices/{invoice.id}.pdf"
    target = Path(current_app.config["UPLOAD_FOLDER"]) / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    invoice.invoice_number = invoice_number[:40]
    invoice.file_path = relative
    invoice.status = InvoiceStatus.ISSUED
    invoice.handled_by_id = actor.id if actor else None
    invoice.handled_at = utcnow()
    record("fee.invoice_issued", actor=actor, object_type="invoice_request", object_id=invoice.id,
           object_label=invoice.payment.receipt_number or "",
           changes={"invoice_number": [None, invoice.invoice_number]})
    _tell_owner(invoice, _l("Your invoice %(number)s for receipt %(receipt)s is ready.",
                            number=invoice.invoice_number, receipt=invoice.payment.receipt_number), actor)
    db.session.commit()
    return invoice


def decline(invoice: InvoiceRequest, *, reason: str, actor) -> InvoiceRequest:
    _handled(invoice)
    reason = (reason or "").strip()
    if not reason:
        raise InvoiceError(_l("Say why: the owner reads it."), "reason")
    invoice.status = InvoiceStatus.REJECTED
    invoice.reject_reason = reason[:200]
    invoice.handled_by_id = actor.id if actor else None
    invoice.handled_at = utcnow()
    record("fee.invoice_declined", actor=actor, object_type="invoice_request", object_id=invoice.id,
           object_label=invoice.payment.receipt_number or "", changes={"reject_reason": [None, invoice.reject_reason]})
    _tell_owner(invoice, _l("Your invoice request for receipt %(receipt)s was declined: %(reason)s",
                            receipt=invoice.payment.receipt_number, reason=invoice.reject_reason), actor)
    db.session.commit()
    return invoice


def _tell_owner(invoice: InvoiceRequest, text, actor) -> None:
    text = str(text)
    notify([invoice.requested_by_id], text, subject_type=SUBJECT, subject_id=invoice.id, actor=actor,
           sms=text, kind="fee_invoice")
