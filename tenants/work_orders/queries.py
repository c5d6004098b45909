"""Questions about work orders: who may see which job, the household's steward, qualified technicians.

Visibility is one function so every list and every detail page agrees: an admin sees the company's jobs; a
steward the jobs of the homes they look after and the jobs given to them; a technician the jobs given to them
and the pool jobs of their categories; an owner the jobs of their own homes and the jobs they reported.
"""

from __future__ import annotations

import functools
import uuid
from datetime import datetime

from flask import abort
from sqlalchemy import Uuid, and_, bindparam, false, func, literal_column, or_, select, union

from saas.clock import local_midnight, local_today
from saas.extensions import db
from saas.models import Membership, Role, User
from saas.tenancy import built_once, parse_uuid_or_404
from tenants.roster.models import HouseholdOwner
from tenants.stewards.models import StewardAssignment
from tenants.work_orders.models import CategoryTechnician, WorkOrder, WorkOrderCategory
from tenants.work_orders.states import OPEN


def my_household_ids(membership: Membership):
    return select(HouseholdOwner.household_id).where(HouseholdOwner.membership_id == membership.id,
                                                     HouseholdOwner.ended_at.is_(None))


def stewarded_household_ids(membership: Membership):
    return select(StewardAssignment.household_id).where(StewardAssignment.steward_id == membership.id,
                                                        StewardAssignment.ended_at.is_(None))


def qualified_category_ids(membership: Membership):
    return select(CategoryTechnician.category_id).where(CategoryTechnician.membership_id == membership.id,
                                                        CategoryTechnician.ended_at.is_(None))


def _pool_of(membership: Membership):
    return and_(WorkOrder.in_pool, WorkOrder.status.in_(OPEN),
                WorkOrder.category_id.in_(qualified_category_ids(membership)))


def _owners_home_since_joined(membership: Membership):
    """A job of a home the owner is bound to now, reported since they were bound to it: a buyer does not read the
    previous owner's repairs (their names, phones, comments and photos)."""
    return WorkOrder.household_owners.any(and_(HouseholdOwner.membership_id == membership.id,
                                               HouseholdOwner.ended_at.is_(None),
                                               HouseholdOwner.created_at <= WorkOrder.created_at))


def owner_job_ids(membership: Membership):
    """The ids of an owner's jobs: those they reported, and those of the homes they are bound to reported since.

    Two index walks (``ix_work_orders_reporter``; the owner's homes, then ``ix_work_orders_household``) whose
    cost follows the owner's own jobs. The same rule written as ``reporter = me OR EXISTS (my home …)`` made
    PostgreSQL test the EXISTS on every job of the company: over a second at 200,000 jobs."""
    reported = select(WorkOrder.id).where(WorkOrder.reporter_membership_id == membership.id)
    of_my_homes = (select(WorkOrder.id).join(HouseholdOwner, and_(
        HouseholdOwner.household_id == WorkOrder.household_id, HouseholdOwner.membership_id == membership.id,
        HouseholdOwner.ended_at.is_(None), HouseholdOwner.created_at <= WorkOrder.created_at)))
    return union(reported, of_my_homes)


def visible_clause(membership: Membership):
    """A WHERE clause limiting work orders to those ``membership`` may see."""
    role = membership.role
    if role == Role.ADMIN:
        return WorkOrder.id.is_not(None)
    if role == Role.STEWARD:
        return or_(WorkOrder.assignee_id == membership.id,
                   WorkOrder.household_id.in_(stewarded_household_ids(membership)), _pool_of(membership))
    if role == Role.TECHNICIAN:
        return or_(WorkOrder.assignee_id == membership.id, _pool_of(membership))
    if role == Role.OWNER:
        return WorkOrder.id.in_(owner_job_ids(membership))
    return false()


def visible_or_404(order_id, membership: Membership) -> WorkOrder:
    """The job if ``membership`` may see it; 404 otherwise (exactly as for another company's job)."""
    order_id = parse_uuid_or_404(order_id)
    order = db.session.execute(_visible_statement(membership.role),
                               {"order_id": order_id, "member_id": membership.id}).scalar_one_or_none()
    if order is None:
        abort(404)
    return order


@functools.cache
def _visible_statement(role: Role):
    """visible_or_404's statement for a role, built once: the job and the member are its parameters."""
    member = _StandIn(role)
    return built_once(select(WorkOrder).where(WorkOrder.id == bindparam("order_id", type_=Uuid),
                                              visible_clause(member)))


