"""Writes to work orders. ``create_order`` opens a job; ``perform`` is the single door every status change goes
through (state machine, permission, validation, row lock, timeline entry, notifications); ``comment``,
``urge`` and ``record_follow_up`` add to the timeline without moving the status.

Each function validates everything before changing anything, so a refused request leaves no trace, and
commits once at the end.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from blinker import Namespace
from sqlalchemy import func, select, update

from saas import audit
from saas.clock import SHANGHAI
from saas.errors import ServiceError
from saas.extensions import db
from saas.i18n import _l
from saas.models import Membership, Role, User
from saas.notifications.services import deliver_after_commit
from saas.tenancy import new_id, require_company_id, utcnow
from saas.validators import normalise_mobile
from tenants.roster.models import Community, Household
from tenants.work_orders import notify, photos, queries
from tenants.work_orders.models import (
    DEFAULT_CATEGORIES,
    DEFAULT_SLA_MINUTES,
    Area,
    DispatchMode,
    EventKind,
    PhotoStage,
    Priority,
    QuoteStatus,
    RepairPoint,
    SlaPolicy,
    Source,
    WorkOrder,
    WorkOrderCategory,
    WorkOrderCounter,
    WorkOrderEvent,
    WorkOrderFollowUp,
    WorkOrderPhoto,
    WorkOrderSettings,
)
from tenants.work_orders.sla import WorkCalendar
from tenants.work_orders.states import BEFORE_WORK, OPEN, REOPEN_DAYS, Action, IllegalMove, Status, next_status

DESCRIPTION_MAX = 2000
NOTE_MAX = 1000
QUOTE_MAX_FEN = 10_000_000  # ¥100,000: beyond that it is a project, not a repair
URGE_EVERY = timedelta(hours=1)
STAFF_ROLES = (Role.ADMIN, Role.STEWARD, Role.TECHNICIAN)


def _utc(now: datetime | None) -> datetime:
    """The time of a change, in UTC: created_at is a plain timestamp column, which SQLite stores as wall-clock text,
    so a Shanghai-aware time would be read back 8 hours off."""
    return now.astimezone(UTC) if now is not None else utcnow()


class WorkOrderError(ServiceError):
    """A work-order rule refused the request (no such category, a reason missing, someone changed the job)."""


class NotAllowed(WorkOrderError):
    """This member may not take this action on this job."""


# --- the company's settings -----------------------------------------------------------------------------


def settings() -> WorkOrderSettings:
    """The company's SLA calendar settings, or the defaults (24/7) if it never saved any."""
    row = db.session.execute(select(WorkOrderSettings)).scalar_one_or_none()
    return row or WorkOrderSettings(business_hours=False, observe_holidays=True, warn_minutes=30,
                                    day_start=WorkOrderSettings.day_start.default.arg,
                                    day_end=WorkOrderSettings.day_end.default.arg)


def calendar(row: WorkOrderSettings | None = None) -> WorkCalendar:
    row = row or settings()
    return WorkCalendar(business_hours=row.business_hours, day_start=row.day_start, day_end=row.day_end,
                        observe_holidays=row.observe_holidays)


def sla_minutes(category_id: uuid.UUID, priority: Priority) -> tuple[int, int]:
    """(response, resolution) minutes for a category and priority: the company's policy or the default."""
    policy = db.session.execute(
        select(SlaPolicy).where(SlaPolicy.category_id == category_id, SlaPolicy.priority == priority)
    ).scalar_one_or_none()
    if policy is None:
        return DEFAULT_SLA_MINUTES[priority]
    return policy.response_minutes, policy.resolution_minutes


def ensure_default_categories() -> None:
    """Give a company the standard category list once (signup and the demo call it; idempotent)."""
    if db.session.execute(select(func.count()).select_from(WorkOrderCategory)).scalar_one():
        return
    company_id = require_company_id()
    for position, name in enumerate(DEFAULT_CATEGORIES):
        mode = DispatchMode.POOL if name == "公共设施" else DispatchMode.ASSIGN
        db.session.add(WorkOrderCategory(company_id=company_id, name=name, position=position, dispatch_mode=mode))
    db.session.flush()


