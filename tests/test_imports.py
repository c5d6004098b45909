"""Roster import: template, upload, per-row problems, preview, all-or-nothing commit, history, limits, jobs."""

from __future__ import annotations

import io
import uuid
from datetime import timedelta

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from saas.extensions import db
from saas.models import AuditEvent, Company
from saas.tenancy import company_context
from tenants.imports import services
from tenants.imports.models import ImportBatch, ImportStatus
from tenants.imports.parsing import COLUMNS, FileProblem, read_rows
from tenants.roster.models import Building, Community, Household, Occupancy
from tests.conftest import REDIS_URL, requires_postgres, requires_redis

pytestmark = pytest.mark.usefixtures("uploads")  # files go to this test's own folder

HEADER = ",".join(COLUMNS)


# --- helpers ---------------------------------------------------------------------------------------------


def csv_file(rows, header=HEADER, encoding="utf-8-sig") -> bytes:
    return "\r\n".join([header, *(",".join(r) for r in rows)]).encode(encoding) + b"\r\n"


def xlsx_file(rows, header=COLUMNS, *, write_only=True) -> bytes:
    """write_only: streamed, inline strings, no <dimension>; otherwise like Excel: shared strings, a dimension."""
    workbook = openpyxl.Workbook(write_only=write_only)
    sheet = workbook.create_sheet("住户") if write_only else workbook.active
    sheet.append(list(header))
    for row in rows:
        sheet.append(list(row))
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def row(community="新小区", building="1号楼", unit="1", room="101", area="88.50", occupancy="已入住",
        name="张三", phone="13800138000"):
    return [community, building, unit, room, area, occupancy, name, phone]


def many_rows(n: int, community="大小区"):
    return [row(community=community, building=f"{i // 100 + 1}号楼", unit=str(i % 4 + 1), room=f"{i:05d}",
                name=f"业主{i}", phone=f"139{i:08d}") for i in range(n)]


def upload(client, slug, content: bytes, name="roster.csv", **kw):
    return client.post(f"/c/{slug}/imports", data={"file": (io.BytesIO(content), name)},
                       content_type="multipart/form-data", **kw)


def upload_ok(client, slug, content: bytes, name="roster.csv") -> str:
    response = upload(client, slug, content, name)
    assert response.status_code == 303, response.get_data(as_text=True)[-2000:]
    return response.headers["Location"]


def batch_of(app, company_id, location_or_id) -> ImportBatch:
    batch_id = uuid.UUID(str(location_or_id).rstrip("/").split("/")[-1])
    with app.app_context(), company_context(company_id):
        batch = db.session.execute(select(ImportBatch).where(ImportBatch.id == batch_id)).scalar_one()
        db.session.expunge(batch)
        return batch


def batches(app, company_id) -> list[ImportBatch]:
    with app.app_context(), company_context(company_id):
        rows = db.session.execute(select(ImportBatch).where(ImportBatch.kind == "roster")  # fee imports: their own tests
                                  .order_by(ImportBatch.created_at)).scalars().all()
        db.session.expunge_all()
        return rows


def roster(app, company_id) -> dict:
    """(community, building, unit, room) → (id, area dm², occupancy, name, phone, code, deleted) of every household."""
    with app.app_context(), company_context(company_id):
        rows = db.session.execute(
            select(Community.name, Building.name, Household.unit, Household.room, Household.id,
                   Household.floor_area_dm2, Household.occupancy, Household.owner_name, Household.owner_phone,
                   Household.household_code, Household.deleted_at)
            .join(Household.building).join(Building.community)).all()
        return {tuple(r[:4]): tuple(r[4:]) for r in rows}


def count(app, company_id, model) -> int:
    with app.app_context(), company_context(company_id):
        return db.session.scalar(select(func.count()).select_from(model))


def import_events(app, company_id) -> list[AuditEvent]:
    with app.app_context(), company_context(company_id):
        events = db.session.execute(select(AuditEvent).where(AuditEvent.action == "import.commit")).scalars().all()
        db.session.expunge_all()
        return events


def set_plan(app, company_id, plan_code: str) -> None:
    from saas.models import SubscriptionStatus

    with app.app_context():
        company = db.session.get(Company, company_id)
        company.plan_code = plan_code
        company.subscription_status = SubscriptionStatus.ACTIVE
        db.session.commit()


