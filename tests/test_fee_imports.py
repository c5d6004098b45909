"""Fee imports: meter readings and opening balances from Excel, through the roster import's flow (upload → check
with progress → every row's problems → all or nothing), idempotent re-imports, and the pages' boundaries."""

from __future__ import annotations

import io
import uuid
from datetime import date, timedelta

import openpyxl
import pytest
from sqlalchemy import func, select

from saas.clock import local_today
from saas.extensions import db
from saas.models import AuditEvent
from saas.tenancy import company_context
from tenants.fees import fee_imports
from tenants.fees.models import Bill, BillKind, FeeItem, FeeKind, MeterKind, MeterReading
from tenants.imports.models import ImportBatch, ImportStatus

pytestmark = [pytest.mark.usefixtures("uploads"), pytest.mark.world()]

COMMUNITY = "A标记小区1"


# --- helpers -------------------------------------------------------------------------------------------------


def xlsx(header, rows) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(list(header))
    for row in rows:
        sheet.append(list(row))
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def readings_file(rows) -> bytes:
    return xlsx(fee_imports.READINGS_LAYOUT.columns, rows)


def opening_file(rows) -> bytes:
    return xlsx(fee_imports.OPENING_LAYOUT.columns, rows)


def upload(client, slug, kind, content, name="file.xlsx"):
    return client.post(f"/c/{slug}/fees/imports/{kind}", data={f"{kind}-file": (io.BytesIO(content), name)},
                       content_type="multipart/form-data")


def upload_ok(client, slug, kind, content, name="file.xlsx") -> str:
    response = upload(client, slug, kind, content, name)
    assert response.status_code == 303, response.get_data(as_text=True)[-3000:]
    return response.headers["Location"]


def batch_of(app, company_id, location) -> ImportBatch:
    batch_id = uuid.UUID(location.rstrip("/").split("/")[-1])
    with app.app_context(), company_context(company_id):
        batch = db.session.execute(select(ImportBatch).where(ImportBatch.id == batch_id)).scalar_one()
        db.session.expunge(batch)
        return batch


def problems(batch) -> set[tuple]:
    from flask_babel import gettext

    return {(p["row"], p["column"], p["message"] % p.get("params", {}) if p.get("params") else p["message"])
            for p in batch.errors if "kind" not in p} if gettext else set()


def count(app, company_id, model, *where) -> int:
    with app.app_context(), company_context(company_id):
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


@pytest.fixture
def water(app, a):
    """A metered item 水费 and a fixed item 物业费 in A's community; a reading of 100 on 2026-10-31 for 1-0101."""
    with app.app_context(), company_context(a.company.id):
        item = FeeItem(community_id=a.ids["community_id"], name="水费", kind=FeeKind.METERED,
                       meter_kind=MeterKind.WATER)
        fixed = FeeItem(community_id=a.ids["community_id"], name="物业费", kind=FeeKind.FIXED)
        db.session.add_all([item, fixed])
        db.session.flush()
        db.session.add(MeterReading(household_id=a.ids["household_id"], fee_item_id=item.id,
                                    read_on=date(2026, 10, 31), reading_milli=100_000))
        db.session.commit()
        return item.id


def reading_row(room="0101", item="水费", day="2026-11-30", value="120.5", new="", building="1号楼",
                community=COMMUNITY, unit="1"):
    return [community, building, unit, room, item, day, value, new]


def opening_row(room="0101", amount="1280.50", period="2025-12", note="2024年物业费", building="1号楼",
                community=COMMUNITY, unit="1"):
    return [community, building, unit, room, amount, period, note]


# --- templates ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["readings", "opening"])
def test_templates_have_the_chinese_headings_and_instructions(a, admin, kind):
    response = admin.get(f"/c/{a.company.slug}/fees/imports/{kind}-template.xlsx")
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    workbook = openpyxl.load_workbook(io.BytesIO(response.data))
    assert [c.value for c in workbook.worksheets[0][1]] == list(fee_imports.LAYOUTS[kind].columns)
    assert len(workbook.worksheets) == 2