# --- numbers ---------------------------------------------------------------------------------------------


def next_number(now: datetime) -> str:
    """The next WO-<year>-<n> of the current company. The counter row stays locked until the caller commits, so
    concurrent reports queue for it (briefly) and never share a number; numbers are never reused."""
    year = now.astimezone(SHANGHAI).year
    bump = (update(WorkOrderCounter).where(WorkOrderCounter.year == year)
            .values(last_number=WorkOrderCounter.last_number + 1).returning(WorkOrderCounter.last_number))
    number = db.session.execute(bump, execution_options={"synchronize_session": False}).scalar_one_or_none()
    if number is None:
        dialect = db.session.get_bind().dialect.name
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        # Two first reports of the year at once: one insert wins, the other does nothing; both then bump.
        db.session.execute(insert(WorkOrderCounter).values(
            company_id=require_company_id(), id=new_id(), created_at=now, year=year, last_number=0,
        ).on_conflict_do_nothing())
        number = db.session.execute(bump, execution_options={"synchronize_session": False}).scalar_one()
    return f"WO-{year}-{number:06d}"


def _provisional_number(order_id: uuid.UUID) -> str:
    """A placeholder that keeps (company, number) unique until create_order takes the real number just before it
    commits; never committed, never shown."""
    return f"~{order_id.hex[-19:]}"


# --- creating a job ---------------------------------------------------------------------------------------


@dataclass
class Report:
    """What someone reported, before it is a job. Views fill it from their forms."""

    source: Source
    area: Area
    category_id: uuid.UUID | None
    description: str
    priority: Priority = Priority.NORMAL
    preferred_time: str = ""
    household: Household | None = None
    repair_point: RepairPoint | None = None
    community_id: uuid.UUID | None = None
    reporter_name: str = ""
    reporter_phone: str = ""


