"""Work-order pages for staff: all jobs (admin), my jobs, the grab pool, the board, one job with its actions,
entering a job from a phone call, photos. Other pages share this blueprint from their own modules (see the end).
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint

from tenants.work_orders.sla import format_time_left, time_left, urgency

bp = Blueprint("work_orders", __name__)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)  # SQLite's created_at comes back naive


@bp.app_template_global()
def sla_time_left(due: datetime, now: datetime):
    return format_time_left(time_left(due, now))


@bp.app_template_global()
def sla_urgency(order, which: str, now: datetime) -> str:
    """ok / soon / overdue, against the whole window the deadline gave (from the report to the deadline)."""
    due = order.response_due_at if which == "response" else order.resolution_due_at
    return urgency(due, now, max(due - _aware(order.created_at), due - due))


# The other pages on this blueprint live in their own modules; importing them registers their routes.
VIEW_MODULES = ()
for _module in VIEW_MODULES:
    __import__(f"tenants.work_orders.{_module}")