def test_the_import_page_links_both_templates_and_says_what_to_do(a, admin):
    page = admin.get(f"/c/{a.company.slug}/fees/imports").get_data(as_text=True)
    assert "readings-template.xlsx" in page and "opening-template.xlsx" in page
    assert "收费项目" in page and "欠费金额(元)" in page
    assert "No fee imports yet" in page


# --- meter readings ----------------------------------------------------------------------------------------


def test_readings_round_trip_then_the_same_file_changes_nothing(app, a, admin, water):
    content = readings_file([reading_row(), reading_row(room="0201", value="7"),
                             reading_row(day="2026-12-01T00:00:00", value="130", room="0101")])
    # An Excel date cell and a number cell come through as well.
    workbook = openpyxl.load_workbook(io.BytesIO(content))
    workbook.worksheets[0].append([COMMUNITY, "2号楼", "1", "0101", "水费", date(2026, 11, 30), 55.25, "否"])
    out = io.BytesIO()
    workbook.save(out)
    content = out.getvalue()
    location = upload_ok(admin, a.company.slug, "readings", content, "十一月抄表.xlsx")
    batch = batch_of(app, a.company.id, location)
    assert batch.kind == "readings"
    assert (batch.status, batch.total_rows, batch.created_count, batch.unchanged_count) == (ImportStatus.READY, 4, 4, 0)
    assert count(app, a.company.id, MeterReading) == 1  # the check writes nothing
    page = admin.get(location).get_data(as_text=True)
    assert "Import 4 readings" in page

    assert admin.post(f"{location}/commit").status_code == 303
    batch = batch_of(app, a.company.id, location)
    assert batch.status == ImportStatus.COMMITTED
    with app.app_context(), company_context(a.company.id):
        rows = db.session.execute(select(MeterReading.read_on, MeterReading.reading_milli, MeterReading.source,
                                         MeterReading.recorded_by_id)
                                  .where(MeterReading.source == "import").order_by(MeterReading.read_on,
                                                                                   MeterReading.reading_milli)).all()
        event = db.session.execute(select(AuditEvent).where(AuditEvent.action == "fee_import.readings")).scalar_one()
    assert [(r[0], r[1]) for r in rows] == [(date(2026, 11, 30), 7_000), (date(2026, 11, 30), 55_250),
                                            (date(2026, 11, 30), 120_500), (date(2026, 12, 1), 130_000)]
    assert {r[3] for r in rows} == {a.admin.id}
    assert event.changes["readings_added"] == 4 and event.object_id == batch.id

    again = upload_ok(admin, a.company.slug, "readings", content, "十一月抄表.xlsx")
    batch = batch_of(app, a.company.id, again)
    assert (batch.status, batch.created_count, batch.unchanged_count) == (ImportStatus.READY, 0, 4)
    assert "importing would change nothing" in admin.get(again).get_data(as_text=True)
    admin.post(f"{again}/commit")
    assert count(app, a.company.id, MeterReading) == 5


