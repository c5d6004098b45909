"""Receipts (收据): what one payment paid for, as a printable A5 page and the same page as a PDF.

A receipt is not a tax invoice (发票): it says so on its face; owners ask for an invoice separately
(tenants/fees/invoices.py). Staff and the paying owner see the same page (templates/tenants/fees/receipts/).
"""

from __future__ import annotations

import glob
import os
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from functools import lru_cache

from flask import abort, render_template
from sqlalchemy import func, select

from saas.extensions import db
from saas.models import User
from saas.tenancy import get_or_404, parse_uuid_or_404
from tenants.fees.models import Bill, CreditEntry, CreditKind, Payment, PaymentAllocation, PaymentRefund
from tenants.fees.payment_states import SETTLED
from tenants.portal.permissions import visible_households

# Where Debian's fonts-noto-cjk puts its files; the first found is embedded in the PDF.
CJK_FONT_PATTERNS = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK*.ttc",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
    "/usr/share/fonts/**/NotoSansCJK*",
    "/usr/share/fonts/**/*CJK*",
)


def period_label(start, end) -> str:
    """[1 Nov, 1 Dec) → "2026-11"; a longer period → "2026-10-01 – 2026-12-31" (the end is exclusive)."""
    if start is None or end is None:
        return ""
    if start.day == 1 and end.day == 1 and (end.year * 12 + end.month) - (start.year * 12 + start.month) == 1:
        return f"{start.year}-{start.month:02d}"
    return f"{start.isoformat()} – {(end - timedelta(days=1)).isoformat()}"


@dataclass
class ReceiptLine:
    title: str
    period_start: object = None
    period_end: object = None  # exclusive
    amount_fen: int = 0


@dataclass
class Receipt:
    payment: Payment
    lines: list[ReceiptLine] = field(default_factory=list)
    credit_fen: int = 0  # paid ahead or beyond the bills: the household's credit
    refunds: list[PaymentRefund] = field(default_factory=list)
    cashier_name: str = ""


def payment_or_404(payment_id) -> Payment:
    """A settled payment of the current company (an online order not yet paid has no receipt)."""
    payment = get_or_404(Payment, payment_id)
    if payment.status not in SETTLED or not payment.receipt_number:
        abort(404)
    return payment


def own_payment_or_404(payment_id, membership) -> Payment:
    """A settled payment of one of the owner's own households; any other is 404, as if it did not exist."""
    payment = payment_or_404(parse_uuid_or_404(payment_id))
    owned = {h.id for h in db.session.execute(visible_households(membership)).scalars()}
    if payment.household_id not in owned:
        abort(404)
    return payment


def build(payment: Payment) -> Receipt:
    """The receipt's lines: each bill the payment settled (net of refunds), then what became credit."""
    rows = db.session.execute(
        select(Bill.title, Bill.period_start, Bill.period_end, func.sum(PaymentAllocation.amount_fen))
        .join(Bill, Bill.id == PaymentAllocation.bill_id)
        .where(PaymentAllocation.payment_id == payment.id, PaymentAllocation.amount_fen > 0)
        .group_by(Bill.id, Bill.title, Bill.period_start, Bill.period_end)
        .order_by(Bill.period_start, Bill.title)).all()
    lines = [ReceiptLine(title, start, end, int(amount)) for title, start, end, amount in rows]
    credit = db.session.scalar(
        select(func.coalesce(func.sum(CreditEntry.amount_fen), 0))
        .where(CreditEntry.payment_id == payment.id,
               CreditEntry.kind.in_((CreditKind.PREPAYMENT, CreditKind.OVERPAYMENT)))) or 0
    refunds = list(db.session.execute(select(PaymentRefund).where(PaymentRefund.payment_id == payment.id)
                                      .order_by(PaymentRefund.created_at)).scalars())
    cashier = db.session.get(User, payment.recorded_by_id) if payment.recorded_by_id else None
    return Receipt(payment, lines, int(credit), refunds, cashier.name if cashier else "")


def context(payment: Payment) -> dict:
    from tenants.access import current_company

    return {"receipt": build(payment), "payment": payment, "household": payment.household,
            "company": current_company, "period_label": period_label}


# --- PDF ------------------------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def cjk_font_path() -> str | None:
    """The CJK font file on this machine (Debian: apt-get install fonts-noto-cjk), found at runtime."""
    override = os.environ.get("GUANJIA_CJK_FONT")
    if override and os.path.exists(override):
        return override
    for pattern in CJK_FONT_PATTERNS:
        found = sorted(glob.glob(pattern, recursive=True))
        if found:
            return found[0]
    return None


def pdf_bytes(payment: Payment) -> bytes:
    """The receipt as an A5 PDF: the same template as the page, in its PDF dress, with the CJK font embedded."""
    from weasyprint import HTML

    html = render_template("tenants/fees/receipts/receipt_pdf.html", font_path=cjk_font_path(), **context(payment))
    return HTML(string=html).write_pdf()


def pdf_filename(payment: Payment) -> str:
    return f"receipt-{payment.receipt_number or uuid.uuid4().hex[:8]}.pdf"
