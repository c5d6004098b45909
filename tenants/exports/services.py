"""Whole-company export: one .xlsx workbook with a sheet per table, written by a job.

openpyxl's write-only workbook streams each sheet to a temporary file, and every query streams its rows
(yield_per), so memory stays flat however much data the company has. Progress is written through a
separate short session (tenants.imports.services.ProgressWriter): the export's own queries keep their
transaction (and, on PostgreSQL, their server-side cursor) open while it runs.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

from flask import current_app
from flask_babel import force_locale, gettext
from sqlalchemy import func, select, update

from saas.audit import record
from saas.clock import local
from saas.extensions import db
from saas.i18n import _l
from saas.models import AuditEvent, Membership, User
from saas.notifications.models import OutboxMessage
from saas.tenancy import require_company_id, utcnow
from tenants.exports.models import ExportJob, ExportStatus
from tenants.imports.models import ImportBatch
from tenants.imports.services import ProgressWriter
from tenants.members.models import Invitation
from tenants.roster.models import Building, Community, Household, HouseholdOwner
from tenants.stewards.models import StewardAssignment, StewardContact, StewardProfile

log = logging.getLogger(__name__)

YIELD_PER = 1000
PROGRESS_EVERY = 1000
MAX_CELL_CHARS = 32_767  # Excel's limit
RECENT = timedelta(minutes=15)
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")  # what the xlsx XML cannot hold


class ExportProblem(Exception):
    def __init__(self, message):
        super().__init__(str(message))
        self.message = str(message)


def file_path(job: ExportJob) -> Path:
    return Path(current_app.config["UPLOAD_FOLDER"]) / job.stored_path


def download_name(job: ExportJob, slug: str) -> str:
    return f"{slug}-export-{_local(job.created_at):%Y%m%d}.xlsx"


_INVITE_LINK = re.compile(r"/invite/[A-Za-z0-9_\-]+")


def _redact_links(body: str) -> str:
    """An invitation link is a credential for 7 days: an export file must not carry a usable one."""
    return _INVITE_LINK.sub("/invite/…", body or "")


def _local(value: datetime | None) -> datetime | None:
    """UTC from the database → the company's wall-clock time, without tzinfo (Excel has none)."""
    if value is None:
        return None
    return local(value).replace(tzinfo=None)


# --- starting an export -----------------------------------------------------------------------------------


def start_export(*, actor: User, locale: str) -> ExportJob:
    """Create an export job and start it; an export already running (started in the last minutes) is reused."""
    from saas.jobs import enqueue
    from tenants.exports import jobs

    company_id = require_company_id()
    running = db.session.execute(
        select(ExportJob).where(ExportJob.status == ExportStatus.RUNNING,
                                ExportJob.created_at >= utcnow() - RECENT)
        .order_by(ExportJob.created_at.desc()).limit(1)
    ).scalar_one_or_none()
    if running is not None:
        return running
    job = ExportJob(created_by_id=actor.id, status=ExportStatus.RUNNING, total_rows=0, processed_rows=0,
                    stored_path="", size_bytes=0, message="")
    db.session.add(job)
    db.session.flush()
    record("export.create", actor=actor, object_type="export", object_id=job.id, object_label=str(job.id))
    db.session.commit()
    job_id = job.id
    try:
        enqueue(jobs.run_export, str(job_id), locale, company_id=company_id, timeout=3600)
    except Exception:
        log.exception("could not enqueue export %s", job_id)
        db.session.rollback()
        _finish(job_id, ExportStatus.FAILED,
                message=_l("The background job could not be started. Try again in a minute."))
    db.session.expire_all()
    return db.session.get(ExportJob, (company_id, job_id))


def record_download(job: ExportJob, *, actor: User) -> None:
    """Who downloaded the company's data is worth knowing. Never stands in the way of the download."""
    try:
        record("export.download", actor=actor, object_type="export", object_id=job.id, object_label=str(job.id))
        db.session.commit()
    except Exception:
        log.exception("could not record the download of export %s", job.id)
        db.session.rollback()