def create_order(report: Report, *, actor: User | None, membership: Membership | None, files=(),
                 now: datetime | None = None) -> WorkOrder:
    """Open a job, number it, start its SLA clocks and dispatch it. ``actor`` is None for the QR form."""
    now = _utc(now)
    description = (report.description or "").strip()
    if len(description) < 2:  # "灯不亮" is a whole report
        raise WorkOrderError(_l("Describe the problem in a few words."), "description")
    if len(description) > DESCRIPTION_MAX:
        raise WorkOrderError(_l("Keep the description under %(n)d characters.", n=DESCRIPTION_MAX), "description")
    preferred_time = (report.preferred_time or "").strip()
    if len(preferred_time) > 100:
        raise WorkOrderError(_l("Keep the preferred time under 100 characters."), "preferred_time")
    category = _live_category(report.category_id)
    try:
        priority = Priority(report.priority)
    except ValueError as exc:
        raise WorkOrderError(_l("Choose a priority."), "priority") from exc
    household, community_id, building_id, location = _where(report)
    phone = (report.reporter_phone or "").strip()
    if phone:
        phone = normalise_mobile(phone)
        if phone is None:
            raise WorkOrderError(_l("Enter an 11-digit mainland mobile number."), "reporter_phone")
    elif report.source == Source.QR:
        raise WorkOrderError(_l("Enter your mobile number so we can reach you."), "reporter_phone")
    prepared = photos.prepare_all(files)

    response, resolution = sla_minutes(category.id, priority)
    clock = calendar()
    order_id = new_id()
    order = WorkOrder(
        company_id=require_company_id(), id=order_id, number=_provisional_number(order_id), source=report.source,
        area=report.area, household_id=household.id if household else None, community_id=community_id,
        building_id=building_id, repair_point_id=report.repair_point.id if report.repair_point else None,
        location=location, category_id=category.id, priority=priority, description=description,
        preferred_time=preferred_time, reporter_user_id=actor.id if actor and _is_owner(membership) else None,
        reporter_membership_id=membership.id if _is_owner(membership) else None,
        reporter_name=(report.reporter_name or (actor.name if actor and _is_owner(membership) else ""))[:50],
        reporter_phone=phone or (actor.phone if actor and _is_owner(membership) and actor.phone else "")
        or (household.owner_phone if household else ""),
        created_by_id=actor.id if actor else None, status=Status.NEW, created_at=now, updated_at=now,
        response_due_at=clock.add(now, response), resolution_due_at=clock.add(now, resolution), last_seq=0,
    )
    db.session.add(order)
    db.session.flush()
    order.category = category
    created = _append(order, EventKind.CREATED, actor=actor, now=now, to_status=Status.NEW,
                      actor_name=_reporter_label(order, actor))
    _store_photos(order, prepared, created.seq, PhotoStage.REPORT, actor)
    assignee = _dispatch(order, category)
    if assignee is not None:
        order.assignee_id = assignee.id
        order.status = next_status(Status.NEW, Action.ASSIGN)  # the dispatcher's move is the state machine's too
        _append(order, EventKind.TRANSITION, action=Action.ASSIGN, from_status=Status.NEW,
                to_status=order.status, actor=None, now=now, note=notify.person_label(assignee))
    elif category.dispatch_mode == DispatchMode.POOL:
        order.in_pool = True
    # The number last: next_number() locks the company's counter row until COMMIT, so every report of the company
    # queues behind whoever holds it. Taken here, after the photos are written and the job dispatched, the lock
    # covers only the notices (which quote the number) and the commit; taken first, it covered the whole report.
    order.number = next_number(now)
    messages = notify.created(order, actor)
    if assignee is not None:
        messages += notify.assigned(order, assignee, actor=None)
    elif order.in_pool:
        messages += notify.pooled(order)
    if notify.reaches_nobody(order):  # assign mode with nobody to give it to, or a pool nobody may take from
        messages += notify.needs_dispatch(order, skip=actor)
    db.session.commit()
    deliver_after_commit(messages)
    return order


def _is_owner(membership: Membership | None) -> bool:
    return membership is not None and membership.role == Role.OWNER


def _reporter_label(order: WorkOrder, actor: User | None) -> str:
    if actor is not None:
        return actor.name
    return f"{order.reporter_name or ''} {order.reporter_phone[:3]}****{order.reporter_phone[-4:]}".strip()


def _live_category(category_id) -> WorkOrderCategory:
    try:
        category_id = uuid.UUID(str(category_id))
    except ValueError:
        category_id = None
    category = None
    if category_id is not None:
        category = db.session.execute(
            select(WorkOrderCategory).where(WorkOrderCategory.id == category_id,
                                            WorkOrderCategory.archived_at.is_(None))
        ).scalar_one_or_none()
    if category is None:
        raise WorkOrderError(_l("Choose a category."), "category_id")
    return category


def _where(report: Report):
    """(household, community id, building id, location words) for a report; refuses incomplete places."""
    household = report.household
    if report.area == Area.HOME:
        if household is None:
            raise WorkOrderError(_l("Choose the home this repair is for."), "household_id")
        return household, household.building.community_id, household.building_id, household.label
    point = report.repair_point
    if point is not None:
        return household, point.community_id, point.building_id, f"{point.community.name} {point.name}"
    if household is not None:
        return household, household.building.community_id, household.building_id, \
            f"{household.building.community.name} {household.building.name}"
    if report.community_id is None:
        raise WorkOrderError(_l("Choose the community."), "community_id")
    community = db.session.execute(
        select(Community).where(Community.id == report.community_id, Community.live())
    ).scalar_one_or_none()
    if community is None:
        raise WorkOrderError(_l("Choose the community."), "community_id")
    return None, community.id, None, community.name