class _StandIn:
    """A member of a role in a statement built once: their id is the parameter ``member_id`` (as Member's)."""

    def __init__(self, role: Role):
        self.role = role
        self.id = Member.id


def open_clause():
    """Open (states.OPEN), the statuses written into the SQL: the partial index ix_work_orders_open_due (migration
    0015_wo) is then usable whatever plan PostgreSQL caches for the statement (a bound list proves nothing about a
    generic plan's values)."""
    return WorkOrder.status.in_([literal_column(f"'{status.value}'") for status in sorted(OPEN)])


def pool_clause(membership: Membership):
    """New jobs in the grab pool of the member's categories. The status written into the SQL, as in open_clause,
    so that the pool's partial index (ix_work_orders_pool) serves the tab and its count."""
    return and_(WorkOrder.status == literal_column("'new'"), WorkOrder.in_pool,
                WorkOrder.category_id.in_(qualified_category_ids(membership)))


def overdue_clause(now: datetime):
    """Open, the clock running, and past its response deadline (not yet accepted) or its resolution deadline."""
    return and_(open_clause(), WorkOrder.paused_at.is_(None),
                or_(and_(WorkOrder.accepted_at.is_(None), WorkOrder.response_due_at <= now),
                    WorkOrder.resolution_due_at <= now))


def reported_today_clause(now: datetime):
    """Reported since midnight in Shanghai (the admin's "today", whatever the server's zone)."""
    return WorkOrder.created_at >= local_midnight(local_today(now))


def waiting_for_dispatch_clause():
    """Open with nobody on it: not yet dispatched, in the grab pool, or handed back by someone who left."""
    return and_(open_clause(), WorkOrder.assignee_id.is_(None))


def repair_figures_columns(now, midnight) -> list:
    """The company overview's repair figures as four labelled scalar subqueries (the overview puts them into its
    one statement); each matches a filter of the all-jobs list, so the number and the list it links to agree.
    ``now`` and ``midnight`` (today's in Shanghai, see reported_today_clause): values or bound parameters.
    Open jobs: the status counts kept by the writes; overdue and waiting: the open jobs' partial index alone;
    today: the (company, created_at) index. None of them grows with the history."""
    from tenants.work_orders.figures import WorkOrderStatusCount

    def count(*where):
        return select(func.count()).select_from(WorkOrder).where(*where).scalar_subquery()

    open_jobs = (select(func.coalesce(func.sum(WorkOrderStatusCount.n), 0))
                 .where(WorkOrderStatusCount.status.in_([s.value for s in sorted(OPEN)])).scalar_subquery())
    return [open_jobs.label("open"), count(overdue_clause(now)).label("overdue"),
            count(WorkOrder.created_at >= midnight).label("today"),  # reported_today_clause, its midnight given
            count(waiting_for_dispatch_clause()).label("waiting")]


class Member:
    """Stands in for a member in a statement built once (saas.tenancy.built_once): their id is the bound parameter
    ``member_id``, given when the statement runs."""

    id = bindparam("member_id", type_=Uuid)


def open_jobs_of_steward(membership: Membership) -> dict:
    """The steward's home page card: open jobs given to them, and open jobs of the homes they look after."""
    row = db.session.execute(_steward_jobs_statement(), {"member_id": membership.id}).one()
    return {"assigned": row[0], "homes": row[1]}


@functools.cache
def _steward_jobs_statement():
    """Two scalar subqueries, each an index walk of the steward's own jobs (ix_work_orders_assignee) or homes
    (ix_work_orders_household); one count(*) FILTER over the company's open jobs grew with the company. Built once."""
    from tenants.work_orders.states import OPEN

    mine = (select(func.count()).select_from(WorkOrder)
            .where(WorkOrder.assignee_id == Member.id, WorkOrder.status.in_(OPEN)).scalar_subquery())
    homes = (select(func.count()).select_from(WorkOrder)
             .where(WorkOrder.household_id.in_(stewarded_household_ids(Member)), WorkOrder.status.in_(OPEN))
             .scalar_subquery())
    return built_once(select(mine, homes))


def open_jobs_of_household(household_id: uuid.UUID) -> list[WorkOrder]:
    """A home's open jobs, newest first, for its steward's page (category and assignee come joined)."""
    return list(db.session.execute(
        select(WorkOrder).where(WorkOrder.household_id == household_id, WorkOrder.status.in_(OPEN))
        .order_by(WorkOrder.created_at.desc(), WorkOrder.id.desc())
    ).scalars())


