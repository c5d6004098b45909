"""Fee bills of the world's household (the one the world's steward looks after), so every fee page has rows and
the escaping walk plants markup into each fee text column that shows:

- an opening balance due 32 months ago (owed: the arrears pages flag it), a late fee on it with the contract
  clause copied, a periodic fee due 10 days ago (part paid by a bank transfer), a parking fee credited in part
  with a reason, and a one-off charge not yet due (paid in full by cash, with money over kept as credit);
- the company's fee settings (late fees on, with a clause and offline payment instructions) unless another
  builder made them already; a written-demand reminder row.

URL parameters: bill_id (the periodic fee), payment_id (the bank transfer)."""

from __future__ import annotations

PROVIDES = ("bill_id", "payment_id")
NEEDS = ("stewards",)


def build(app, world) -> dict:
    from datetime import timedelta

    from sqlalchemy import select

    from saas.clock import local_today
    from saas.extensions import db
    from saas.tenancy import company_context, new_id
    from tenants.fees import ledger
    from tenants.fees.arrears import months_before
    from tenants.fees.models import Bill, BillKind, CollectionReminder, FeeSettings, PaymentMethod
    from tenants.roster.models import Household

    with app.app_context(), company_context(world.company.id):
        admin = db.session.get(type(world.admin), world.admin.id)
        household = db.session.get(Household, (world.company.id, world.ids["household_id"]))
        if db.session.execute(select(FeeSettings)).scalar_one_or_none() is None:
            db.session.add(FeeSettings(late_fees_enabled=True, late_fee_daily_permyriad=5, late_fee_grace_days=15,
                                       late_fee_cap_percent=20,
                                       late_fee_clause="业主逾期交纳物业费的，每日按欠费金额的万分之五支付违约金。",
                                       offline_instructions="工作日 9:00-17:00 到物业服务中心交费，或转账至本公司账户。"))
        today = local_today()
        month = today.replace(day=1)
        last_month = (month - timedelta(days=1)).replace(day=1)
        old = months_before(month, 33)

        def bill(kind, title, start, end, amount, due_on, **extra):
            row = Bill(id=new_id(), household_id=household.id, community_id=household.building.community_id,
                       building_id=household.building_id, kind=kind, title=title, period_start=start,
                       period_end=end, amount_fen=amount, due_on=due_on, created_by_id=admin.id,
                       charge_key=extra.pop("charge_key", f"once:{new_id()}"), **extra)
            db.session.add(row)
            return row

        opening = bill(BillKind.OPENING, "历史欠费", old, months_before(month, 32), 120000,
                       months_before(today, 32), charge_key="opening", reason="旧账转入（纸质台账）")
        bill(BillKind.LATE_FEE, "违约金", last_month, month, 600, today - timedelta(days=5),
             charge_key=f"late:{opening.id}", detail="历史欠费：逾期 30 天 × 每日万分之五",
             late_fee_clause="业主逾期交纳物业费的，每日按欠费金额的万分之五支付违约金。")
        periodic = bill(BillKind.RUN, "物业费", last_month, month, 18550, today - timedelta(days=10),
                        charge_key="item:world", detail="89.50 m² × ¥1.85 × 1 个月")
        parking = bill(BillKind.RUN, "停车服务费", last_month, month, 30000, today - timedelta(days=10),
                       charge_key="item:world:space:B1-001", detail="B1-001 × ¥300 × 1 个月")
        one_off = bill(BillKind.ONE_OFF, "垃圾清运费", month, today.replace(day=28) + timedelta(days=4), 5000,
                       today + timedelta(days=10), reason="装修垃圾清运")
        db.session.flush()
        payment = ledger.record_offline_payment(household, method=PaymentMethod.BANK_TRANSFER, amount_fen=10000,
                                                reference="流水号20260101", note="业主转账", bill_ids=[periodic.id],
                                                actor=admin)
        ledger.credit_bill(parking, 5000, "车位维修期间减免", admin)
        ledger.record_offline_payment(household, method=PaymentMethod.CASH, amount_fen=8000, note="现金，多收部分转预存",
                                      bill_ids=[one_off.id], actor=admin)
        db.session.add(CollectionReminder(household_id=household.id, channel="letter", owed_fen=120000,
                                          sent_by_id=admin.id))
        db.session.commit()
        ids = {"bill_id": periodic.id, "payment_id": payment.id}
        db.session.remove()
    return ids
