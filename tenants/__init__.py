"""Company modules, mounted under /c/<company_slug>/.

The URL's company is resolved here and nowhere else: unknown slug or no current membership → 404
(never 403, so a stranger learns nothing about which companies exist); anonymous → login page.
"""

from __future__ import annotations

from flask import Blueprint, Flask, abort, g, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import select

from saas.extensions import db
from saas.models import Company, Membership
from saas.tenancy import reset_current_company, set_current_company

company_bp = Blueprint("company", __name__, url_prefix="/c/<company_slug>")


@company_bp.url_value_preprocessor
def resolve_company(endpoint, values) -> None:
    slug = (values or {}).pop("company_slug", None)
    if not current_user.is_authenticated:
        abort(redirect(url_for("auth.login", next=request.full_path.rstrip("?"))))
    company = db.session.execute(select(Company).where(Company.slug == slug)).scalar_one_or_none()
    if company is None:
        abort(404)
    g._company_token = set_current_company(company.id)
    membership = db.session.execute(
        select(Membership).where(Membership.user_id == current_user.id, Membership.ended_at.is_(None))
    ).scalar_one_or_none()
    if membership is None:
        abort(404)
    g.company = company
    g.membership = membership


@company_bp.url_defaults
def add_company_slug(endpoint, values) -> None:
    if "company_slug" not in values and g.get("company") is not None:
        values["company_slug"] = g.company.slug


def _release_company(exc) -> None:
    token = g.pop("_company_token", None)
    if token is not None:
        reset_current_company(token)


# Company modules, each a package with routes.py defining `bp`; mounted under /c/<company_slug>/.
COMPANY_MODULES = ("dashboard", "roster", "members", "audit", "portal", "imports", "exports", "onboarding",
                   "billing", "outbox", "notices")


def register(app: Flask) -> None:
    import importlib

    # Nesting is recorded on the blueprint object itself, so it happens once however many apps are made.
    if not company_bp._got_registered_once:
        for module in COMPANY_MODULES:
            company_bp.register_blueprint(importlib.import_module(f"tenants.{module}.routes").bp)
    app.register_blueprint(company_bp)
    app.teardown_request(_release_company)
    _check_every_view_declares_roles(app)


def _check_every_view_declares_roles(app: Flask) -> None:
    """Refuse to start if a company view forgot @require_role: access must be decided, not defaulted."""
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("company."):
            view = app.view_functions[rule.endpoint]
            if not getattr(view, "allowed_roles", None):
                raise RuntimeError(f"company view {rule.endpoint} has no @require_role")