def test_every_reading_problem_has_its_row_column_and_a_specific_message(app, a, admin, water):
    future = (local_today() + timedelta(days=3)).isoformat()
    rows = [
        reading_row(),                                    # 2 fine
        reading_row(community="没有这个小区"),              # 3
        reading_row(building="9号楼"),                     # 4
        reading_row(room="9999"),                          # 5
        reading_row(item="电费"),                          # 6 unknown item
        reading_row(item="物业费", room="0201"),           # 7 not metered
        reading_row(value="abc", room="0201"),             # 8
        reading_row(value="1e30", room="0201"),            # 9
        reading_row(value="-5", room="0201"),              # 10
        reading_row(value="1.2345", room="0201"),          # 11
        reading_row(value="99999999999", room="0201"),     # 12
        reading_row(day="2026-11-31", room="0201"),        # 13 no such day
        reading_row(day=future, room="0201"),              # 14
        reading_row(day="2026-10-01", value="50"),         # 15 before the recorded 100 on 10-31, fine; 100 ≥ 50
        reading_row(day="2026-11-15", value="90"),         # 16 lower than 100 on 10-31
        reading_row(new="也许", room="0201"),               # 17
        reading_row(),                                     # 18 repeats row 2
        reading_row(day="2026-10-31", value="101"),        # 19 another figure for a recorded day
        reading_row(room="8888", item="煤气费", value="abc"),  # 20 every problem of the row at once
    ]
    location = upload_ok(admin, a.company.slug, "readings", readings_file(rows))
    batch = batch_of(app, a.company.id, location)
    assert batch.status == ImportStatus.INVALID
    found = problems(batch)
    expected = {
        (3, "小区", "No community is named “没有这个小区”. Check the name as it is written in the roster."),
        (4, "楼栋", f"{COMMUNITY} has no building “9号楼”."),
        (5, "房号", f"{COMMUNITY} 1号楼 has no household 1单元 9999. Add it to the roster first, or correct the unit "
                   "and room."),
        (6, "收费项目", f"{COMMUNITY} has no fee item named “电费”."),
        (7, "收费项目", "“物业费” is not a metered item: readings are imported only for metered items such as water "
                      "or electricity."),
        (8, "读数", "“abc” is not a meter figure. Write digits only, e.g. 1234.5."),
        (9, "读数", "“1e30” is not a meter figure. Write digits only, e.g. 1234.5."),
        (10, "读数", "A meter reading cannot be negative."),
        (11, "读数", "A reading has at most 3 decimals."),
        (12, "读数", "99999999999 is more than any meter shows. Check the figure."),
        (13, "抄表日期", "“2026-11-31” is not a date. Write it as 2026-11-30."),
        (14, "抄表日期", f"{future} is in the future: a meter can only be read on a day that has come."),
        (16, "读数", "90 is lower than the reading before it, 100 on 2026-10-31. If the meter was replaced, write 是 "
                    "under 换新表."),
        (17, "换新表", "Write 是 for a new meter, or leave it empty (not “也许”)."),
        (18, "抄表日期", "The same household, item and day as row 2."),
        (19, "读数", "A reading of 100 is already recorded for this day. A recorded reading is not changed by an "
                    "import: remove this row."),
        (20, "读数", "“abc” is not a meter figure. Write digits only, e.g. 1234.5."),
        (20, "房号", f"{COMMUNITY} 1号楼 has no household 1单元 8888. Add it to the roster first, or correct the unit "
                    "and room."),
    }
    assert expected <= found, sorted(expected - found)
    assert not {p for p in found if p[0] in (2, 15)}, found
    assert batch.error_count == len(expected)
    page = admin.get(location).get_data(as_text=True)
    assert "Nothing has been saved" in page and "A meter reading cannot be negative." in page
    assert count(app, a.company.id, MeterReading) == 1
    assert admin.post(f"{location}/commit").status_code == 303  # refused: not ready
    assert batch_of(app, a.company.id, location).status == ImportStatus.INVALID


def test_a_new_meter_may_start_lower_and_a_reading_may_not_undercut_a_later_one(app, a, admin, water):
    location = upload_ok(admin, a.company.slug, "readings",
                         readings_file([reading_row(day="2026-11-15", value="3", new="是")]))
    assert batch_of(app, a.company.id, location).status == ImportStatus.READY
    # 150 on 10-20 would be higher than the 100 recorded on 10-31.
    location = upload_ok(admin, a.company.slug, "readings", readings_file([reading_row(day="2026-10-20", value="150")]))
    assert problems(batch_of(app, a.company.id, location)) == {
        (2, "读数", "150 is higher than the reading already recorded after it, 100 on 2026-10-31.")}
    # Within one file too: 120 on 11-30 then 110 on 12-31.
    location = upload_ok(admin, a.company.slug, "readings", readings_file(
        [reading_row(day="2026-12-05", value="110"), reading_row(day="2026-11-30", value="120")]))
    assert problems(batch_of(app, a.company.id, location)) == {
        (2, "读数", "110 is lower than the reading before it, 120 on 2026-11-30. If the meter was replaced, write 是 "
                   "under 换新表.")}


