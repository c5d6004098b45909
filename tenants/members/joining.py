"""Joining a company, public pages without login: accepting a staff invitation (/invite/<token>) and an owner
joining their company with a household code (/join/<company_slug>).

These two views differ from the ``saas.forms.submit`` sequence on purpose: a refusal may be a whole other page
(an unusable invitation, 404/410) or carry its own status (429 after too many wrong codes), and success signs
the person in with a fresh session before redirecting into the company.

Neither URL is under /c/<slug>/: the visitor is not a member yet. The invitation is found by its token
across companies (the one audited escape hatch), then every write happens inside its own company.
"""

from __future__ import annotations

from flask import abort, current_app, flash, request, url_for
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from saas.auth.services import authenticate
from saas.auth.sessions import start_session
from saas.extensions import db, limiter
from saas.forms import show_error
from saas.htmx import redirect_to, render
from saas.models import Company, User
from saas.tenancy import utcnow
from tenants.members import joining_bp as bp
from tenants.members import owner_join
from tenants.members import services as members
from tenants.members.forms import AcceptExistingAccountForm, AcceptNewAccountForm, JoinForm
from tenants.roster.codes import normalise_code


def _attempt_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _sign_in(user: User) -> None:
    start_session(user)


def _read_only_refusal(company: Company):
    return render("tenants/members/unavailable.html", status=403, company=company,
                  message=_("%(company)s cannot take new members at the moment. Please ask the property company.",
                            company=company.name))


# --- staff invitations --------------------------------------------------------------------------


@bp.route("/invite/<token>", methods=["GET", "POST"])
@limiter.limit(_attempt_limit, methods=["POST"])
def accept_invitation(token):
    try:
        view = members.find_invitation(token)
    except members.InvitationUnusable as exc:
        return render("tenants/members/invitation_unusable.html", status=exc.status, message=str(exc.message))
    if view.company.is_read_only(utcnow()):
        return _read_only_refusal(view.company)
    existing = view.existing_user
    form = AcceptExistingAccountForm() if existing else AcceptNewAccountForm(name=view.name)
    status = 200
    if request.method == "POST":
        status = 422
        if form.validate_on_submit():
            try:
                user = None
                if existing:
                    result = authenticate(existing.login_name, form.password.data)
                    if result.user is None:
                        if result.locked_until is not None:
                            raise members.MembershipError(
                                _("Too many failed attempts. This account is locked until %(time)s.",
                                  time=format_datetime(result.locked_until, "short")), "password")
                        raise members.MembershipError(_("This is not the password of this account."), "password")
                    user = result.user
                user = members.accept_invitation(
                    view, user=user, name=getattr(form, "name", None) and form.name.data,
                    password=form.password.data)
            except members.InvitationUnusable as exc:
                db.session.rollback()
                return render("tenants/members/invitation_unusable.html", status=exc.status, message=str(exc.message))
            except members.MembershipError as exc:
                db.session.rollback()
                show_error(form, exc)
            else:
                _sign_in(user)
                flash(_("Welcome to %(company)s. You joined as %(role)s.", company=view.company.name,
                        role=view.role.label), "success")
                return redirect_to(url_for("company.dashboard.index", company_slug=view.company.slug))
    return render("tenants/members/accept.html", status=status, view=view, form=form, existing=existing)


# --- owners join with a household code ----------------------------------------------------------


def _company_or_404(slug: str) -> Company:
    if not slug or len(slug) > 63:
        abort(404)
    company = db.session.execute(select(Company).where(Company.slug == slug)).scalar_one_or_none()
    if company is None:
        abort(404)
    return company


@bp.route("/join/<company_slug>", methods=["GET", "POST"])
@limiter.limit(_attempt_limit, methods=["POST"])
def join(company_slug):
    company = _company_or_404(company_slug)
    if company.is_read_only(utcnow()):
        return _read_only_refusal(company)
    form = JoinForm()
    if request.method == "GET":
        form.code.data = normalise_code(request.args.get("code", ""))[:20]
        if current_user.is_authenticated and current_user.phone:
            form.phone.data = current_user.phone
    status = 200
    if request.method == "POST":
        status = 422
        if form.validate_on_submit():
            try:
                result = owner_join.join(company, phone=form.phone.data, password=form.password.data,
                                       code=form.code.data, name=form.name.data or "", ip=request.remote_addr or "")
            except owner_join.JoinError as exc:
                db.session.rollback()
                status = exc.status
                show_error(form, exc)
            else:
                _sign_in(result.user)
                if result.already_linked:
                    flash(_("%(home)s is already linked to your account. Welcome back.",
                            home=result.household_label), "info")
                else:
                    flash(_("Done: %(home)s is now linked to your account as its owner.",
                            home=result.household_label), "success")
                return redirect_to(url_for("company.portal.index", company_slug=company.slug))
    return render("tenants/members/join.html", status=status, company=company, form=form)
