"""The company home page at /c/<slug>/: what each staff role needs first; owners go to their portal."""

from __future__ import annotations

import functools

from flask import redirect, url_for
from sqlalchemy import bindparam, func, select

from saas.clock import local_midnight, local_today, utcnow
from saas.extensions import db
from saas.htmx import render
from saas.models import AuditEvent, Membership, Role
from saas.tenancy import built_once
from tenants.access import current_membership, generic_plans, require_role
from tenants.dashboard import bp
from tenants.roster import figures as roster_figures
from tenants.roster.models import Building, Community, Occupancy
from tenants.work_orders.models import WorkOrder
from tenants.work_orders.queries import repair_figures_columns

# The company's last changes (admins only), built once.
_RECENT = built_once(select(AuditEvent).order_by(AuditEvent.created_at.desc()).limit(8))


@bp.get("/")
@generic_plans
@require_role(Role.ADMIN, Role.STEWARD, Role.TECHNICIAN, Role.OWNER, Role.CASHIER)
def index():
    if current_membership.role == Role.OWNER:
        return redirect(url_for("company.portal.index"), code=303)
    if current_membership.role == Role.STEWARD:
        return redirect(url_for("company.stewards.home"), code=303)  # the steward's day starts with their homes
    if current_membership.role == Role.TECHNICIAN:
        return redirect(url_for("company.work_orders.mine"), code=303)  # a technician's day is their jobs
    if current_membership.role == Role.CASHIER:
        return redirect(url_for("company.fees.new_payment"), code=303)  # a cashier's day is the counter
    # Households by occupancy from the roster's figures (kept by the writes), not a count of every household.
    occupancy = {occ: n for occ, (n, _) in roster_figures.by_occupancy().items() if n}
    # The figures in one statement: live communities and buildings, current members by role, and the morning's
    # repair figures (each a link to the all-jobs list filtered the same way), each an indexed scalar subquery.
    figures = _figures(utcnow())
    counts = {"communities": figures["communities"], "buildings": figures["buildings"],
              "households": sum(occupancy.values())}
    members = {role: figures[f"members_{role.value}"] for role in Role if figures[f"members_{role.value}"]}
    repairs = {key: figures[key] for key in ("open", "overdue", "today", "waiting")}
    recent = []
    if current_membership.role == Role.ADMIN:
        recent = db.session.execute(_RECENT).scalars().all()
    return render("tenants/dashboard/index.html", counts=counts, occupancy=occupancy, members=members,
                  recent=recent, Occupancy=Occupancy, Role=Role, repairs=repairs)


def _figures(now) -> dict:
    return dict(db.session.execute(_figures_statement(), {
        "now": now, "midnight": local_midnight(local_today(now))}).one()._mapping)


@functools.cache
def _figures_statement():
    """Built once (parameters ``now`` and ``midnight``, Shanghai's last): a dozen scalar subqueries, which took
    longer to build and key on every view than to run (saas.tenancy.built_once)."""
    def count(model, *where):
        return select(func.count()).select_from(model).where(*where).scalar_subquery()

    columns = [count(Community, Community.live()).label("communities"),
               count(Building, Building.live()).label("buildings"),
               *(count(Membership, Membership.ended_at.is_(None), Membership.role == role)
                 .label(f"members_{role.value}") for role in Role),
               *repair_figures_columns(bindparam("now", type_=WorkOrder.created_at.type),
                                       bindparam("midnight", type_=WorkOrder.created_at.type))]
    return built_once(select(*columns))