def _dispatch(order: WorkOrder, category: WorkOrderCategory) -> Membership | None:
    """Who a new job goes to: an in-home job to the home's steward; otherwise by the category's rule."""
    if order.area == Area.HOME:
        steward = queries.household_steward(order.household_id)
        if steward is not None:
            return steward
    if category.dispatch_mode == DispatchMode.POOL:
        return None
    if category.default_assignee_id is not None:
        person = db.session.execute(
            select(Membership).where(Membership.id == category.default_assignee_id, Membership.ended_at.is_(None),
                                     Membership.role.in_(STAFF_ROLES))
        ).scalar_one_or_none()
        if person is not None:
            return person
    return queries.least_busy_technician(category.id)


# --- the timeline -------------------------------------------------------------------------------------------


def _append(order: WorkOrder, kind: EventKind, *, actor: User | None, now: datetime, action: Action | None = None,
            from_status: Status | None = None, to_status: Status | None = None, note: str = "",
            internal: bool = False, actor_name: str | None = None) -> WorkOrderEvent:
    """Add the next timeline entry. The caller holds the job's row lock (or just created it), so seq has no gaps."""
    order.last_seq += 1
    event = WorkOrderEvent(
        company_id=order.company_id, work_order_id=order.id, seq=order.last_seq, kind=kind,
        action=action.value if action else "", from_status=from_status, to_status=to_status,
        actor_user_id=actor.id if actor else None,
        actor_name=(actor_name if actor_name is not None else (actor.name if actor else ""))[:60],
        note=note, internal=internal, created_at=now,
    )
    db.session.add(event)
    order.updated_at = now
    return event


def _store_photos(order: WorkOrder, prepared, seq: int, stage: PhotoStage, actor: User | None) -> None:
    for photo in prepared:
        photo_id, path = photos.write(order.company_id, order.id, photo)
        db.session.add(WorkOrderPhoto(
            company_id=order.company_id, id=photo_id, work_order_id=order.id, event_seq=seq, stage=stage, path=path,
            width=photo.width, height=photo.height, size_bytes=len(photo.data),
            uploaded_by_id=actor.id if actor else None,
        ))


def lock(order: WorkOrder) -> WorkOrder:
    """Re-read the job under a row lock (SELECT … FOR UPDATE): concurrent actions on one job queue here, and the
    second sees what the first did (e.g. the job already grabbed)."""
    return db.session.execute(
        select(WorkOrder).where(WorkOrder.id == order.id).with_for_update(of=WorkOrder)
        .execution_options(populate_existing=True)
    ).scalar_one()


# --- who may do what ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Viewer:
    """One member looking at one job: the facts the permission rules need, computed once per request."""

    membership: Membership
    owns: bool = False  # an owner of the job's home, or its reporter
    household_steward: bool = False  # the current steward of the job's home
    qualified: bool = False  # a technician of the job's category

    @property
    def role(self) -> Role:
        return self.membership.role

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN


def viewer_for(order: WorkOrder, membership: Membership) -> Viewer:
    steward = queries.household_steward(order.household_id) if membership.role == Role.STEWARD else None
    return Viewer(
        membership=membership, owns=queries.owns(order, membership),
        household_steward=steward is not None and steward.id == membership.id,
        qualified=membership.role in STAFF_ROLES and order.in_pool
        and queries.is_qualified(membership, order.category_id),
    )


