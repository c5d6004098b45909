"""Company modules, mounted under /c/<company_slug>/.

The URL's company is resolved here and nowhere else: unknown slug or no current membership → 404
(never 403, so a stranger learns nothing about which companies exist); anonymous → login page.

Read-only mode is enforced here too: when the company is read-only (an expired trial, an ended plan, a
suspension), every request other than GET/HEAD/OPTIONS is refused before its view runs, unless the view is
marked @allowed_when_read_only (exporting, paying). Reading and downloading keep working.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, Flask, abort, current_app, g, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import bindparam, select
from sqlalchemy.orm import lazyload
from werkzeug.exceptions import Forbidden, HTTPException, MethodNotAllowed
from werkzeug.routing import BuildError

from saas import read_transactions
from saas.extensions import db, htmx, login_manager, on_postgresql
from saas.models import Company, Membership, SubscriptionStatus, User
from saas.tenancy import built_once, reset_current_company, select_setting_company, set_current_company
from tenants import menu

company_bp = Blueprint("company", __name__, url_prefix="/c/<company_slug>")

# Figures of the signed-in member read in the same statement as their membership, one round trip fewer on every
# company page (the bell's unread count is on all of them): name → a function of the user's id giving a scalar
# subquery, registered by the module that owns the figure. Whole pages of read requests only: a write may change a
# figure before its page is drawn, so there the module counts it when asked (see member_figure).
MEMBER_FIGURES: dict = {}


def member_figure(name: str):
    """The figure read with the membership on this request, or None (not a company page, or a write)."""
    return g.get("member_figures", {}).get(name)


class _MembershipWithUser:
    """Read by the user loader (saas.auth.services.user_for_session): the member's current membership of the URL's
    company, and their figures, in the statement that loads the user. The company's setting is already made, so
    row-level security and the ORM's company filter both hold for the joined membership."""

    def __init__(self, figures: dict):
        self.statement = _user_with_membership(tuple(figures))
        self.row = None

    def found(self, row) -> None:
        self.row = row


_USER_STATEMENTS: dict = {}


def _user_with_membership(figure_names: tuple):
    """The select of one user (parameter ``user_id``) with their current membership of the current company (or
    None) and the named figures as further columns: built once per set of figures (a whole page or a fragment)."""
    statement = _USER_STATEMENTS.get(figure_names)
    if statement is None:
        statement = (
            select(User, Membership, *(MEMBER_FIGURES[name](User.id).label(name) for name in figure_names))
            .where(User.id == bindparam("user_id"))
            .outerjoin(Membership, (Membership.user_id == User.id) & Membership.ended_at.is_(None))
            .options(lazyload(Membership.user)))
        _USER_STATEMENTS[figure_names] = statement = built_once(statement)
    return statement


_COMPANY_STATEMENTS: dict = {}


def _company_by_slug(generic_plans: bool = False):
    """The company of a slug (parameter ``slug``), on PostgreSQL also making it the transaction's setting (and,
    for a page marked ``generic_plans``, its plan cache mode)."""
    key = (on_postgresql(), generic_plans)
    statement = _COMPANY_STATEMENTS.get(key)
    if statement is None:
        statement = select_setting_company(select(Company).where(Company.slug == bindparam("slug")), Company.id,
                                           generic_plans=generic_plans)
        _COMPANY_STATEMENTS[key] = statement = built_once(statement)
    return statement


