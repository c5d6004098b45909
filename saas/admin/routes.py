"""Platform admin: companies across the platform. Every cross-company read goes through all_companies()."""

from __future__ import annotations

from functools import wraps

from flask import Blueprint, abort, request
from flask_login import current_user, login_required
from sqlalchemy import func, or_, select

from saas.extensions import db
from saas.htmx import render
from saas.models import Company, Membership, Role
from saas.tenancy import all_companies
from tenants.roster.models import Household

bp = Blueprint("admin", __name__, url_prefix="/admin")


def platform_admin_required(view):
    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if not current_user.is_platform_admin:
            abort(404)  # the platform admin area does not exist for anyone else
        return view(*args, **kwargs)

    return wrapped


@bp.get("/")
@platform_admin_required
def companies():
    q = (request.args.get("q") or "").strip()[:50]
    stmt = select(Company)
    if q:
        stmt = stmt.where(or_(Company.name.ilike(f"%{q}%"), Company.slug.ilike(f"%{q}%")))
    page = db.paginate(stmt.order_by(Company.created_at.desc()), per_page=50, error_out=False)
    ids = [c.id for c in page.items]
    with all_companies("platform admin: company list counts", actor=str(current_user.id)):
        staff = dict(db.session.execute(
            select(Membership.company_id, func.count())
            .where(Membership.company_id.in_(ids), Membership.ended_at.is_(None), Membership.role != Role.OWNER)
            .group_by(Membership.company_id)
        ).all()) if ids else {}
        households = dict(db.session.execute(
            select(Household.company_id, func.count())
            .where(Household.company_id.in_(ids), Household.deleted_at.is_(None))
            .group_by(Household.company_id)
        ).all()) if ids else {}
    return render("saas/admin/companies.html", "results" if request.headers.get("HX-Request") else None,
                  page=page, staff=staff, households=households, q=q)