def may(order: WorkOrder, action: Action, viewer: Viewer, now: datetime) -> bool:
    """Whether this member may take ``action`` on this job (the state machine is asked separately)."""
    assignee = order.assignee_id is not None and order.assignee_id == viewer.membership.id
    if action == Action.ASSIGN:
        return viewer.is_admin or (viewer.role == Role.STEWARD and (assignee or viewer.household_steward))
    if action == Action.GRAB:
        return order.in_pool and viewer.qualified
    if action in (Action.ACCEPT, Action.DECLINE):
        return assignee
    if action in (Action.ON_THE_WAY, Action.START, Action.WAIT, Action.QUOTE, Action.COMPLETE):
        return assignee or viewer.is_admin
    if action == Action.RESUME:
        return (assignee or viewer.is_admin) and order.quote_status != QuoteStatus.PROPOSED
    if action in (Action.ACCEPT_QUOTE, Action.DECLINE_QUOTE):
        return (viewer.owns or viewer.is_admin) and order.quote_status == QuoteStatus.PROPOSED
    if action == Action.RATE:
        return viewer.owns
    if action == Action.CLOSE:
        return viewer.is_admin
    if action == Action.REOPEN:
        return (viewer.owns or viewer.is_admin) and can_reopen(order, now)
    if action == Action.CANCEL:
        return viewer.is_admin or (viewer.owns and order.status in BEFORE_WORK)
    return False  # RELEASE: the system only


def may_comment(order: WorkOrder, viewer: Viewer) -> bool:
    """Those involved in the job: admins, the assignee, the home's steward, the owner. Not a technician who only
    sees it in the grab pool (they take it first)."""
    assignee = order.assignee_id is not None and order.assignee_id == viewer.membership.id
    return viewer.is_admin or assignee or viewer.household_steward or viewer.owns


def can_reopen(order: WorkOrder, now: datetime) -> bool:
    return order.completed_at is not None and now - order.completed_at <= timedelta(days=REOPEN_DAYS)


def available_actions(order: WorkOrder, viewer: Viewer, now: datetime | None = None) -> list[Action]:
    """The buttons to show: legal in this status and allowed to this member."""
    now = _utc(now)
    from tenants.work_orders.states import allowed

    return [action for action in allowed(order.status) if may(order, action, viewer, now)]


# --- status changes -----------------------------------------------------------------------------------------


@dataclass
class Ratings:
    overall: int
    speed: int
    attitude: int
    comment: str = ""


# Actions that need the user to say why.
_REASON_REQUIRED = {
    Action.DECLINE: _l("Say why you decline, so the dispatcher can find someone else."),
    Action.CANCEL: _l("Say why the job is cancelled."),
    Action.REOPEN: _l("Say what is still wrong."),
    Action.WAIT: _l("Say what you are waiting for."),
}


# Sent when an owner accepts a quote, before the commit: tenants/fees bills the paid repair (its receiver adds to
# this transaction only).
quote_accepted = Namespace().signal("work-order-quote-accepted")


