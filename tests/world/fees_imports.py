"""Fee imports (tenants/fees/import_views.py): one import batch of each kind per company, readings with a problem
to show and opening balances committed. Only batches: no fee items, readings or bills, so the ledger's and the
bill runs' tests, which get every builder, count only their own."""

from __future__ import annotations

PROVIDES = ("fee_import_id", "fee_opening_import_id")


def build(app, world) -> dict:
    from saas.extensions import db
    from saas.tenancy import company_context, utcnow
    from tenants.imports.models import ImportBatch, ImportStatus

    with app.app_context(), company_context(world.company.id):
        readings = ImportBatch(kind="readings", created_by_id=world.admin.id,
                               filename=f"{world.company.slug}-抄表.xlsx", file_sha256="0" * 64,
                               stored_path=f"{world.company.id}/imports/missing-readings.xlsx",
                               status=ImportStatus.INVALID, total_rows=2, processed_rows=2, error_count=1,
                               errors=[{"row": 3, "column": "读数", "message": "“%(value)s” is not a meter figure. "
                                        "Write digits only, e.g. 1234.5.", "params": {"value": "一二三"}}])
        opening = ImportBatch(kind="opening", created_by_id=world.admin.id,
                              filename=f"{world.company.slug}-期初.xlsx", file_sha256="1" * 64,
                              stored_path=f"{world.company.id}/imports/missing-opening.xlsx",
                              status=ImportStatus.COMMITTED, total_rows=1, processed_rows=1, created_count=1,
                              errors=[{"kind": "opening_total", "fen": 128_050}], finished_at=utcnow())
        db.session.add_all([readings, opening])
        db.session.commit()
        return {"fee_import_id": readings.id, "fee_opening_import_id": opening.id}
