"""The notifications outbox: every message the product would send, kept per company."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import Index, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from saas.clock import AwareDateTime
from saas.extensions import db
from saas.models import _enum
from saas.tenancy import CompanyScoped


class Channel(enum.StrEnum):
    SMS = "sms"
    EMAIL = "email"


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"      # waiting for a delivery job
    SENT = "sent"            # handed to a real provider (SMTP)
    OUTBOX_ONLY = "outbox"   # no provider configured: shown on the outbox page only
    FAILED = "failed"


class OutboxMessage(CompanyScoped, db.Model):
    __tablename__ = "outbox_messages"
    __table_args__ = (Index("ix_outbox_messages_company_created", "company_id", "created_at"),)

    channel: Mapped[Channel] = mapped_column(_enum(Channel, "outbox_channel"))
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(200), default="")
    body: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(40))  # e.g. invitation, trial_reminder, steward_change
    status: Mapped[DeliveryStatus] = mapped_column(_enum(DeliveryStatus, "outbox_status"),
                                                   default=lambda: DeliveryStatus.PENDING)
    sent_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    error: Mapped[str] = mapped_column(String(500), default="")
    related_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
