"""Platform admin: companies across the platform, one company's plan and usage, the platform audit log.

Every cross-company read goes through all_companies(); work on one company runs in that company's context.
Anyone who is not a platform admin gets 404: the area does not exist for them.
"""

from __future__ import annotations

from functools import wraps

from flask import abort, flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func, or_, select

from saas.admin import bp, overview
from saas.clock import utcnow
from saas.extensions import db, htmx
from saas.forms import submit
from saas.htmx import redirect_to, render
from saas.models import Company, Membership, PlatformAuditEvent, Role
from saas.money import format_yuan
from saas.pagination import paginate
from saas.subscriptions import services
from saas.subscriptions.forms import ManualActivationForm, SuspensionForm, TrialExtensionForm
from saas.subscriptions.plans import PLANS, billing_status, household_limit
from saas.tenancy import all_companies, company_context, parse_uuid_or_404
from tenants.audit import labels as audit_labels
from tenants.roster.models import Household


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
    """The platform overview (figures, trials ending soon) above the company list, searchable and by state."""
    now = utcnow()
    q = (request.args.get("q") or "").strip()[:50]
    state = request.args.get("state", "")
    if state not in overview.STATES:
        state = ""
    stmt = select(Company)
    if q:
        stmt = stmt.where(or_(Company.name.ilike(f"%{q}%"), Company.slug.ilike(f"%{q}%")))
    if state:
        stmt = overview.filter_by_state(stmt, state, now)
    page = paginate(stmt.order_by(Company.created_at.desc()), per_page=50)
    ids = [c.id for c in page.items]
    with all_companies("platform admin: company list counts", actor=str(current_user.id)):
        staff = dict(db.session.execute(
            select(Membership.company_id, func.count())
            .where(Membership.company_id.in_(ids), Membership.ended_at.is_(None), Membership.role != Role.OWNER)
            .group_by(Membership.company_id)
        ).all()) if ids else {}
        households = dict(db.session.execute(
            select(Household.company_id, func.count())
            .where(Household.company_id.in_(ids), Household.live())
            .group_by(Household.company_id)
        ).all()) if ids else {}
    # Only the search box asks for the results alone; a boosted link to this page wants the whole page.
    block = "results" if htmx and htmx.target == "company-results" else None
    figures = overview.platform_figures(now, actor=str(current_user.id)) if block is None else None
    return render("saas/admin/companies.html", block, page=page, staff=staff, households=households, q=q,
                  state=state, states=overview.STATES, figures=figures,
                  statuses={c.id: billing_status(c, now) for c in page.items})


# --- one company: plan, usage, manual activation, trial extension, suspension --------------------------


def _company_or_404(company_id) -> Company:
    company = db.session.get(Company, parse_uuid_or_404(company_id))
    if company is None:
        abort(404)
    return company


def _company_page(company: Company, *, status: int = 200, activation_form=None, trial_form=None,
                  suspension_form=None):
    usage = overview.company_usage(company)
    events = db.session.execute(
        select(PlatformAuditEvent).where(PlatformAuditEvent.company_id == company.id)
        .order_by(PlatformAuditEvent.created_at.desc()).limit(20)
    ).scalars().all()
    # Forms post with hx-boost: a 422 answer is the whole page again, with the messages next to the fields.
    return render(
        "saas/admin/company.html", status=status, company=company, usage=usage, events=events,
        billing=billing_status(company), plans=PLANS, format_yuan=format_yuan,
        household_limit=household_limit(company),
        activation_form=activation_form or ManualActivationForm(formdata=None),
        trial_form=trial_form or TrialExtensionForm(formdata=None),
        suspension_form=suspension_form or SuspensionForm(formdata=None),
    )


def _company_url(company: Company) -> str:
    return url_for(".company", company_id=company.id)


@bp.get("/companies/<company_id>")
@platform_admin_required
def company(company_id):
    return _company_page(_company_or_404(company_id))


@bp.post("/companies/<company_id>/activation")
@platform_admin_required
def activate_plan(company_id):
    company = _company_or_404(company_id)
    form = ManualActivationForm()
    return submit(
        form,
        lambda: services.activate_manually(
            company, plan_code=form.plan.data, reference=form.reference.data, actor=current_user,
            months=form.months_value,
            period_end=services.end_of_day(form.period_end_value) if form.period_end_value else None),
        success=lambda _c: _("Plan activated for %(name)s.", name=company.name),
        next_url=lambda _c: _company_url(company),
    ) or _company_page(company, status=422, activation_form=form)


