"""Whole-company export: start one (also when the company is read-only), watch it, download it. Admins only."""

from __future__ import annotations

from flask import flash, g, redirect, render_template, send_file, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from saas.htmx import redirect_to, render
from saas.models import user_names
from saas.pagination import paginate
from saas.tenancy import get_or_404
from tenants.access import Role, allowed_when_read_only, require_role
from tenants.exports import bp, services
from tenants.exports.models import ExportJob, ExportStatus
from tenants.imports.forms import ConfirmForm


@bp.get("/exports")
@require_role(Role.ADMIN)
def index():
    stmt = select(ExportJob).order_by(ExportJob.created_at.desc(), ExportJob.id.desc())
    page = paginate(stmt, per_page=20)
    return render("tenants/exports/index.html", page=page, names=user_names(j.created_by_id for j in page.items),
                  form=ConfirmForm(), Status=ExportStatus)


@bp.post("/exports")
@allowed_when_read_only
@require_role(Role.ADMIN)
def create():
    form = ConfirmForm()
    if not form.validate_on_submit():
        flash(_("Your form expired. Reload the page and try again."), "danger")
        return redirect_to(url_for(".index"))
    job = services.start_export(actor=current_user, locale=str(get_locale()))
    if job.status == ExportStatus.FAILED:
        flash(job.message or _("The export failed."), "danger")
    elif job.status == ExportStatus.DONE:
        flash(_("Your export is ready to download."), "success")
    else:
        flash(_("Your export has started. It appears below when it is ready."), "success")
    return redirect_to(url_for(".index"))


@bp.get("/exports/<export_id>/status")
@require_role(Role.ADMIN)
def status(export_id):
    job = get_or_404(ExportJob, export_id)
    return render_template("tenants/exports/_export.html", job=job, names=user_names([job.created_by_id]),
                           Status=ExportStatus)


@bp.get("/exports/<export_id>/download")
@require_role(Role.ADMIN)
def download(export_id):
    job = get_or_404(ExportJob, export_id)
    path = services.file_path(job) if job.stored_path else None
    if job.status != ExportStatus.DONE or path is None or not path.is_file():
        if job.status == ExportStatus.RUNNING:
            flash(_("This export is not ready yet."), "warning")
        else:
            flash(_("This export's file is no longer available. Start a new export."), "warning")
        return redirect(url_for(".index"), code=303)
    services.record_download(job, actor=current_user)
    return send_file(path, as_attachment=True, download_name=services.download_name(job, g.company.slug),
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", max_age=0)
