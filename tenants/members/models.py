"""Invitations of staff by phone or e-mail: single use, expiring, stored as a hash of the token."""

from __future__ import annotations

import enum
import hashlib
import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from saas.clock import AwareDateTime, aware
from saas.extensions import db
from saas.i18n import _l
from saas.models import Role, _enum
from saas.tenancy import CompanyScoped, utcnow


def hash_token(token: str) -> str:
    return hashlib.sha256((token or "").encode("utf-8")).hexdigest()


class InvitationStatus(enum.StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    EXPIRED = "expired"
    REVOKED = "revoked"

    @property
    def label(self) -> str:
        return str(INVITATION_STATUS_LABELS[self])


INVITATION_STATUS_LABELS = {
    InvitationStatus.PENDING: _l("Pending"),
    InvitationStatus.ACCEPTED: _l("Accepted"),
    InvitationStatus.EXPIRED: _l("Expired"),
    InvitationStatus.REVOKED: _l("Withdrawn"),
}



class Invitation(CompanyScoped, db.Model):
    __tablename__ = "invitations"

    invited_by_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id"))
    name: Mapped[str] = mapped_column(String(50))
    role: Mapped[Role] = mapped_column(_enum(Role, "invitation_role"))
    phone: Mapped[str] = mapped_column(String(11), default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    # sha256 of the secret token in the link; the token itself is never stored.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(AwareDateTime())
    accepted_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    accepted_user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))
    revoked_at: Mapped[datetime | None] = mapped_column(AwareDateTime())

    def status(self, now: datetime | None = None) -> InvitationStatus:
        if self.accepted_at is not None:
            return InvitationStatus.ACCEPTED
        if self.revoked_at is not None:
            return InvitationStatus.REVOKED
        if aware(self.expires_at) <= (now or utcnow()):
            return InvitationStatus.EXPIRED
        return InvitationStatus.PENDING

    @property
    def contact(self) -> str:
        return " / ".join(x for x in (self.phone, self.email) if x)

    @property
    def label(self) -> str:
        return f"{self.name} {self.contact}"
