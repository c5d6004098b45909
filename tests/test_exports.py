"""Whole-company export: a workbook with a sheet per table, as a job with progress, also when read-only."""

from __future__ import annotations

import io
import uuid
from datetime import timedelta

import openpyxl
import pytest
from sqlalchemy import select

from saas.extensions import db
from saas.models import AuditEvent, Company, SubscriptionStatus
from saas.tenancy import company_context, utcnow
from tenants.exports import services
from tenants.exports.models import ExportJob, ExportStatus
from tenants.roster.models import Household
from tests.conftest import REDIS_URL, requires_redis

pytestmark = pytest.mark.usefixtures("uploads")  # files go to this test's own folder

SHEETS = ["Communities", "Buildings", "Households", "Members", "Household owners", "Steward assignments",
          "Steward contacts", "Steward profiles", "Audit log", "Imports", "Invitations", "Messages",
          "Bills", "Payments", "Credit entries", "Arrears by household"]  # the fee sheets: tests/test_fee_exports.py


def exports(app, company_id) -> list[ExportJob]:
    with app.app_context(), company_context(company_id):
        jobs = db.session.execute(select(ExportJob).order_by(ExportJob.created_at.desc())).scalars().all()
        db.session.expunge_all()
        return jobs


def newest(app, company_id) -> ExportJob:
    return exports(app, company_id)[0]


def sheet_rows(workbook, title) -> list[list]:
    return [list(r) for r in workbook[title].iter_rows(values_only=True)]


def add_extras(app, a) -> None:
    """Things every sheet should carry: a deleted household, a formula-looking name, a message, an invitation."""
    from saas.models import Role
    from saas.notifications.models import Channel, OutboxMessage
    from tenants.members.models import Invitation

    with app.app_context(), company_context(a.company.id):
        households = db.session.execute(select(Household).order_by(Household.room)).scalars().all()
        households[0].deleted_at = utcnow()
        households[1].owner_name = "=HYPERLINK(\"http://evil\")"
        db.session.add(OutboxMessage(channel=Channel.SMS, recipient="13800000000", body="您好\x01", kind="test"))
        db.session.add(Invitation(invited_by_id=a.admin.id, name="新管家", role=Role.STEWARD, phone="13700000000",
                                  token_hash=uuid.uuid4().hex * 2, expires_at=utcnow() + timedelta(days=3)))
        db.session.commit()


def test_admin_exports_every_table_of_the_company_as_one_workbook(app, two_companies, a, admin):
    add_extras(app, a)
    response = admin.post(f"/c/{a.company.slug}/exports")
    assert response.status_code == 303
    job = newest(app, a.company.id)
    assert job.status == ExportStatus.DONE and job.size_bytes > 0 and job.processed_rows == job.total_rows > 10
    page = admin.get(f"/c/{a.company.slug}/exports").get_data(as_text=True)
    assert f"/exports/{job.id}/download" in page

    response = admin.get(f"/c/{a.company.slug}/exports/{job.id}/download")
    assert response.status_code == 200
    with app.app_context():
        today = services._local(job.created_at).strftime("%Y%m%d")
    assert f"company-a-export-{today}.xlsx" in response.headers["Content-Disposition"]
    workbook = openpyxl.load_workbook(io.BytesIO(response.data))
    assert workbook.sheetnames == SHEETS

    def db_count(model) -> int:
        from sqlalchemy import func

        with app.app_context(), company_context(a.company.id):
            return db.session.scalar(select(func.count()).select_from(model))

    from saas.models import Membership
    from saas.notifications.models import OutboxMessage
    from tenants.members.models import Invitation
    from tenants.roster.models import Building, Community, HouseholdOwner

    households = sheet_rows(workbook, "Households")
    assert households[0][:3] == ["ID", "Community", "Building"] and "Deleted" in households[0]
    assert len(households) == 1 + db_count(Household)  # the deleted one included
    deleted_col = households[0].index("Deleted")
    assert sum(1 for r in households[1:] if r[deleted_col] is not None) == 1
    assert "A标记小区1" in {r[1] for r in households[1:]}
    # A formula-looking owner name is exported as text, never as a formula.
    name_col = households[0].index("Owner name")
    [cell] = [c for r in workbook["Households"].iter_rows() for c in r if c.column == name_col + 1
              and str(c.value).startswith("=HYPERLINK")]
    assert cell.data_type == "s"

    members = sheet_rows(workbook, "Members")
    assert len(members) == 1 + db_count(Membership)
    assert {a.admin.name, a.steward.name, a.technician.name, a.owner.name} <= {r[1] for r in members[1:]}
    assert {"Company admin", "Steward", "Technician", "Owner"} <= {r[4] for r in members[1:]}
    from tenants.stewards.models import StewardAssignment, StewardProfile

    for title, model in (("Communities", Community), ("Buildings", Building), ("Household owners", HouseholdOwner),
                         ("Invitations", Invitation), ("Messages", OutboxMessage),
                         ("Steward assignments", StewardAssignment), ("Steward profiles", StewardProfile)):
        assert len(sheet_rows(workbook, title)) == 1 + db_count(model), title
    assert "新管家" in {r[1] for r in sheet_rows(workbook, "Invitations")}
    assert "您好" in {r[4] for r in sheet_rows(workbook, "Messages")}  # a character the file cannot hold is dropped
    assert "company-a-roster.xlsx" in {r[2] for r in sheet_rows(workbook, "Imports")}
    assert "export.create" in {r[2] for r in sheet_rows(workbook, "Audit log")[1:]}

    # Nothing of company B.
    b = two_companies[1]
    text = repr([sheet_rows(workbook, t) for t in SHEETS])
    assert "B标记" not in text and b.admin.name not in text and "company-b" not in text