def test_wrong_headings_are_refused_at_upload_naming_the_missing_ones(a, admin):
    response = upload(admin, a.company.slug, "readings", opening_file([opening_row()]))
    assert response.status_code == 422
    assert "Missing: 收费项目, 抄表日期, 读数, 换新表" in response.get_data(as_text=True)


# --- opening balances --------------------------------------------------------------------------------------


def test_opening_balances_become_opening_bills_once(app, a, admin):
    content = opening_file([opening_row(), opening_row(room="0201", amount="¥1,000", period="2026-03-15", note="")])
    location = upload_ok(admin, a.company.slug, "opening", content, "旧账.xlsx")
    batch = batch_of(app, a.company.id, location)
    assert (batch.status, batch.created_count) == (ImportStatus.READY, 2)
    assert "¥2,280.50" in admin.get(location).get_data(as_text=True)
    assert count(app, a.company.id, Bill) == 0
    admin.post(f"{location}/commit")
    assert batch_of(app, a.company.id, location).status == ImportStatus.COMMITTED
    with app.app_context(), company_context(a.company.id):
        bills = db.session.execute(select(Bill).order_by(Bill.amount_fen.desc())).scalars().all()
        first, second = bills
        assert (first.kind, first.charge_key, first.title, first.reason, first.amount_fen) == (
            BillKind.OPENING, "opening", "期初欠费", "2024年物业费", 128_050)
        assert (first.period_start, first.period_end, first.due_on) == (date(2025, 12, 1), date(2026, 1, 1),
                                                                        date(2025, 12, 31))
        assert first.household_id == a.ids["household_id"] and first.community_id == a.ids["community_id"]
        assert (second.amount_fen, second.period_start, second.period_end, second.due_on) == (
            100_000, date(2026, 3, 15), date(2026, 3, 16), date(2026, 3, 15))
        event = db.session.execute(select(AuditEvent).where(AuditEvent.action == "fee_import.opening")).scalar_one()
        assert event.changes["total_yuan"] == "2,280.50" and event.changes["opening_balances_added"] == 2

    again = upload_ok(admin, a.company.slug, "opening", content, "旧账.xlsx")
    batch = batch_of(app, a.company.id, again)
    assert (batch.status, batch.created_count, batch.unchanged_count) == (ImportStatus.READY, 0, 2)
    admin.post(f"{again}/commit")
    assert count(app, a.company.id, Bill) == 2

    changed = upload_ok(admin, a.company.slug, "opening", opening_file([opening_row(amount="1300")]))
    assert problems(batch_of(app, a.company.id, changed)) == {
        (2, "欠费金额(元)", "This household already has an opening balance of ¥1,280.50 from 2025-12-01. It is not "
                         "replaced by an import: to correct it, credit that bill with the difference on the "
                         "household's bills.")}


