"""The work-orders dashboard (admin): jobs opened and done per week, response and resolution times, on-time
rates and ratings, by category and by assignee. The figures are in stats.py."""

from __future__ import annotations

from flask import abort, request

from saas.extensions import htmx
from saas.htmx import render
from saas.models import Role
from saas.tenancy import parse_uuid_or_404
from tenants.access import require_role
from tenants.roster.queries import live_community_names
from tenants.work_orders import bp, stats


@bp.get("/work-orders/dashboard")
@require_role(Role.ADMIN)
def dashboard():
    weeks = request.args.get("weeks", stats.DEFAULT_WEEKS, type=int)
    if weeks not in stats.PERIODS:
        weeks = stats.DEFAULT_WEEKS  # a hand-edited URL gets the default period, not an error
    communities = live_community_names()
    raw = (request.args.get("community") or "").strip()
    community_id = parse_uuid_or_404(raw) if raw else None
    if community_id is not None and community_id not in {c.id for c in communities}:
        abort(404)  # another company's, or a deleted community: as for a wrong id in the path
    data = stats.dashboard(weeks=weeks, community_id=community_id)
    block = "figures" if htmx and htmx.target == "wo-dashboard" else None
    return render("tenants/work_orders/dashboard.html", block, data=data, weeks=weeks, periods=stats.PERIODS,
                  communities=communities, community_id=community_id)
