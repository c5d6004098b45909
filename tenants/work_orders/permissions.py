"""Who may see and act on what in work orders: the one place the views ask. Anything a member may not see is a
404, exactly as for another company's object (never a 403 that confirms it exists).

- A job: admins see every job; stewards the jobs given to them, of the homes they look after, and the grab pool of
  their categories; technicians the jobs given to them and their pool; owners the jobs they reported and those
  of their homes reported since they were bound to them. The rule is one SQL clause (``queries.visible_clause``)
  so lists, counts and a single page agree; here it is applied per request to the current member.
- A photo: whoever may see its job, except that owners never see the photos of a staff-only timeline entry.
- Which buttons a member gets on a job is ``services.available_actions`` (the services check it again); the
  follow-up call (回访) is for admins and the steward of the job's home; owners take only OWNER_ACTIONS.
- Homes: an admin may report for any live home, a steward only for the homes they look after; an owner for
  their own homes.
- The no-login QR form's receipt shows the one job its signed link names, and only if it was reported at that
  poster through the QR form.
- Categories and repair points are admin pages (``require_role`` on the view); here, the lookup that 404s on a
  bad, foreign or unknown id.
"""

from __future__ import annotations

import uuid

from flask import abort
from sqlalchemy import func, select

from saas.extensions import db
from saas.models import Role
from saas.tenancy import get_or_404, parse_uuid_or_404
from tenants.access import current_membership
from tenants.roster.models import Building, Community, Household
from tenants.work_orders import queries
from tenants.work_orders import settings_services as ss
from tenants.work_orders.models import (
    RepairPoint,
    Source,
    WorkOrder,
    WorkOrderCategory,
    WorkOrderEvent,
    WorkOrderPhoto,
)
from tenants.work_orders.states import Action

# The actions an owner may ask for from the portal (the services decide whether they apply to this job).
OWNER_ACTIONS = (Action.CANCEL, Action.RATE, Action.REOPEN, Action.ACCEPT_QUOTE, Action.DECLINE_QUOTE)


# --- jobs ------------------------------------------------------------------------------------------------------


def visible_clause():
    """A WHERE clause limiting work orders to those the current member may see."""
    return queries.visible_clause(current_membership)


def order_or_404(order_id) -> WorkOrder:
    """The job if the current member may see it; 404 otherwise."""
    return queries.visible_or_404(order_id, current_membership)


def still_visible(order: WorkOrder) -> bool:
    """Whether the current member still sees the job after acting on it (a declined job leaves their list)."""
    return db.session.execute(select(func.count()).select_from(WorkOrder).where(
        WorkOrder.id == order.id, visible_clause())).scalar_one() > 0


def action_or_404(value: str, allowed=None) -> Action:
    """The action named in the URL; 404 for an unknown one, or one outside ``allowed``."""
    try:
        action = Action(value)
    except ValueError:
        abort(404)
    if allowed is not None and action not in allowed:
        abort(404)
    return action


def may_follow_up(viewer) -> bool:
    """The follow-up call (回访) is recorded by an admin or the steward of the job's home."""
    return viewer.is_admin or viewer.household_steward


def photo_or_404(photo_id) -> WorkOrderPhoto:
    """A job's photo, if the current member may see the job and, for an owner, the entry it belongs to."""
    row = db.session.execute(select(WorkOrderPhoto).where(WorkOrderPhoto.id == parse_uuid_or_404(photo_id))
                             ).scalar_one_or_none()
    if row is None:
        abort(404)
    order_or_404(row.work_order_id)
    if current_membership.role == Role.OWNER and db.session.execute(
            select(WorkOrderEvent.internal).where(WorkOrderEvent.work_order_id == row.work_order_id,
                                                  WorkOrderEvent.seq == row.event_seq)).scalar_one_or_none():
        abort(404)  # a photo of a staff-only timeline entry
    return row


def reported_at(order_id: str, point: RepairPoint) -> WorkOrder | None:
    """The job a QR receipt names (already checked as signed for this poster), if it was reported at ``point``
    through the QR form; None otherwise. Runs inside the poster's company."""
    return db.session.execute(
        select(WorkOrder).where(WorkOrder.id == uuid.UUID(order_id), WorkOrder.repair_point_id == point.id,
                                WorkOrder.source == Source.QR)
    ).scalar_one_or_none()


# --- homes -----------------------------------------------------------------------------------------------------


def reportable_homes(stmt):
    """Limit a Household query to the homes the current staff member may report for (stewards: their own)."""
    stmt = stmt.where(Household.live())
    if current_membership.role == Role.STEWARD:
        stmt = stmt.where(Household.id.in_(queries.stewarded_household_ids(current_membership)))
    return stmt


def reportable_home(household_id) -> Household | None:
    """The posted home, if the current staff member may report for it (a forged id is simply not found)."""
    try:
        household_id = uuid.UUID(str(household_id))
    except ValueError:
        return None
    return db.session.execute(reportable_homes(select(Household).where(Household.id == household_id))
                              ).scalar_one_or_none()


def my_homes() -> list[Household]:
    """The current owner's homes, in address order."""
    return list(db.session.execute(
        select(Household).join(Household.building).join(Building.community)
        .where(Household.id.in_(queries.my_household_ids(current_membership)), Household.live())
        .order_by(Community.name, Building.name, Household.unit, Household.room)
    ).scalars())


# --- admin pages -----------------------------------------------------------------------------------------------


def category_or_404(category_id) -> WorkOrderCategory:
    """A category of this company (live or archived)."""
    category = ss.get_category(parse_uuid_or_404(category_id))
    if category is None:
        abort(404)
    return category


def point_or_404(point_id) -> RepairPoint:
    """A repair point (QR poster) of this company."""
    return get_or_404(RepairPoint, point_id)
