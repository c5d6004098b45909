"""Receipts (tenants/fees/receipts.py, receipt_views.py): the A5 page and its PDF for staff and the paying owner."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader

from saas.extensions import db
from saas.tenancy import company_context
from tenants.fees import receipts
from tenants.fees.models import Payment

pytestmark = [pytest.mark.world("fees_payments"), pytest.mark.usefixtures("uploads")]


def _number(app, world):
    with app.app_context(), company_context(world.company.id):
        return db.session.get(Payment, (world.company.id, world.ids["payment_id"])).receipt_number


def test_the_receipt_page_has_what_a_receipt_needs(app, two_companies, login_as):
    a, _ = two_companies
    body = login_as(a.cashier).get(f"/c/{a.company.slug}/fees/payments/{a.ids['payment_id']}").get_data(as_text=True)
    number = _number(app, a)
    for text in (number, a.company.name, "2026-10", "2026-11", "¥165.50", "¥400", "Bank transfer", "工行 20261201",
                 "not a tax invoice", "css/receipt.css", "data-print", "Refund", "Paid ahead"):
        assert text in body, text
    assert a.cashier.name in body


def test_the_pdf_is_a_pdf_with_the_receipt_number_and_chinese_text(app, two_companies, login_as):
    a, _ = two_companies
    assert receipts.cjk_font_path(), "install fonts-noto-cjk"
    response = login_as(a.admin).get(f"/c/{a.company.slug}/fees/payments/{a.ids['payment_id']}/receipt.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(response.data))
    text = "".join(page.extract_text() for page in reader.pages)
    assert _number(app, a) in text
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox  # A5: 148 × 210 mm
    assert abs(float(box.width) - 419.5) < 2 and abs(float(box.height) - 595.3) < 2


def test_the_owner_sees_their_own_receipt_and_no_other(app, two_companies, login_as):
    a, b = two_companies
    owner = login_as(a.owner)
    assert _number(app, a) in owner.get(f"/c/{a.company.slug}/my/receipts/{a.ids['payment_id']}").get_data(as_text=True)
    pdf = owner.get(f"/c/{a.company.slug}/my/receipts/{a.ids['payment_id']}/receipt.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF-")
    # The same company's other home: the owner does not own it.
    with app.app_context(), company_context(a.company.id):
        from saas.models import User
        from tenants.fees import ledger
        from tenants.fees.models import PaymentMethod
        from tenants.roster.models import Household

        other = db.session.get(Household, (a.company.id, a.roster["households"][1]))
        payment = ledger.record_offline_payment(other, method=PaymentMethod.CASH, amount_fen=500,
                                                actor=db.session.get(User, a.admin.id))
        db.session.commit()
        other_id = payment.id
    assert owner.get(f"/c/{a.company.slug}/my/receipts/{other_id}").status_code == 404
    assert owner.get(f"/c/{a.company.slug}/my/receipts/{other_id}/receipt.pdf").status_code == 404
    assert owner.get(f"/c/{a.company.slug}/fees/payments/{a.ids['payment_id']}").status_code == 403
    assert owner.get(f"/c/{a.company.slug}/my/receipts/{b.ids['payment_id']}").status_code == 404


def test_the_refund_form_is_for_staff_and_the_owner_page_has_none(app, two_companies, login_as):
    a, _ = two_companies
    owner = login_as(a.owner).get(f"/c/{a.company.slug}/my/receipts/{a.ids['payment_id']}").get_data(as_text=True)
    assert "/refund" not in owner and "/invoice" in owner


def test_period_labels():
    from datetime import date

    assert receipts.period_label(date(2026, 11, 1), date(2026, 12, 1)) == "2026-11"
    assert receipts.period_label(date(2026, 10, 1), date(2027, 1, 1)) == "2026-10-01 – 2026-12-31"
