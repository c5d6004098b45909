"""Self-serve signup: a company on a free trial with its admin account, then the onboarding checklist."""

from __future__ import annotations

from flask import current_app, request, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from flask_login import current_user

from saas.auth.sessions import start_session
from saas.extensions import limiter
from saas.forms import submit
from saas.htmx import render
from saas.signup import bp, services
from saas.signup.forms import SignupForm
from saas.signup.slugs import available_slug, normalise_slug, slug_from_name, slug_problem, slug_taken


def _signup_limit() -> str:
    return current_app.config.get("SIGNUP_RATE_LIMIT", "10 per hour")


def _page(form, *, status: int = 200):
    return render("saas/signup/signup.html", form=form, status=status,
                  trial_days=current_app.config.get("TRIAL_DAYS", 30))


@bp.route("/signup", methods=["GET", "POST"])
@limiter.limit(_signup_limit, methods=["POST"])
def signup():
    signed_in = current_user.is_authenticated
    form = SignupForm(signed_in=signed_in)
    if request.method == "POST" and not form.slug.data and form.company_name.data:
        # Without JavaScript nobody proposed an address: take the one the name gives.
        form.slug.data = available_slug(slug_from_name(form.company_name.data))

    def create():
        result = services.create_company_with_admin(
            name=form.company_name.data,
            slug=form.slug.data,
            admin_name=None if signed_in else form.admin_name.data,
            phone=None if signed_in else form.phone,
            email=None if signed_in else form.email,
            password=None if signed_in else form.password.data,
            user=current_user._get_current_object() if signed_in else None,
        )
        if not signed_in:
            start_session(result.user)
        return result

    return submit(
        form, create,
        success=lambda result: _("Welcome! %(company)s is on a free trial until %(date)s. Here is what is left to "
                                 "get started.", company=result.company.name,
                                 date=_local_date(result.company.trial_ends_at)),
        next_url=lambda result: url_for("company.onboarding.index", company_slug=result.company.slug),
    ) or _page(form, status=422 if request.method == "POST" else 200)


def _local_date(value) -> str:
    return format_date(value, "medium")  # a datetime is shown in the user's time zone (Asia/Shanghai)


@bp.get("/signup/slug")
@limiter.limit("120 per minute")
def suggest_slug():
    """As-you-type helper for the signup form.

    Typing the company name (the trigger is ``company_name``) proposes a free address, but only while the
    address field is empty or still holds the previous proposal: an address the user typed is never
    overwritten. Typing in the address field only checks it and answers with its status line.
    """
    name = (request.args.get("company_name") or "")[:100]
    slug = normalise_slug(request.args.get("slug") or "")[:100]
    previous = normalise_slug(request.args.get("slug_suggested") or "")[:100]
    status = None
    if request.headers.get("HX-Trigger-Name") == "slug":
        return render("saas/signup/signup.html", "slug_status", slug_status=_slug_status(slug))
    if not slug or slug == previous:
        slug = previous = available_slug(slug_from_name(name))
    if slug:
        status = _slug_status(slug)
    form = SignupForm(formdata=None, data={"slug": slug, "slug_suggested": previous}, meta={"csrf": False})
    return render("saas/signup/signup.html", "slug_field", form=form, slug_status=status)


def _slug_status(slug: str) -> dict | None:
    if not slug:
        return None
    problem = slug_problem(slug)
    if problem is not None:
        return {"ok": False, "text": str(problem)}
    if slug_taken(slug):
        suggestion = available_slug(slug)
        return {"ok": False, "text": _("This address is already taken. %(suggestion)s is free.",
                                       suggestion=suggestion) if suggestion else
                _("This address is already taken. Choose another one.")}
    return {"ok": True, "text": _("%(slug)s is available.", slug=slug)}
