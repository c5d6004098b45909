"""One import batch per company (checked, ready to commit; its file is not needed to show it)."""

from __future__ import annotations

PROVIDES = ("import_id",)


def build(app, world) -> dict:
    from saas.extensions import db
    from saas.tenancy import company_context
    from tenants.imports.models import ImportBatch, ImportStatus

    with app.app_context(), company_context(world.company.id):
        batch = ImportBatch(created_by_id=world.admin.id, filename=f"{world.company.slug}-roster.xlsx",
                            file_sha256="0" * 64, stored_path=f"{world.company.id}/imports/missing.xlsx",
                            status=ImportStatus.READY, total_rows=2, processed_rows=2, created_count=2,
                            errors=[{"kind": "new_community", "community": "新小区"},
                                    {"kind": "totals", "communities": 1, "buildings": 0}])
        db.session.add(batch)
        db.session.commit()
        return {"import_id": batch.id}
