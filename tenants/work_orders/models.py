"""Work orders (报修工单): a repair from report to rated close, its timeline, photos, SLA clocks and follow-up.

A work order's status only ever changes through ``services.perform`` and the state machine in ``states.py``;
each change appends a ``WorkOrderEvent`` (who, when, from → to, why), so the timeline is the job's history.
Nothing here is ever deleted: a cancelled job stays, an archived category keeps its jobs.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime, time

from sqlalchemy import (
    Boolean,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    Time,
    Uuid,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from saas.clock import AwareDateTime
from saas.extensions import db
from saas.i18n import _l
from saas.models import Membership, _enum
from saas.tenancy import CompanyScoped
from saas.tenancy import company_relationship as _in_company
from tenants.roster.models import Building, Community, Household, HouseholdOwner
from tenants.work_orders.states import Status

# The list a new company starts with; each company can rename, add and archive categories.
DEFAULT_CATEGORIES = ("水暖", "电路", "门窗", "电梯", "公共设施", "其他")


class DispatchMode(enum.StrEnum):
    ASSIGN = "assign"  # the job goes straight to a person (the category's technician, least busy first)
    POOL = "pool"  # 抢单: any qualified technician may take it

    @property
    def label(self) -> str:
        return str({DispatchMode.ASSIGN: _l("Assign to a person"), DispatchMode.POOL: _l("Grab pool")}[self])


class Priority(enum.StrEnum):
    URGENT = "urgent"
    NORMAL = "normal"
    LOW = "low"

    @property
    def label(self) -> str:
        return str(PRIORITY_LABELS[self])


PRIORITY_LABELS = {Priority.URGENT: _l("Urgent"), Priority.NORMAL: _l("Normal"), Priority.LOW: _l("Low")}

# Minutes to accept and to finish when a company has not set its own: urgent 30 min / 4 h,
# normal 24 h / 3 days, low 3 days / 7 days.
DEFAULT_SLA_MINUTES = {
    Priority.URGENT: (30, 4 * 60),
    Priority.NORMAL: (24 * 60, 3 * 24 * 60),
    Priority.LOW: (3 * 24 * 60, 7 * 24 * 60),
}


class Area(enum.StrEnum):
    HOME = "home"  # inside a household: goes to the household's steward
    COMMON = "common"  # common area: goes to the category's technicians

    @property
    def label(self) -> str:
        return str({Area.HOME: _l("In my home"), Area.COMMON: _l("Common area")}[self])


class Source(enum.StrEnum):
    PORTAL = "portal"  # an owner in the portal
    QR = "qr"  # the no-login form behind a QR poster
    PHONE = "phone"  # staff entered it from a phone call
    STAFF = "staff"  # staff found it themselves

    @property
    def label(self) -> str:
        return str(SOURCE_LABELS[self])


SOURCE_LABELS = {Source.PORTAL: _l("Owner portal"), Source.QR: _l("QR code"), Source.PHONE: _l("Phone call"),
                 Source.STAFF: _l("Staff")}


class QuoteStatus(enum.StrEnum):
    NONE = "none"
    PROPOSED = "proposed"
    ACCEPTED = "accepted"
    DECLINED = "declined"


class WorkOrderSettings(CompanyScoped, db.Model):
    """The company's SLA calendar: 24/7, or working hours on working days (skipping Chinese public holidays)."""

    __tablename__ = "work_order_settings"
    __table_args__ = (Index("uq_work_order_settings_company", "company_id", unique=True),)

    business_hours: Mapped[bool] = mapped_column(Boolean, default=False)
    day_start: Mapped[time] = mapped_column(Time, default=time(8, 30))
    day_end: Mapped[time] = mapped_column(Time, default=time(17, 30))
    observe_holidays: Mapped[bool] = mapped_column(Boolean, default=True)
    # The assignee is warned this many minutes before a deadline.
    warn_minutes: Mapped[int] = mapped_column(Integer, default=30)