def household_steward(household_id: uuid.UUID | None) -> Membership | None:
    if household_id is None:
        return None
    return db.session.execute(
        select(Membership).select_from(StewardAssignment).join(StewardAssignment.steward)
        .where(StewardAssignment.household_id == household_id, StewardAssignment.ended_at.is_(None),
               Membership.ended_at.is_(None))
    ).scalar_one_or_none()


def household_owner_user_ids(household_id: uuid.UUID | None) -> list[uuid.UUID]:
    if household_id is None:
        return []
    return list(db.session.execute(
        select(Membership.user_id).select_from(HouseholdOwner).join(HouseholdOwner.membership)
        .where(HouseholdOwner.household_id == household_id, HouseholdOwner.ended_at.is_(None),
               Membership.ended_at.is_(None))
    ).scalars())


def owns(order: WorkOrder, membership: Membership) -> bool:
    """Whether an owner membership reported this job or owns its home."""
    if membership.role != Role.OWNER:
        return False
    if order.reporter_membership_id == membership.id:
        return True
    if order.household_id is None:
        return False
    return db.session.execute(
        select(func.count()).select_from(WorkOrder)
        .where(WorkOrder.id == order.id, _owners_home_since_joined(membership))
    ).scalar_one() > 0


def is_qualified(membership: Membership, category_id: uuid.UUID) -> bool:
    return db.session.execute(
        select(func.count()).select_from(CategoryTechnician)
        .where(CategoryTechnician.membership_id == membership.id, CategoryTechnician.category_id == category_id,
               CategoryTechnician.ended_at.is_(None))
    ).scalar_one() > 0


def live_categories() -> list[WorkOrderCategory]:
    return list(db.session.execute(_live_categories_statement()).scalars())


@functools.cache
def _live_categories_statement():
    return built_once(select(WorkOrderCategory).where(WorkOrderCategory.archived_at.is_(None))
                      .order_by(WorkOrderCategory.position, WorkOrderCategory.name))


def staff_members() -> list[Membership]:
    """Everyone a job can be assigned to: current admins, stewards and technicians, by name."""
    return list(db.session.execute(
        select(Membership).join(Membership.user)
        .where(Membership.ended_at.is_(None), Membership.role.in_((Role.ADMIN, Role.STEWARD, Role.TECHNICIAN)))
        .order_by(Membership.role, User.name)
    ).scalars())


def staff_names() -> list[tuple]:
    """(membership id, role, name) of staff_members(), as plain rows: the list's filter shows hundreds of them and
    needs no objects."""
    return list(db.session.execute(
        select(Membership.id, Membership.role, User.name).join(Membership.user)
        .where(Membership.ended_at.is_(None), Membership.role.in_((Role.ADMIN, Role.STEWARD, Role.TECHNICIAN)))
        .order_by(Membership.role, User.name)
    ).all())


def least_busy_technician(category_id: uuid.UUID) -> Membership | None:
    """The qualified technician with the fewest open jobs (ties: by name), for assign-mode categories."""
    open_jobs = (select(func.count()).select_from(WorkOrder)
                 .where(WorkOrder.assignee_id == Membership.id, WorkOrder.status.in_(OPEN))
                 .correlate(Membership).scalar_subquery())
    return db.session.execute(
        select(Membership).select_from(CategoryTechnician).join(CategoryTechnician.membership)
        .join(Membership.user)
        .where(CategoryTechnician.category_id == category_id, CategoryTechnician.ended_at.is_(None),
               Membership.ended_at.is_(None),
               Membership.role.in_((Role.TECHNICIAN, Role.STEWARD, Role.ADMIN)))
        .order_by(open_jobs, User.name, Membership.id).limit(1)
    ).scalar_one_or_none()


def admin_users() -> list[User]:
    """The company's current admins (phones included, for texts), by user id."""
    return list(db.session.execute(
        select(User).select_from(Membership).join(Membership.user)
        .where(Membership.role == Role.ADMIN, Membership.ended_at.is_(None)).order_by(User.id)
    ).scalars())


def admin_user_ids() -> list[uuid.UUID]:
    return list(db.session.execute(
        select(Membership.user_id).where(Membership.role == Role.ADMIN, Membership.ended_at.is_(None))
    ).scalars())
