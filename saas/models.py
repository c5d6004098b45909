"""Platform tables (companies, users) and the company-scoped membership and audit tables."""

from __future__ import annotations

import enum
import functools
import uuid
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from saas.clock import AwareDateTime, aware
from saas.extensions import db
from saas.i18n import _l
from saas.tenancy import CompanyScoped, built_once, new_id, utcnow


def _enum(enum_cls, name: str) -> Enum:
    # Store the value strings; a CHECK constraint (not a PG enum type) keeps migrations simple.
    return Enum(enum_cls, name=name, native_enum=False, create_constraint=True,
                values_callable=lambda e: [m.value for m in e], validate_strings=True, length=20)


class SubscriptionStatus(enum.StrEnum):
    TRIALING = "trialing"
    ACTIVE = "active"
    PAST_DUE = "past_due"
    CANCELED = "canceled"


class Company(db.Model):
    """A property-management company: the tenant. A platform table (no company_id of its own)."""

    __tablename__ = "companies"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    slug: Mapped[str] = mapped_column(String(63), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)

    # Profile (onboarding step 1)
    licence_number: Mapped[str] = mapped_column(String(32), default="", server_default="")
    complaint_phone: Mapped[str] = mapped_column(String(20), default="", server_default="")
    # The company's own service line (服务电话), shown to owners beside the complaint phone.
    service_phone: Mapped[str] = mapped_column(String(20), default="", server_default="")
    # WeChat Pay: the company's sub-merchant number (特约商户号) under the platform's service-provider account,
    # entered by a platform admin once WeChat has approved the company. None: owners see offline instructions.
    wechat_sub_mchid: Mapped[str | None] = mapped_column(String(32))
    address: Mapped[str] = mapped_column(String(200), default="", server_default="")

    # Plan and subscription. See saas/subscriptions/plans.py for plan codes and limits.
    subscription_status: Mapped[SubscriptionStatus] = mapped_column(
        _enum(SubscriptionStatus, "company_subscription_status"), default=lambda: SubscriptionStatus.TRIALING,
        server_default="trialing")
    plan_code: Mapped[str] = mapped_column(String(20), default="trial", server_default="trial")
    trial_ends_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    current_period_end: Mapped[datetime | None] = mapped_column(AwareDateTime())
    stripe_customer_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    stripe_subscription_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    # `created` of the newest Stripe subscription event applied, so an older event arriving late is ignored.
    stripe_state_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    suspended_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    notices_printed_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    # Households one steward looks after unless their own profile says otherwise (物业管家制: about 50).
    steward_capacity: Mapped[int] = mapped_column(Integer, default=50, server_default=text("50"))
    # The version token of the company's public pages (saas/public_cache.py): moved by every write to what they
    # show, in the writing transaction; read with the company by the public resolver.
    public_version: Mapped[int] = mapped_column(BigInteger, default=0, server_default=text("0"))
    public_changed_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    # The version token of the company's staff list (saas/staff_version.py): moved by every write to who its staff
    # are, in the writing transaction; read with the company by the resolver, so the lists keyed on it cost nothing.
    staff_version: Mapped[int] = mapped_column(BigInteger, default=0, server_default=text("0"))

    def is_read_only(self, now: datetime | None = None) -> bool:
        """Expired trial, ended subscription or suspension: every page still reads, nothing writes."""
        now = now or utcnow()
        if self.suspended_at is not None:
            return True
        status = self.subscription_status
        if status == SubscriptionStatus.ACTIVE and self.stripe_subscription_id is None:
            # A plan paid by bank transfer and activated by hand ends at its period end; a Stripe subscription
            # renews itself and reports its end through webhooks (canceled), so its period end is not checked.
            return self.current_period_end is not None and aware(self.current_period_end) <= now
        if status in (SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE):
            return False
        if status == SubscriptionStatus.TRIALING:
            return self.trial_ends_at is not None and aware(self.trial_ends_at) <= now
        return True  # canceled, or a trial that ended without a plan

    def trial_days_left(self, now: datetime | None = None) -> int | None:
        if self.subscription_status != SubscriptionStatus.TRIALING or self.trial_ends_at is None:
            return None
        seconds = (aware(self.trial_ends_at) - (now or utcnow())).total_seconds()
        return max(0, int(-(-seconds // 86400)))  # ceiling: 2.1 days left shows as 3

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
    locked_until: Mapped[datetime | None] = mapped_column(AwareDateTime())
    last_login_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    created_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)
    # Bumped at sign-out and at a password change: sessions and remember cookies carry the generation they were
    # issued under, so a copied cookie stops working (see saas/auth).
    session_generation: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password, method="scrypt")
        # A new password ends every session signed in under the old one, a stolen cookie included. The page
        # that changes it signs its own device in again.
        self.revoke_sessions()

    def revoke_sessions(self) -> None:
        """Every session and remember cookie issued so far stops working, on every device."""
        self.session_generation = (self.session_generation or 0) + 1

    def get_id(self) -> str:  # Flask-Login
        """What Flask-Login keeps in the session and in the remember cookie: the id and the generation, so a
        bumped generation refuses every copy of either (saas.auth.services.user_for_session checks it)."""
        return f"{self.id}.{self.session_generation or 0}"

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


def user_names(user_ids) -> dict:
    """{user id: name} for a page of rows in one query (list pages show who did what without N+1)."""
    ids = {i for i in user_ids if i is not None}
    if not ids:
        return {}
    return dict(db.session.execute(_user_names_statement(), {"ids": list(ids)}).all())


@functools.cache
def _user_names_statement():
    from sqlalchemy import bindparam, select

    return built_once(select(User.id, User.name).where(User.id.in_(bindparam("ids", expanding=True))))


class Role(enum.StrEnum):
    ADMIN = "admin"
    STEWARD = "steward"
    TECHNICIAN = "technician"
    OWNER = "owner"
    CASHIER = "cashier"  # 收费员: records payments, receipts and invoices; nothing of work orders or stewards

    @property
    def label(self) -> str:
        return str(ROLE_LABELS[self])


ROLE_LABELS = {
    Role.ADMIN: _l("Company admin"),
    Role.STEWARD: _l("Steward"),
    Role.TECHNICIAN: _l("Technician"),
    Role.OWNER: _l("Owner"),
    Role.CASHIER: _l("Cashier"),
}
STAFF_ROLES = (Role.ADMIN, Role.STEWARD, Role.TECHNICIAN, Role.CASHIER)


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
    ended_at: Mapped[datetime | None] = mapped_column(AwareDateTime())

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



class StripeEvent(db.Model):
    """Every Stripe webhook event applied, by Stripe's id: a replayed event is recognised and ignored."""

    __tablename__ = "stripe_events"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    type: Mapped[str] = mapped_column(String(100))
    stripe_created_at: Mapped[datetime] = mapped_column(AwareDateTime())
    company_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("companies.id"))
    received_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)
    outcome: Mapped[str] = mapped_column(String(40), default="")


class TrialReminder(db.Model):
    """One row per (company, days before the end) sent: the reminder job is idempotent."""

    __tablename__ = "trial_reminders"
    __table_args__ = (UniqueConstraint("company_id", "days_before"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    company_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("companies.id"))
    days_before: Mapped[int] = mapped_column(Integer)
    trial_ends_at: Mapped[datetime] = mapped_column(AwareDateTime())
    sent_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)


class PlatformAuditEvent(db.Model):
    """Platform-level actions (manual plan activation, trial extension, suspension, signup), append-only."""

    __tablename__ = "platform_audit_events"
    __table_args__ = (Index("ix_platform_audit_events_created", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    created_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)
    actor_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))
    actor_name: Mapped[str] = mapped_column(String(50), default="")
    action: Mapped[str] = mapped_column(String(50))
    company_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("companies.id"), index=True)
    details: Mapped[dict] = mapped_column(JSON, default=dict)
