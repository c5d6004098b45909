"""Fee import pages (admins): meter readings and opening balances from Excel or CSV.

The flow is the roster import's (tenants/imports): upload → a background check with a progress bar → every row's
problems → import all rows or none. Only the pages are here; the engines are tenants/fees/fee_imports.py.
"""

from __future__ import annotations

import io

from flask import abort, flash, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from jinja2_fragments.flask import render_block
from sqlalchemy import select

from saas.extensions import db
from saas.forms import attempt, submit
from saas.htmx import redirect_to, render
from saas.i18n import _l
from saas.models import User, user_names
from saas.pagination import paginate
from saas.tenancy import get_or_404
from tenants.access import Role, require_role
from tenants.fees import bp, fee_imports
from tenants.imports import services as imports
from tenants.imports.forms import ConfirmForm
from tenants.imports.models import ImportBatch, ImportStatus

RUNNING = (ImportStatus.VALIDATING, ImportStatus.COMMITTING)
UPLOAD_OVERHEAD = 64 * 1024  # the multipart envelope around the file


class FeeImportForm(FlaskForm):
    file = FileField(_l("File (.xlsx or .csv)"), validators=[FileRequired(_l("Choose a file to upload."))])


def _index_page(readings_form=None, opening_form=None, *, status=200):
    stmt = (select(ImportBatch).where(ImportBatch.kind.in_(fee_imports.FEE_KINDS))
            .order_by(ImportBatch.created_at.desc(), ImportBatch.id.desc()))
    page = paginate(stmt, per_page=20)
    return render("tenants/fees/imports/index.html", status=status, page=page,
                  names=user_names(b.created_by_id for b in page.items),
                  readings_form=readings_form or FeeImportForm(prefix="readings"),
                  opening_form=opening_form or FeeImportForm(prefix="opening"),
                  layouts=fee_imports.LAYOUTS, max_rows=imports.limits()["max_rows"],
                  max_mb=f"{imports.limits()['max_bytes'] / (1024 * 1024):g}", running=RUNNING)


@bp.get("/fees/imports")
@require_role(Role.ADMIN)
def imports_index():
    return _index_page()


def _template(kind: str):
    content, mimetype, name = fee_imports.template_file(kind)
    return send_file(io.BytesIO(content), mimetype=mimetype, as_attachment=True, download_name=name, max_age=0)


@bp.get("/fees/imports/readings-template.xlsx")
@require_role(Role.ADMIN)
def readings_template():
    return _template(fee_imports.READINGS)


@bp.get("/fees/imports/opening-template.xlsx")
@require_role(Role.ADMIN)
def opening_template():
    return _template(fee_imports.OPENING)


def _upload(kind: str):
    form = FeeImportForm(prefix=kind)
    forms = {"readings_form": form} if kind == fee_imports.READINGS else {"opening_form": form}
    max_bytes = imports.limits()["max_bytes"]
    if request.content_length and request.content_length > max_bytes + UPLOAD_OVERHEAD:
        form.file.errors = [imports.too_big_message(max_bytes)]  # refused before the file is read
        return _index_page(**forms, status=422)
    return submit(
        form, lambda: imports.create_import(form.file.data, actor=current_user, kind=kind),
        next_url=lambda batch: url_for(".import_show", fee_import_id=batch.id),
    ) or _index_page(**forms, status=422)


@bp.post("/fees/imports/readings")
@require_role(Role.ADMIN)
def readings_upload():
    return _upload(fee_imports.READINGS)


@bp.post("/fees/imports/opening")
@require_role(Role.ADMIN)
def opening_upload():
    return _upload(fee_imports.OPENING)


def _batch(fee_import_id) -> ImportBatch:
    batch = get_or_404(ImportBatch, fee_import_id)
    if batch.kind not in fee_imports.FEE_KINDS:
        abort(404)  # a roster import has its own pages
    return batch


def _context(batch: ImportBatch) -> dict:
    problems = [e for e in batch.errors or [] if "kind" not in e]
    return {
        "batch": batch, "problems": problems, "more_problems": batch.error_count - len(problems),
        "uploader": db.session.get(User, batch.created_by_id), "running": batch.status in RUNNING,
        "opening_total": fee_imports.opening_total(batch.errors), "readings": batch.kind == fee_imports.READINGS,
        "confirm_form": ConfirmForm(), "Status": ImportStatus,
    }


@bp.get("/fees/imports/<fee_import_id>")
@require_role(Role.ADMIN)
def import_show(fee_import_id):
    return render("tenants/fees/imports/show.html", **_context(_batch(fee_import_id)))


@bp.get("/fees/imports/<fee_import_id>/status")
@require_role(Role.ADMIN)
def import_status(fee_import_id):
    """The progress fragment while the job runs; once it is done, the preview or result replaces it."""
    return render_block("tenants/fees/imports/show.html", "result", **_context(_batch(fee_import_id)))


@bp.post("/fees/imports/<fee_import_id>/commit")
@require_role(Role.ADMIN)
def import_commit(fee_import_id):
    batch = _batch(fee_import_id)
    back = url_for(".import_show", fee_import_id=batch.id)
    if not ConfirmForm().validate_on_submit():
        flash(_("Your form expired. Reload the page and try again."), "danger")
        return redirect_to(back)
    return attempt(lambda: imports.start_commit(batch, actor=current_user), next_url=back)
