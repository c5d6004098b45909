"""Invitations of staff by phone or e-mail: single use, expiring, stored as a hash of the token."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from saas.extensions import db
from saas.models import Role, _enum
from saas.tenancy import CompanyScoped


class Invitation(CompanyScoped, db.Model):
    __tablename__ = "invitations"

    invited_by_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id"))
    name: Mapped[str] = mapped_column(String(50))
    role: Mapped[Role] = mapped_column(_enum(Role, "invitation_role"))
    phone: Mapped[str] = mapped_column(String(11), default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    # sha256 of the secret token in the link; the token itself is never stored.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    accepted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    accepted_user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
