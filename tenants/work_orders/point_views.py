"""Admin pages for QR repair points (扫码报修): the list with a form to add one, the printable poster, archiving
a poster and giving it a new code. The public form behind the poster is intake.py."""

from __future__ import annotations

import segno
from flask import current_app, flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length

from saas.extensions import db
from saas.forms import attempt, submit
from saas.htmx import redirect_to, render
from saas.i18n import _l
from saas.models import Role
from saas.pagination import paginate
from saas.validators import CleanText
from tenants.access import require_role
from tenants.roster.models import Building, Community
from tenants.roster.queries import live_communities
from tenants.work_orders import bp, permissions, queries
from tenants.work_orders import points as point_services

PER_PAGE = 50


class PointForm(FlaskForm):
    name = StringField(_l("Place"), validators=[
        CleanText(), DataRequired(_l("Name the place, e.g. “3号楼 1单元 电梯”.")),
        Length(max=point_services.NAME_MAX, message=_l("Keep the name under %(n)d characters.",
                                                       n=point_services.NAME_MAX))],
        description=_l("What the poster hangs on, as people there say it: “3号楼 1单元 电梯”, “水泵房”, "
                       "“东门道闸”."))
    # The service checks every choice (live, and the building in the community) and says what is wrong.
    community_id = SelectField(_l("Community"), validate_choice=False)
    building_id = SelectField(_l("Building (optional)"), validate_choice=False)
    category_id = SelectField(_l("Category of its reports (optional)"), validate_choice=False)


def intake_url(token: str) -> str:
    # The public address (as for the household notices): a poster printed from an office PC must still point
    # at the address phones reach, whatever host the admin used.
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/") + url_for("intake.form", token=token)


def qr_data_uri(url: str, scale: int = 10) -> str:
    # A data: URI, which the CSP allows for images. Error level M survives a smudged or scratched poster.
    return segno.make(url, error="m").svg_data_uri(scale=scale, border=2)


def _fill_choices(form: PointForm) -> None:
    communities = live_communities()
    buildings = db.session.execute(
        select(Building).join(Building.community).where(Building.live(), Community.live())
        .order_by(Community.name, Building.name)).scalars().all()
    categories = queries.live_categories()
    fallback = next((c.name for c in categories if c.name == point_services.FALLBACK_CATEGORY),
                    categories[0].name if categories else "")
    form.community_id.choices = [("", _("Choose…"))] + [(str(c.id), c.name) for c in communities]
    form.building_id.choices = [("", _("None: the whole community"))] + [(str(b.id), b.label) for b in buildings]
    form.category_id.choices = [("", _("None: reports go to “%(name)s”", name=fallback))] + [
        (str(c.id), c.name) for c in categories]


@bp.route("/work-orders/points", methods=["GET", "POST"])
@require_role(Role.ADMIN)
def points():
    form = PointForm()
    _fill_choices(form)
    created = submit(form, lambda: point_services.create_point(
                         name=form.name.data, community_id=form.community_id.data, building_id=form.building_id.data,
                         category_id=form.category_id.data, actor=current_user),
                     success=lambda point: _("Poster “%(name)s” is ready: print it and put it up.", name=point.name),
                     next_url=lambda point: url_for(".point", point_id=point.id))
    if created:
        return created
    page = paginate(point_services.list_query(), per_page=PER_PAGE)
    return render("tenants/work_orders/points/index.html", status=422 if request.method == "POST" else 200,
                  form=form, page=page,
                  names=point_services.names_for(page.items),
                  counts=point_services.report_counts([p.id for p in page.items]))


@bp.get("/work-orders/points/<point_id>")
@require_role(Role.ADMIN)
def point(point_id):
    point = permissions.point_or_404(point_id)
    url = intake_url(point.token)
    return render("tenants/work_orders/points/poster.html", point=point, url=url,
                  location=point_services.location_label(point),
                  qr=qr_data_uri(url) if point.archived_at is None else None)


def _confirmed() -> bool:
    return request.form.get("confirm") == "yes"


@bp.post("/work-orders/points/<point_id>/archive")
@require_role(Role.ADMIN)
def archive_point(point_id):
    point = permissions.point_or_404(point_id)
    if not _confirmed():
        return render("tenants/work_orders/points/confirm.html", point=point, what="archive",
                      action=url_for(".archive_point", point_id=point.id))
    point_services.archive_point(point, current_user)
    flash(_("Poster “%(name)s” archived: its code no longer opens the report form. Take the poster down.",
            name=point.name), "success")
    return redirect_to(url_for(".points"))


@bp.post("/work-orders/points/<point_id>/code")
@require_role(Role.ADMIN)
def regenerate_point(point_id):
    point = permissions.point_or_404(point_id)
    if not _confirmed():
        return render("tenants/work_orders/points/confirm.html", point=point, what="code",
                      action=url_for(".regenerate_point", point_id=point.id))
    return attempt(lambda: point_services.regenerate_token(point, current_user),
                   success=_("New code for “%(name)s”. The old poster no longer works: print this one and replace it.",
                             name=point.name),
                   next_url=url_for(".point", point_id=point.id))