@company_bp.url_value_preprocessor
def resolve_company(endpoint, values) -> None:
    slug = (values or {}).pop("company_slug", None)
    generic = request.method in READ_METHODS and getattr(current_app.view_functions.get(endpoint), "generic_plans",
                                                         False)
    row = db.session.execute(_company_by_slug(generic), {"slug": slug}).first()
    if row is None:
        if not current_user.is_authenticated:  # anonymous: the login page, whether or not the company exists
            abort(login_manager.unauthorized())
        abort(404)
    company = row[0]
    g._company_token = set_current_company(company.id, database_set=True)
    # Only for a whole page (the layout shows them), not an htmx fragment.
    whole_page = request.method in READ_METHODS and not (htmx and not htmx.boosted)
    figures = MEMBER_FIGURES if whole_page else {}
    g.read_with_user = companion = _MembershipWithUser(figures)
    if not current_user.is_authenticated:
        abort(login_manager.unauthorized())  # the login page (saas: sign_in_first)
    g.pop("read_with_user", None)
    row = companion.row
    if row is None:  # the user was loaded before this request reached here: the membership on its own
        row = db.session.execute(companion.statement, {"user_id": current_user.id}).first()
    membership = row[1] if row is not None else None
    if membership is None:  # no current membership of this company: as if it did not exist
        abort(404)
    g.company = company
    g.membership = membership
    g.member_figures = {name: row._mapping[name] for name in figures}
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
        # The request is over: end its transaction first (what the session's own teardown would do next), so
        # putting the company back sends no statement to change the transaction's setting.
        read_transactions.end_session(exc)
        reset_current_company(token)


# Company modules, each a package whose routes.py holds its views and its blueprint `bp` (defined in the
# package's __init__.py, or still in routes.py); mounted under /c/<company_slug>/.
COMPANY_MODULES = ("dashboard", "roster", "members", "audit", "portal", "imports", "exports", "onboarding",
                   "plan", "outbox", "code_letters", "stewards", "work_orders", "inbox", "fees",
                   "disclosures", "ratings")


def register(app: Flask) -> None:
    import importlib

    # Nesting is recorded on the blueprint object itself, so it happens once however many apps are made.
    if not company_bp._got_registered_once:
        for module in COMPANY_MODULES:
            company_bp.register_blueprint(importlib.import_module(f"tenants.{module}.routes").bp)
    app.register_blueprint(company_bp)
    app.teardown_request(_release_company)
    menu.register(app)
    app.register_error_handler(CompanyReadOnly, _refuse_read_only)
    app.jinja_env.globals["upgrade_url"] = upgrade_url
    app.jinja_env.globals["read_only_message"] = read_only_message
    _subscribe_to_the_platform()
    _check_every_view_declares_roles(app)
    _register_public(app)


def _subscribe_to_the_platform() -> None:
    """What the platform (saas/) needs from the company modules without importing them: how households are
    counted for the plan limits, and what a new company gets when signup creates it. Idempotent."""
    from saas.signup.services import company_created
    from saas.subscriptions.plans import count_households_with
    from tenants.plan import count_households

    count_households_with(count_households)
    company_created.connect(_give_new_company_its_defaults)
    # Fees never imports disclosures: the 30-day notice before a new rate reaches it through fees' own hook.
    from tenants.disclosures.services import install_rate_rule

    install_rate_rule()
    _connect_rating_figures()


def _connect_rating_figures() -> None:
    """The red/black list's service figures (saas/ratings/figures.py), one source per company module."""
    from saas.ratings.figures import register_figure_source
    from tenants.disclosures.figures import quarter_figures as disclosure_figures
    from tenants.work_orders.rating_figures import quarter_figures as work_order_figures

    register_figure_source("work_orders", work_order_figures)
    # The ratings job's quarter ends on the next quarter's first day (exclusive); disclosures count to a last day.
    register_figure_source("disclosures", lambda company_id, start, end: disclosure_figures(
        company_id, start, end - timedelta(days=1)))


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


# --- The public resolver: no-login company pages under /p/<company_slug>/ ---------------------------------------
# Next to company_bp on purpose: the two resolvers are the only places a URL's slug becomes the current company.

public_company_bp = Blueprint("public_company", __name__, url_prefix="/p/<company_slug>")

PUBLIC_METHODS = frozenset({"GET", "HEAD"})
_PUBLIC_PATH = public_company_bp.url_prefix.split("<", 1)[0]  # "/p/"

# Public modules, each exposing `public_bp` (a Blueprint) from tenants/<module>/<file>.py; mounted under
# /p/<company_slug>/. The company card (tenants/public_card) is the first.
PUBLIC_MODULES = ("public_card.routes", "disclosures.public")


def is_published(company: Company) -> bool:
    """Whether a company's public pages are shown: not while it is suspended or its plan is canceled (ended).
    An expired trial keeps them: the company still exists and may choose a plan, and printed links keep working."""
    return company.suspended_at is None and company.subscription_status != SubscriptionStatus.CANCELED


