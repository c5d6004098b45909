"""Roster imports: upload → validate (a job, no writes) → preview → commit (a job, all rows or none).

Rows are matched to live households by community + building + unit + room: a match is updated (or left
unchanged when nothing differs), anything else is created, together with any community or building it
names that does not exist yet. Re-importing a file therefore changes nothing.

Other kinds of import (meter readings and opening balances: tenants/fees/fee_imports.py) use the same batches,
upload, jobs and commit: each registers an ``ImportKind`` (its file layout, its engine, its audit event) in KINDS,
and ``ImportBatch.kind`` says which one a batch is.

Memory stays flat whatever the file size: rows are streamed (parsing.read_rows) and handled in chunks of
CHUNK_ROWS, each chunk looked up in the database with one query. What grows with the file is an 8-byte
hash per row (to find rows repeated within the file) and the problem list, capped at MAX_STORED_PROBLEMS.

Progress: the job's own transaction must stay open while it writes (all or nothing), so processed_rows is
written through a separate, short session (ProgressWriter). Validation writes nothing in its main
transaction, so that works on every database. While committing, PostgreSQL takes the progress updates
from the second connection; SQLite allows one writer at a time and the import's own transaction holds it,
so on SQLite the commit reports its progress only when it finishes.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from flask import current_app
from flask_babel import gettext
from flask_babel.speaklater import LazyString
from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from saas.audit import record
from saas.errors import ServiceError
from saas.extensions import db
from saas.i18n import _l
from saas.models import Company, User
from saas.subscriptions.plans import PlanLimitExceeded, check_household_capacity
from saas.tenancy import new_id, require_company_id, utcnow
from saas.validators import normalise_mobile, parse_area
from tenants.imports.models import ImportBatch, ImportStatus
from tenants.imports.parsing import COLUMN_OF, N_, ROSTER, FileProblem, Layout, detect_format, precheck, read_rows
from tenants.roster.codes import generate_household_code
from tenants.roster.models import Building, Community, Household, Occupancy

log = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 5 * 1024 * 1024
DEFAULT_MAX_ROWS = 50_000
DEFAULT_MAX_UNZIPPED_BYTES = 200 * 1024 * 1024
CHUNK_ROWS = 500
PROGRESS_EVERY = 200
MAX_STORED_PROBLEMS = 500
MAX_STORED_NOTES = 300

OCCUPANCY_VALUES = {
    "已入住": Occupancy.OCCUPIED, "入住": Occupancy.OCCUPIED, "空置": Occupancy.VACANT,
    "未交付": Occupancy.UNDELIVERED,
    **{o.value: o for o in Occupancy},
    "not yet delivered": Occupancy.UNDELIVERED,
}
OCCUPANCY_NAMES = {Occupancy.OCCUPIED: "已入住", Occupancy.VACANT: "空置", Occupancy.UNDELIVERED: "未交付"}

# Messages a stored batch refers to by msgid (translated when shown).
PLAN_LIMIT = N_("These households do not fit in your plan.")
QUEUE_DOWN = N_("The background job could not be started. Nothing was imported; upload the file again.")
JOB_FAILED = N_("The import stopped because of an unexpected error. Nothing was imported; upload the file again.")
FILE_GONE = N_("The uploaded file is no longer available. Nothing was imported; upload it again.")
ROSTER_CHANGED = N_("Someone changed the roster while the import was being written. Nothing was imported; "
                    "upload the file again.")


class ImportProblem(ServiceError):
    """A rule was broken by the upload or the action; ``message`` is already translated (a plain string). On the
    upload form it belongs under the file field."""

    def __init__(self, message):
        super().__init__(str(message), field="file")


@dataclass(frozen=True)
class ImportKind:
    """One kind of import file. ``engine(company_id=, write=, progress=, actor_id=)`` returns an object whose
    ``run(path, fmt, max_rows)`` checks every row (and with ``write`` writes them in the caller's transaction)
    and returns an Outcome. ``on_commit(batch_id, filename, outcome, actor, company_id)`` records the commit in
    the audit log, in the same transaction; ``before_commit(batch)`` may refuse to start one (ImportProblem)."""

    name: str
    layout: Layout
    engine: Callable
    on_commit: Callable
    before_commit: Callable | None = None


KINDS: dict[str, ImportKind] = {}


def register_kind(kind: ImportKind) -> ImportKind:
    KINDS[kind.name] = kind
    return kind


def limits() -> dict:
    config = current_app.config
    return {
        "max_bytes": int(config.get("IMPORT_MAX_BYTES", DEFAULT_MAX_BYTES)),
        "max_rows": int(config.get("IMPORT_MAX_ROWS", DEFAULT_MAX_ROWS)),
        "max_unzipped_bytes": int(config.get("IMPORT_MAX_UNZIPPED_BYTES", DEFAULT_MAX_UNZIPPED_BYTES)),
    }


def upload_root() -> Path:
    return Path(current_app.config["UPLOAD_FOLDER"])


def stored_file(batch: ImportBatch) -> Path:
    return upload_root() / batch.stored_path


def translate(message: str, params: dict | None = None) -> str:
    return gettext(message, **(params or {}))


def _msgid(message) -> tuple[str, dict]:
    """(msgid, params) of a lazy_gettext string, so a stored message can be translated when shown."""
    if isinstance(message, LazyString) and message._args:
        return str(message._args[0]), {k: str(v) for k, v in message._kwargs.items()}
    return str(message), {}


# --- upload ---------------------------------------------------------------------------------------------


def _clean_filename(name: str) -> str:
    name = os.path.basename((name or "").replace("\\", "/"))
    name = re.sub(r"[\x00-\x1f\x7f]", "", name).strip()
    return name[:255] or "upload"


def create_import(upload, *, actor: User, kind: str = "roster") -> ImportBatch:
    """Store an uploaded file, check it cheaply (type, size, rows, headings), and start the validation job.

    ``upload`` is a werkzeug FileStorage; ``kind`` one of KINDS. Raises ImportProblem with a user message;
    nothing is kept then.
    """
    from saas.jobs import enqueue
    from tenants.imports import jobs

    company_id = require_company_id()
    max_ = limits()
    filename = _clean_filename(upload.filename)
    batch_id = new_id()
    folder = upload_root() / str(company_id) / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / f"{batch_id}.part"
    digest, size, head = hashlib.sha256(), 0, b""
    try:
        with partial.open("wb") as out:
            while chunk := upload.stream.read(1 << 16):
                size += len(chunk)
                if size > max_["max_bytes"]:
                    raise ImportProblem(too_big_message(max_["max_bytes"]))
                if len(head) < 8:
                    head += chunk[:8]
                digest.update(chunk)
                out.write(chunk)
        fmt = detect_format(filename, head)
        path = folder / f"{batch_id}.{fmt}"
        partial.replace(path)
        partial = path
        estimate = precheck(path, fmt, max_rows=max_["max_rows"], max_unzipped_bytes=max_["max_unzipped_bytes"],
                            layout=KINDS[kind].layout)
    except FileProblem as exc:
        partial.unlink(missing_ok=True)
        raise ImportProblem(translate(exc.message, exc.params)) from None
    except BaseException:
        partial.unlink(missing_ok=True)
        raise

    batch = ImportBatch(
        id=batch_id, kind=kind, created_by_id=actor.id, filename=filename, file_sha256=digest.hexdigest(),
        stored_path=str(Path(str(company_id)) / "imports" / path.name), status=ImportStatus.VALIDATING,
        total_rows=estimate or 0, processed_rows=0, errors=[], message="",
    )
    db.session.add(batch)
    db.session.commit()
    try:
        enqueue(jobs.validate_import, str(batch.id), company_id=company_id)
    except Exception:
        log.exception("could not enqueue import validation %s", batch.id)
        db.session.rollback()
        _finish(batch_id, ImportStatus.FAILED, message=QUEUE_DOWN)
    db.session.expire_all()
    return db.session.get(ImportBatch, (company_id, batch_id))


def too_big_message(max_bytes: int) -> str:
    return gettext("The file is larger than %(max)s MB. Split it into smaller files.",
                   max=f"{max_bytes / (1024 * 1024):g}")


# --- commit ------------------------------------------------------------------------------------------------


def start_commit(batch: ImportBatch, *, actor: User) -> None:
    """Ready → committing, then the commit job. Raises ImportProblem when the batch cannot be committed."""
    from saas.jobs import enqueue
    from tenants.imports import jobs

    if batch.status != ImportStatus.READY:
        raise ImportProblem(_l("Only a checked file without problems can be imported."))
    before_commit = KINDS[batch.kind].before_commit
    if before_commit is not None:
        before_commit(batch)
    # Compare-and-set, so a double click (or two admins) starts one commit only.
    claimed = db.session.execute(
        update(ImportBatch)
        .where(ImportBatch.id == batch.id, ImportBatch.status == ImportStatus.READY)
        .values(status=ImportStatus.COMMITTING, processed_rows=0)
    ).rowcount
    db.session.commit()
    if claimed != 1:
        raise ImportProblem(_l("This import has already been started."))
    try:
        enqueue(jobs.commit_import, str(batch.id), str(actor.id), company_id=batch.company_id)
    except Exception:
        log.exception("could not enqueue import commit %s", batch.id)
        db.session.rollback()
        db.session.execute(update(ImportBatch).where(ImportBatch.id == batch.id)
                           .values(status=ImportStatus.READY))
        db.session.commit()
        raise ImportProblem(_l("The background job could not be started. Try again in a minute.")) from None


def _check_capacity(batch: ImportBatch) -> None:
    company = db.session.get(Company, batch.company_id)
    try:
        check_household_capacity(company, batch.created_count)
    except PlanLimitExceeded as exc:
        raise ImportProblem(exc.message) from None


# --- the engine shared by validation and commit ------------------------------------------------------------


@dataclass
class RowData:
    row: int
    community: str
    building: str
    unit: str
    room: str
    floor_area_dm2: int
    occupancy: Occupancy
    owner_name: str
    owner_phone: str

    @property
    def key_hash(self) -> bytes:
        key = "\x1f".join((self.community, self.building, self.unit, self.room))
        return hashlib.blake2b(key.encode(), digest_size=8).digest()


@dataclass
class Outcome:
    total: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    error_count: int = 0
    problems: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    new_communities: int = 0
    new_buildings: int = 0
    plan_exceeded: bool = False

    def problem(self, row: int | None, column: str, message, /, **params) -> None:
        self.error_count += 1
        if len(self.problems) < MAX_STORED_PROBLEMS:
            msgid, lazy_params = _msgid(message)
            self.problems.append({"row": row, "column": column, "message": msgid,
                                  "params": {**lazy_params, **{k: str(v) for k, v in params.items()}}})

    def note(self, kind: str, **values) -> None:
        if kind == "new_community":
            self.new_communities += 1
        else:
            self.new_buildings += 1
        if len(self.notes) < MAX_STORED_NOTES:
            self.notes.append({"kind": kind, **values})

    @property
    def stored_errors(self) -> list:
        return [*self.problems, *self.notes,
                {"kind": "totals", "communities": self.new_communities, "buildings": self.new_buildings}]


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def check_row(row: int, values: tuple[str, ...], outcome: Outcome) -> RowData | None:
    """The same rules as the household form (tenants/roster/forms.py); every problem is reported."""
    community, building, unit, room, area, occupancy, owner_name, owner_phone = values
    before = outcome.error_count

    def text(field_name: str, value: str, max_len: int, required=None) -> str:
        column = COLUMN_OF[field_name]
        if _CONTROL.search(value):
            outcome.problem(row, column, N_("Remove line breaks and control characters."))
        elif required and not value:
            outcome.problem(row, column, required)
        elif len(value) > max_len:
            outcome.problem(row, column, N_("At most %(max)s characters."), max=max_len)
        return value

    community = text("community", community, 64, N_("Enter the community name."))
    building = text("building", building, 32, N_("Enter the building, e.g. 3号楼."))
    if unit.endswith("单元"):
        unit = unit[: -len("单元")].strip()
    unit = text("unit", unit, 16)
    room = text("room", room, 16, N_("Enter the room number."))
    owner_name = text("owner_name", owner_name, 32)

    area_dm2 = 0
    try:
        area_dm2 = int(parse_area(area) * 100)
    except ValueError as exc:
        outcome.problem(row, COLUMN_OF["floor_area"], exc.args[0])

    occupancy_value = OCCUPANCY_VALUES.get(occupancy.strip().lower())
    if occupancy_value is None:
        if not occupancy:
            outcome.problem(row, COLUMN_OF["occupancy"], N_("Enter 已入住, 空置 or 未交付."))
        else:
            outcome.problem(row, COLUMN_OF["occupancy"], N_("Write 已入住, 空置 or 未交付, not “%(value)s”."),
                            value=occupancy[:20])

    phone = ""
    if owner_phone:
        phone = normalise_mobile(owner_phone) or ""
        if not phone:
            outcome.problem(row, COLUMN_OF["owner_phone"],
                            N_("Enter a mainland mobile number: 11 digits starting with 1, e.g. 13800138000."))

    if outcome.error_count != before:
        return None
    return RowData(row, community, building, unit, room, area_dm2, occupancy_value, owner_name, phone)


class ProgressWriter:
    """Writes processed_rows through its own short transaction, so a poll sees it while the job's
    transaction is still open. ``enabled=False`` makes it a no-op (SQLite while the job holds the write lock)."""

    def __init__(self, model, object_id: uuid.UUID, *, enabled: bool = True, every: int | None = None):
        self.model, self.object_id, self.enabled = model, object_id, enabled
        self.every = every or PROGRESS_EVERY
        self.last = 0

    def __call__(self, processed: int, *, force: bool = False, **values) -> None:
        if not self.enabled or (processed - self.last < self.every and not force):
            return
        self.last = processed
        with Session(db.engine) as session:
            session.execute(update(self.model).where(self.model.id == self.object_id)
                            .values(processed_rows=processed, **values))
            session.commit()


class _Engine:
    """Walks the file once, chunk by chunk; with ``write`` it also writes (inside the caller's transaction)."""

    def __init__(self, *, company_id: uuid.UUID, write: bool, progress):
        self.company_id, self.write, self.progress = company_id, write, progress
        self.outcome = Outcome()
        self.communities = dict(db.session.execute(
            select(Community.name, Community.id).where(Community.live())).all())
        self.buildings = {
            (community_id, name): building_id for community_id, name, building_id in db.session.execute(
                select(Building.community_id, Building.name, Building.id)
                .where(Building.live()))
        }
        self.new_buildings: set[uuid.UUID] = set()
        self.created_communities: set[uuid.UUID] = set()
        self.seen: dict[bytes, int] = {}
        self.codes: set[str] | None = None
        self.existing_households = db.session.scalar(
            select(func.count()).select_from(Household).where(Household.live()))

    def run(self, path: Path, fmt: str, max_rows: int) -> Outcome:
        outcome = self.outcome
        chunk: list[RowData] = []
        try:
            for number, values in read_rows(path, fmt, max_rows=max_rows):
                outcome.total += 1
                data = check_row(number, values, outcome)
                if data is not None:
                    first = self.seen.setdefault(data.key_hash, number)
                    if first != number:
                        outcome.problem(number, COLUMN_OF["room"],
                                        N_("The same room as row %(row)s of this file."), row=first)
                    else:
                        chunk.append(data)
                if len(chunk) >= CHUNK_ROWS:
                    self._chunk(chunk)
                    chunk = []
                self.progress(outcome.total)
            self._chunk(chunk)
        except FileProblem as exc:
            outcome.problem(None, "", exc.message, **exc.params)
            return outcome
        if outcome.total == 0:
            outcome.problem(None, "", N_("The file has the column headings but no households below them."))
        if outcome.created:
            company = db.session.get(Company, self.company_id)
            try:
                check_household_capacity(company, outcome.created, existing=self.existing_households)
            except PlanLimitExceeded:
                outcome.plan_exceeded = True
                outcome.error_count += 1
        return outcome

    # -- one chunk: resolve buildings, look up matching households with one query, classify, write

    def _building_for(self, data: RowData) -> tuple[uuid.UUID, bool]:
        community_id = self.communities.get(data.community)
        if community_id is None:
            community_id = self.communities[data.community] = new_id()
            self.created_communities.add(community_id)
            self.outcome.note("new_community", community=data.community)
            if self.write:
                db.session.add(Community(id=community_id, company_id=self.company_id, name=data.community,
                                         address=""))
        building_id = self.buildings.get((community_id, data.building))
        if building_id is None:
            building_id = self.buildings[(community_id, data.building)] = new_id()
            self.new_buildings.add(building_id)
            self.outcome.note("new_building", community=data.community, building=data.building)
            if self.write:
                db.session.add(Building(id=building_id, company_id=self.company_id, community_id=community_id,
                                        name=data.building))
        return building_id, building_id in self.new_buildings

    def _chunk(self, chunk: list[RowData]) -> None:
        if not chunk:
            return
        placed = [(data, *self._building_for(data)) for data in chunk]
        keys = {(building_id, data.unit, data.room) for data, building_id, new in placed if not new}
        existing = {}
        if keys:
            # By building (an index prefix the planner always uses, even with stale statistics right after a
            # large import), keeping only this chunk's rooms.
            rows = db.session.execute(
                select(Household.building_id, Household.unit, Household.room, Household.id,
                       Household.floor_area_dm2, Household.occupancy, Household.owner_name, Household.owner_phone)
                .where(Household.live(),
                       Household.building_id.in_(sorted({key[0] for key in keys})))
            )
            existing = {(r[0], r[1], r[2]): r[3:] for r in rows if (r[0], r[1], r[2]) in keys}
        inserts, updates = [], []
        for data, building_id, _new in placed:
            wanted = (data.floor_area_dm2, data.occupancy, data.owner_name, data.owner_phone)
            match = existing.get((building_id, data.unit, data.room))
            if match is None:
                self.outcome.created += 1
                inserts.append({"company_id": self.company_id, "id": new_id(), "created_at": utcnow(),
                                "building_id": building_id, "unit": data.unit, "room": data.room,
                                "floor_area_dm2": data.floor_area_dm2, "occupancy": data.occupancy,
                                "owner_name": data.owner_name, "owner_phone": data.owner_phone})
            elif tuple(match[1:]) == wanted:
                self.outcome.unchanged += 1
            else:
                self.outcome.updated += 1
                updates.append({"company_id": self.company_id, "id": match[0], "floor_area_dm2": wanted[0],
                                "occupancy": wanted[1], "owner_name": wanted[2], "owner_phone": wanted[3]})
        # Once any problem is known the transaction will be rolled back: stop writing, keep checking.
        if not self.write or self.outcome.error_count:
            return
        db.session.flush()  # new communities and buildings first: households point at them
        if inserts:
            for row, code in zip(inserts, self._unique_codes(len(inserts)), strict=True):
                row["household_code"] = code
            db.session.execute(insert(Household), inserts)
        if updates:
            db.session.execute(update(Household), updates)
        # Bulk writes bypass the ORM listener: the roster's counts of these buildings are recounted at commit.
        from tenants.roster import figures

        figures.touch(buildings={building_id for _data, building_id, _new in placed}, company_id=self.company_id)


    def _unique_codes(self, n: int) -> list[str]:
        """n household codes used by no household of this company (deleted ones included) nor each other.

        The company's codes are read once (one query; a per-chunk lookup is slow on PostgreSQL while the
        statistics still describe the table as it was before the import), then kept with the new ones."""
        if self.codes is None:
            self.codes = set(db.session.scalars(select(Household.household_code)
                                                .where(Household.household_code.is_not(None))))
        codes: list[str] = []
        while len(codes) < n:
            code = generate_household_code()
            if code not in self.codes:
                self.codes.add(code)
                codes.append(code)
        return codes


# --- validation and commit, as the jobs run them -----------------------------------------------------------


def _load(batch_id) -> ImportBatch | None:
    return db.session.execute(
        select(ImportBatch).where(ImportBatch.id == uuid.UUID(str(batch_id)))).scalar_one_or_none()


def _finish(batch_id, status: ImportStatus, *, message: str = "", outcome: Outcome | None = None) -> None:
    """Record a batch's result in a fresh transaction of the job's session, and commit."""
    values = {"status": status, "message": message}
    if status in (ImportStatus.INVALID, ImportStatus.COMMITTED, ImportStatus.FAILED):
        values["finished_at"] = utcnow()
    if outcome is not None:
        values.update(total_rows=outcome.total, processed_rows=outcome.total, error_count=outcome.error_count,
                      errors=outcome.stored_errors, created_count=outcome.created,
                      updated_count=outcome.updated, unchanged_count=outcome.unchanged)
    db.session.execute(update(ImportBatch).where(ImportBatch.id == uuid.UUID(str(batch_id))).values(**values))
    db.session.commit()


def validate(batch_id) -> ImportStatus | None:
    """Check every row and classify it (create / update / unchanged); writes nothing but the batch's result."""
    batch = _load(batch_id)
    if batch is None or batch.status != ImportStatus.VALIDATING:
        return batch.status if batch else None
    path, fmt, company_id = stored_file(batch), Path(batch.stored_path).suffix.lstrip("."), batch.company_id
    if not path.exists():
        _finish(batch.id, ImportStatus.FAILED, message=FILE_GONE)
        return ImportStatus.FAILED
    progress = ProgressWriter(ImportBatch, batch.id)
    try:
        outcome = KINDS[batch.kind].engine(company_id=company_id, write=False, progress=progress, actor_id=None).run(
            path, fmt, limits()["max_rows"])
    except Exception:
        log.exception("import validation %s failed", batch_id)
        db.session.rollback()
        _finish(batch_id, ImportStatus.FAILED, message=JOB_FAILED)
        return ImportStatus.FAILED
    db.session.rollback()  # end the read transaction; nothing was written
    status = ImportStatus.INVALID if outcome.error_count else ImportStatus.READY
    _finish(batch_id, status, message=PLAN_LIMIT if outcome.plan_exceeded else "", outcome=outcome)
    return status


def commit(batch_id, actor_id) -> ImportStatus | None:
    """Re-check every row and write them all in one transaction, or write nothing. Idempotent."""
    batch = _load(batch_id)
    if batch is None or batch.status != ImportStatus.COMMITTING:
        return batch.status if batch else None
    path, fmt, company_id = stored_file(batch), Path(batch.stored_path).suffix.lstrip("."), batch.company_id
    batch_id, filename, kind = batch.id, batch.filename, KINDS[batch.kind]
    actor = db.session.get(User, uuid.UUID(str(actor_id)))
    if not path.exists():
        _finish(batch_id, ImportStatus.FAILED, message=FILE_GONE)
        return ImportStatus.FAILED
    progress = ProgressWriter(ImportBatch, batch_id, enabled=db.engine.dialect.name != "sqlite")
    try:
        outcome = kind.engine(company_id=company_id, write=True, progress=progress, actor_id=actor.id).run(
            path, fmt, limits()["max_rows"])
        if outcome.error_count:
            # The roster or the plan changed since the preview: nothing is written, the new problems are shown.
            db.session.rollback()
            _finish(batch_id, ImportStatus.INVALID, message=PLAN_LIMIT if outcome.plan_exceeded else "",
                    outcome=outcome)
            return ImportStatus.INVALID
        kind.on_commit(batch_id, filename, outcome, actor, company_id)
        values = {"status": ImportStatus.COMMITTED, "message": "", "finished_at": utcnow(),
                  "total_rows": outcome.total, "processed_rows": outcome.total, "error_count": 0,
                  "errors": outcome.stored_errors, "created_count": outcome.created,
                  "updated_count": outcome.updated, "unchanged_count": outcome.unchanged}
        db.session.execute(update(ImportBatch).where(ImportBatch.id == batch_id).values(**values))
        db.session.commit()
    except IntegrityError:
        log.warning("import %s hit a concurrent roster change", batch_id, exc_info=True)
        db.session.rollback()
        _finish(batch_id, ImportStatus.FAILED, message=ROSTER_CHANGED)
        return ImportStatus.FAILED
    except Exception:
        log.exception("import commit %s failed", batch_id)
        db.session.rollback()
        _finish(batch_id, ImportStatus.FAILED, message=JOB_FAILED)
        return ImportStatus.FAILED
    return ImportStatus.COMMITTED


# --- questions the pages ask ---------------------------------------------------------------------------------


def _audit_roster(batch_id, filename: str, outcome: Outcome, actor: User, company_id) -> None:
    record("import.commit", actor=actor, object_type="import", object_id=batch_id, object_label=filename,
           changes={"batch_id": str(batch_id), "rows": outcome.total, "created": outcome.created,
                    "updated": outcome.updated, "unchanged": outcome.unchanged,
                    "communities_created": outcome.new_communities,
                    "buildings_created": outcome.new_buildings},
           company_id=company_id)


register_kind(ImportKind(
    name="roster", layout=ROSTER,
    engine=lambda *, company_id, write, progress, actor_id: _Engine(company_id=company_id, write=write,
                                                                    progress=progress),
    on_commit=_audit_roster, before_commit=_check_capacity))


def plan_message(batch: ImportBatch) -> str | None:
    """The plan-limit message for this batch's new households, as things stand now (it names a plan that fits)."""
    if batch.status not in (ImportStatus.READY, ImportStatus.INVALID) or not batch.created_count:
        return None
    company = db.session.get(Company, batch.company_id)
    try:
        check_household_capacity(company, batch.created_count)
    except PlanLimitExceeded as exc:
        return str(exc.message)
    return None


def occupancy_name(value: Occupancy) -> str:
    return OCCUPANCY_NAMES[value]


# --- the template ----------------------------------------------------------------------------------------------


def template_file(fmt: str) -> tuple[bytes, str, str]:
    """(content, mimetype, download name) of the empty template, .xlsx or .csv."""
    import io

    from tenants.imports.parsing import COLUMNS

    if fmt == "csv":
        # With a BOM, Excel on Chinese Windows opens UTF-8 correctly.
        body = ",".join(COLUMNS) + "\r\n"
        return body.encode("utf-8-sig"), "text/csv", "住户导入模板.csv"

    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.worksheet.datavalidation import DataValidation

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "住户"
    sheet.append(COLUMNS)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    widths = (16, 10, 8, 10, 14, 10, 12, 16)
    for index, width in enumerate(widths):
        letter = chr(ord("A") + index)
        sheet.column_dimensions[letter].width = width
    # Unit, room and phone as text, so Excel keeps 0101 and does not show 1.38E+10.
    for letter in ("B", "C", "D", "H"):
        sheet.column_dimensions[letter].number_format = "@"
    occupancy = DataValidation(type="list", formula1='"已入住,空置,未交付"', allow_blank=False)
    occupancy.add("F2:F50001")
    sheet.add_data_validation(occupancy)
    sheet.freeze_panes = "A2"

    notes = workbook.create_sheet(gettext("Instructions")[:31])
    for line in (
        gettext("Fill in one household per row on the first sheet. Keep the headings in the first row."),
        gettext("Communities and buildings that do not exist yet are created by the import."),
        gettext("Floor area in m², e.g. 89.50. Occupancy: 已入住, 空置 or 未交付."),
        gettext("Unit and owner name and mobile may be left empty."),
        gettext("A row whose community, building, unit and room match an existing household updates it; "
                "importing the same file again changes nothing."),
        gettext("At most %(rows)s rows and %(mb)s MB per file.", rows=limits()["max_rows"],
                mb=f"{limits()['max_bytes'] / (1024 * 1024):g}"),
    ):
        notes.append([line])
    notes.column_dimensions["A"].width = 100
    out = io.BytesIO()
    workbook.save(out)
    return (out.getvalue(), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "住户导入模板.xlsx")
