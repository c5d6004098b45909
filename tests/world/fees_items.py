"""Fees setup and bill runs: the company's fee settings (a late-fee clause), a per-area item with a rate, a
metered water item with two readings of the world's household, a parking space held by it, a one-off charge,
and an issued bill run (its bills carry title and detail). URL parameters: item_id, space_id, run_id."""

from __future__ import annotations

from datetime import date, timedelta

PROVIDES = ("item_id", "space_id", "run_id")


def build(app, world) -> dict:
    from saas.clock import local_today
    from saas.extensions import db
    from saas.models import User
    from saas.tenancy import company_context
    from tenants.fees import charges, items, meters, runs, settings
    from tenants.fees.models import PeriodKind
    from tenants.roster.models import Community, Household

    with app.app_context(), company_context(world.company.id):
        admin = db.session.get(User, world.admin.id)
        community = db.session.get(Community, (world.company.id, world.ids["community_id"]))
        settings.update_settings(due_days=15, prepay_cap_months=12, contract_ends_on=None, reminder_interval_days=7,
                                 offline_instructions="工商银行 6222 0000 0000", late_fees_enabled=True,
                                 late_fee_clause="逾期每日按欠费的万分之五支付违约金", late_fee_daily_permyriad=5,
                                 late_fee_grace_days=30, late_fee_cap_percent=20, actor=admin)
        item = items.create_item(community, name="物业服务费", kind="per_area", area_basis="gross", actor=admin)
        start = date(2026, 1, 1)
        items.add_rate(item, price="1.85", effective_from=start, note="物价局备案", actor=admin)
        parking = items.create_item(community, name="停车服务费", kind="parking", actor=admin)
        items.add_rate(parking, price="150", effective_from=start, actor=admin)
        water = items.create_item(community, name="水费", kind="metered", meter_kind="water", actor=admin)
        items.add_rate(water, price="5.28", effective_from=start, actor=admin)
        household = db.session.get(Household, (world.company.id, world.ids["household_id"]))
        space = items.create_space(community, name="B1-001", holder_household_id=household.id, actor=admin)
        today = local_today()
        meters.record_reading(household, water, read_on=today - timedelta(days=40), reading="100", actor=admin)
        meters.record_reading(household, water, read_on=today - timedelta(days=1), reading="112.5", actor=admin)
        charges.add_one_off(household, amount_fen=20000, title="装修垃圾清运费", reason="装修", actor=admin)
        run = runs.start_preview(community, period_kind=PeriodKind.MONTH,
                                 period_start=date(today.year, today.month, 1), actor=admin)
        run = runs.start_issue(run, actor=admin)
        return {"item_id": item.id, "space_id": space.id, "run_id": run.id}
