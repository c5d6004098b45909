"""Stewards (物业管家): who looks after which household, since when, and the steward's contacts with owners.

An assignment is a period: it starts (who, why) and later ends (who, why); rows are never deleted or
rewritten, so the periods of a household are its steward history. The database itself guarantees at most one
current period per household (a partial unique index), which is what keeps two admins assigning the same
households at once from ever leaving a household with two current stewards.
"""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime

from sqlalchemy import (
    Date,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    Uuid,
    text,
)
from sqlalchemy.orm import Mapped, backref, deferred, mapped_column, relationship

from saas.clock import AwareDateTime
from saas.extensions import db
from saas.i18n import _l
from saas.models import Membership, _enum
from saas.tenancy import CompanyScoped
from tenants.roster.models import Household

DEFAULT_CAPACITY = 50
MAX_CAPACITY = 1000


class AssignmentReason(enum.StrEnum):
    """Why a period started or ended. Shown in the household's steward history."""

    MANUAL = "manual"  # an admin picked households and a steward
    AUTO = "auto"  # an admin confirmed an auto-assign proposal
    HANDOVER = "handover"  # households moved from one steward to another (leave, resignation)
    UNASSIGNED = "unassigned"  # an admin took the households off their steward
    MEMBERSHIP_ENDED = "membership_ended"  # the steward left the company, or is no longer a steward
    HOUSEHOLD_DELETED = "household_deleted"

    @property
    def label(self) -> str:
        return str(REASON_LABELS[self])


REASON_LABELS = {
    AssignmentReason.MANUAL: _l("Assigned by hand"),
    AssignmentReason.AUTO: _l("Auto-assign"),
    AssignmentReason.HANDOVER: _l("Handover"),
    AssignmentReason.UNASSIGNED: _l("Unassigned"),
    AssignmentReason.MEMBERSHIP_ENDED: _l("Steward left"),
    AssignmentReason.HOUSEHOLD_DELETED: _l("Household deleted"),
}


class StewardProfile(CompanyScoped, db.Model):
    """What owners see of their steward (phone, hours, photo) and the steward's own capacity override."""

    __tablename__ = "steward_profiles"
    __table_args__ = (
        ForeignKeyConstraint(["company_id", "membership_id"], ["memberships.company_id", "memberships.id"]),
        Index("uq_steward_profiles_membership", "company_id", "membership_id", unique=True),
    )

    membership_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    # None: the company's default capacity applies.
    capacity: Mapped[int | None] = mapped_column(Integer)
    work_phone: Mapped[str] = mapped_column(String(20), default="")
    working_hours: Mapped[str] = mapped_column(String(100), default="")
    # A small JPEG re-encoded by Pillow (EXIF and all metadata dropped). Kept in the database so web
    # processes stay stateless; deferred so lists never load it.
    photo: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))
    photo_updated_at: Mapped[datetime | None] = mapped_column(AwareDateTime())

    # Membership lives in saas.models, so its side (``Membership.steward_profile``, for joins) is added from here.
    membership: Mapped[Membership] = relationship(
        viewonly=True, backref=backref("steward_profile", uselist=False, viewonly=True))


class StewardAssignment(CompanyScoped, db.Model):
    """One period of one steward looking after one household. Append-only: a period is ended, never removed."""

    __tablename__ = "steward_assignments"
    __table_args__ = (
        ForeignKeyConstraint(["company_id", "household_id"], ["households.company_id", "households.id"]),
        ForeignKeyConstraint(["company_id", "steward_id"], ["memberships.company_id", "memberships.id"]),
        # At most one current steward per household, enforced by the database.
        Index("uq_steward_assignments_current", "company_id", "household_id", unique=True,
              sqlite_where=text("ended_at IS NULL"), postgresql_where=text("ended_at IS NULL")),
        Index("ix_steward_assignments_current_steward", "company_id", "steward_id",
              sqlite_where=text("ended_at IS NULL"), postgresql_where=text("ended_at IS NULL")),
        Index("ix_steward_assignments_household", "company_id", "household_id", "started_at"),
    )

    household_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    steward_id: Mapped[uuid.UUID] = mapped_column(Uuid)  # the steward's membership
    started_at: Mapped[datetime] = mapped_column(AwareDateTime())
    started_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))
    start_reason: Mapped[AssignmentReason] = mapped_column(_enum(AssignmentReason, "steward_assignment_start"))
    note: Mapped[str] = mapped_column(String(200), default="")
    ended_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    ended_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))
    end_reason: Mapped[AssignmentReason | None] = mapped_column(_enum(AssignmentReason, "steward_assignment_end"))
    end_note: Mapped[str] = mapped_column(String(200), default="")

    # Both keyed by (company_id, x_id) through the composite foreign keys above, as Building.community is.
    steward: Mapped[Membership] = relationship(lazy="joined", innerjoin=True, viewonly=True)
    household: Mapped[Household] = relationship(back_populates="steward_periods", viewonly=True)


class ContactKind(enum.StrEnum):
    CALL = "call"
    VISIT = "visit"
    WECHAT = "wechat"

    @property
    def label(self) -> str:
        return str(CONTACT_KIND_LABELS[self])


CONTACT_KIND_LABELS = {
    ContactKind.CALL: _l("Phone call"),
    ContactKind.VISIT: _l("Visit"),
    ContactKind.WECHAT: _l("WeChat"),
}


class StewardContact(CompanyScoped, db.Model):
    """A visit, call or WeChat exchange a steward logged with a household. Append-only contact history."""

    __tablename__ = "steward_contacts"
    __table_args__ = (
        ForeignKeyConstraint(["company_id", "household_id"], ["households.company_id", "households.id"]),
        ForeignKeyConstraint(["company_id", "steward_id"], ["memberships.company_id", "memberships.id"]),
        Index("ix_steward_contacts_household", "company_id", "household_id", "contacted_on"),
        Index("ix_steward_contacts_steward", "company_id", "steward_id", "contacted_on"),
    )

    household_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    steward_id: Mapped[uuid.UUID] = mapped_column(Uuid)  # the membership who logged it
    author_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id"))
    kind: Mapped[ContactKind] = mapped_column(_enum(ContactKind, "steward_contact_kind"))
    contacted_on: Mapped[date] = mapped_column(Date)  # the day in Asia/Shanghai the contact happened
    note: Mapped[str] = mapped_column(Text)
