"""The company's audit log, filterable by actor, object and action; every code shown as a phrase (labels.py)."""

from __future__ import annotations

from flask import request
from sqlalchemy import select

from saas.extensions import db, htmx
from saas.htmx import render
from saas.models import AuditEvent, Membership, Role, User
from saas.pagination import paginate
from saas.tenancy import parse_uuid_or_404
from tenants.access import require_role
from tenants.audit import bp, labels

# Both audit logs (this one and the platform's in saas/admin) render their events through this filter.
bp.add_app_template_filter(labels.entries, "audit_entries")


@bp.get("/audit")
@require_role(Role.ADMIN)
def index():
    filters = {
        "actor_id": request.args.get("actor_id", ""),
        "object_type": request.args.get("object_type", ""),
        "object_id": request.args.get("object_id", ""),
        "action": (request.args.get("action") or "").strip()[:50],
    }
    stmt = select(AuditEvent)
    if filters["actor_id"]:
        stmt = stmt.where(AuditEvent.actor_id == parse_uuid_or_404(filters["actor_id"]))
    if filters["object_type"] in labels.OBJECT_TYPES:
        stmt = stmt.where(AuditEvent.object_type == filters["object_type"])
    else:
        filters["object_type"] = ""
    if filters["object_id"]:
        stmt = stmt.where(AuditEvent.object_id == parse_uuid_or_404(filters["object_id"]))
    if filters["action"]:
        stmt = stmt.where(AuditEvent.action.like(f"{filters['action']}%"))
    page = paginate(stmt.order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc()), per_page=50)
    # Actors to filter by: everyone who has ever been a member (ended memberships included).
    actors = db.session.execute(
        select(User).join(Membership, Membership.user_id == User.id).distinct().order_by(User.name)
    ).scalars().all()
    # Only the filter form targets #audit-results; a boosted link to this page wants the whole page.
    return render("tenants/audit/index.html", "results" if htmx and htmx.target == "audit-results" else None,
                  page=page, filters=filters, actors=actors, object_types=labels.object_choices(),
                  action_groups=labels.action_groups(labels.company_log_actions()))
