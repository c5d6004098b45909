"""The work-order figures of the red/black list (saas/ratings): for one company and quarter, how many repair jobs
were answered (accepted) and finished within their SLA deadlines, and the owners' ratings of closed jobs.
Registered as the "work_orders" figure source at app start (tenants/__init__.py); the ratings job calls it inside
the company's context, so the queries here are scoped like any other company query.

A job counts once its deadline is decided: met, or passed unmet. Cancelled jobs do not count. Ratings count only
from closed jobs, by when they were given."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import and_, case, func, or_, select

from saas.clock import local_midnight, utcnow
from saas.extensions import db
from tenants.work_orders.models import WorkOrder
from tenants.work_orders.states import Status


def _count(condition):
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def quarter_figures(company_id: uuid.UUID, start: date, end: date) -> dict:
    now = utcnow()
    since, until = local_midnight(start), local_midnight(end)
    response_decided = or_(WorkOrder.accepted_at.is_not(None), WorkOrder.response_due_at <= now)
    resolution_decided = or_(WorkOrder.completed_at.is_not(None), WorkOrder.resolution_due_at <= now)
    row = db.session.execute(
        select(
            _count(response_decided),
            _count(and_(WorkOrder.accepted_at.is_not(None), WorkOrder.accepted_at <= WorkOrder.response_due_at)),
            _count(resolution_decided),
            _count(and_(WorkOrder.completed_at.is_not(None),
                        WorkOrder.completed_at <= WorkOrder.resolution_due_at)),
        ).where(WorkOrder.company_id == company_id, WorkOrder.created_at >= since, WorkOrder.created_at < until,
                WorkOrder.status != Status.CANCELLED)
    ).one()
    rated = db.session.execute(
        select(func.count(), func.coalesce(func.sum(WorkOrder.rating_overall), 0))
        .where(WorkOrder.company_id == company_id, WorkOrder.status == Status.CLOSED,
               WorkOrder.rating_overall.is_not(None), WorkOrder.rated_at >= since, WorkOrder.rated_at < until)
    ).one()
    return {"response_due": int(row[0]), "response_on_time": int(row[1]), "resolution_due": int(row[2]),
            "resolution_on_time": int(row[3]), "repair_ratings": int(rated[0]), "repair_rating_sum": int(rated[1])}