class WorkOrderCategory(CompanyScoped, db.Model):
    __tablename__ = "work_order_categories"
    __table_args__ = (
        ForeignKeyConstraint(["company_id", "default_assignee_id"], ["memberships.company_id", "memberships.id"]),
        Index("uq_work_order_categories_live_name", "company_id", "name", unique=True,
              sqlite_where=text("archived_at IS NULL"), postgresql_where=text("archived_at IS NULL")),
    )

    name: Mapped[str] = mapped_column(String(40))
    position: Mapped[int] = mapped_column(Integer, default=0)
    dispatch_mode: Mapped[DispatchMode] = mapped_column(_enum(DispatchMode, "work_order_dispatch_mode"),
                                                        default=lambda: DispatchMode.ASSIGN)
    # In assign mode: this technician first; None → the least busy qualified technician.
    default_assignee_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    archived_at: Mapped[datetime | None] = mapped_column(AwareDateTime())

    default_assignee: Mapped[Membership | None] = _in_company("WorkOrderCategory", "default_assignee_id", "Membership")


class CategoryTechnician(CompanyScoped, db.Model):
    """A technician qualified for a category: gets its common-area jobs and may grab its pool jobs. Taking someone
    off a category ends the row (ended_at); rows are never deleted, so who was qualified when stays known."""

    __tablename__ = "work_order_category_technicians"
    __table_args__ = (
        ForeignKeyConstraint(["company_id", "category_id"],
                             ["work_order_categories.company_id", "work_order_categories.id"]),
        ForeignKeyConstraint(["company_id", "membership_id"], ["memberships.company_id", "memberships.id"]),
        Index("uq_work_order_category_technicians", "company_id", "category_id", "membership_id", unique=True,
              sqlite_where=text("ended_at IS NULL"), postgresql_where=text("ended_at IS NULL")),
    )

    category_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    membership_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    ended_at: Mapped[datetime | None] = mapped_column(AwareDateTime())

    category: Mapped[WorkOrderCategory] = _in_company("CategoryTechnician", "category_id", "WorkOrderCategory")
    membership: Mapped[Membership] = _in_company("CategoryTechnician", "membership_id", "Membership")


class SlaPolicy(CompanyScoped, db.Model):
    """The company's deadlines for one category and priority (missing rows fall back to DEFAULT_SLA_MINUTES)."""

    __tablename__ = "work_order_sla_policies"
    __table_args__ = (
        ForeignKeyConstraint(["company_id", "category_id"],
                             ["work_order_categories.company_id", "work_order_categories.id"]),
        Index("uq_work_order_sla_policies", "company_id", "category_id", "priority", unique=True),
    )

    category_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    priority: Mapped[Priority] = mapped_column(_enum(Priority, "work_order_sla_priority"))
    response_minutes: Mapped[int] = mapped_column(Integer)
    resolution_minutes: Mapped[int] = mapped_column(Integer)

    category: Mapped[WorkOrderCategory] = _in_company("SlaPolicy", "category_id", "WorkOrderCategory")


class WorkOrderCounter(CompanyScoped, db.Model):
    """The last human number used per company and year: WO-2026-000123 is (2026, 123). Incremented with a
    row lock (UPDATE … RETURNING), so concurrent reports never share a number."""

    __tablename__ = "work_order_counters"
    __table_args__ = (Index("uq_work_order_counters_year", "company_id", "year", unique=True),)

    year: Mapped[int] = mapped_column(Integer)
    last_number: Mapped[int] = mapped_column(Integer, default=0)


class RepairPoint(CompanyScoped, db.Model):
    """A place with a QR poster (a building's entrance, an elevator, the pump room, a gate). Scanning the poster
    opens a no-login report form tied to the point. The token is the only thing the poster reveals."""

    __tablename__ = "repair_points"
    __table_args__ = (
        ForeignKeyConstraint(["company_id", "community_id"], ["communities.company_id", "communities.id"]),
        ForeignKeyConstraint(["company_id", "building_id"], ["buildings.company_id", "buildings.id"]),
        ForeignKeyConstraint(["company_id", "category_id"],
                             ["work_order_categories.company_id", "work_order_categories.id"]),
        Index("uq_repair_points_token", "token", unique=True),
    )

    name: Mapped[str] = mapped_column(String(60))  # e.g. "3号楼 1单元 电梯"
    community_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    building_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    category_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)  # the category a report here gets by default
    token: Mapped[str] = mapped_column(String(32))
    archived_at: Mapped[datetime | None] = mapped_column(AwareDateTime())

    community: Mapped[Community] = _in_company("RepairPoint", "community_id", "Community")
    building: Mapped[Building | None] = _in_company("RepairPoint", "building_id", "Building")
    category: Mapped[WorkOrderCategory | None] = _in_company("RepairPoint", "category_id", "WorkOrderCategory")