def test_export_and_download_leave_audit_events(app, a, admin):
    admin.post(f"/c/{a.company.slug}/exports")
    job = newest(app, a.company.id)
    admin.get(f"/c/{a.company.slug}/exports/{job.id}/download")
    with app.app_context(), company_context(a.company.id):
        actions = db.session.execute(select(AuditEvent.action, AuditEvent.actor_id)
                                     .where(AuditEvent.object_id == job.id)).all()
    assert sorted(actions) == [("export.create", a.admin.id), ("export.download", a.admin.id)]


def test_export_works_when_the_trial_has_ended_and_the_company_is_read_only(app, a, admin):
    with app.app_context():
        company = db.session.get(Company, a.company.id)
        company.subscription_status = SubscriptionStatus.TRIALING
        company.trial_ends_at = utcnow() - timedelta(days=1)
        db.session.commit()
        assert company.is_read_only()
    response = admin.post(f"/c/{a.company.slug}/exports")
    assert response.status_code in (200, 303)
    job = newest(app, a.company.id)
    assert job.status == ExportStatus.DONE
    response = admin.get(f"/c/{a.company.slug}/exports/{job.id}/download")
    assert response.status_code == 200 and response.data.startswith(b"PK\x03\x04")


def test_create_export_is_marked_as_allowed_when_read_only(app):
    assert getattr(app.view_functions["company.exports.create"], "allowed_when_read_only", False)


