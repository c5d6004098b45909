"""QR repair points (扫码报修): a place with a printed poster (an elevator, the pump room, a gate) whose QR code
opens the no-login report form of tenants/work_orders/intake.py.

The poster carries only a random token. The public form finds the company through the global
``RepairPointToken`` index (it has no company in its URL, and company tables cannot be read without one), then
checks the point itself: a regenerated token stays in the index (old tokens are never handed out again) but
no longer matches its point, so an abused poster stops working the moment a new one is made.
"""

from __future__ import annotations

import re
import secrets
import uuid

from sqlalchemy import func, select

from saas import audit
from saas.extensions import db
from saas.i18n import _l
from saas.models import User
from saas.tenancy import company_context, new_id, require_company_id, utcnow
from tenants.roster.models import Building, Community
from tenants.work_orders import queries
from tenants.work_orders.models import RepairPoint, RepairPointToken, WorkOrder, WorkOrderCategory
from tenants.work_orders.services import WorkOrderError

NAME_MAX = 60
FALLBACK_CATEGORY = "其他"
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,32}$")


class PointError(WorkOrderError):
    """A repair-point rule refused the request (no such community, a name too long…)."""


def new_token() -> str:
    # 128 random bits, 22 URL-safe characters: not guessable, short enough for a dense-free QR code.
    return secrets.token_urlsafe(16)


def _uuid(value) -> uuid.UUID | None:
    if value in (None, ""):
        return None
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def _one(stmt, raw_id):
    """The row ``stmt`` finds, or None without asking when ``raw_id`` is not an id at all."""
    return db.session.execute(stmt).scalar_one_or_none() if _uuid(raw_id) else None


def create_point(*, name: str, community_id, building_id, category_id, actor: User | None) -> RepairPoint:
    """A new point with its own token (and its row in the global token index). Commits."""
    name = " ".join((name or "").split())
    if not name:
        raise PointError(_l("Name the place, e.g. “3号楼 1单元 电梯”."), "name")
    if len(name) > NAME_MAX:
        raise PointError(_l("Keep the name under %(n)d characters.", n=NAME_MAX), "name")
    community = _one(select(Community).where(Community.id == _uuid(community_id), Community.live()),
                     community_id)
    if community is None:
        raise PointError(_l("Choose the community."), "community_id")
    building = None
    if building_id not in (None, ""):
        building = _one(select(Building).where(Building.id == _uuid(building_id),
                                               Building.community_id == community.id, Building.live()),
                        building_id)
        if building is None:
            raise PointError(_l("Choose a building of %(community)s, or none.", community=community.name),
                             "building_id")
    category = None
    if category_id not in (None, ""):
        category = _one(select(WorkOrderCategory).where(WorkOrderCategory.id == _uuid(category_id),
                                                        WorkOrderCategory.archived_at.is_(None)), category_id)
        if category is None:
            raise PointError(_l("Choose a category, or none."), "category_id")

    company_id = require_company_id()
    token = new_token()
    point = RepairPoint(company_id=company_id, id=new_id(), name=name, community_id=community.id,
                        building_id=building.id if building else None,
                        category_id=category.id if category else None, token=token)
    db.session.add(point)
    db.session.add(RepairPointToken(token=token, company_id=company_id, point_id=point.id))
    audit.record("repair_point.create", actor=actor, object_type="repair_point", object_id=point.id,
                 object_label=f"{community.name} {name}",
                 changes={"name": [None, name], "building": [None, building.name if building else None],
                          "category": [None, category.name if category else None]})
    db.session.commit()
    return point


def archive_point(point: RepairPoint, actor: User | None) -> RepairPoint:
    """Retire a poster: its code then shows "no longer in use". The point and its jobs stay. Commits."""
    if point.archived_at is not None:
        return point
    point.archived_at = utcnow()
    audit.record("repair_point.archive", actor=actor, object_type="repair_point", object_id=point.id,
                 object_label=point.name, changes={"archived": [False, True]})
    db.session.commit()
    return point


def regenerate_token(point: RepairPoint, actor: User | None) -> RepairPoint:
    """A new code for the point: the printed poster stops working at once (one that was copied or abused)."""
    if point.archived_at is not None:
        raise PointError(_l("This poster is archived; make a new one instead."))
    token = new_token()
    point.token = token
    db.session.add(RepairPointToken(token=token, company_id=point.company_id, point_id=point.id))
    # The token itself stays out of the audit log: the log is for what happened, not a key to the form.
    audit.record("repair_point.new_code", actor=actor, object_type="repair_point", object_id=point.id,
                 object_label=point.name, changes={"code": ["old", "new"]})
    db.session.commit()
    return point


def resolve_token(token: str) -> tuple[uuid.UUID, uuid.UUID] | None:
    """(company id, point id) of the live point whose poster carries ``token``; None for an unknown,
    replaced or archived code. Needs no company context (it sets its own)."""
    if not token or not _TOKEN.match(token):
        return None
    row = db.session.get(RepairPointToken, token)
    if row is None:
        return None
    company_id, point_id = row.company_id, row.point_id
    with company_context(company_id):
        # The whole row, not just a yes: the caller's db.session.get() then finds it without another query.
        live = db.session.execute(
            select(RepairPoint).where(RepairPoint.id == point_id, RepairPoint.token == token,
                                      RepairPoint.archived_at.is_(None))
        ).scalar_one_or_none()
    return (company_id, point_id) if live is not None else None


def intake_category_id(point: RepairPoint) -> uuid.UUID | None:
    """The category a QR report gets: the point's own if still live, else "其他", else the first live one."""
    categories = queries.live_categories()
    for wanted in (lambda c: c.id == point.category_id, lambda c: c.name == FALLBACK_CATEGORY):
        for category in categories:
            if wanted(category):
                return category.id
    return categories[0].id if categories else None


def location_label(point: RepairPoint) -> str:
    """Where the point is, in words, as the poster and the form show it."""
    community = point.community
    return f"{community.name} {point.name}" if community else point.name


# --- reads for the admin pages ------------------------------------------------------------------------------


def list_query():
    """Live points first, then archived; by community and name."""
    return (select(RepairPoint)
            .join(RepairPoint.community)
            .order_by(RepairPoint.archived_at.is_not(None), Community.name, RepairPoint.name, RepairPoint.id))


def names_for(points) -> dict[uuid.UUID, str]:
    """Names of the communities, buildings and categories these points name, by id (ids are unique UUIDs)."""
    names: dict[uuid.UUID, str] = {}
    for model, ids in ((Community, {p.community_id for p in points}),
                       (Building, {p.building_id for p in points if p.building_id}),
                       (WorkOrderCategory, {p.category_id for p in points if p.category_id})):
        if ids:
            names.update(db.session.execute(select(model.id, model.name).where(model.id.in_(ids))).all())
    return names


def report_counts(point_ids) -> dict[uuid.UUID, int]:
    """How many jobs came in through each of these points (one grouped query)."""
    if not point_ids:
        return {}
    rows = db.session.execute(
        select(WorkOrder.repair_point_id, func.count()).where(WorkOrder.repair_point_id.in_(list(point_ids)))
        .group_by(WorkOrder.repair_point_id)
    ).all()
    return {point_id: n for point_id, n in rows}
