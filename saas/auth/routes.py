"""Sign in and out, choose a company, switch language."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, flash, redirect, request, session, url_for
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user
from flask_login.utils import decode_cookie

from saas.auth import bp, services
from saas.auth.forms import ChangePasswordForm, LoginForm
from saas.auth.sessions import end_session, start_session
from saas.extensions import limiter
from saas.forms import submit
from saas.htmx import redirect_to, render
from saas.models import Role


def _safe_next(target: str | None) -> str | None:
    """Only same-site relative paths; never an open redirect."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def login():
    if current_user.is_authenticated and request.method == "GET":
        return redirect(url_for("auth.home"))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        result = services.authenticate(form.login.data, form.password.data)
        if result.user is not None:
            start_session(result.user, remember=form.remember.data)
            return redirect_to(_safe_next(request.args.get("next")) or url_for("auth.home"))
        if result.locked_until is not None:
            form.form_errors.append(_("Too many failed attempts. This account is locked until %(time)s.",
                                      time=format_datetime(result.locked_until, "short")))
        else:
            form.form_errors.append(_("Wrong mobile number, e-mail or password."))
        status = 422
    elif request.method == "POST":
        status = 422
    return render("saas/auth/login.html", form=form, status=status)


@bp.post("/logout")
@login_required
def logout():
    services.sign_out(current_user._get_current_object())  # ends this session's copies and other devices' too
    end_session()
    flash(_("You have signed out."), "info")
    return redirect_to(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
@limiter.limit(_login_limit, methods=["POST"])
def change_password():
    form = ChangePasswordForm()
    if request.method == "GET":
        return render("saas/auth/password.html", form=form)
    user = current_user._get_current_object()

    def change():
        remembered = _remembered_here(user)
        services.change_password(user, form.current_password.data, form.new_password.data)
        # The new generation ended every session of this user, this one too: sign this device in again
        # (with a new remember cookie if it had a valid one), so only the other copies stay dead.
        login_user(user, remember=remembered)

    return submit(
        form, change,
        success=_("Your password has been changed. You were signed out on your other devices."),
        next_url=url_for("auth.home"),
    ) or render("saas/auth/password.html", "password_form", form=form, status=422)


def _remembered_here(user) -> bool:
    """Whether this browser holds a remember cookie of the current session (not a dead one from before)."""
    cookie = request.cookies.get(current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token"))
    return bool(cookie) and decode_cookie(cookie) == user.get_id()


@bp.get("/home")
@login_required
def home():
    """Where a user lands after sign-in: straight into their only company, the platform overview for a platform
    admin with no company of their own, or a choice."""
    rows = services.company_memberships(current_user._get_current_object())
    if current_user.is_platform_admin and not rows:
        return redirect(url_for("admin.companies"))  # nothing to choose: the platform overview is their work
    if len(rows) == 1 and not current_user.is_platform_admin:
        membership, company = rows[0]
        endpoint = "company.portal.index" if membership.role == Role.OWNER else "company.dashboard.index"
        return redirect(url_for(endpoint, company_slug=company.slug))
    return render("saas/auth/home.html", rows=rows, Role=Role)


@bp.get("/lang/<code>")
def set_language(code):
    if code in current_app.config["LANGUAGES"]:
        session["lang"] = code
    return redirect(_safe_next(request.args.get("next")) or url_for("auth.home"), code=303)