class RepairPointToken(db.Model):
    """Platform-level index from a poster's token to its company: the no-login form has no company in its URL,
    and company tables cannot be read without one (the query filter and row-level security both refuse)."""

    __tablename__ = "repair_point_tokens"

    token: Mapped[str] = mapped_column(String(32), primary_key=True)
    company_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("companies.id"), index=True)
    point_id: Mapped[uuid.UUID] = mapped_column(Uuid)


_OPEN_WHERE = "status IN ('new', 'assigned', 'accepted', 'on_the_way', 'in_progress', 'waiting_owner')"  # OPEN


_POOL_WHERE = "status = 'new' AND in_pool"


class Deadlines:
    """A job's clock, from its status and times alone: shared by the WorkOrder and the light rows the busy pages
    read instead of whole objects (cards.JobCard)."""

    @property
    def is_open(self) -> bool:
        return self.status.is_open

    def response_met(self) -> bool:
        return self.accepted_at is not None

    def active_deadline(self) -> tuple[str, datetime] | None:
        """The deadline the job is now running against: ("response", t) until accepted, then ("resolution", t)."""
        if not self.is_open:
            return None
        if not self.response_met():
            return "response", self.response_due_at
        return "resolution", self.resolution_due_at


class WorkOrder(Deadlines, CompanyScoped, db.Model):
    __tablename__ = "work_orders"
    __table_args__ = (
        ForeignKeyConstraint(["company_id", "household_id"], ["households.company_id", "households.id"]),
        ForeignKeyConstraint(["company_id", "community_id"], ["communities.company_id", "communities.id"]),
        ForeignKeyConstraint(["company_id", "building_id"], ["buildings.company_id", "buildings.id"]),
        ForeignKeyConstraint(["company_id", "category_id"],
                             ["work_order_categories.company_id", "work_order_categories.id"]),
        ForeignKeyConstraint(["company_id", "repair_point_id"], ["repair_points.company_id", "repair_points.id"]),
        ForeignKeyConstraint(["company_id", "assignee_id"], ["memberships.company_id", "memberships.id"]),
        ForeignKeyConstraint(["company_id", "reporter_membership_id"], ["memberships.company_id", "memberships.id"]),
        Index("uq_work_orders_number", "company_id", "number", unique=True),
        Index("ix_work_orders_company_created", "company_id", "created_at"),
        Index("ix_work_orders_status", "company_id", "status", "created_at"),
        Index("ix_work_orders_assignee", "company_id", "assignee_id", "status"),
        Index("ix_work_orders_household", "company_id", "household_id", "created_at"),
        Index("ix_work_orders_reporter", "company_id", "reporter_membership_id", "created_at"),
        # The dashboard's medians read the period's jobs from these alone (migration 0011).
        Index("ix_work_orders_opened_cover", "company_id", "created_at", "accepted_at", "category_id", "assignee_id",
              "community_id"),
        Index("ix_work_orders_completed_cover", "company_id", "completed_at", "created_at", "category_id",
              "assignee_id", "community_id"),
        # The list's category and community filters and the dashboard's ratings (bench/work_orders_bench.py).
        Index("ix_work_orders_category", "company_id", "category_id", "created_at"),
        Index("ix_work_orders_community", "company_id", "community_id", "created_at"),
        Index("ix_work_orders_rated", "company_id", "rated_at"),
        # The open jobs only: the overview's overdue and waiting counts from the index alone (migration 0015_wo).
        Index("ix_work_orders_open_due", "company_id", "resolution_due_at", "response_due_at", "accepted_at",
              "paused_at", "assignee_id", postgresql_where=text(_OPEN_WHERE), sqlite_where=text(_OPEN_WHERE)),
        # The grab pool (new jobs anyone qualified may take): a technician's pool tab and its count (0015_wo).
        Index("ix_work_orders_pool", "company_id", "category_id", "response_due_at",
              postgresql_where=text(_POOL_WHERE), sqlite_where=text(_POOL_WHERE)),
    )

    number: Mapped[str] = mapped_column(String(20))  # WO-2026-000123, per company, never reused
    source: Mapped[Source] = mapped_column(_enum(Source, "work_order_source"))
    area: Mapped[Area] = mapped_column(_enum(Area, "work_order_area"))
    household_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    community_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    building_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    repair_point_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    # Where, in words, as it was when reported ("红山小区 3号楼 1-1201", "3号楼电梯"): survives renames.
    location: Mapped[str] = mapped_column(String(200), default="")
    category_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    priority: Mapped[Priority] = mapped_column(_enum(Priority, "work_order_priority"),
                                               default=lambda: Priority.NORMAL)
    description: Mapped[str] = mapped_column(Text)
    preferred_time: Mapped[str] = mapped_column(String(100), default="")

    reporter_user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))
    reporter_membership_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    reporter_name: Mapped[str] = mapped_column(String(50), default="")
    reporter_phone: Mapped[str] = mapped_column(String(20), default="")
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))

    status: Mapped[Status] = mapped_column(_enum(Status, "work_order_status"), default=lambda: Status.NEW)
    # While waiting for the owner: the status to go back to, and since when the SLA clocks are paused.
    resume_status: Mapped[Status | None] = mapped_column(_enum(Status, "work_order_resume_status"))
    paused_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    assignee_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    in_pool: Mapped[bool] = mapped_column(Boolean, default=False)  # waiting to be grabbed (抢单)
    updated_at: Mapped[datetime] = mapped_column(AwareDateTime())
    last_seq: Mapped[int] = mapped_column(Integer, default=0)  # the timeline's last event number

    response_due_at: Mapped[datetime] = mapped_column(AwareDateTime())
    resolution_due_at: Mapped[datetime] = mapped_column(AwareDateTime())
    accepted_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    started_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    # Set once each by the SLA job, which is what makes it idempotent.
    response_warned_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    response_breached_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    resolution_warned_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    resolution_breached_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    last_urged_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    urge_count: Mapped[int] = mapped_column(Integer, default=0)
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)

    # A paid job: the technician quotes, the owner accepts before work goes on (billing collects it).
    quote_fen: Mapped[int | None] = mapped_column(Integer)
    quote_note: Mapped[str] = mapped_column(String(200), default="")
    quote_status: Mapped[QuoteStatus] = mapped_column(_enum(QuoteStatus, "work_order_quote_status"),
                                                      default=lambda: QuoteStatus.NONE)

    rating_overall: Mapped[int | None] = mapped_column(SmallInteger)
    rating_speed: Mapped[int | None] = mapped_column(SmallInteger)
    rating_attitude: Mapped[int | None] = mapped_column(SmallInteger)
    rating_comment: Mapped[str] = mapped_column(String(500), default="")
    rated_at: Mapped[datetime | None] = mapped_column(AwareDateTime())

    # Category and assignee come joined: every list shows them.
    category: Mapped[WorkOrderCategory] = _in_company("WorkOrder", "category_id", "WorkOrderCategory",
                                                      lazy="joined", innerjoin=True)
    assignee: Mapped[Membership | None] = _in_company("WorkOrder", "assignee_id", "Membership", lazy="joined")
    household: Mapped[Household | None] = _in_company("WorkOrder", "household_id", "Household")
    community: Mapped[Community | None] = _in_company("WorkOrder", "community_id", "Community")
    building: Mapped[Building | None] = _in_company("WorkOrder", "building_id", "Building")
    repair_point: Mapped[RepairPoint | None] = _in_company("WorkOrder", "repair_point_id", "RepairPoint")
    reporter_membership: Mapped[Membership | None] = _in_company("WorkOrder", "reporter_membership_id", "Membership")
    # Every owner link of the job's home, ended ones included: visibility asks which were current since when
    # (queries.visible_clause), so this is for EXISTS clauses (``WorkOrder.household_owners.any(...)``).
    household_owners: Mapped[list[HouseholdOwner]] = relationship(
        primaryjoin="and_(WorkOrder.company_id == foreign(HouseholdOwner.company_id), "
        "WorkOrder.household_id == foreign(HouseholdOwner.household_id))",
        viewonly=True,
    )

    @property
    def category_name(self) -> str:
        return self.category.name

    @property
    def assignee_name(self) -> str | None:
        """The name of whoever holds the job, None when nobody does (as cards.ListCard has it)."""
        return self.assignee.user.name if self.assignee else None

    def resolution_met(self) -> bool:
        return self.completed_at is not None

    def is_overdue(self, now: datetime) -> bool:
        """Open and past a deadline it has not met (a paused job is not overdue while it waits)."""
        if not self.is_open or self.paused_at is not None:
            return False
        return (not self.response_met() and self.response_due_at <= now) or self.resolution_due_at <= now


