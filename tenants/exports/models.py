"""Whole-company data exports (one .xlsx workbook, a sheet per table)."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from saas.clock import AwareDateTime
from saas.extensions import db
from saas.models import _enum
from saas.tenancy import CompanyScoped


class ExportStatus(enum.StrEnum):
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class ExportJob(CompanyScoped, db.Model):
    __tablename__ = "export_jobs"

    created_by_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id"))
    status: Mapped[ExportStatus] = mapped_column(_enum(ExportStatus, "export_status"),
                                                 default=lambda: ExportStatus.RUNNING)
    total_rows: Mapped[int] = mapped_column(Integer, default=0)
    processed_rows: Mapped[int] = mapped_column(Integer, default=0)
    stored_path: Mapped[str] = mapped_column(String(500), default="")
    size_bytes: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[str] = mapped_column(String(500), default="")
    finished_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
