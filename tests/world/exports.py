"""One finished export per company (its file is not needed: a download of a missing file redirects)."""

from __future__ import annotations

PROVIDES = ("export_id",)


def build(app, world) -> dict:
    from saas.extensions import db
    from saas.tenancy import company_context, utcnow
    from tenants.exports.models import ExportJob, ExportStatus

    with app.app_context(), company_context(world.company.id):
        job = ExportJob(created_by_id=world.admin.id, status=ExportStatus.DONE, total_rows=10, processed_rows=10,
                        stored_path=f"{world.company.id}/exports/missing.xlsx", size_bytes=1234, finished_at=utcnow())
        db.session.add(job)
        db.session.commit()
        return {"export_id": job.id}