class EventKind(enum.StrEnum):
    """What a timeline entry records. Status changes carry from/to; the rest are notes on the way."""

    CREATED = "created"
    TRANSITION = "transition"  # a state machine action: the action is in `action`
    COMMENT = "comment"
    URGED = "urged"
    FOLLOW_UP = "follow_up"
    SLA_WARNING = "sla_warning"
    SLA_BREACH = "sla_breach"


class WorkOrderEvent(CompanyScoped, db.Model):
    """One entry in a job's timeline. Append-only; ``seq`` numbers them 1, 2, 3… per job without gaps."""

    __tablename__ = "work_order_events"
    __table_args__ = (
        ForeignKeyConstraint(["company_id", "work_order_id"], ["work_orders.company_id", "work_orders.id"]),
        Index("uq_work_order_events_seq", "company_id", "work_order_id", "seq", unique=True),
    )

    work_order_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[EventKind] = mapped_column(_enum(EventKind, "work_order_event_kind"))
    action: Mapped[str] = mapped_column(String(20), default="")  # states.Action value for transitions
    from_status: Mapped[Status | None] = mapped_column(_enum(Status, "work_order_event_from"))
    to_status: Mapped[Status | None] = mapped_column(_enum(Status, "work_order_event_to"))
    actor_user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))
    actor_name: Mapped[str] = mapped_column(String(60), default="")  # snapshot: "王师傅", "系统", "扫码报修 138…"
    note: Mapped[str] = mapped_column(Text, default="")
    # Staff-only entries (a decline reason, an escalation) are hidden from the owner's timeline.
    internal: Mapped[bool] = mapped_column(Boolean, default=False)

    work_order: Mapped[WorkOrder] = _in_company("WorkOrderEvent", "work_order_id", "WorkOrder")


