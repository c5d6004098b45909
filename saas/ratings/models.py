"""Platform tables of the red/black list. Not company-scoped: they are read across companies on public pages, so
they hold only what is public or platform-only (no owner names, no rooms), and carry company_id as a plain key."""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from saas import public_cache
from saas.clock import AwareDateTime
from saas.extensions import db
from saas.i18n import _l
from saas.models import _enum
from saas.tenancy import new_id, utcnow

DIMENSIONS = ("overall", "repairs", "cleanliness", "communication", "fees")
DIMENSION_LABELS = {
    "overall": _l("Overall"),
    "repairs": _l("Repairs"),
    "cleanliness": _l("Cleanliness and security"),
    "communication": _l("Communication"),
    "fees": _l("Fee transparency"),
}


class FlagReason(enum.StrEnum):
    ABUSE = "abuse"
    PERSONAL_DATA = "personal_data"
    NOT_ABOUT_COMPANY = "off_topic"
    FAKE = "fake"

    @property
    def label(self) -> str:
        return str(FLAG_REASON_LABELS[self])


FLAG_REASON_LABELS = {
    FlagReason.ABUSE: _l("Abusive"),
    FlagReason.PERSONAL_DATA: _l("Contains personal data"),
    FlagReason.NOT_ABOUT_COMPANY: _l("Not about this company"),
    FlagReason.FAKE: _l("Suspected fake"),
}


class ListKind(enum.StrEnum):
    RED = "red"
    BLACK = "black"

    @property
    def label(self) -> str:
        return str(_l("Red list") if self is ListKind.RED else _l("Black list"))


class AppealStatus(enum.StrEnum):
    OPEN = "open"
    UPHELD = "upheld"
    REJECTED = "rejected"

    @property
    def label(self) -> str:
        return str(APPEAL_STATUS_LABELS[self])


APPEAL_STATUS_LABELS = {
    AppealStatus.OPEN: _l("Under review"),
    AppealStatus.UPHELD: _l("Upheld"),
    AppealStatus.REJECTED: _l("Rejected"),
}


class RatingRules(db.Model):
    """One published version of the rules: formula weights, prior, thresholds, minimum sample, expiry. Never
    edited: a change is a new version, announced with its note, and each list entry names the version that made it."""

    __tablename__ = "rating_rules"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    version: Mapped[int] = mapped_column(Integer, unique=True)
    params: Mapped[dict] = mapped_column(JSON)
    note: Mapped[str] = mapped_column(String(500), default="")
    published_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)
    published_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))


class OwnerRating(db.Model):
    """A verified owner's rating of their company for one quarter: one per household and quarter, editable until
    the quarter ends. Never deleted: folded (collapsed with its reason), hidden (personal data) or excluded from
    the score (fake), each with who and why."""

    __tablename__ = "owner_ratings"
    __table_args__ = (
        UniqueConstraint("company_id", "household_id", "quarter_start", name="uq_owner_ratings_household_quarter"),
        Index("ix_owner_ratings_company_created", "company_id", "created_at"),
        Index("ix_owner_ratings_company_updated", "company_id", "updated_at", "id"),  # the reviews page, backwards
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    company_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("companies.id"))
    household_id: Mapped[uuid.UUID] = mapped_column(Uuid)  # the company's household; never shown
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id"))  # never shown publicly
    quarter_start: Mapped[date] = mapped_column(Date)
    overall: Mapped[int] = mapped_column(SmallInteger)
    repairs: Mapped[int] = mapped_column(SmallInteger)
    cleanliness: Mapped[int] = mapped_column(SmallInteger)
    communication: Mapped[int] = mapped_column(SmallInteger)
    fees: Mapped[int] = mapped_column(SmallInteger)
    comment: Mapped[str] = mapped_column(Text, default="")
    # The public verification line: "owner since <month>, <community>"; no name, no room.
    owner_since: Mapped[date] = mapped_column(Date)
    community_name: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)
    # Fake-review signals, platform-only: where and from what, when the account was made, former staff.
    ip: Mapped[str] = mapped_column(String(45), default="")
    device: Mapped[str] = mapped_column(String(64), default="")  # a hash of the user agent
    account_created_on: Mapped[date | None] = mapped_column(Date)
    former_staff: Mapped[bool] = mapped_column(default=False)

    hidden_at: Mapped[datetime | None] = mapped_column(AwareDateTime())  # personal data flagged: hidden at once
    folded_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    fold_reason: Mapped[str] = mapped_column(String(300), default="")
    excluded_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    exclude_reason: Mapped[str] = mapped_column(String(300), default="")

    def average(self) -> float:
        return sum(getattr(self, d) for d in DIMENSIONS) / len(DIMENSIONS)

    @property
    def counts(self) -> bool:
        return self.excluded_at is None


class RatingFlag(db.Model):
    """Anyone's flag on a rating, with one reason; checked by a platform admin (resolved_at)."""

    __tablename__ = "rating_flags"
    __table_args__ = (Index("ix_rating_flags_open", "resolved_at", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    rating_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("owner_ratings.id"), index=True)
    reason: Mapped[FlagReason] = mapped_column(_enum(FlagReason, "rating_flag_reason"))
    ip: Mapped[str] = mapped_column(String(45), default="")
    created_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    resolved_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))