@public_company_bp.url_value_preprocessor
def resolve_public_company(endpoint, values) -> None:
    """Resolve /p/<company_slug>/ for pages anyone may read without signing in (the company card, fee disclosure).

    - No session: nothing here reads the user or writes the session, so an anonymous GET gets no Set-Cookie
      (the pages can be cached and shared). Pages use layouts/public.html, which has no CSRF token or navbar.
    - Reading only: any method but GET/HEAD is 405, OPTIONS included. There is nothing to post to.
    - Unknown slug, a suspended company or an ended (canceled) plan → 404, never a hint of which it was.
    - The company is set for the request (``set_current_company``), so queries are scoped by the ORM filter and,
      on PostgreSQL, by row-level security exactly as under /c/<slug>/. ``current_company`` works; there is no
      ``current_membership`` and no role check, so a page shows only what the company publishes to everybody.

    To add a page, in module ``tenants/<module>/``::

        # tenants/<module>/public.py
        public_bp = Blueprint("<module>", __name__)

        @public_bp.get("/<module-url>")
        def board():            # endpoint public_company.<module>.board, URL /p/<slug>/<module-url>
            return render("tenants/<module>/public/board.html", ...)   # extends "layouts/public.html"

    and add ``"<module>.public"`` to ``PUBLIC_MODULES`` (above). Its routes take GET only (the app refuses to start
    otherwise). The url_map walks then cover it with no more work: tests/test_isolation.py (another company's data,
    anyone's name or phone, bad or suspended slug 404, every other method 405), test_roles.py (open to anyone,
    signed out or in) and test_bad_input.py (garbage in its URL parameters is 404). A page that takes an id of its
    own needs that id in a builder of tests/world/.
    """
    slug = (values or {}).pop("company_slug", None)
    if request.method not in PUBLIC_METHODS:
        abort(405, valid_methods=sorted(PUBLIC_METHODS))
    # One statement: the company (with its public pages' version token, saas/public_cache.py) and, on PostgreSQL,
    # the transaction's company setting. A cached page needs nothing more.
    row = db.session.execute(_company_by_slug(), {"slug": slug}).first()
    company = row[0] if row is not None else None
    if company is None or not is_published(company):
        abort(404)
    g._company_token = set_current_company(company.id, database_set=True)
    g.company = company


@public_company_bp.url_defaults
def add_public_company_slug(endpoint, values) -> None:
    if "company_slug" not in values and g.get("company") is not None:
        values["company_slug"] = g.company.slug


def _public_error(exc: HTTPException):
    """Errors under /p/ on the public layout: no CSRF token, so no session cookie for a passer-by either."""
    from saas.errors import _messages

    messages = _messages()
    response = current_app.make_response(
        (render_template("layouts/public_error.html", code=exc.code, message=messages.get(exc.code, messages[400])),
         exc.code))
    if exc.code == 405:
        response.headers["Allow"] = ", ".join(sorted(PUBLIC_METHODS))
    return response


for _code in (404, 405):
    public_company_bp.register_error_handler(_code, _public_error)


def _refuse_public_write():
    """A POST (PUT, DELETE…) under /p/ fails in routing, before any blueprint is known, so the app-wide error page
    would answer it, with the session cookie its CSRF token makes. Routing errors are raised after the
    before_request hooks, so this one answers with the public page first."""
    exc = request.routing_exception
    if isinstance(exc, MethodNotAllowed) and request.path.startswith(_PUBLIC_PATH):
        return _public_error(exc)
    return None


def _register_public(app: Flask) -> None:
    import importlib

    if not public_company_bp._got_registered_once:
        for module in PUBLIC_MODULES:
            public_company_bp.register_blueprint(importlib.import_module(f"tenants.{module}").public_bp)
    app.register_blueprint(public_company_bp)
    app.before_request(_refuse_public_write)
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("public_company.") and rule.methods - PUBLIC_METHODS - {"OPTIONS"}:
            raise RuntimeError(f"public view {rule.endpoint} accepts {sorted(rule.methods)}: GET only")
