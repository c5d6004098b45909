"""Receipts (收据): the printable A5 page and its PDF, for staff (``receipt``, with the refund form) and for the
owner whose home paid (``my_receipt``, linked from /my/bills)."""

from __future__ import annotations

from flask import make_response

from saas.htmx import render
from tenants.access import Role, current_membership, require_role
from tenants.fees import bp, receipts
from tenants.fees.models import InvoiceRequest
from tenants.fees.payment_views import CASHIERS, RefundForm


def _invoices(payment):
    from sqlalchemy import select

    from saas.extensions import db

    return db.session.execute(select(InvoiceRequest).where(InvoiceRequest.payment_id == payment.id)
                              .order_by(InvoiceRequest.created_at.desc())).scalars().all()


def receipt_page(payment, *, refund_form=None, status=200, block=None, owner=False):
    return render("tenants/fees/receipts/receipt.html", block, status=status, owner=owner,
                  refund_form=refund_form or RefundForm(formdata=None), invoices=_invoices(payment),
                  **receipts.context(payment))


def _pdf(payment):
    response = make_response(receipts.pdf_bytes(payment))
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = f'inline; filename="{receipts.pdf_filename(payment)}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/fees/payments/<payment_id>")
@require_role(*CASHIERS)
def receipt(payment_id):
    return receipt_page(receipts.payment_or_404(payment_id))


@bp.get("/fees/payments/<payment_id>/receipt.pdf")
@require_role(*CASHIERS)
def receipt_pdf(payment_id):
    return _pdf(receipts.payment_or_404(payment_id))


@bp.get("/my/receipts/<payment_id>")
@require_role(Role.OWNER)
def my_receipt(payment_id):
    return receipt_page(receipts.own_payment_or_404(payment_id, current_membership), owner=True)


@bp.get("/my/receipts/<payment_id>/receipt.pdf")
@require_role(Role.OWNER)
def my_receipt_pdf(payment_id):
    return _pdf(receipts.own_payment_or_404(payment_id, current_membership))