def test_a_running_export_polls_and_a_finished_one_offers_the_download(app, a, admin):
    with app.app_context(), company_context(a.company.id):
        job = ExportJob(created_by_id=a.admin.id, status=ExportStatus.RUNNING, total_rows=1000, processed_rows=700)
        db.session.add(job)
        db.session.commit()
        job_id = job.id
    status_url = f"/c/{a.company.slug}/exports/{job_id}/status"
    page = admin.get(f"/c/{a.company.slug}/exports").get_data(as_text=True)
    assert f'hx-get="{status_url}"' in page and f'hx-target="#export-{job_id}"' in page
    fragment = admin.get(status_url, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in fragment and "w-pct-70" in fragment and 'hx-trigger="load delay:500ms"' in fragment
    # Not ready: the download link sends the admin back to the list.
    response = admin.get(f"/c/{a.company.slug}/exports/{job_id}/download")
    assert response.status_code == 303
    # The job runs (again: a second run of a finished export changes nothing).
    with app.app_context(), company_context(a.company.id):
        assert services.run(job_id, "en") == ExportStatus.DONE
        assert services.run(job_id, "en") == ExportStatus.DONE
    fragment = admin.get(status_url, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "hx-trigger" not in fragment and f"/exports/{job_id}/download" in fragment


def test_starting_an_export_while_one_is_running_reuses_it(app, a, admin):
    with app.app_context(), company_context(a.company.id):
        db.session.add(ExportJob(created_by_id=a.admin.id, status=ExportStatus.RUNNING))
        db.session.commit()
    before = len(exports(app, a.company.id))
    admin.post(f"/c/{a.company.slug}/exports")
    assert len(exports(app, a.company.id)) == before


def test_a_failing_export_is_marked_failed_and_leaves_no_file(app, a, admin, uploads, monkeypatch):
    def boom(path, progress):
        path.with_suffix(".part").write_bytes(b"half")
        raise RuntimeError("disk full")

    monkeypatch.setattr(services, "write_workbook", boom)
    assert admin.post(f"/c/{a.company.slug}/exports").status_code == 303
    job = newest(app, a.company.id)
    assert job.status == ExportStatus.FAILED and "The export failed" in job.message
    assert not [p for p in uploads.rglob("*") if p.is_file() and not {"work_orders", "invoices", "disclosures"} & set(p.parts)]  # the world's photo, invoice, scan
    assert admin.get(f"/c/{a.company.slug}/exports/{job.id}/download").status_code == 303


def test_only_admins_may_export(app, a, login_as):
    steward = login_as(a.steward)
    assert steward.post(f"/c/{a.company.slug}/exports").status_code == 403
    assert steward.get(f"/c/{a.company.slug}/exports").status_code == 403
    job_id = exports(app, a.company.id)[0].id
    assert steward.get(f"/c/{a.company.slug}/exports/{job_id}/download").status_code == 403


def test_export_is_written_in_the_language_of_the_admin_who_asked(app, a, admin, monkeypatch):
    from flask_babel import get_locale

    seen = []
    real = services.write_workbook

    def spy(path, progress):
        seen.append(get_locale().language)
        return real(path, progress)

    monkeypatch.setattr(services, "write_workbook", spy)
    admin.get("/lang/zh_CN")
    admin.post(f"/c/{a.company.slug}/exports")
    admin.get("/lang/en")
    with app.app_context(), company_context(a.company.id):
        db.session.add(ExportJob(created_by_id=a.admin.id, status=ExportStatus.DONE))  # not running: a new one starts
        db.session.commit()
    admin.post(f"/c/{a.company.slug}/exports")
    assert seen == ["zh", "en"]


@requires_redis
def test_export_runs_on_a_real_rq_worker(db_urls, app, a):
    from redis import Redis
    from rq import SimpleWorker

    from saas.jobs import queue
    from tests.conftest import make_test_app
    from tests.factories import login

    rq_app = make_test_app(db_urls, REDIS_URL=REDIS_URL, JOB_QUEUE_NAME=f"test-exports-{uuid.uuid4().hex[:8]}",
                           UPLOAD_FOLDER=app.config["UPLOAD_FOLDER"])
    client = login(rq_app.test_client(), a.admin)
    try:
        assert client.post(f"/c/{a.company.slug}/exports").status_code == 303
        job = newest(app, a.company.id)
        assert job.status == ExportStatus.RUNNING
        assert f"/exports/{job.id}/status" in client.get(f"/c/{a.company.slug}/exports").get_data(as_text=True)
        with rq_app.app_context():
            assert SimpleWorker([queue()], connection=Redis.from_url(REDIS_URL)).work(burst=True)
        job = newest(app, a.company.id)
        assert job.status == ExportStatus.DONE
        response = client.get(f"/c/{a.company.slug}/exports/{job.id}/download")
        assert response.status_code == 200
        assert "Households" in openpyxl.load_workbook(io.BytesIO(response.data)).sheetnames
    finally:
        with rq_app.app_context():
            queue().delete(delete_jobs=True)
