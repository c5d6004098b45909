"""Roster import pages: upload and history, template download, progress, preview, commit. Admins only."""

from __future__ import annotations

import io

from flask import abort, flash, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from jinja2_fragments.flask import render_block
from sqlalchemy import select

from saas.extensions import db
from saas.forms import attempt, submit
from saas.htmx import redirect_to, render
from saas.models import User, user_names
from saas.pagination import paginate
from saas.tenancy import get_or_404
from tenants.access import Role, require_role
from tenants.imports import bp, services
from tenants.imports.forms import ConfirmForm, ImportUploadForm
from tenants.imports.models import ImportBatch, ImportStatus
from tenants.imports.parsing import COLUMNS

RUNNING = (ImportStatus.VALIDATING, ImportStatus.COMMITTING)
# The multipart envelope around the file: boundaries, headers, the CSRF field.
UPLOAD_OVERHEAD = 64 * 1024


def _index_page(form=None, *, status=200):
    stmt = (select(ImportBatch).where(ImportBatch.kind == "roster")
            .order_by(ImportBatch.created_at.desc(), ImportBatch.id.desc()))
    page = paginate(stmt, per_page=20)
    names = user_names(b.created_by_id for b in page.items)
    return render("tenants/imports/index.html", status=status, page=page, names=names,
                  form=form or ImportUploadForm(),
                  columns=COLUMNS, max_rows=services.limits()["max_rows"],
                  max_mb=f"{services.limits()['max_bytes'] / (1024 * 1024):g}", running=RUNNING)


@bp.get("/imports")
@require_role(Role.ADMIN)
def index():
    return _index_page()


@bp.get("/imports/template.xlsx")
@require_role(Role.ADMIN)
def template():
    fmt = "csv" if request.args.get("format") == "csv" else "xlsx"
    content, mimetype, name = services.template_file(fmt)
    return send_file(io.BytesIO(content), mimetype=mimetype, as_attachment=True, download_name=name,
                     max_age=0)


@bp.post("/imports")
@require_role(Role.ADMIN)
def create():
    form = ImportUploadForm()
    max_bytes = services.limits()["max_bytes"]
    if request.content_length and request.content_length > max_bytes + UPLOAD_OVERHEAD:
        # Refused on the declared size, before the file is looked at.
        form.file.errors = [services.too_big_message(max_bytes)]
        return _index_page(form, status=422)
    return submit(
        form, lambda: services.create_import(form.file.data, actor=current_user),
        next_url=lambda batch: url_for(".show", import_id=batch.id),
    ) or _index_page(form, status=422)


def _context(batch: ImportBatch) -> dict:
    problems = [e for e in batch.errors or [] if "kind" not in e]
    notes = [e for e in batch.errors or [] if e.get("kind") in ("new_community", "new_building")]
    totals = next((e for e in batch.errors or [] if e.get("kind") == "totals"), {})
    uploader = db.session.get(User, batch.created_by_id)
    plan_limited = 1 if batch.message == services.PLAN_LIMIT else 0
    return {
        "more_problems": batch.error_count - len(problems) - plan_limited,
        "batch": batch, "problems": problems, "notes": notes, "totals": totals, "uploader": uploader,
        "running": batch.status in RUNNING, "plan_message": services.plan_message(batch),
        "confirm_form": ConfirmForm(), "max_shown": services.MAX_STORED_PROBLEMS, "Status": ImportStatus,
    }


def _roster_batch(import_id) -> ImportBatch:
    """A roster batch of this company; a fee import (tenants/fees/import_views.py) has its own pages."""
    batch = get_or_404(ImportBatch, import_id)
    if batch.kind != "roster":
        abort(404)
    return batch


@bp.get("/imports/<import_id>")
@require_role(Role.ADMIN)
def show(import_id):
    batch = _roster_batch(import_id)
    return render("tenants/imports/show.html", **_context(batch))


@bp.get("/imports/<import_id>/status")
@require_role(Role.ADMIN)
def status(import_id):
    """The progress fragment while the job runs; once it is done, the preview or result replaces it."""
    batch = _roster_batch(import_id)
    return render_block("tenants/imports/show.html", "result", **_context(batch))


@bp.post("/imports/<import_id>/commit")
@require_role(Role.ADMIN)
def commit(import_id):
    batch = _roster_batch(import_id)
    form = ConfirmForm()
    back = url_for(".show", import_id=batch.id)
    if not form.validate_on_submit():
        flash(_("Your form expired. Reload the page and try again."), "danger")
        return redirect_to(back)
    return attempt(lambda: services.start_commit(batch, actor=current_user), next_url=back)


@bp.app_template_filter("import_status_label")
def import_status_label(status) -> str:
    labels = {
        ImportStatus.VALIDATING: _("Checking"),
        ImportStatus.INVALID: _("Has problems"),
        ImportStatus.READY: _("Ready to import"),
        ImportStatus.COMMITTING: _("Importing"),
        ImportStatus.COMMITTED: _("Imported"),
        ImportStatus.FAILED: _("Failed"),
    }
    return labels.get(status, str(status))


@bp.app_template_filter("import_status_class")
def import_status_class(status) -> str:
    return {
        ImportStatus.INVALID: "text-bg-danger", ImportStatus.FAILED: "text-bg-danger",
        ImportStatus.READY: "text-bg-primary", ImportStatus.COMMITTED: "text-bg-success",
    }.get(status, "text-bg-secondary")