def perform(order: WorkOrder, action: Action | str, *, actor: User | None, membership: Membership | None,
            note: str = "", assignee_id=None, quote_fen=None, ratings: Ratings | None = None, files=(),
            now: datetime | None = None, commit: bool = True) -> WorkOrder:
    """Take ``action`` on the job: the only way a job's status changes. ``membership`` None means the system
    (the SLA job auto-closing); anyone else is checked against ``may``. Raises IllegalMove, NotAllowed or
    WorkOrderError without changing anything. ``commit=False`` leaves the commit to a caller that changes more
    in the same transaction (a membership ending releases its jobs)."""
    now = _utc(now)
    try:
        action = Action(action)
    except ValueError as exc:
        raise WorkOrderError(_l("Unknown action.")) from exc
    order = lock(order)
    if membership is not None and not may(order, action, viewer_for(order, membership), now):
        # Say what the state machine says when the move itself is illegal; else it is about who asks.
        next_status(order.status, action, resume_status=order.resume_status)
        if action == Action.REOPEN and order.completed_at is not None and not can_reopen(order, now):
            raise IllegalMove(_l("A job can be reopened only within %(n)d days of completion.", n=REOPEN_DAYS))
        raise NotAllowed(_l("You can't do that on this job."))
    target = next_status(order.status, action, resume_status=order.resume_status)
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise WorkOrderError(_l("Keep the note under %(n)d characters.", n=NOTE_MAX), "note")
    if action in _REASON_REQUIRED and not note:
        raise WorkOrderError(_REASON_REQUIRED[action], "note")
    assignee = _assignee(assignee_id) if action == Action.ASSIGN else None
    if action == Action.QUOTE:
        quote_fen = _quote(quote_fen)
    if action == Action.RATE:
        ratings = _ratings(ratings)
    prepared = photos.prepare_all(files)

    source = order.status
    if action == Action.ASSIGN:
        order.assignee_id, order.in_pool = assignee.id, False
        order.assignee = assignee
        note = notify.person_label(assignee) + (f" · {note}" if note else "")
    elif action == Action.GRAB:
        order.assignee_id, order.in_pool = membership.id, False
        order.accepted_at = order.accepted_at or now
    elif action == Action.ACCEPT:
        order.accepted_at = order.accepted_at or now
    elif action == Action.DECLINE:
        order.assignee_id = None
        order.in_pool = order.category.dispatch_mode == DispatchMode.POOL
    elif action == Action.START:
        order.started_at = order.started_at or now
    elif action in (Action.WAIT, Action.QUOTE):
        order.resume_status, order.paused_at = source, now
        if action == Action.QUOTE:
            order.quote_fen, order.quote_status, order.quote_note = quote_fen, QuoteStatus.PROPOSED, note[:200]
    elif action in (Action.RESUME, Action.ACCEPT_QUOTE):
        _unpause(order, calendar(), now)
        if action == Action.ACCEPT_QUOTE:
            order.quote_status = QuoteStatus.ACCEPTED
    elif action == Action.DECLINE_QUOTE:
        order.quote_status = QuoteStatus.DECLINED
        order.paused_at = order.resume_status = None
        order.cancelled_at = now
    elif action == Action.COMPLETE:
        order.completed_at = now
    elif action == Action.RATE:
        order.rating_overall, order.rating_speed, order.rating_attitude = (
            ratings.overall, ratings.speed, ratings.attitude)
        order.rating_comment, order.rated_at, order.closed_at = ratings.comment, now, now
        note = ratings.comment
    elif action == Action.CLOSE:
        order.closed_at = now
    elif action == Action.REOPEN:
        _, resolution = sla_minutes(order.category_id, order.priority)
        order.completed_at = order.closed_at = order.rated_at = None
        order.rating_overall = order.rating_speed = order.rating_attitude = None
        order.rating_comment = ""
        order.reopen_count += 1
        order.resolution_due_at = calendar().add(now, resolution)
        order.resolution_warned_at = order.resolution_breached_at = None  # back to whoever did it
    elif action == Action.CANCEL:
        order.cancelled_at = now
        order.paused_at = order.resume_status = None
        _withdraw_quote(order)
    elif action == Action.RELEASE:
        _unpause(order, calendar(), now)
        _withdraw_quote(order)  # the next person quotes afresh
        order.assignee_id = None
        order.in_pool = order.category.dispatch_mode == DispatchMode.POOL
    order.status = target
    event = _append(order, EventKind.TRANSITION, actor=actor, now=now, action=action, from_status=source,
                    to_status=target, note=note, internal=action == Action.DECLINE)
    _store_photos(order, prepared, event.seq, PhotoStage.WORK if membership and membership.role in STAFF_ROLES
                  else PhotoStage.COMMENT, actor)
    if action == Action.REOPEN and not _is_current_staff(order.assignee_id):
        # The person who did it has left: the job goes back to dispatch rather than to a former employee.
        order.status = next_status(order.status, Action.RELEASE)
        order.assignee_id = None
        order.in_pool = order.category.dispatch_mode == DispatchMode.POOL
        _append(order, EventKind.TRANSITION, actor=None, now=now, action=Action.RELEASE, from_status=target,
                to_status=order.status)
        target = order.status
    messages = notify.transition(order, action, actor=actor, assignee=assignee)
    if order.status == Status.NEW and notify.reaches_nobody(order):
        # Back to dispatch (declined, or the person left) with nobody to take it: the admins must assign it. The
        # transition's notice told them of a decline or release in the app already; a reopen's did not.
        messages += notify.needs_dispatch(order, notice=action not in (Action.DECLINE, Action.RELEASE), skip=actor)
    audit.record(f"work_order.{action.value}", actor=actor, object_type="work_order", object_id=order.id,
                 object_label=order.number, changes={"status": [source.value, target.value]})
    if action == Action.ACCEPT_QUOTE:
        quote_accepted.send(order, actor=actor)  # fees bills the repair, in this transaction
    if commit:
        _commit_or_explain()
        deliver_after_commit(messages)
    return order


