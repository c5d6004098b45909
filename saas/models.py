"""Platform tables (companies, users) and the company-scoped membership and audit tables."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from flask_babel import lazy_gettext as _l
from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Uuid,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from saas.extensions import db
from saas.tenancy import CompanyScoped, new_id, utcnow


def _enum(enum_cls, name: str) -> Enum:
    # Store the value strings; a CHECK constraint (not a PG enum type) keeps migrations simple.
    return Enum(enum_cls, name=name, native_enum=False, create_constraint=True,
                values_callable=lambda e: [m.value for m in e], validate_strings=True, length=20)


class Company(db.Model):
    """A property-management company: the tenant. A platform table (no company_id of its own)."""

    __tablename__ = "companies"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    slug: Mapped[str] = mapped_column(String(63), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    def __repr__(self) -> str:
        return f"<Company {self.slug}>"


class User(UserMixin, db.Model):
    """A person who can sign in. Belongs to companies only through memberships."""

    __tablename__ = "users"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(50))
    phone: Mapped[str | None] = mapped_column(String(11), unique=True)
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    is_platform_admin: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    is_active_account: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    failed_logins: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password, method="scrypt")

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    @property
    def is_active(self) -> bool:  # Flask-Login
        return self.is_active_account

    @property
    def login_name(self) -> str:
        return self.phone or self.email or ""

    def __repr__(self) -> str:
        return f"<User {self.login_name}>"


class Role(enum.StrEnum):
    ADMIN = "admin"
    STEWARD = "steward"
    TECHNICIAN = "technician"
    OWNER = "owner"

    @property
    def label(self) -> str:
        return str(ROLE_LABELS[self])


ROLE_LABELS = {
    Role.ADMIN: _l("Company admin"),
    Role.STEWARD: _l("Steward"),
    Role.TECHNICIAN: _l("Technician"),
    Role.OWNER: _l("Owner"),
}
STAFF_ROLES = (Role.ADMIN, Role.STEWARD, Role.TECHNICIAN)


class Membership(CompanyScoped, db.Model):
    """A user's place in one company, with one role. Ended, never deleted."""

    __tablename__ = "memberships"
    __table_args__ = (
        # One current membership per user and company; ended ones stay as history.
        Index(
            "uq_memberships_current_user",
            "company_id",
            "user_id",
            unique=True,
            sqlite_where=text("ended_at IS NULL"),
            postgresql_where=text("ended_at IS NULL"),
        ),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id"), index=True)
    role: Mapped[Role] = mapped_column(_enum(Role, "membership_role"))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    user: Mapped[User] = relationship(lazy="joined", innerjoin=True)

    @property
    def is_current(self) -> bool:
        return self.ended_at is None


class AuditEvent(CompanyScoped, db.Model):
    """Append-only record of a write that matters, readable by the company admin."""

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_company_created", "company_id", "created_at"),
        Index("ix_audit_events_company_object", "company_id", "object_type", "object_id"),
        Index("ix_audit_events_company_actor", "company_id", "actor_id"),
    )

    actor_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))
    actor_name: Mapped[str] = mapped_column(String(50), default="")
    action: Mapped[str] = mapped_column(String(50))
    object_type: Mapped[str] = mapped_column(String(30))
    object_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    object_label: Mapped[str] = mapped_column(String(200), default="")
    changes: Mapped[dict] = mapped_column(JSON, default=dict)
    ip: Mapped[str] = mapped_column(String(45), default="")

