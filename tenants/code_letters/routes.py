"""Household-code letters: one printable A4 page per household with its code and a QR code, lobby posters,
and regeneration of household codes. Admin only: the codes let anyone link a home to their account."""

from __future__ import annotations

import segno
from flask import current_app, flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from saas.extensions import db
from saas.forms import attempt
from saas.htmx import render
from saas.models import Role
from saas.tenancy import get_or_404, utcnow
from tenants.access import current_company, require_role
from tenants.code_letters import bp, services
from tenants.roster.models import Building, Community, Household


def join_url(code: str | None = None) -> str:
    url = current_app.config["PUBLIC_BASE_URL"].rstrip("/") + url_for("owners.join", company_slug=current_company.slug)
    return f"{url}?code={code}" if code else url


def qr_data_uri(url: str, scale: int = 4) -> str:
    # A data: URI, which the CSP allows for images (img-src 'self' data:). Error level M survives smudges.
    return segno.make(url, error="m").svg_data_uri(scale=scale, border=2)


def _households(building: Building) -> list[Household]:
    return list(db.session.scalars(
        select(Household).where(Household.building_id == building.id, Household.live())
        .order_by(Household.unit, func.length(Household.room), Household.room)))


@bp.get("/buildings/<building_id>/notices")
@require_role(Role.ADMIN)
def building(building_id):
    building = get_or_404(Building, building_id)
    if not current_company.is_read_only(utcnow()):
        try:
            services.assign_missing_codes(building, actor=current_user)
        except services.CodeError as exc:
            flash(str(exc.message), "danger")
        services.mark_notices_printed(current_company._get_current_object())
    letters = [
        {"household": h, "qr": qr_data_uri(join_url(h.household_code)) if h.household_code else None}
        for h in _households(building)
    ]
    return render("tenants/code_letters/building.html", building=building, letters=letters, join_url=join_url(),
                  printed_at=utcnow())


@bp.get("/communities/<community_id>/poster")
@require_role(Role.ADMIN)
def poster(community_id):
    community = get_or_404(Community, community_id)
    url = join_url()
    return render("tenants/code_letters/poster.html", community=community, join_url=url, qr=qr_data_uri(url, scale=10))


def _confirmed() -> bool:
    return request.form.get("confirm") == "yes"


@bp.post("/buildings/<building_id>/codes")
@require_role(Role.ADMIN)
def regenerate_building(building_id):
    building = get_or_404(Building, building_id)
    households = _households(building)
    if not _confirmed():
        return render("tenants/code_letters/confirm.html", building=building, household=None, count=len(households),
                      action=url_for(".regenerate_building", building_id=building.id))
    return attempt(
        lambda: services.regenerate_building(building, actor=current_user),
        success=lambda n: _("%(n)s new household codes for %(building)s. The old codes no longer work: print and "
                            "hand out the new notices.", n=n, building=building.label),
        next_url=url_for(".building", building_id=building.id))


@bp.post("/households/<household_id>/code")
@require_role(Role.ADMIN)
def regenerate_household(household_id):
    household = get_or_404(Household, household_id)
    if not _confirmed():
        return render("tenants/code_letters/confirm.html", building=household.building, household=household, count=1,
                      action=url_for(".regenerate_household", household_id=household.id))
    return attempt(
        lambda: services.regenerate([household], actor=current_user),
        success=_("New household code for %(home)s. The old code no longer works.", home=household.label),
        next_url=url_for(".building", building_id=household.building_id, _anchor=f"household-{household.id}"))