# --- the template round trip ------------------------------------------------------------------------------


def test_template_round_trip_creates_households_communities_and_buildings(app, a, admin):
    response = admin.get(f"/c/{a.company.slug}/imports/template.xlsx")
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    workbook = openpyxl.load_workbook(io.BytesIO(response.data))
    sheet = workbook.worksheets[0]
    assert [c.value for c in sheet[1]] == list(COLUMNS)
    assert len(workbook.worksheets) == 2  # the instructions sheet
    sheet.append(["红山小区", "3号楼", "2", "0101", 89.5, "已入住", "王五", "+86 139-1234-5678"])
    sheet.append(["红山小区", "3号楼", "2单元", "0102", "120", "空置", "", ""])
    sheet.append(["A标记小区1", "9号楼", "", "1", "60.25", "未交付", "赵六", "13712345678"])
    out = io.BytesIO()
    workbook.save(out)

    location = upload_ok(admin, a.company.slug, out.getvalue(), "花名册.xlsx")
    page = admin.get(location).get_data(as_text=True)
    assert "Ready to import" in page and "community 红山小区" in page and "building 3号楼 in 红山小区" in page
    assert "building 9号楼 in A标记小区1" in page and "community A标记小区1" not in page
    batch = batch_of(app, a.company.id, location)
    assert (batch.status, batch.total_rows, batch.created_count, batch.updated_count) == (ImportStatus.READY, 3, 3, 0)
    assert count(app, a.company.id, Household) == 4  # nothing written by the check

    response = admin.post(f"{location}/commit")
    assert response.status_code == 303
    page = admin.get(location).get_data(as_text=True)
    assert "Imported 3 rows: 3 households created, 0 updated, 0 unchanged." in page
    households = roster(app, a.company.id)
    assert households[("红山小区", "3号楼", "2", "0101")][1:5] == (8950, Occupancy.OCCUPIED, "王五", "13912345678")
    assert households[("红山小区", "3号楼", "2", "0102")][1:5] == (12000, Occupancy.VACANT, "", "")
    assert households[("A标记小区1", "9号楼", "", "1")][1:5] == (6025, Occupancy.UNDELIVERED, "赵六", "13712345678")
    codes = [households[k][5] for k in (("红山小区", "3号楼", "2", "0101"), ("红山小区", "3号楼", "2", "0102"),
                                        ("A标记小区1", "9号楼", "", "1"))]
    assert all(len(c) == 8 for c in codes) and len(set(codes)) == 3
    assert count(app, a.company.id, Community) == 2  # A's own community was reused
    [event] = import_events(app, a.company.id)
    assert event.object_type == "import" and event.object_id == batch.id and event.actor_id == a.admin.id
    assert event.changes["created"] == 3 and event.changes["batch_id"] == str(batch.id)
    history = admin.get(f"/c/{a.company.slug}/imports").get_data(as_text=True)
    assert "花名册.xlsx" in history and "Imported" in history and a.admin.name in history