# --- the sheets ---------------------------------------------------------------------------------------------


def _label(enum_value) -> str:
    label = getattr(enum_value, "label", None)
    return str(label) if label is not None else str(getattr(enum_value, "value", enum_value) or "")


def _sheets():
    """(title, headings, statement, row → values). Everything the company owns, soft-deleted rows included; the
    fee ledger's sheets come from tenants/fees/fee_exports.py."""
    from tenants.fees.fee_exports import sheets as fee_sheets

    community = Community
    return [
        (_l("Communities"),
         [_l("ID"), _l("Name"), _l("Address"), _l("Created"), _l("Deleted")],
         select(community.id, community.name, community.address, community.created_at, community.deleted_at)
         .order_by(community.created_at, community.id),
         lambda r: [str(r[0]), r[1], r[2], _local(r[3]), _local(r[4])]),
        (_l("Buildings"),
         [_l("ID"), _l("Community ID"), _l("Community"), _l("Building"), _l("Created"), _l("Deleted")],
         select(Building.id, Building.community_id, Community.name, Building.name, Building.created_at,
                Building.deleted_at).join(Building.community).order_by(Community.name, Building.name, Building.id),
         lambda r: [str(r[0]), str(r[1]), r[2], r[3], _local(r[4]), _local(r[5])]),
        (_l("Households"),
         [_l("ID"), _l("Community"), _l("Building"), _l("Building ID"), _l("Unit"), _l("Room"),
          _l("Floor area (m²)"), _l("Occupancy"), _l("Owner name"), _l("Owner phone"), _l("Household code"),
          _l("Created"), _l("Deleted")],
         select(Household.id, Community.name, Building.name, Household.building_id, Household.unit, Household.room,
                Household.floor_area_dm2, Household.occupancy, Household.owner_name, Household.owner_phone,
                Household.household_code, Household.created_at, Household.deleted_at)
         .join(Household.building).join(Building.community)
         .order_by(Community.name, Building.name, Household.unit, Household.room, Household.id),
         lambda r: [str(r[0]), r[1], r[2], str(r[3]), r[4], r[5], (Decimal(r[6]) / 100).quantize(Decimal("0.01")),
                    _label(r[7]), r[8], r[9], r[10] or "", _local(r[11]), _local(r[12])]),
        (_l("Members"),
         [_l("Member ID"), _l("Name"), _l("Phone"), _l("E-mail"), _l("Role"), _l("Since"), _l("Ended")],
         select(Membership.id, User.name, User.phone, User.email, Membership.role, Membership.created_at,
                Membership.ended_at).join(User, User.id == Membership.user_id)
         .order_by(Membership.created_at, Membership.id),
         lambda r: [str(r[0]), r[1], r[2] or "", r[3] or "", _label(r[4]), _local(r[5]), _local(r[6])]),
        (_l("Household owners"),
         [_l("Household ID"), _l("Member ID"), _l("Verified"), _l("Since"), _l("Ended")],
         select(HouseholdOwner.household_id, HouseholdOwner.membership_id, HouseholdOwner.verified_at,
                HouseholdOwner.created_at, HouseholdOwner.ended_at)
         .order_by(HouseholdOwner.created_at, HouseholdOwner.id),
         lambda r: [str(r[0]), str(r[1]), _local(r[2]), _local(r[3]), _local(r[4])]),
        (_l("Steward assignments"),
         [_l("Household ID"), _l("Member ID"), _l("From"), _l("Why"), _l("Until"), _l("Why it ended"), _l("Note")],
         select(StewardAssignment.household_id, StewardAssignment.steward_id, StewardAssignment.started_at,
                StewardAssignment.start_reason, StewardAssignment.ended_at, StewardAssignment.end_reason,
                StewardAssignment.note, StewardAssignment.end_note)
         .order_by(StewardAssignment.started_at, StewardAssignment.id),
         lambda r: [str(r[0]), str(r[1]), _local(r[2]), _label(r[3]), _local(r[4]), _label(r[5]) if r[5] else "",
                    " / ".join(n for n in (r[6], r[7]) if n)]),
        (_l("Steward contacts"),
         [_l("Date"), _l("Household ID"), _l("Member ID"), _l("How"), _l("Note"), _l("Logged")],
         select(StewardContact.contacted_on, StewardContact.household_id, StewardContact.steward_id,
                StewardContact.kind, StewardContact.note, StewardContact.created_at)
         .order_by(StewardContact.contacted_on, StewardContact.id),
         lambda r: [r[0], str(r[1]), str(r[2]), _label(r[3]), r[4], _local(r[5])]),
        (_l("Steward profiles"),
         [_l("Member ID"), _l("Capacity"), _l("Work phone"), _l("Working hours"), _l("Photo")],
         select(StewardProfile.membership_id, StewardProfile.capacity, StewardProfile.work_phone,
                StewardProfile.working_hours, StewardProfile.photo_updated_at)
         .order_by(StewardProfile.created_at, StewardProfile.id),
         lambda r: [str(r[0]), r[1] if r[1] is not None else "", r[2], r[3], _local(r[4])]),
        (_l("Audit log"),
         [_l("Time"), _l("Who"), _l("Action"), _l("Object type"), _l("Object ID"), _l("Object"), _l("Changes"),
          _l("IP address")],
         select(AuditEvent.created_at, AuditEvent.actor_name, AuditEvent.action, AuditEvent.object_type,
                AuditEvent.object_id, AuditEvent.object_label, AuditEvent.changes, AuditEvent.ip)
         .order_by(AuditEvent.created_at, AuditEvent.id),
         lambda r: [_local(r[0]), r[1], r[2], r[3], str(r[4]) if r[4] else "", r[5],
                    json.dumps(r[6], ensure_ascii=False) if r[6] else "", r[7]]),
        (_l("Imports"),
         [_l("Uploaded"), _l("By"), _l("File"), _l("Status"), _l("Rows"), _l("Created"), _l("Updated"),
          _l("Unchanged"), _l("Problems"), _l("Finished")],
         select(ImportBatch.created_at, User.name, ImportBatch.filename, ImportBatch.status, ImportBatch.total_rows,
                ImportBatch.created_count, ImportBatch.updated_count, ImportBatch.unchanged_count,
                ImportBatch.error_count, ImportBatch.finished_at)
         .join(User, User.id == ImportBatch.created_by_id).order_by(ImportBatch.created_at, ImportBatch.id),
         lambda r: [_local(r[0]), r[1], r[2], str(r[3].value), r[4], r[5], r[6], r[7], r[8], _local(r[9])]),
        (_l("Invitations"),
         [_l("Sent"), _l("Name"), _l("Role"), _l("Phone"), _l("E-mail"), _l("Expires"), _l("Accepted"),
          _l("Revoked")],
         select(Invitation.created_at, Invitation.name, Invitation.role, Invitation.phone, Invitation.email,
                Invitation.expires_at, Invitation.accepted_at, Invitation.revoked_at)
         .order_by(Invitation.created_at, Invitation.id),
         lambda r: [_local(r[0]), r[1], _label(r[2]), r[3], r[4], _local(r[5]), _local(r[6]), _local(r[7])]),
        (_l("Messages"),
         [_l("Time"), _l("Channel"), _l("Recipient"), _l("Subject"), _l("Message"), _l("Kind"), _l("Status"),
          _l("Sent"), _l("Error")],
         select(OutboxMessage.created_at, OutboxMessage.channel, OutboxMessage.recipient, OutboxMessage.subject,
                OutboxMessage.body, OutboxMessage.kind, OutboxMessage.status, OutboxMessage.sent_at,
                OutboxMessage.error).order_by(OutboxMessage.created_at, OutboxMessage.id),
         lambda r: [_local(r[0]), str(r[1].value), r[2], r[3], _redact_links(r[4]), r[5], str(r[6].value),
                    _local(r[7]), r[8]]),
        *fee_sheets(),
    ]


