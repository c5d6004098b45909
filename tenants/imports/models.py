"""Roster imports: one row per uploaded file, with progress and per-row problems."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from saas.clock import AwareDateTime
from saas.extensions import db
from saas.models import _enum
from saas.tenancy import CompanyScoped


class ImportStatus(enum.StrEnum):
    VALIDATING = "validating"    # the job is checking every row
    INVALID = "invalid"          # problems found; nothing committed
    READY = "ready"              # clean: waiting for the admin to commit
    COMMITTING = "committing"    # the job is writing
    COMMITTED = "committed"      # done, all rows written
    FAILED = "failed"            # an unexpected error; nothing committed


class ImportBatch(CompanyScoped, db.Model):
    __tablename__ = "import_batches"

    # What the file brings in: "roster" (households), or a fee import ("readings", "opening":
    # tenants/fees/fee_imports.py). Each kind has its own engine and pages (tenants.imports.services.KINDS).
    kind: Mapped[str] = mapped_column(String(10), default="roster", server_default="roster")
    created_by_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id"))
    filename: Mapped[str] = mapped_column(String(255))
    file_sha256: Mapped[str] = mapped_column(String(64))
    stored_path: Mapped[str] = mapped_column(String(500))
    status: Mapped[ImportStatus] = mapped_column(_enum(ImportStatus, "import_status"),
                                                 default=lambda: ImportStatus.VALIDATING)
    total_rows: Mapped[int] = mapped_column(Integer, default=0)
    processed_rows: Mapped[int] = mapped_column(Integer, default=0)
    error_count: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[list] = mapped_column(JSON, default=list)  # [{"row": 3, "column": "面积", "message": "..."}], capped
    created_count: Mapped[int] = mapped_column(Integer, default=0)
    updated_count: Mapped[int] = mapped_column(Integer, default=0)
    unchanged_count: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[str] = mapped_column(String(500), default="")
    finished_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