class RatingReply(db.Model):
    """The company's public reply to a rating: one reply, each edit a new version (the newest is shown)."""

    __tablename__ = "rating_replies"
    __table_args__ = (UniqueConstraint("rating_id", "version", name="uq_rating_replies_version"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    rating_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("owner_ratings.id"))
    company_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("companies.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)
    author_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)


class QuarterFigures(db.Model):
    """What the job computed for one company and quarter: each figure source's dict, the owner-rating sums, and the
    score with its parts. Rewritten by every run (idempotent); the public profile's trend reads these rows."""

    __tablename__ = "rating_quarter_figures"
    __table_args__ = (UniqueConstraint("company_id", "quarter_start", name="uq_rating_quarter_figures"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    company_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("companies.id"))
    quarter_start: Mapped[date] = mapped_column(Date)
    figures: Mapped[dict] = mapped_column(JSON, default=dict)
    sample_size: Mapped[int] = mapped_column(Integer, default=0)
    score: Mapped[float] = mapped_column(Float, default=0.0)
    grade: Mapped[str] = mapped_column(String(3), default="")
    parts: Mapped[dict] = mapped_column(JSON, default=dict)
    rules_version: Mapped[int] = mapped_column(Integer)
    computed_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)


class CompanyRatingProfile(db.Model):
    """The public card of a company on /ratings/: its latest score, grade and sample, written by the job. One row per
    company, so the list and search pages read one table."""

    __tablename__ = "rating_profiles"
    __table_args__ = (Index("ix_rating_profiles_city_score", "city", "score"),)

    # Its own id, not company_id: a key led by company_id marks a company-scoped table (row-level security).
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    company_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("companies.id"), unique=True)
    slug: Mapped[str] = mapped_column(String(63), index=True)
    name: Mapped[str] = mapped_column(String(100), index=True)
    city: Mapped[str] = mapped_column(String(20), default="")
    score: Mapped[float] = mapped_column(Float, default=0.0)
    grade: Mapped[str] = mapped_column(String(3), default="")
    sample_size: Mapped[int] = mapped_column(Integer, default=0)
    quarter_start: Mapped[date] = mapped_column(Date)
    rules_version: Mapped[int] = mapped_column(Integer)
    published: Mapped[bool] = mapped_column(default=True)  # false while suspended or canceled
    updated_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)


class ListEntry(db.Model):
    """A company on the red or the black list: from the job (grade) or a recorded serious violation. Expires
    12 months (the rules' expiry) after it was last renewed by a computation; ended entries stay as history."""

    __tablename__ = "rating_list_entries"
    __table_args__ = (Index("ix_rating_list_entries_current", "kind", "city", "ended_at", "expires_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    company_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("companies.id"), index=True)
    kind: Mapped[ListKind] = mapped_column(_enum(ListKind, "rating_list_kind"))
    city: Mapped[str] = mapped_column(String(20), default="")
    company_name: Mapped[str] = mapped_column(String(100))
    slug: Mapped[str] = mapped_column(String(63))
    grade: Mapped[str] = mapped_column(String(3), default="")
    score: Mapped[float] = mapped_column(Float, default=0.0)
    reason: Mapped[str] = mapped_column(String(500), default="")  # a violation's description; "" for a grade
    evidence: Mapped[str] = mapped_column(String(500), default="")
    rules_version: Mapped[int] = mapped_column(Integer)
    listed_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)
    renewed_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(AwareDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    end_reason: Mapped[str] = mapped_column(String(300), default="")
    recorded_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))


class WeeklyRank(db.Model):
    """The weekly ranking per city: one row per company and week, written by the job (rewritten within the week)."""

    __tablename__ = "rating_weekly_ranks"
    __table_args__ = (
        UniqueConstraint("week_start", "company_id", name="uq_rating_weekly_ranks"),
        Index("ix_rating_weekly_ranks_city", "week_start", "city", "rank"),
        Index("ix_rating_weekly_ranks_score", "week_start", "score"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    week_start: Mapped[date] = mapped_column(Date)
    company_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("companies.id"))
    city: Mapped[str] = mapped_column(String(20), default="")
    rank: Mapped[int] = mapped_column(Integer)
    company_name: Mapped[str] = mapped_column(String(100))
    slug: Mapped[str] = mapped_column(String(63))
    score: Mapped[float] = mapped_column(Float)
    grade: Mapped[str] = mapped_column(String(3))
    rules_version: Mapped[int] = mapped_column(Integer)


class Appeal(db.Model):
    """A company's appeal (申诉) against its listing or a rating, with evidence; decided by a platform admin within
    15 working days (due_on), the decision and its reason public on the company's profile."""

    __tablename__ = "rating_appeals"
    __table_args__ = (Index("ix_rating_appeals_status", "status", "due_on"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    company_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("companies.id"), index=True)
    rating_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("owner_ratings.id"))
    entry_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("rating_list_entries.id"))
    statement: Mapped[str] = mapped_column(Text)
    evidence: Mapped[str] = mapped_column(String(500), default="")
    status: Mapped[AppealStatus] = mapped_column(_enum(AppealStatus, "rating_appeal_status"),
                                                 default=lambda: AppealStatus.OPEN)
    filed_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)
    due_on: Mapped[date] = mapped_column(Date)
    decided_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    decided_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))
    decision_reason: Mapped[str] = mapped_column(String(500), default="")


# Every table the public pages of the list (/ratings/) read: a write to any of them moves the platform's "ratings"
# version token, so the cached pages are drawn again (saas/public_cache.py). Flags are not shown (a flag that hides
# a review writes the review).
public_cache.watch_platform_tables(public_cache.RATINGS, RatingRules, OwnerRating, RatingReply, QuarterFigures,
                                   CompanyRatingProfile, ListEntry, WeeklyRank, Appeal)