@bp.post("/companies/<company_id>/trial")
@platform_admin_required
def extend_trial(company_id):
    company = _company_or_404(company_id)
    form = TrialExtensionForm()
    return submit(
        form, lambda: services.extend_trial(company, days=form.days_value, actor=current_user),
        success=lambda _c: _("Trial extended by %(days)s days.", days=form.days_value),
        next_url=lambda _c: _company_url(company),
    ) or _company_page(company, status=422, trial_form=form)


@bp.post("/companies/<company_id>/suspend")
@platform_admin_required
def suspend(company_id):
    company = _company_or_404(company_id)
    form = SuspensionForm()
    return submit(
        form, lambda: services.suspend(company, reason=form.reason.data, actor=current_user),
        success=lambda _c: _("%(name)s is suspended: it can read but not change anything.", name=company.name),
        next_url=lambda _c: _company_url(company),
    ) or _company_page(company, status=422, suspension_form=form)


@bp.post("/companies/<company_id>/unsuspend")
@platform_admin_required
def unsuspend(company_id):
    company = _company_or_404(company_id)
    form = SuspensionForm()
    return submit(
        form, lambda: services.unsuspend(company, reason=form.reason.data, actor=current_user),
        success=lambda _c: _("The suspension of %(name)s is lifted.", name=company.name),
        next_url=lambda _c: _company_url(company),
    ) or _company_page(company, status=422, suspension_form=form)


@bp.post("/companies/<company_id>/wechat-pay")
@platform_admin_required
def set_wechat_sub_mchid(company_id):
    """The company's WeChat Pay sub-merchant number (特约商户号), once WeChat has approved it; empty to remove."""
    import re

    company = _company_or_404(company_id)
    value = (request.form.get("wechat_sub_mchid") or "").strip()
    if value and not re.fullmatch(r"[0-9]{8,12}", value):
        flash(_("A WeChat Pay sub-merchant number is 8 to 12 digits."), "danger")
        return redirect_to(_company_url(company))
    before = company.wechat_sub_mchid
    if (value or None) != before:
        with company_context(company.id):
            company.wechat_sub_mchid = value or None
            services._platform_audit(company, "company.wechat_sub_mchid_set", actor=current_user,
                                     company_action="platform.wechat_sub_mchid_set",
                                     changes={"wechat_sub_mchid": [before, value or None]},
                                     details={"wechat_sub_mchid": [before, value or None]})
            db.session.commit()
    flash(_("WeChat Pay sub-merchant number saved.") if value else _("WeChat Pay is off for this company."),
          "success")
    return redirect_to(_company_url(company))


# --- the platform audit log ---------------------------------------------------------------------------


@bp.get("/audit")
@platform_admin_required
def audit():
    filters = {
        "company_id": request.args.get("company_id", ""),
        "action": (request.args.get("action") or "").strip()[:50],
    }
    stmt = select(PlatformAuditEvent)
    if filters["company_id"]:
        stmt = stmt.where(PlatformAuditEvent.company_id == parse_uuid_or_404(filters["company_id"]))
    if filters["action"]:
        stmt = stmt.where(PlatformAuditEvent.action.like(f"{filters['action']}%"))
    page = paginate(stmt.order_by(PlatformAuditEvent.created_at.desc(), PlatformAuditEvent.id.desc()), per_page=50)
    ids = {e.company_id for e in page.items if e.company_id}
    names = dict(db.session.execute(select(Company.id, Company.name).where(Company.id.in_(ids))).all()) if ids else {}
    block = "results" if htmx and htmx.target == "audit-results" else None
    # The filter lists actions by their phrases (tenants/audit/labels.py), never their codes.
    actions = [(code, audit_labels.action_phrase(code)) for code in audit_labels.PLATFORM_ACTIONS]
    return render("saas/admin/audit.html", block, page=page, filters=filters, actions=actions, company_names=names)

from saas.admin import ratings as _ratings  # noqa: E402,F401  (the red/black list moderation views on this blueprint)
