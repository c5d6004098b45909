"""Onboarding: the getting-started checklist and the company profile (admin only)."""

from __future__ import annotations

from flask import url_for
from flask_babel import gettext as _
from flask_login import current_user

from saas.forms import submit
from saas.htmx import render
from saas.models import Role
from tenants.access import current_company, require_role
from tenants.onboarding import bp, services
from tenants.onboarding.forms import ProfileForm


@bp.get("/onboarding")
@require_role(Role.ADMIN)
def index():
    steps = services.checklist(current_company)
    done = sum(step.done for step in steps)
    return render("tenants/onboarding/index.html", steps=steps, done=done, total=len(steps),
                  next_step=next((s for s in steps if not s.done), None))


@bp.route("/settings/profile", methods=["GET", "POST"])
@require_role(Role.ADMIN)
def profile():
    company = current_company._get_current_object()
    form = ProfileForm(obj=company)
    # A plain (boosted) form: errors come back as the whole page, with the messages next to the fields.
    return submit(
        form, lambda: services.update_profile(company, licence_number=form.licence_number.data,
                                              complaint_phone=form.complaint_phone.data, address=form.address.data,
                                              service_phone=form.service_phone.data, actor=current_user),
        success=_("Company profile saved."), next_url=url_for(".index"),
    ) or render("tenants/onboarding/profile.html", status=422 if form.is_submitted() else 200, form=form)
