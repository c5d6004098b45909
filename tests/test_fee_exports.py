"""The fee sheets of the company export: bills, payments with receipt numbers, credit entries and arrears per
household by age; money as yuan numbers with two decimals, days as dates, nothing of another company."""

from __future__ import annotations

import io
from datetime import date, datetime, timedelta
from decimal import Decimal

import openpyxl
import pytest
from sqlalchemy import select

from saas.clock import local_today, utcnow
from saas.extensions import db
from saas.tenancy import company_context
from tenants.exports.models import ExportJob, ExportStatus
from tenants.fees.models import (
    Bill,
    BillKind,
    CreditEntry,
    CreditKind,
    Payment,
    PaymentMethod,
    PaymentStatus,
)
from tenants.roster.models import Household

pytestmark = [pytest.mark.usefixtures("uploads"), pytest.mark.world()]


def ledger(app, world, *, prefix=""):
    """Two bills of the first household (one old and part-paid, one not yet due), a cash payment with its receipt,
    and credit of the second household."""
    today = local_today()
    with app.app_context(), company_context(world.company.id):
        first, second = db.session.execute(select(Household).order_by(Household.id).limit(2)).scalars().all()
        old = Bill(household_id=first.id, community_id=world.ids["community_id"], building_id=first.building_id,
                   kind=BillKind.OPENING, charge_key="opening", title="期初欠费", reason=f"{prefix}旧账",
                   period_start=date(2024, 1, 1), period_end=date(2024, 2, 1), due_on=today - timedelta(days=400),
                   amount_fen=128_050, paid_fen=28_050)
        new = Bill(household_id=first.id, community_id=world.ids["community_id"], building_id=first.building_id,
                   kind=BillKind.ONE_OFF, charge_key="once:x", title="维修费", detail="换水龙头",
                   period_start=today, period_end=today + timedelta(days=1), due_on=today + timedelta(days=15),
                   amount_fen=5_000)
        payment = Payment(household_id=first.id, community_id=first.building.community_id, method=PaymentMethod.CASH,
                          status=PaymentStatus.PAID, amount_fen=28_050, receipt_number=f"SJ-{today.year}-000001",
                          reference="现金", paid_at=utcnow())
        db.session.add_all([old, new, payment])
        db.session.flush()
        db.session.add(CreditEntry(household_id=second.id, kind=CreditKind.PREPAYMENT, amount_fen=30_000,
                                   note="预交三个月"))
        db.session.commit()
        return first.id, second.id


def export(app, world, client) -> openpyxl.Workbook:
    assert client.post(f"/c/{world.company.slug}/exports").status_code == 303
    with app.app_context(), company_context(world.company.id):
        job = db.session.execute(select(ExportJob).order_by(ExportJob.created_at.desc())).scalars().first()
        assert job.status == ExportStatus.DONE, job.message
        job_id = job.id
    response = client.get(f"/c/{world.company.slug}/exports/{job_id}/download")
    return openpyxl.load_workbook(io.BytesIO(response.data))


def rows(sheet) -> list[dict]:
    values = list(sheet.iter_rows(values_only=True))
    return [dict(zip(values[0], r, strict=True)) for r in values[1:]]


def test_the_export_carries_the_fee_ledger_with_money_as_numbers_and_days_as_dates(app, two_companies, admin):
    a, b = two_companies
    first, second = ledger(app, a)
    ledger(app, b, prefix="B标记")
    workbook = export(app, a, admin)
    assert workbook.sheetnames[-4:] == ["Bills", "Payments", "Credit entries", "Arrears by household"]

    bills = rows(workbook["Bills"])
    assert len(bills) == 2 and not any("B标记" in str(r) for r in bills)
    old = next(r for r in bills if r["Kind"] == "Opening balance")
    assert old["Amount (yuan)"] == 1280.5 and old["Outstanding (yuan)"] == 1000
    assert isinstance(old["Period from"], datetime) and old["Period from"].date() == date(2024, 1, 1)
    assert old["Period to"].date() == date(2024, 1, 31)  # the last day, not the exclusive end
    assert old["Reason"] == "旧账" and old["Household ID"] == str(first)
    # Money cells are numbers shown with two decimals.
    header = [c.value for c in workbook["Bills"][1]]
    amount = workbook["Bills"].cell(row=2, column=header.index("Amount (yuan)") + 1)
    assert amount.data_type == "n" and amount.number_format == "0.00"

    [payment] = rows(workbook["Payments"])
    assert payment["Receipt number"].startswith("SJ-") and payment["Method"] == "Cash"
    assert payment["Amount (yuan)"] == 280.5 and payment["Status"] == "Paid" and payment["Reference"] == "现金"

    [credit] = rows(workbook["Credit entries"])
    assert credit["Kind"] == "Prepayment" and credit["Amount (yuan)"] == 300 and credit["Note"] == "预交三个月"

    arrears = {r["Household ID"]: r for r in rows(workbook["Arrears by household"])}
    assert set(arrears) == {str(first), str(second)}
    owed = arrears[str(first)]
    assert (owed["Billed (yuan)"], owed["Paid (yuan)"], owed["Outstanding (yuan)"]) == (1330.5, 280.5, 1050)
    assert (owed["Not yet due (yuan)"], owed["Over a year (yuan)"], owed["Up to 30 days (yuan)"]) == (50, 1000, 0)
    assert owed["Oldest unpaid due date"].date() == local_today() - timedelta(days=400)
    assert arrears[str(second)]["Unused credit (yuan)"] == 300 and arrears[str(second)]["Outstanding (yuan)"] == 0


def test_yuan_is_exact_for_any_fen():
    from tenants.fees.fee_exports import yuan

    assert yuan(1) == Decimal("0.01") and yuan(123456789012) == Decimal("1234567890.12") and yuan(None) == 0
