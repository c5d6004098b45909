"""Invoice requests (tenants/fees/invoices.py, invoice_views.py): the owner asks, staff issue with a number and a
PDF or decline with a reason, the owner is told; the file is for staff and that owner only."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from saas.extensions import db
from saas.models import AuditEvent
from saas.tenancy import company_context
from tenants.fees.models import InvoiceRequest, InvoiceStatus, Payment, PaymentMethod
from tenants.inbox.models import Notification

pytestmark = [pytest.mark.world("fees_payments"), pytest.mark.usefixtures("uploads")]


def _fresh_payment(app, world):
    """A new paid payment of the owner's home, with no invoice request yet."""
    from saas.models import User
    from tenants.fees import ledger
    from tenants.roster.models import Household

    with app.app_context(), company_context(world.company.id):
        household = db.session.get(Household, (world.company.id, world.ids["household_id"]))
        payment = ledger.record_offline_payment(household, method=PaymentMethod.CASH, amount_fen=5_000,
                                                actor=db.session.get(User, world.cashier.id))
        db.session.commit()
        return payment.id


def _request(app, world, payment_id):
    with app.app_context(), company_context(world.company.id):
        return db.session.execute(select(InvoiceRequest).where(InvoiceRequest.payment_id == payment_id)
                                  .order_by(InvoiceRequest.created_at.desc())).scalars().first()


def test_an_owner_asks_and_a_cashier_issues_and_the_owner_downloads(app, two_companies, login_as, uploads):
    a, _ = two_companies
    payment_id = _fresh_payment(app, a)
    owner, cashier = login_as(a.owner), login_as(a.cashier)
    url = f"/c/{a.company.slug}/my/receipts/{payment_id}/invoice"
    assert owner.get(url).status_code == 200
    bad = owner.post(url, data={"kind": "company", "title": "某某公司", "tax_number": "123"})
    assert bad.status_code == 422 and "15 to 20" in bad.get_data(as_text=True)
    assert owner.post(url, data={"kind": "company", "title": "某某公司", "tax_number": "91330100ma2abcde1x",
                                 "email": ""}).status_code == 303
    invoice = _request(app, a, payment_id)
    assert invoice.tax_number == "91330100MA2ABCDE1X" and invoice.status == InvoiceStatus.REQUESTED
    again = owner.post(url, data={"kind": "person", "title": "张三"})
    assert again.status_code == 422 and "already" in again.get_data(as_text=True)
    assert "某某公司" in cashier.get(f"/c/{a.company.slug}/fees/invoices").get_data(as_text=True)

    issue = f"/c/{a.company.slug}/fees/invoices/{invoice.id}/issue"
    not_pdf = cashier.post(issue, data={"invoice_number": "123", "file": (io.BytesIO(b"hello"), "x.pdf")},
                           content_type="multipart/form-data")
    assert not_pdf.status_code == 422 and "not a PDF" in not_pdf.get_data(as_text=True)
    assert cashier.post(issue, data={"invoice_number": "", "file": (io.BytesIO(b"%PDF-1.4 x"), "x.pdf")},
                        content_type="multipart/form-data").status_code == 422
    ok = cashier.post(issue, data={"invoice_number": "04400999", "file": (io.BytesIO(b"%PDF-1.4 fapiao"), "x.pdf")},
                      content_type="multipart/form-data")
    assert ok.status_code == 303
    invoice = _request(app, a, payment_id)
    assert invoice.status == InvoiceStatus.ISSUED and invoice.invoice_number == "04400999"
    assert (uploads / str(a.company.id) / "invoices" / f"{invoice.id}.pdf").read_bytes() == b"%PDF-1.4 fapiao"
    file_url = f"/c/{a.company.slug}/fees/invoices/{invoice.id}/file"
    assert owner.get(file_url).data == b"%PDF-1.4 fapiao"
    assert cashier.get(file_url).data == b"%PDF-1.4 fapiao"
    assert login_as(a.steward).get(file_url).status_code == 403
    with app.app_context(), company_context(a.company.id):
        notices = db.session.execute(select(Notification).where(Notification.user_id == a.owner.id,
                                                                Notification.subject_type == "fee_invoice")).scalars()
        assert any("04400999" in n.body for n in notices)
        actions = set(db.session.execute(select(AuditEvent.action).where(AuditEvent.object_id == invoice.id)).scalars())
        assert {"fee.invoice_requested", "fee.invoice_issued"} <= actions
    # handled once only
    assert cashier.post(f"/c/{a.company.slug}/fees/invoices/{invoice.id}/decline",
                        data={"reason": "x"}).status_code == 422


def test_a_person_needs_no_tax_number_and_a_decline_needs_a_reason(app, two_companies, login_as):
    a, _ = two_companies
    payment_id = _fresh_payment(app, a)
    owner, admin = login_as(a.owner), login_as(a.admin)
    assert owner.post(f"/c/{a.company.slug}/my/receipts/{payment_id}/invoice",
                      data={"kind": "person", "title": "张伟"}).status_code == 303
    invoice = _request(app, a, payment_id)
    decline = f"/c/{a.company.slug}/fees/invoices/{invoice.id}/decline"
    assert admin.post(decline, data={"reason": ""}).status_code == 422
    assert admin.post(decline, data={"reason": "抬头有误"}).status_code == 303
    invoice = _request(app, a, payment_id)
    assert invoice.status == InvoiceStatus.REJECTED and invoice.reject_reason == "抬头有误"
    assert "抬头有误" in owner.get(f"/c/{a.company.slug}/my/receipts/{payment_id}").get_data(as_text=True)


def test_an_owner_cannot_ask_for_another_homes_payment_or_open_its_invoice(app, two_companies, login_as):
    a, b = two_companies
    owner = login_as(a.owner)
    assert owner.get(f"/c/{a.company.slug}/my/receipts/{b.ids['payment_id']}/invoice").status_code == 404
    with app.app_context(), company_context(a.company.id):
        invoice = db.session.get(InvoiceRequest, (a.company.id, a.ids["invoice_id"]))
        from tenants.roster.models import HouseholdOwner

        for link in db.session.execute(select(HouseholdOwner)).scalars():
            link.household_id = a.roster["households"][1]  # the owner now owns another home
        db.session.commit()
        payment = db.session.get(Payment, (a.company.id, invoice.payment_id))
        assert payment.household_id == a.ids["household_id"]
    assert owner.get(f"/c/{a.company.slug}/fees/invoices/{a.ids['invoice_id']}/file").status_code == 404
    assert owner.get(f"/c/{a.company.slug}/my/receipts/{a.ids['payment_id']}/invoice").status_code == 404