class PhotoStage(enum.StrEnum):
    REPORT = "report"  # sent with the report
    WORK = "work"  # taken by the technician (done, in progress)
    COMMENT = "comment"


class WorkOrderPhoto(CompanyScoped, db.Model):
    """A photo re-encoded by Pillow (EXIF, location included, dropped), stored under the company's folder:
    UPLOAD_FOLDER/<company_id>/work_orders/<work_order_id>/<photo_id>.jpg. Served only through a company-scoped
    lookup, so another company's user gets 404."""

    __tablename__ = "work_order_photos"
    __table_args__ = (
        ForeignKeyConstraint(["company_id", "work_order_id"], ["work_orders.company_id", "work_orders.id"]),
        Index("ix_work_order_photos_order", "company_id", "work_order_id", "created_at"),
    )

    work_order_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    event_seq: Mapped[int] = mapped_column(Integer)  # the timeline entry it came with
    stage: Mapped[PhotoStage] = mapped_column(_enum(PhotoStage, "work_order_photo_stage"))
    path: Mapped[str] = mapped_column(String(200))  # relative to UPLOAD_FOLDER
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    size_bytes: Mapped[int] = mapped_column(Integer)
    uploaded_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))

    work_order: Mapped[WorkOrder] = _in_company("WorkOrderPhoto", "work_order_id", "WorkOrder")


class WorkOrderFollowUp(CompanyScoped, db.Model):
    """回访: the steward's call after the job was done."""

    __tablename__ = "work_order_follow_ups"
    __table_args__ = (
        ForeignKeyConstraint(["company_id", "work_order_id"], ["work_orders.company_id", "work_orders.id"]),
        ForeignKeyConstraint(["company_id", "membership_id"], ["memberships.company_id", "memberships.id"]),
        Index("ix_work_order_follow_ups_order", "company_id", "work_order_id"),
    )

    work_order_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    membership_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    reached: Mapped[bool] = mapped_column(Boolean)
    satisfied: Mapped[bool | None] = mapped_column(Boolean)  # None when the owner was not reached
    note: Mapped[str] = mapped_column(Text, default="")

    work_order: Mapped[WorkOrder] = _in_company("WorkOrderFollowUp", "work_order_id", "WorkOrder")
    membership: Mapped[Membership] = _in_company("WorkOrderFollowUp", "membership_id", "Membership")
from tenants.work_orders import figures as _figures  # noqa: E402,F401  (the dashboard's weekly figures: its listeners)
