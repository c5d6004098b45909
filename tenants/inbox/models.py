"""In-app notices (the bell and its unread count). Any module can leave one for a user through
tenants.inbox.services.notify, which also queues the SMS copy in the outbox when one is wanted."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from saas.clock import AwareDateTime
from saas.extensions import db
from saas.tenancy import CompanyScoped


class Notification(CompanyScoped, db.Model):
    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_user_unread", "company_id", "user_id", "read_at"),
        Index("ix_notifications_user_created", "company_id", "user_id", "created_at"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(String(300))
    # What it is about, e.g. ("work_order", id): the inbox links to it as the reader's role sees it.
    subject_type: Mapped[str] = mapped_column(String(30), default="")
    subject_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    read_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
