"""Company modules, mounted under /c/<company_slug>/.

The URL's company is resolved here and nowhere else: unknown slug or no current membership → 404
(never 403, so a stranger learns nothing about which companies exist); anonymous → login page.

Read-only mode is enforced here too: when the company is read-only (an expired trial, an ended plan, a
suspension), every request other than GET/HEAD/OPTIONS is refused before its view runs, unless the view is
marked @allowed_when_read_only (exporting, paying). Reading and downloading keep working.
"""

from __future__ import annotations

from flask import Blueprint, Flask, abort, current_app, g, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from werkzeug.exceptions import Forbidden
from werkzeug.routing import BuildError

from saas.extensions import db, htmx
from saas.htmx import page_path, redirect_to
from saas.models import Company, Membership
from saas.tenancy import reset_current_company, set_current_company

company_bp = Blueprint("company", __name__, url_prefix="/c/<company_slug>")


@company_bp.url_value_preprocessor
def resolve_company(endpoint, values) -> None:
    slug = (values or {}).pop("company_slug", None)
    if not current_user.is_authenticated:
        abort(redirect_to(url_for("auth.login", next=page_path()), code=302))
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
    if request.method not in READ_METHODS and company.is_read_only():
        view = current_app.view_functions.get(request.endpoint)
        if not getattr(view, "allowed_when_read_only", False):
            raise CompanyReadOnly()


READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class CompanyReadOnly(Forbidden):
    """A write to a read-only company: refused with the reason and the way out (choosing a plan)."""

    description = "This company is read-only."


def upgrade_url() -> str:
    """Where a company chooses a plan: its plan page, or the public pricing page before that exists."""
    try:
        return url_for("company.plan.index")
    except BuildError:
        return url_for("public.pricing")


def read_only_message(company: Company) -> str:
    if company.suspended_at is not None:
        return _("This company is suspended, so nothing can be changed. You can still read and export "
                 "everything, and nothing has been deleted. Contact us to lift the suspension.")
    if company.trial_days_left() is not None:
        return _("The free trial has ended, so this company is read-only: you can still read and export "
                 "everything, and nothing has been deleted. Choose a plan to make changes again.")
    return _("This company has no active plan, so it is read-only: you can still read and export everything, "
             "and nothing has been deleted. Choose a plan to make changes again.")


def _refuse_read_only(exc: CompanyReadOnly):
    company = g.get("company")
    context = {"message": read_only_message(company) if company else str(exc.description),
               "upgrade": company is not None and company.suspended_at is None}
    if htmx:
        body = render_template("tenants/onboarding/_read_only_message.html", **context)
        return body, 403, {"HX-Retarget": "#flash", "HX-Reswap": "afterbegin"}
    return render_template("tenants/onboarding/read_only.html", hide_company_banner=True, **context), 403


@company_bp.url_defaults
def add_company_slug(endpoint, values) -> None:
    if "company_slug" not in values and g.get("company") is not None:
        values["company_slug"] = g.company.slug


def _release_company(exc) -> None:
    token = g.pop("_company_token", None)
    if token is not None:
        reset_current_company(token)


# Company modules, each a package whose routes.py holds its views and its blueprint `bp` (defined in the
# package's __init__.py, or still in routes.py); mounted under /c/<company_slug>/.
COMPANY_MODULES = ("dashboard", "roster", "members", "audit", "portal", "imports", "exports", "onboarding",
                   "plan", "outbox", "code_letters", "stewards", "work_orders", "inbox")


def register(app: Flask) -> None:
    import importlib

    # Nesting is recorded on the blueprint object itself, so it happens once however many apps are made.
    if not company_bp._got_registered_once:
        for module in COMPANY_MODULES:
            company_bp.register_blueprint(importlib.import_module(f"tenants.{module}.routes").bp)
    app.register_blueprint(company_bp)
    app.teardown_request(_release_company)
    app.register_error_handler(CompanyReadOnly, _refuse_read_only)
    app.jinja_env.globals["upgrade_url"] = upgrade_url
    app.jinja_env.globals["read_only_message"] = read_only_message
    _subscribe_to_the_platform()
    _check_every_view_declares_roles(app)


def _subscribe_to_the_platform() -> None:
    """What the platform (saas/) needs from the company modules without importing them: how households are
    counted for the plan limits, and what a new company gets when signup creates it. Idempotent."""
    from saas.signup.services import company_created
    from saas.subscriptions.plans import count_households_with
    from tenants.plan import count_households

    count_households_with(count_households)
    company_created.connect(_give_new_company_its_defaults)


def _give_new_company_its_defaults(company, **extra) -> None:
    """A new company starts with the standard repair categories (inside its context, before signup commits)."""
    from tenants.work_orders.services import ensure_default_categories

    ensure_default_categories()


def _check_every_view_declares_roles(app: Flask) -> None:
    """Refuse to start if a company view forgot @require_role: access must be decided, not defaulted."""
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("company."):
            view = app.view_functions[rule.endpoint]
            if not getattr(view, "allowed_roles", None):
                raise RuntimeError(f"company view {rule.endpoint} has no @require_role")