def test_every_opening_problem_has_a_specific_message(app, a, admin):
    rows = [
        opening_row(amount="abc"),                          # 2
        opening_row(amount="1e30", room="0201"),           # 3
        opening_row(amount="-12", building="2号楼"),        # 4
        opening_row(amount="12.345", building="2号楼", room="0201"),  # 5
        opening_row(amount="0", room="0301"),              # 6 (and no such household)
        opening_row(amount="99999999", building="2号楼", room="0101", period="2099-01"),  # 7
        opening_row(amount="", period="明年"),               # 8
        opening_row(note="x" * 201, room="0201"),          # 9
        opening_row(amount="10", room="0201"),             # 10
        opening_row(amount="20", room="0201"),             # 11 the same household again
    ]
    location = upload_ok(admin, a.company.slug, "opening", opening_file(rows))
    found = problems(batch_of(app, a.company.id, location))
    expected = {
        (2, "欠费金额(元)", "“abc” is not an amount. Write yuan in digits, e.g. 1280.50."),
        (3, "欠费金额(元)", "“1e30” is not an amount. Write yuan in digits, e.g. 1280.50."),
        (4, "欠费金额(元)", "An opening balance cannot be negative. Money the company owes a household is recorded as "
                         "its prepayment, not here."),
        (5, "欠费金额(元)", "An amount in yuan has at most 2 decimals (fen)."),
        (6, "欠费金额(元)", "The amount is zero: leave out households that owe nothing."),
        (6, "房号", f"{COMMUNITY} 1号楼 has no household 1单元 0301. Add it to the roster first, or correct the unit "
                   "and room."),  # reported with the row's other problems
        (7, "欠费金额(元)", "99999999 yuan is more than a household's arrears can be. Check the figure."),
        (7, "所属期间", "2099-01-01 is in the future: opening balances are arrears already owed."),
        (8, "欠费金额(元)", "Enter the amount owed in yuan, e.g. 1280.50."),
        (8, "所属期间", "“明年” is not a month or a date. Write 2025-12 or 2025-12-31."),
        (9, "备注", "At most 200 characters."),
        (11, "房号", "The same household as row 10. Put one opening balance per household: the total it owes."),
    }
    assert found == expected, (sorted(expected - found), sorted(found - expected))
    assert count(app, a.company.id, Bill) == 0


# --- the pages' boundaries ---------------------------------------------------------------------------------


def test_fee_and_roster_imports_keep_to_their_own_pages(app, a, admin, login_as):
    location = upload_ok(admin, a.company.slug, "opening", opening_file([opening_row()]), "期初.xlsx")
    batch = batch_of(app, a.company.id, location)
    assert admin.get(f"/c/{a.company.slug}/imports/{batch.id}").status_code == 404
    roster_page = admin.get(f"/c/{a.company.slug}/imports").get_data(as_text=True)
    assert "期初.xlsx" not in roster_page and f"/c/{a.company.slug}/fees/imports" in roster_page
    assert "期初.xlsx" in admin.get(f"/c/{a.company.slug}/fees/imports").get_data(as_text=True)
    steward = login_as(a.steward)
    assert steward.get(location).status_code == 403
    assert steward.get(f"/c/{a.company.slug}/fees/imports").status_code == 403


def test_another_company_never_reaches_an_import(app, two_companies, login_as):
    a, b = two_companies
    location = upload_ok(login_as(a.admin), a.company.slug, "opening", opening_file([opening_row()]))
    batch = batch_of(app, a.company.id, location)
    other = login_as(b.admin)
    assert other.get(f"/c/{b.company.slug}/fees/imports/{batch.id}").status_code == 404
    assert other.post(f"/c/{b.company.slug}/fees/imports/{batch.id}/commit").status_code == 404
    # A's households cannot be named from B's import: the names resolve in B's roster only.
    location = upload_ok(other, b.company.slug, "opening", opening_file([opening_row()]))
    assert (2, "小区", f"No community is named “{COMMUNITY}”. Check the name as it is written in the roster.") in \
        problems(batch_of(app, b.company.id, location))


def test_a_households_credit_is_spent_on_its_opening_bill(app, a, admin):
    from tenants.fees.models import CreditEntry, CreditKind

    with app.app_context(), company_context(a.company.id):
        db.session.add(CreditEntry(household_id=a.ids["household_id"], kind=CreditKind.PREPAYMENT, amount_fen=30_000))
        db.session.commit()
    location = upload_ok(admin, a.company.slug, "opening", opening_file([opening_row(), opening_row(room="0201")]))
    admin.post(f"{location}/commit")
    assert batch_of(app, a.company.id, location).status == ImportStatus.COMMITTED
    with app.app_context(), company_context(a.company.id):
        bill = db.session.execute(select(Bill).where(Bill.household_id == a.ids["household_id"])).scalar_one()
        balance = db.session.scalar(select(func.sum(CreditEntry.amount_fen))
                                    .where(CreditEntry.household_id == a.ids["household_id"]))
    assert (bill.paid_fen, bill.outstanding_fen, balance) == (30_000, 98_050, 0)
