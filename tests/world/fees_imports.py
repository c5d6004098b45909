"""Fee imports (tenants/fees/import_views.py): a metered item with a reading, an opening-balance bill, and one
import batch of each kind per company: readings with a problem to show, opening balances committed."""

from __future__ import annotations

PROVIDES = ("fee_import_id", "fee_opening_import_id")

ITEM_NAME = "水费(导入)"


def build(app, world) -> dict:
    from datetime import date

    from saas.extensions import db
    from saas.tenancy import company_context, utcnow
    from tenants.fees.models import Bill, BillKind, FeeItem, FeeKind, MeterKind, MeterReading
    from tenants.imports.models import ImportBatch, ImportStatus
    from tenants.roster.models import Household

    with app.app_context(), company_context(world.company.id):
        household = db.session.get(Household, (world.company.id, world.ids["household_id"]))
        item = FeeItem(community_id=world.ids["community_id"], name=ITEM_NAME, kind=FeeKind.METERED,
                       meter_kind=MeterKind.WATER)
        db.session.add(item)
        db.session.flush()
        db.session.add(MeterReading(household_id=household.id, fee_item_id=item.id, read_on=date(2026, 10, 31),
                                    reading_milli=1_234_500, source="import", recorded_by_id=world.admin.id))
        db.session.add(Bill(household_id=household.id, community_id=world.ids["community_id"],
                            building_id=household.building_id, kind=BillKind.OPENING, charge_key="opening",
                            title="期初欠费", reason=f"{world.company.slug} 旧账结转", period_start=date(2025, 12, 1),
                            period_end=date(2026, 1, 1), due_on=date(2025, 12, 31), amount_fen=128_050,
                            created_by_id=world.admin.id))
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