def test_csv_template_has_the_headings_and_a_bom_for_excel(a, admin):
    response = admin.get(f"/c/{a.company.slug}/imports/template.xlsx?format=csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.data.startswith(b"\xef\xbb\xbf")
    assert response.data.decode("utf-8-sig").strip() == HEADER


def test_uploaded_file_is_kept_under_the_companys_folder(app, a, admin, uploads):
    location = upload_ok(admin, a.company.slug, csv_file([row()]))
    batch = batch_of(app, a.company.id, location)
    path = uploads / str(a.company.id) / "imports" / f"{batch.id}.csv"
    assert path.is_file() and batch.stored_path == f"{a.company.id}/imports/{batch.id}.csv"
    assert len(batch.file_sha256) == 64


def test_gb18030_csv_and_excel_numbers_are_read(app, a, admin):
    location = upload_ok(admin, a.company.slug, csv_file([row(name="钱七")], encoding="gb18030"))
    assert batch_of(app, a.company.id, location).status == ImportStatus.READY
    # Excel hands numbers back as numbers: room 1201, area 89.5 and a phone number must survive.
    content = xlsx_file([["数字小区", "1号楼", 2, 1201, 89.5, "已入住", "孙八", 13800138000]])
    location = upload_ok(admin, a.company.slug, content, "numbers.xlsx")
    admin.post(f"{location}/commit")
    assert roster(app, a.company.id)[("数字小区", "1号楼", "2", "1201")][1:5] == (
        8950, Occupancy.OCCUPIED, "孙八", "13800138000")


# --- problems by row and column ---------------------------------------------------------------------------


def test_every_row_problem_is_reported_with_its_row_number_and_column(app, a, admin):
    rows = [
        row(room="101"),                              # row 2: fine
        row(building="", room="102"),                 # row 3: missing building
        row(room="103", area="abc"),                  # row 4: bad area
        row(room="104", area="0.5"),                  # row 5: area out of range
        row(room="105", phone="12345"),               # row 6: bad phone
        row(room="106", occupancy="住着"),             # row 7: bad occupancy
        row(room=""),                                 # row 8: missing room
        row(community="", room="108", area="89.123"),  # row 9: two problems
    ]
    location = upload_ok(admin, a.company.slug, csv_file(rows))
    batch = batch_of(app, a.company.id, location)
    assert batch.status == ImportStatus.INVALID and batch.error_count == 8
    problems = {(p["row"], p["column"]) for p in batch.errors if "kind" not in p}
    assert problems == {(3, "楼栋"), (4, "建筑面积(m²)"), (5, "建筑面积(m²)"), (6, "业主手机"), (7, "入住状态"),
                        (8, "房号"), (9, "小区"), (9, "建筑面积(m²)")}
    page = admin.get(location).get_data(as_text=True)
    for message in ("Enter the building, e.g. 3号楼.", "Floor area must be a number, e.g. 89.50.",
                    "Floor area must be between 1 and 2,000 m².", "Enter a mainland mobile number",
                    "Write 已入住, 空置 or 未交付, not “住着”.", "Enter the room number.", "Enter the community name.",
                    "Floor area can have at most two decimals.", "8 problems found. Nothing has been saved."):
        assert message in page, message
    assert "/commit" not in page
    assert count(app, a.company.id, Household) == 4 and count(app, a.company.id, Community) == 1
    assert admin.post(f"{location}/commit").status_code == 303
    assert count(app, a.company.id, Household) == 4


def test_control_characters_and_overlong_text_are_refused(app, a, admin):
    rows = [row(room="101", name="张\x07三"), row(room="102", name="长" * 33), row(room="1" * 17)]
    batch = batch_of(app, a.company.id, upload_ok(admin, a.company.slug, csv_file(rows)))
    messages = {(p["row"], p["column"], p["message"]) for p in batch.errors if "kind" not in p}
    assert messages == {(2, "业主姓名", "Remove line breaks and control characters."),
                        (3, "业主姓名", "At most %(max)s characters."), (4, "房号", "At most %(max)s characters.")}


def test_duplicate_room_in_the_file_names_the_first_row(app, a, admin):
    rows = [row(room="101"), row(room="102"), row(room="101", name="李四"), row(room="101", unit="2")]
    location = upload_ok(admin, a.company.slug, csv_file(rows))
    batch = batch_of(app, a.company.id, location)
    assert batch.status == ImportStatus.INVALID
    [problem] = [p for p in batch.errors if "kind" not in p]
    assert (problem["row"], problem["column"], problem["params"]) == (4, "房号", {"row": "2"})
    assert "The same room as row 2 of this file." in admin.get(location).get_data(as_text=True)


def test_rows_matching_the_database_update_those_households_instead_of_duplicating_them(app, a, admin):
    before = roster(app, a.company.id)
    key = ("A标记小区1", "1号楼", "1", "0101")
    old = before[key]
    rows = [row(community="A标记小区1", building="1号楼", unit="1", room="0101", area="95.00", occupancy="空置",
                name="新业主", phone="13698765432"),
            row(community="A标记小区1", building="1号楼", unit="1", room="0201", area="88.50",
                name=before[("A标记小区1", "1号楼", "1", "0201")][3],
                phone=before[("A标记小区1", "1号楼", "1", "0201")][4])]
    location = upload_ok(admin, a.company.slug, csv_file(rows))
    batch = batch_of(app, a.company.id, location)
    assert (batch.status, batch.created_count, batch.updated_count, batch.unchanged_count) == (
        ImportStatus.READY, 0, 1, 1)
    admin.post(f"{location}/commit")
    after = roster(app, a.company.id)
    assert after[key] == (old[0], 9500, Occupancy.VACANT, "新业主", "13698765432", old[5], None)
    assert len(after) == len(before)


def test_soft_deleted_household_does_not_block_importing_its_room(app, a, admin):
    hid = a.roster["households"][1]
    admin.post(f"/c/{a.company.slug}/households/{hid}/delete")
    rows = [row(community="A标记小区1", building="1号楼", unit="1", room="0201")]
    location = upload_ok(admin, a.company.slug, csv_file(rows))
    assert batch_of(app, a.company.id, location).created_count == 1
    admin.post(f"{location}/commit")
    with app.app_context(), company_context(a.company.id):
        rooms = db.session.execute(select(Household.deleted_at).where(Household.room == "0201",
                                                                       Household.unit == "1")).scalars().all()
    assert sorted(d is None for d in rooms) == [False, True, True]  # 0201 in 2号楼, the deleted one, the new one


def test_reimporting_the_same_file_changes_nothing(app, a, admin):
    content = xlsx_file([row(room=str(r)) for r in range(101, 111)])
    first = upload_ok(admin, a.company.slug, content, "r.xlsx")
    admin.post(f"{first}/commit")
    snapshot = roster(app, a.company.id)
    second = upload_ok(admin, a.company.slug, content, "r.xlsx")
    batch = batch_of(app, a.company.id, second)
    assert (batch.status, batch.created_count, batch.updated_count, batch.unchanged_count) == (
        ImportStatus.READY, 0, 0, 10)
    assert "Every row already matches the roster" in admin.get(second).get_data(as_text=True)
    admin.post(f"{second}/commit")
    assert batch_of(app, a.company.id, second).status == ImportStatus.COMMITTED
    assert roster(app, a.company.id) == snapshot
    assert sorted(e.changes["unchanged"] for e in import_events(app, a.company.id)) == [0, 10]


def test_an_updated_file_updates_only_the_rows_that_changed(app, a, admin):
    rows = [row(room=str(r)) for r in range(101, 106)]
    admin.post(f"{upload_ok(admin, a.company.slug, csv_file(rows))}/commit")
    rows[2] = row(room="103", name="换了业主", phone="13511112222")
    rows.append(row(room="106"))
    location = upload_ok(admin, a.company.slug, csv_file(rows))
    batch = batch_of(app, a.company.id, location)
    assert (batch.created_count, batch.updated_count, batch.unchanged_count) == (1, 1, 4)
    admin.post(f"{location}/commit")
    households = roster(app, a.company.id)
    assert households[("新小区", "1号楼", "1", "103")][3:5] == ("换了业主", "13511112222")
    assert ("新小区", "1号楼", "1", "106") in households


# --- all or nothing, idempotence --------------------------------------------------------------------------


def test_a_failure_in_the_middle_of_the_commit_leaves_nothing_behind(app, a, admin, monkeypatch):
    location = upload_ok(admin, a.company.slug, csv_file(many_rows(1200, community="半途小区")))
    assert batch_of(app, a.company.id, location).created_count == 1200
    calls = []
    real = services._Engine._unique_codes

    def fail_on_second_chunk(engine, n):
        calls.append(n)
        if len(calls) == 2:
            raise RuntimeError("disk full")
        return real(engine, n)

    monkeypatch.setattr(services._Engine, "_unique_codes", fail_on_second_chunk)
    response = admin.post(f"{location}/commit")
    assert response.status_code == 303
    assert len(calls) == 2  # the first 500 rows had been written when it failed
    batch = batch_of(app, a.company.id, location)
    assert batch.status == ImportStatus.FAILED and batch.finished_at is not None
    assert count(app, a.company.id, Household) == 4
    assert count(app, a.company.id, Community) == 1 and count(app, a.company.id, Building) == 2
    assert import_events(app, a.company.id) == []
    assert "Nothing was imported" in admin.get(location).get_data(as_text=True)


def test_commit_runs_once_however_often_it_is_asked_for(app, a, admin):
    location = upload_ok(admin, a.company.slug, csv_file([row()]))
    admin.post(f"{location}/commit")
    response = admin.post(f"{location}/commit", follow_redirects=True)
    assert "Only a checked file without problems can be imported." in response.get_data(as_text=True)
    batch = batch_of(app, a.company.id, location)
    # The job itself refuses a batch that is not waiting for it.
    with app.app_context(), company_context(a.company.id):
        assert services.commit(batch.id, a.admin.id) == ImportStatus.COMMITTED
        assert services.validate(batch.id) == ImportStatus.COMMITTED
    assert count(app, a.company.id, Household) == 5 and len(import_events(app, a.company.id)) == 1


def test_commit_rechecks_the_plan_and_writes_nothing_when_it_no_longer_fits(app, a, admin):
    location = upload_ok(admin, a.company.slug, csv_file(many_rows(10)))
    batch = batch_of(app, a.company.id, location)
    assert batch.status == ImportStatus.READY
    with app.app_context(), company_context(a.company.id):
        # The preview was fine; by the time the job runs the company has moved to a plan that is too small.
        db.session.execute(ImportBatch.__table__.update().where(ImportBatch.__table__.c.id == batch.id)
                           .values(status=ImportStatus.COMMITTING.value))
        db.session.commit()
        from tenants.imports import jobs
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr("saas.subscriptions.plans.TRIAL_MAX_HOUSEHOLDS", 5)
            assert jobs.commit_import(str(batch.id), str(a.admin.id)) == "invalid"
    assert count(app, a.company.id, Household) == 4
    assert batch_of(app, a.company.id, location).message == services.PLAN_LIMIT


# --- plan limits --------------------------------------------------------------------------------------------


def test_plan_limit_refuses_the_file_and_names_the_plan_that_fits(app, a, admin):
    set_plan(app, a.company.id, "basic")  # 500 households; the company has 4
    location = upload_ok(admin, a.company.slug, csv_file(many_rows(500)))
    batch = batch_of(app, a.company.id, location)
    assert batch.status == ImportStatus.INVALID and batch.created_count == 500
    page = admin.get(location).get_data(as_text=True)
    assert "Your plan allows 500 households and this would make 504." in page
    assert "The Standard plan (up to 2000 households) fits." in page
    assert "/commit" not in page
    assert count(app, a.company.id, Household) == 4


def test_updates_do_not_count_against_the_plan(app, a, admin):
    set_plan(app, a.company.id, "basic")
    admin.post(f"{upload_ok(admin, a.company.slug, csv_file(many_rows(496)))}/commit")
    assert count(app, a.company.id, Household) == 500
    rows = many_rows(496)
    rows[0][6] = "改名"
    location = upload_ok(admin, a.company.slug, csv_file(rows))
    batch = batch_of(app, a.company.id, location)
    assert (batch.status, batch.updated_count) == (ImportStatus.READY, 1)


# --- problems with the file as a whole --------------------------------------------------------------------


@pytest.mark.parametrize(("name", "content", "message"), [
    ("roster.csv", b"", "The file is empty."),
    ("roster.pdf", b"%PDF-1.4 hello", "Upload an Excel workbook (.xlsx) or a CSV file (.csv)."),
    ("roster", b"a,b\n", "Upload an Excel workbook (.xlsx) or a CSV file (.csv)."),
    ("roster.xlsx", "小区,楼栋\n".encode(), "is named .xlsx but is not an Excel workbook"),
    ("roster.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "This is an old .xls workbook."),
    ("roster.xlsx", b"PK\x03\x04" + b"\x00" * 200, "The workbook is damaged and cannot be opened."),
    ("roster.csv", xlsx_file([]), "is named .csv but is an Excel workbook"),
    ("roster.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "This is not a text CSV file."),
    ("roster.csv", "小区,楼栋,房号\n红山,1号楼,101\n".encode(), "Missing: 单元, 建筑面积(m²), 入住状态, 业主姓名, 业主手机."),
    ("roster.xlsx", xlsx_file([row()], header=["名字", "电话"]), "The first row must have the column headings"),
    ("roster.csv", (HEADER + "\r\n").encode(), "The file has the column headings but no households below them."),
    ("roster.xlsx", xlsx_file([]), "The file has the column headings but no households below them."),
    ("roster.csv", b"\r\n\r\n", "The file has no rows."),
    ("roster.csv", b"\xff\xfe\xfa\xfb" * 10, "The text of the CSV file cannot be read."),
])
def test_a_file_that_cannot_be_imported_gets_a_clear_message_and_leaves_nothing(app, a, admin, uploads, name,
                                                                                content, message):
    response = upload(admin, a.company.slug, content, name)
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert message in body, body[body.find("import-form"):][:3000]
    assert len(batches(app, a.company.id)) == 1  # the world's own batch only
    assert not [p for p in uploads.rglob("*") if p.is_file() and not {"work_orders", "invoices", "disclosures"} & set(p.parts)]  # the world's photo, invoice, scan


def test_no_file_chosen_is_a_field_error(a, admin):
    response = admin.post(f"/c/{a.company.slug}/imports", data={}, content_type="multipart/form-data")
    assert response.status_code == 422 and "Choose a file to upload." in response.get_data(as_text=True)


def test_a_file_over_the_size_limit_is_refused(app, a, admin, monkeypatch, uploads):
    monkeypatch.setitem(app.config, "IMPORT_MAX_BYTES", 1000)
    # Caught while streaming to disk (the request itself is small enough to be read).
    response = upload(admin, a.company.slug, csv_file([row(room=str(r)) for r in range(40)]))
    assert response.status_code == 422
    assert "The file is larger than 0.000953674 MB." in response.get_data(as_text=True)
    # Caught on the declared size, before the file is read at all.
    response = upload(admin, a.company.slug, b"x" * 200_000)
    assert response.status_code == 422 and "The file is larger than" in response.get_data(as_text=True)
    assert len(batches(app, a.company.id)) == 1  # the world's own batch only
    assert not [p for p in uploads.rglob("*") if p.is_file() and not {"work_orders", "invoices", "disclosures"} & set(p.parts)]  # the world's photo, invoice, scan


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_a_file_with_too_many_rows_is_refused_before_its_rows_are_read(app, a, admin, monkeypatch, kind):
    monkeypatch.setitem(app.config, "IMPORT_MAX_ROWS", 5)
    rows = [row(room=str(r)) for r in range(6)]
    content = csv_file(rows) if kind == "csv" else xlsx_file(rows, write_only=False)
    response = upload(admin, a.company.slug, content, f"big.{kind}")
    assert response.status_code == 422
    assert "The file has 6 rows; at most 5 can be imported at once." in response.get_data(as_text=True)
    ok = csv_file(rows[:5]) if kind == "csv" else xlsx_file(rows[:5], write_only=False)
    assert batch_of(app, a.company.id, upload_ok(admin, a.company.slug, ok, f"ok.{kind}")).status == ImportStatus.READY


def test_a_workbook_that_does_not_declare_its_size_is_stopped_at_the_row_limit(app, a, admin, monkeypatch):
    monkeypatch.setitem(app.config, "IMPORT_MAX_ROWS", 5)
    location = upload_ok(admin, a.company.slug, xlsx_file([row(room=str(r)) for r in range(6)]), "big.xlsx")
    batch = batch_of(app, a.company.id, location)
    assert batch.status == ImportStatus.INVALID and count(app, a.company.id, Household) == 4
    assert "The file has more than 5 rows; at most 5 can be imported at once." in admin.get(location).get_data(
        as_text=True)


def test_the_row_limit_is_also_enforced_while_streaming(tmp_path):
    path = tmp_path / "r.csv"
    path.write_bytes(csv_file([row(room=str(r)) for r in range(10)]))
    seen = []
    with pytest.raises(FileProblem) as exc:
        for number, _values in read_rows(path, "csv", max_rows=3):
            seen.append(number)
    assert seen == [2, 3, 4] and exc.value.params == {"max": 3}


def test_headings_may_vary_in_order_spacing_and_brackets_and_a_title_row_is_skipped(app, a, admin):
    header = "业主手机, 业主姓名 ,入住状态,建筑面积（㎡）,房号,单元,楼栋,小区"
    content = ("某某小区业主花名册\r\n" + header + "\r\n13800138000,张三,空置,70,301,1单元,2号楼,标题小区\r\n").encode()
    location = upload_ok(admin, a.company.slug, content)
    admin.post(f"{location}/commit")
    assert roster(app, a.company.id)[("标题小区", "2号楼", "1", "301")][1:5] == (
        7000, Occupancy.VACANT, "张三", "13800138000")


# --- progress, preview, history, access -----------------------------------------------------------------------


def _make_batch(app, a, status, **values) -> uuid.UUID:
    with app.app_context(), company_context(a.company.id):
        batch = ImportBatch(created_by_id=a.admin.id, filename="p.csv", file_sha256="0" * 64,
                            stored_path="x/p.csv", status=status, **values)
        db.session.add(batch)
        db.session.commit()
        return batch.id


def test_progress_polls_itself_until_the_job_is_done(app, a, admin):
    batch_id = _make_batch(app, a, ImportStatus.VALIDATING, total_rows=5000, processed_rows=2600)
    status_url = f"/c/{a.company.slug}/imports/{batch_id}/status"
    page = admin.get(f"/c/{a.company.slug}/imports/{batch_id}").get_data(as_text=True)
    assert f'hx-get="{status_url}"' in page and 'hx-trigger="load delay:500ms"' in page
    fragment = admin.get(status_url, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in fragment and 'hx-swap="outerHTML"' in fragment
    assert "w-pct-50" in fragment and "2600 of 5000" in fragment and "style=" not in fragment
    with app.app_context(), company_context(a.company.id):
        db.session.get(ImportBatch, (a.company.id, batch_id)).status = ImportStatus.READY
        db.session.commit()
    fragment = admin.get(status_url, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "hx-trigger" not in fragment and "Ready to import" in fragment


def test_validation_progress_is_visible_outside_the_jobs_transaction(app, a, admin, monkeypatch):
    monkeypatch.setattr(services, "PROGRESS_EVERY", 10)
    seen = []
    real = services.check_row

    def spying_check_row(number, values, outcome):
        if number == 57:
            from sqlalchemy.orm import Session

            with Session(db.engine) as other:
                seen.append(other.execute(select(ImportBatch.processed_rows)).scalars().all())
        return real(number, values, outcome)

    monkeypatch.setattr(services, "check_row", spying_check_row)
    upload_ok(admin, a.company.slug, csv_file(many_rows(80)))
    assert seen and max(seen[0]) == 50


def test_history_lists_imports_newest_first_with_who_when_and_counts(app, a, admin):
    upload_ok(admin, a.company.slug, csv_file([row(room="1")]), "first.csv")
    with app.app_context(), company_context(a.company.id):
        for batch in db.session.execute(select(ImportBatch)).scalars():
            batch.created_at = batch.created_at - timedelta(hours=1)
        db.session.commit()
    upload_ok(admin, a.company.slug, csv_file([row(room="2"), row(room="")]), "second.csv")
    body = admin.get(f"/c/{a.company.slug}/imports").get_data(as_text=True)
    assert body.index("second.csv") < body.index("first.csv")
    assert "Has problems" in body and "Ready to import" in body and a.admin.name in body


def test_only_admins_may_import(app, a, login_as):
    steward = login_as(a.steward)
    assert upload(steward, a.company.slug, csv_file([row()])).status_code == 403
    assert steward.get(f"/c/{a.company.slug}/imports").status_code == 403
    assert steward.get(f"/c/{a.company.slug}/imports/template.xlsx").status_code == 403
    assert len(batches(app, a.company.id)) == 1


def test_a_batch_whose_file_is_gone_fails_cleanly(app, a, admin):
    batch_id = _make_batch(app, a, ImportStatus.VALIDATING)
    with app.app_context(), company_context(a.company.id):
        assert services.validate(batch_id) == ImportStatus.FAILED
    assert "no longer available" in admin.get(f"/c/{a.company.slug}/imports/{batch_id}").get_data(as_text=True)


# --- property-based: nothing malformed ever commits or 500s -------------------------------------------------

_names = st.sampled_from(["r.csv", "r.xlsx", "r.txt", "r.CSV", "r.xls", ""])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=_names, content=st.one_of(
    st.binary(max_size=2000),
    st.binary(max_size=2000).map(lambda b: b"PK\x03\x04" + b),
    st.binary(max_size=500).map(lambda b: (HEADER + "\r\n").encode() + b),
    st.binary(max_size=500).map(lambda b: xlsx_file([row()])[:200] + b),
))
def test_random_bytes_never_500_and_never_commit(app, a, admin, name, content):
    before = count(app, a.company.id, Household)
    response = upload(admin, a.company.slug, content, name)
    assert response.status_code in (303, 422), response.status_code
    if response.status_code == 303:
        assert batch_of(app, a.company.id, response.headers["Location"]).status in (
            ImportStatus.INVALID, ImportStatus.READY)
    assert count(app, a.company.id, Household) == before


_cell = st.one_of(st.text(max_size=12), st.sampled_from(["", "1号楼", "88.5", "已入住", "空置", "13800138000", "0",
                                                         "1e3", "NaN", "-1", "2000.01", '"', "=1+1", "\n"]))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.lists(_cell, min_size=0, max_size=9), max_size=8),
       encoding=st.sampled_from(["utf-8-sig", "gb18030", "utf-8"]))
def test_random_csv_content_never_500s_and_the_upload_itself_never_writes(app, a, admin, rows, encoding):
    import csv

    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(COLUMNS)
    writer.writerows(rows)
    try:
        content = text.getvalue().encode(encoding)
    except UnicodeEncodeError:
        content = text.getvalue().encode("utf-8")
    before = roster(app, a.company.id)
    response = upload(admin, a.company.slug, content)
    assert response.status_code in (303, 422), response.status_code
    assert roster(app, a.company.id) == before
    if response.status_code == 303:
        batch = batch_of(app, a.company.id, response.headers["Location"])
        assert batch.status == (ImportStatus.INVALID if batch.error_count else ImportStatus.READY)
        if batch.status == ImportStatus.READY:
            # A clean file commits exactly what the preview promised.
            admin.post(response.headers["Location"] + "/commit")
            after = roster(app, a.company.id)
            assert len(after) == len(before) + batch.created_count


# --- a real worker ----------------------------------------------------------------------------------------------


@requires_redis
def test_5000_row_import_runs_on_a_real_rq_worker(db_urls, app, a):
    from redis import Redis
    from rq import SimpleWorker

    from saas.jobs import queue
    from tests.conftest import make_test_app
    from tests.factories import login

    set_plan(app, a.company.id, "professional")
    queue_name = f"test-imports-{uuid.uuid4().hex[:8]}"
    rq_app = make_test_app(db_urls, REDIS_URL=REDIS_URL, JOB_QUEUE_NAME=queue_name,
                           UPLOAD_FOLDER=app.config["UPLOAD_FOLDER"])
    client = login(rq_app.test_client(), a.admin)
    content = xlsx_file(many_rows(5000, community="五千小区"), write_only=False)

    def work():
        with rq_app.app_context():
            worker = SimpleWorker([queue()], connection=Redis.from_url(REDIS_URL))
            assert worker.work(burst=True)

    try:
        location = upload_ok(client, a.company.slug, content, "5000.xlsx")
        batch = batch_of(rq_app, a.company.id, location)
        assert batch.status == ImportStatus.VALIDATING and batch.total_rows == 5000  # queued, not run yet
        page = client.get(location).get_data(as_text=True)
        assert 'hx-trigger="load delay:500ms"' in page  # the page answers at once and polls
        work()
        batch = batch_of(rq_app, a.company.id, location)
        assert (batch.status, batch.created_count, batch.processed_rows) == (ImportStatus.READY, 5000, 5000)
        assert count(app, a.company.id, Household) == 4
        assert client.post(f"{location}/commit").status_code == 303
        assert batch_of(rq_app, a.company.id, location).status == ImportStatus.COMMITTING
        work()
        batch = batch_of(rq_app, a.company.id, location)
        assert (batch.status, batch.created_count, batch.processed_rows) == (ImportStatus.COMMITTED, 5000, 5000)
        assert "Imported 5000 rows" in client.get(location).get_data(as_text=True)
    finally:
        with rq_app.app_context():
            queue().delete(delete_jobs=True)
    assert count(app, a.company.id, Household) == 5004


@requires_postgres
def test_commit_progress_is_visible_while_its_writes_are_not(app, a, admin, monkeypatch):
    """PostgreSQL: progress goes through a second connection while the import's own transaction stays open."""
    monkeypatch.setattr(services, "PROGRESS_EVERY", 10)
    monkeypatch.setattr(services, "CHUNK_ROWS", 20)
    location = upload_ok(admin, a.company.slug, csv_file(many_rows(80)))
    seen = []
    real = services.check_row

    def spying_check_row(number, values, outcome):
        if number == 57:
            from sqlalchemy.orm import Session

            with Session(db.engine) as other:
                seen.append((other.scalar(select(ImportBatch.processed_rows).where(ImportBatch.status == "committing")),
                             other.scalar(select(func.count()).select_from(Household))))
        return real(number, values, outcome)

    monkeypatch.setattr(services, "check_row", spying_check_row)
    admin.post(f"{location}/commit")
    assert seen == [(50, 4)]  # 40 rows written but not yet visible; the progress is
    assert count(app, a.company.id, Household) == 84