def _commit_or_explain() -> None:
    """Commit; a unique-index clash here means someone changed the job at the same moment (SQLite ignores
    FOR UPDATE; PostgreSQL's row lock makes this path unreachable there)."""
    from sqlalchemy.exc import IntegrityError

    try:
        db.session.commit()
    except IntegrityError as exc:
        db.session.rollback()
        raise WorkOrderError(_l("Someone else changed this job at the same moment. Reload the page and try "
                                "again.")) from exc


def _is_current_staff(membership_id) -> bool:
    if membership_id is None:
        return False
    return db.session.execute(select(func.count()).select_from(Membership).where(
        Membership.id == membership_id, Membership.ended_at.is_(None), Membership.role.in_(STAFF_ROLES))
    ).scalar_one() > 0


def release_jobs_of(membership: Membership, *, actor: User | None) -> int:
    """Put the open jobs of someone who left (or is no longer staff) back to dispatch: nobody's job is silently
    held by a former employee. The caller commits (with the membership change)."""
    held = db.session.execute(select(WorkOrder).where(WorkOrder.assignee_id == membership.id,
                                                      WorkOrder.status.in_(OPEN - {Status.NEW}))
                              .order_by(WorkOrder.id)).scalars().all()
    for order in held:
        perform(order, Action.RELEASE, actor=actor, membership=None, commit=False,
                note=notify.person_label(membership))
    return len(held)


def _withdraw_quote(order: WorkOrder) -> None:
    if order.quote_status == QuoteStatus.PROPOSED:
        order.quote_status = QuoteStatus.NONE


def _unpause(order: WorkOrder, clock: WorkCalendar, now: datetime) -> None:
    """Push the deadlines still running back by the (working) time the job waited for the owner."""
    if order.paused_at is not None:
        if order.accepted_at is None:
            order.response_due_at = clock.shift(order.response_due_at, order.paused_at, now)
        order.resolution_due_at = clock.shift(order.resolution_due_at, order.paused_at, now)
    order.paused_at = order.resume_status = None


def _assignee(assignee_id) -> Membership:
    try:
        assignee_id = uuid.UUID(str(assignee_id))
    except ValueError:
        assignee_id = None
    person = None
    if assignee_id is not None:
        person = db.session.execute(
            select(Membership).where(Membership.id == assignee_id, Membership.ended_at.is_(None),
                                     Membership.role.in_(STAFF_ROLES))
        ).scalar_one_or_none()
    if person is None:
        raise WorkOrderError(_l("Choose who should do this job."), "assignee_id")
    return person


def _quote(value) -> int:
    try:
        fen = int(value)
    except (TypeError, ValueError) as exc:
        raise WorkOrderError(_l("Enter the price."), "quote") from exc
    if not 0 < fen <= QUOTE_MAX_FEN:
        raise WorkOrderError(_l("The price must be between ¥0.01 and ¥100,000."), "quote")
    return fen