def _count(statement) -> int:
    return db.session.scalar(select(func.count()).select_from(statement.order_by(None).subquery()))


def _sheet_title(title, used: set[str]) -> str:
    text = re.sub(r"[\[\]:*?/\\]", " ", str(title)).strip()[:31] or "Sheet"
    while text in used:
        text = text[:28] + f" {len(used)}"
    used.add(text)
    return text


def _cell(sheet, value):
    """A value as openpyxl should write it: text that looks like a formula stays text (no formula injection);
    a Decimal (yuan, m²) is a number shown with two decimals."""
    from openpyxl.cell import WriteOnlyCell

    if isinstance(value, Decimal):
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = "0.00"
        return cell
    if isinstance(value, str):
        value = _ILLEGAL.sub("", value)[:MAX_CELL_CHARS]
        if value.startswith("="):
            cell = WriteOnlyCell(sheet, value=value)
            cell.data_type = "s"
            return cell
    return value


def write_workbook(path: Path, progress) -> tuple[int, int]:
    """Write the company's workbook to ``path``; returns (rows written, size in bytes)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    sheets = _sheets()
    total = sum(_count(statement) for _, _, statement, _ in sheets)
    progress(0, force=True, total_rows=total)
    workbook = Workbook(write_only=True)
    bold = Font(bold=True)
    used: set[str] = set()
    written = 0
    for title, headings, statement, to_values in sheets:
        sheet = workbook.create_sheet(_sheet_title(title, used))
        header = []
        for heading in headings:
            cell = WriteOnlyCell(sheet, value=str(heading))
            cell.font = bold
            header.append(cell)
        sheet.append(header)
        for row in db.session.execute(statement.execution_options(yield_per=YIELD_PER)):
            sheet.append([_cell(sheet, v) for v in to_values(row)])
            written += 1
            progress(written)
    partial = path.with_suffix(".part")
    workbook.save(partial)
    partial.replace(path)
    return written, path.stat().st_size


# --- the job --------------------------------------------------------------------------------------------------


def _finish(job_id, status: ExportStatus, *, message="", **values) -> None:
    db.session.execute(update(ExportJob).where(ExportJob.id == job_id).values(
        status=status, message=str(message)[:500], finished_at=utcnow(), **values))
    db.session.commit()


def run(export_id, locale: str) -> ExportStatus | None:
    job = db.session.execute(
        select(ExportJob).where(ExportJob.id == uuid.UUID(str(export_id)))).scalar_one_or_none()
    if job is None or job.status != ExportStatus.RUNNING:
        return job.status if job else None
    job_id, company_id = job.id, job.company_id
    relative = Path(str(company_id)) / "exports" / f"{job_id}.xlsx"
    path = Path(current_app.config["UPLOAD_FOLDER"]) / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    progress = ProgressWriter(ExportJob, job_id, every=PROGRESS_EVERY)
    try:
        with force_locale(locale or current_app.config["BABEL_DEFAULT_LOCALE"]):
            written, size = write_workbook(path, progress)
    except Exception:
        log.exception("export %s failed", job_id)
        db.session.rollback()
        path.with_suffix(".part").unlink(missing_ok=True)
        with force_locale(locale or current_app.config["BABEL_DEFAULT_LOCALE"]):
            message = gettext("The export failed. Try again; if it keeps failing, contact us.")
        _finish(job_id, ExportStatus.FAILED, message=message)
        return ExportStatus.FAILED
    db.session.rollback()  # end the long read transaction
    _finish(job_id, ExportStatus.DONE, stored_path=str(relative), size_bytes=size, processed_rows=written,
            total_rows=written)
    return ExportStatus.DONE
