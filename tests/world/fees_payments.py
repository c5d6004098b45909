"""Fees, payments side: two open bills for the world's household (the owner's), an offline payment of both with a
reference and a note (so a receipt), a partial refund with its reason, and two invoice requests for it: one issued
with its number and PDF, one declined with a reason. The text a person types is filled, so the escaping walk plants
markup into it. URL parameters: payment_id, invoice_id (the issued one)."""

from __future__ import annotations

import io

PROVIDES = ("payment_id", "invoice_id")

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def add_bill(household, title: str, start, end, amount_fen: int, *, due_on=None):
    """An issued one-off bill for ``household`` (the bill runs of the fee items module make the real ones)."""
    import uuid

    from saas.extensions import db
    from tenants.fees.models import Bill, BillKind

    bill = Bill(household_id=household.id, community_id=household.building.community_id,
                building_id=household.building_id, kind=BillKind.ONE_OFF, charge_key=f"once:{uuid.uuid4()}",
                title=title, detail="89.50 m² × ¥1.85", period_start=start, period_end=end, amount_fen=amount_fen,
                due_on=due_on or start, reason="物业费")
    db.session.add(bill)
    db.session.flush()
    return bill


def build(app, world) -> dict:
    from datetime import date

    from werkzeug.datastructures import FileStorage

    from saas.extensions import db
    from saas.models import User
    from saas.tenancy import company_context
    from tenants.fees import invoices, ledger
    from tenants.fees.models import PaymentMethod
    from tenants.roster.models import Household

    with app.app_context(), company_context(world.company.id):
        household = db.session.get(Household, (world.company.id, world.ids["household_id"]))
        cashier = db.session.get(User, (world.cashier or world.admin).id)
        owner = db.session.get(User, world.owner.id)
        add_bill(household, "物业费", date(2026, 10, 1), date(2026, 11, 1), 16_550)
        add_bill(household, "物业费", date(2026, 11, 1), date(2026, 12, 1), 16_550)
        payment = ledger.record_offline_payment(household, method=PaymentMethod.BANK_TRANSFER, amount_fen=40_000,
                                                reference="工行 20261201", note="业主到前台转账", actor=cashier)
        ledger.record_offline_refund(payment, 1_000, "多收了十元", cashier)
        declined = invoices.request_invoice(payment, kind="person", title="张伟", tax_number="", email="", actor=owner)
        invoices.decline(declined, reason="请先核对抬头", actor=cashier)
        issued = invoices.request_invoice(payment, kind="company", title="张伟的公司", tax_number="91330100MA2ABCDE1X",
                                          email="", actor=owner)
        invoices.issue(issued, invoice_number="04400123", actor=cashier,
                       upload=FileStorage(io.BytesIO(PDF), filename="fapiao.pdf", content_type="application/pdf"))
        db.session.commit()
        return {"payment_id": payment.id, "invoice_id": issued.id}