def _ratings(ratings: Ratings | None) -> Ratings:
    if ratings is None:
        raise WorkOrderError(_l("Give the job 1 to 5 stars."), "overall")
    for field in ("overall", "speed", "attitude"):
        value = getattr(ratings, field)
        if not isinstance(value, int) or not 1 <= value <= 5:
            raise WorkOrderError(_l("Give 1 to 5 stars."), field)
    comment = (ratings.comment or "").strip()
    if len(comment) > 500:
        raise WorkOrderError(_l("Keep the comment under 500 characters."), "comment")
    return Ratings(ratings.overall, ratings.speed, ratings.attitude, comment)


# --- notes on the way -----------------------------------------------------------------------------------------


def comment(order: WorkOrder, *, actor: User, membership: Membership, note: str, files=(),
            now: datetime | None = None) -> WorkOrderEvent:
    now = _utc(now)
    note = (note or "").strip()
    prepared = photos.prepare_all(files)
    if not note and not prepared:
        raise WorkOrderError(_l("Write a comment or attach a photo."), "note")
    if len(note) > NOTE_MAX:
        raise WorkOrderError(_l("Keep the comment under %(n)d characters.", n=NOTE_MAX), "note")
    order = lock(order)
    if order.status == Status.CANCELLED:
        raise IllegalMove(_l("This job was cancelled; nothing more can be done to it."))
    if not may_comment(order, viewer_for(order, membership)):
        raise NotAllowed(_l("Take the job before commenting on it."))
    event = _append(order, EventKind.COMMENT, actor=actor, now=now, note=note)
    _store_photos(order, prepared, event.seq, PhotoStage.COMMENT, actor)
    messages = notify.commented(order, actor=actor, membership=membership)
    _commit_or_explain()
    deliver_after_commit(messages)
    return event


def can_urge(order: WorkOrder, now: datetime) -> bool:
    return order.is_overdue(now) and (order.last_urged_at is None or now - order.last_urged_at >= URGE_EVERY)


def urge(order: WorkOrder, *, actor: User, membership: Membership, now: datetime | None = None) -> None:
    """催单: an owner pushes an overdue job. Once an hour at most; tells the assignee and the admins."""
    now = _utc(now)
    order = lock(order)
    if not order.is_open:
        raise IllegalMove(_l("Only an open job can be urged."))
    if not order.is_overdue(now):
        raise IllegalMove(_l("The job is still within its promised time; you can urge it once it is overdue."))
    if order.last_urged_at is not None and now - order.last_urged_at < URGE_EVERY:
        raise IllegalMove(_l("You urged this job less than an hour ago; the team has been told."))
    order.last_urged_at, order.urge_count = now, order.urge_count + 1
    _append(order, EventKind.URGED, actor=actor, now=now)
    messages = notify.urged(order)
    db.session.commit()
    deliver_after_commit(messages)


def record_follow_up(order: WorkOrder, *, actor: User, membership: Membership, reached: bool,
                     satisfied: bool | None, note: str, now: datetime | None = None) -> WorkOrderFollowUp:
    """回访: the steward's call after completion. Not reached → satisfaction unknown."""
    now = _utc(now)
    if order.status not in (Status.DONE, Status.CLOSED):
        raise IllegalMove(_l("A follow-up is recorded after the job is done."))
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise WorkOrderError(_l("Keep the note under %(n)d characters.", n=NOTE_MAX), "note")
    if reached and satisfied is None:
        raise WorkOrderError(_l("Say whether the owner was satisfied."), "satisfied")
    order = lock(order)
    follow_up = WorkOrderFollowUp(company_id=order.company_id, work_order_id=order.id, membership_id=membership.id,
                                  reached=reached, satisfied=satisfied if reached else None, note=note,
                                  created_at=now)
    db.session.add(follow_up)
    summary = (_l("Reached, satisfied") if reached and satisfied else _l("Reached, not satisfied") if reached
               else _l("Not reached"))
    _append(order, EventKind.FOLLOW_UP, actor=actor, now=now, note=f"{summary}" + (f" · {note}" if note else ""),
            internal=True)
    db.session.commit()
    return follow_up

