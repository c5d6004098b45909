"""Arrears (欠费): by age and the 30-month flag, the admin pages in a fixed number of statements, the household
ledger (admins, and stewards for their own homes), reminders at most once per interval, the written demand, the
steward's figures, and late fees under the contract clause only."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from saas.extensions import db
from saas.tenancy import company_context, new_id

pytestmark = pytest.mark.world("fees_bills")

FORBIDDEN = ("停水", "停电", "断水", "断电", "停暖", "停气", "电梯", "门禁", "停车", "water", "power", "cut off")


@pytest.fixture
def a(two_companies):
    return two_companies[0]


def make_bill(household_id, *, amount, due_on, paid=0, credited=0, kind=None, title="物业费", period_start=None,
              clause=""):
    """A bill written directly (bill runs are another part of the module)."""
    from tenants.fees.models import Bill, BillKind
    from tenants.roster.models import Household

    household = db.session.execute(select(Household).where(Household.id == household_id)).scalar_one()
    start = period_start or due_on.replace(day=1)
    bill = Bill(id=new_id(), household_id=household.id, community_id=household.building.community_id,
                building_id=household.building_id, kind=kind or BillKind.RUN, charge_key=f"once:{new_id()}",
                title=title, period_start=start, period_end=start + timedelta(days=28), amount_fen=amount,
                paid_fen=paid, credited_fen=credited, due_on=due_on, late_fee_clause=clause)
    db.session.add(bill)
    return bill


def _clear_world_bills(app, world):
    """The world's own bills out of the way, for exact sums (their payments keep pointing at them: zero them)."""
    from sqlalchemy import update

    from tenants.fees.models import Bill

    with app.app_context(), company_context(world.company.id):
        db.session.execute(update(Bill).values(credited_fen=Bill.amount_fen - Bill.paid_fen))
        db.session.commit()


# --- queries --------------------------------------------------------------------------------------------------


def test_arrears_by_age_and_the_limitation_flag(app, a):
    from tenants.fees import arrears

    _clear_world_bills(app, a)
    today = date(2026, 12, 6)
    h1, h2, h3 = a.roster["households"][:3]
    with app.app_context(), company_context(a.company.id):
        make_bill(h1, amount=10000, due_on=today - timedelta(days=5))  # ≤30
        make_bill(h1, amount=20000, due_on=today - timedelta(days=30), paid=5000)  # ≤30, 150 owed
        make_bill(h1, amount=30000, due_on=today - timedelta(days=31))  # 31–90
        make_bill(h2, amount=40000, due_on=today - timedelta(days=200), credited=40000)  # credited: nothing owed
        make_bill(h2, amount=50000, due_on=today - timedelta(days=400))  # over a year, 13 months: no flag
        make_bill(h3, amount=7000, due_on=date(2024, 6, 6))  # exactly 30 months: flagged
        make_bill(h3, amount=9000, due_on=today + timedelta(days=3))  # not yet due: not arrears
        make_bill(h3, amount=9000, due_on=today)  # due today: not yet past due
        db.session.commit()
        totals = arrears.scope_totals(today)
        assert (totals.d30, totals.d90, totals.d365, totals.older) == (25000, 30000, 0, 57000)
        assert (totals.total, totals.households, totals.flagged) == (112000, 3, 1)
        from flask import Flask  # noqa: F401  (a request context for the page number)

        with app.test_request_context("/?page=1"):
            page = arrears.households(today)
        rows = {r.id: r for r in page.items}
        assert [r.id for r in page.items] == [h1, h2, h3]  # most owed first
        with app.test_request_context("/?page=1"):  # counted over the scope, not only up to the page's edge
            first = arrears.households(today, per_page=2)
        assert (first.total, first.pages, [r.id for r in first.items]) == (3, 2, [h1, h2])
        assert rows[h3].flagged and not rows[h2].flagged and rows[h3].totals.older == 7000
        assert arrears.owed_by_household(today, [h1, h2, h3]) == {h1: 55000, h2: 50000, h3: 7000}
        groups = arrears.by_group(today)
        assert len(groups) == 1 and groups[0].totals.total == 112000
        groups = arrears.by_group(today, community_id=a.roster["communities"][0])
        assert sum(g.totals.total for g in groups) == 112000


def test_months_before_keeps_the_day_or_the_months_end():
    from tenants.fees.arrears import months_before

    assert months_before(date(2026, 12, 6), 30) == date(2024, 6, 6)
    assert months_before(date(2026, 8, 31), 30) == date(2024, 2, 29)
    assert months_before(date(2026, 1, 15), 1) == date(2025, 12, 15)


# --- pages ----------------------------------------------------------------------------------------------------


def test_arrears_page_filters_sorts_and_is_admin_only(app, a, login_as):
    slug = a.company.slug
    admin = login_as(a.admin)
    body = admin.get(f"/c/{slug}/fees/arrears").get_data(as_text=True)
    assert "历史欠费" not in body  # bills are not listed here, homes are
    assert "A标记业主0" in body and "over 30 months" in body or "30" in body
    for query in ("?sort=room", "?sort=oldest", "?sort=nonsense", f"?community_id={a.roster['communities'][0]}",
                  f"?building_id={a.roster['buildings'][0]}", "?page=99999999999"):
        assert admin.get(f"/c/{slug}/fees/arrears{query}").status_code == 200, query
    assert admin.get(f"/c/{slug}/fees/arrears?community_id={new_id()}").status_code == 404
    assert admin.get(f"/c/{slug}/fees/arrears?building_id=junk").status_code == 404
    assert login_as(a.steward).get(f"/c/{slug}/fees/arrears").status_code == 403
    assert login_as(a.technician).get(f"/c/{slug}/fees/collection").status_code == 403


def test_age_cells_show_each_age_and_leave_empty_ones_out_of_a_phones_card():
    from markupsafe import Markup

    from tenants.fees.arrears import Totals
    from tenants.fees.arrears_rows import age_cells

    cells = age_cells(Totals(total=12345, d30=12345, d90=0, d365=0, older=0),
                      ("Up to 30 days", "31–90 days", "<91>", "Over a year"))
    assert isinstance(cells, Markup)
    assert cells.startswith('<td class="text-end" data-label="Up to 30 days">¥123.45</td>')
    assert cells.count('class="text-end stack-skip"') == 3 and cells.count(">—</td>") == 3
    assert 'data-label="&lt;91&gt;"' in cells  # labels escaped
    compact = age_cells(Totals(total=12345, d30=12345))  # a compact table's: no labels, shown from md up
    assert compact.count('<td class="text-end d-none d-md-table-cell">') == 4 and "¥123.45" in compact


def test_rows_drawn_in_python_escape_what_people_entered_and_flag_old_debts(app):
    import uuid

    from markupsafe import Markup

    from tenants.fees.arrears import GroupRow, HouseholdRow, Totals
    from tenants.fees.arrears_rows import group_rows, home_rows

    home_id, group_id = uuid.uuid4(), uuid.uuid4()
    labels = {"home": "Home", "owner": "Owner", "owed": "Owed", "oldest": "Oldest due", "flag": "over 30 months",
              "demand": "Written demand"}
    ages = ("Up to 30 days", "31–90 days", "91–365 days", "Over a year")
    old = HouseholdRow(home_id, "<b>园</b>", "1栋", "2", "301", "王&李", Totals(older=500, total=500),
                       date(2023, 1, 5), True)
    rows = home_rows([old], with_community=True, ledger_url="/c/x/fees/ledger/ROW-ID",
                     demand_url="/c/x/fees/demand/ROW-ID", labels=labels, age_labels=ages)
    assert isinstance(rows, Markup) and rows.count("<tr>") == 1
    assert "&lt;b&gt;园&lt;/b&gt; 1栋 2单元 301</a>" in rows and "王&amp;李" in rows and "<b>" not in rows
    assert f'href="/c/x/fees/ledger/{home_id}"' in rows and f'href="/c/x/fees/demand/{home_id}"' in rows
    assert '2023-01-05 <span class="badge text-bg-warning">over 30 months</span>' in rows
    assert 'data-label="Over a year">¥5</td>' in rows
    plain = home_rows([HouseholdRow(home_id, "园", "1栋", "", "301", "", Totals(d30=100, total=100),
                                    date(2026, 11, 1), False)],
                      with_community=False, ledger_url="/l/ROW-ID", demand_url="/d/ROW-ID", labels=labels,
                      age_labels=ages)
    assert ">1栋 301</a>" in plain and ">—</td>" in plain and "badge" not in plain
    with app.test_request_context("/"):  # the flag's words are translated
        groups = group_rows([GroupRow(group_id, "A&B", Totals(total=123456, households=1234, flagged=2))],
                            group_url="/a?community_id=ROW-ID", months=30)
    assert f'href="/a?community_id={group_id}">A&amp;B</a> <span class="badge text-bg-warning">2 over 30 months' in groups
    assert '<td class="text-end">1,234</td>' in groups and "¥1,234.56" in groups


def test_a_deleted_communitys_arrears_stay_in_reach_but_not_in_the_filter(app, a, two_companies, login_as):
    from saas.clock import utcnow
    from tenants.roster.models import Community

    slug, community_id = a.company.slug, a.roster["communities"][0]
    admin = login_as(a.admin)
    for page in ("arrears", "collection"):
        assert f'<option value="{community_id}"' in admin.get(f"/c/{slug}/fees/{page}").get_data(as_text=True), page
    with app.app_context(), company_context(a.company.id):
        # Marked deleted as delete_community does (it needs the buildings moved or deleted first).
        community = db.session.execute(select(Community).where(Community.id == community_id)).scalar_one()
        community.deleted_at = utcnow()
        db.session.commit()
    for page in ("arrears", "collection"):
        everything = admin.get(f"/c/{slug}/fees/{page}").get_data(as_text=True)
        assert f'<option value="{community_id}"' not in everything, page
        assert admin.get(f"/c/{slug}/fees/{page}?community_id={community_id}").status_code == 200, page
        # Another company's community is nothing here.
        other = two_companies[1].roster["communities"][0]
        assert admin.get(f"/c/{slug}/fees/{page}?community_id={other}").status_code == 404, page


def test_arrears_and_collection_pages_make_a_fixed_number_of_statements(app, a, login_as, make_roster,
                                                                       count_queries):
    slug = a.company.slug
    admin = login_as(a.admin)
    community = a.roster["communities"][0]
    urls = [f"/c/{slug}/fees/arrears", f"/c/{slug}/fees/arrears?community_id={community}&sort=room",
            f"/c/{slug}/fees/arrears?building_id={a.roster['buildings'][0]}", f"/c/{slug}/fees/collection",
            f"/c/{slug}/fees/collection?community_id={community}"]

    def counts():
        out = []
        for url in urls:
            with count_queries() as counter:
                assert admin.get(url).status_code == 200
            out.append(len(counter.statements))
        return out

    admin.get(urls[0])  # the day's first look counts the arrears figures for the day (figures.ensure_fresh)
    small = counts()
    more = make_roster(a.company, communities=2, buildings=2, households=6, prefix="多")
    today = date.today()
    with app.app_context(), company_context(a.company.id):
        for i, household_id in enumerate(more["households"] + a.roster["households"]):
            for months in range(1, 5):
                make_bill(household_id, amount=10000 + i, due_on=today - timedelta(days=30 * months),
                          paid=3000 * (i % 2))
        db.session.commit()
    assert counts() == small


def test_household_ledger_for_admins_and_the_homes_steward(app, two_companies, login_as):
    a, b = two_companies
    slug = a.company.slug
    home = a.ids["household_id"]
    admin = login_as(a.admin)
    page = admin.get(f"/c/{slug}/fees/households/{home}/ledger")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    for text in ("历史欠费", "违约金", "万分之五支付违约金", "流水号20260101", "车位维修期间减免", "Partly paid",
                 "Credited" if "Credited" in body else "Partly paid", "Unpaid"):
        assert text in body, text
    # The running balance ends at what is owed less credit.
    from tenants.fees import ledger

    with app.app_context(), company_context(a.company.id):
        net = ledger.outstanding_fen(home) - ledger.credit_balance(home)
    from saas.money import format_yuan

    assert f'fw-semibold" data-label="Balance">{format_yuan(net)}' in body.replace("text-end text-nowrap ", "")
    steward = login_as(a.steward)
    assert steward.get(f"/c/{slug}/fees/households/{home}/ledger").status_code == 200
    assert steward.get(f"/c/{slug}/fees/households/{a.roster['households'][1]}/ledger").status_code == 404
    assert login_as(a.technician).get(f"/c/{slug}/fees/households/{home}/ledger").status_code == 403
    assert login_as(a.owner).get(f"/c/{slug}/fees/households/{home}/ledger").status_code == 403
    assert admin.get(f"/c/{slug}/fees/households/{b.ids['household_id']}/ledger").status_code == 404
    # One link each from the roster's and the steward's household pages.
    assert f"/fees/households/{home}/ledger" in admin.get(f"/c/{slug}/households/{home}").get_data(as_text=True)
    assert f"/fees/households/{home}/ledger" in steward.get(
        f"/c/{slug}/steward/households/{home}").get_data(as_text=True)
    # The steward logs a collection contact in their contact log, started from the ledger.
    ledger_page = steward.get(f"/c/{slug}/fees/households/{home}/ledger").get_data(as_text=True)
    assert "topic=collection" in ledger_page
    assert "Payment reminder: " in steward.get(
        f"/c/{slug}/steward/households/{home}?topic=collection").get_data(as_text=True)


def test_written_demand_is_polite_itemised_and_has_the_service_phone(app, a, login_as):
    from saas.models import Company

    with app.app_context():
        company = db.session.get(Company, a.company.id)
        company.service_phone = "0571-8888 1234"
        db.session.commit()
    admin = login_as(a.admin)
    body = admin.get(f"/c/{a.company.slug}/fees/households/{a.ids['household_id']}/demand").get_data(as_text=True)
    assert "历史欠费" in body and "0571-8888 1234" in body and "data-print" in body
    assert "垃圾清运费" not in body  # not yet due
    for word in FORBIDDEN:
        assert word not in body.replace("停车服务费", ""), word


# --- reminders ------------------------------------------------------------------------------------------------


def test_a_reminder_goes_once_per_interval_to_the_owners(app, a, login_as):
    from saas.notifications.models import OutboxMessage
    from tenants.fees.models import CollectionReminder
    from tenants.inbox.models import Notification

    slug, home = a.company.slug, a.ids["household_id"]
    admin = login_as(a.admin)
    url = f"/c/{slug}/fees/households/{home}/remind"
    response = admin.post(url)
    assert response.status_code == 303
    assert "Reminder sent" in admin.get(response.headers["Location"]).get_data(as_text=True)
    with app.app_context(), company_context(a.company.id):
        sms = db.session.execute(select(OutboxMessage).where(OutboxMessage.kind == "fee_reminder")).scalars().all()
        assert len(sms) == 1 and sms[0].recipient == a.owner.phone
        assert "¥" in sms[0].body and "我的账单" in sms[0].body
        for word in FORBIDDEN:
            assert word not in sms[0].body
        assert db.session.scalar(select(func.count()).select_from(Notification)
                                 .where(Notification.subject_type == "fee_arrears")) == 1
        assert db.session.scalar(select(func.count()).select_from(CollectionReminder)
                                 .where(CollectionReminder.channel == "sms")) == 1
    again = admin.post(url)
    assert again.status_code == 303
    assert "at most one every 7 days" in admin.get(again.headers["Location"]).get_data(as_text=True)
    with app.app_context(), company_context(a.company.id):
        assert db.session.scalar(select(func.count()).select_from(OutboxMessage)
                                 .where(OutboxMessage.kind == "fee_reminder")) == 1
    # The owner's notice is theirs; a steward reaches the ledger from it.
    steward = login_as(a.steward)
    assert steward.post(f"/c/{slug}/fees/households/{a.roster['households'][1]}/remind").status_code == 404


def test_reminding_every_home_of_a_scope_owing_more_than_an_amount(app, a, login_as):
    from saas.notifications.models import OutboxMessage

    slug = a.company.slug
    today = date.today()
    h2, h3 = a.roster["households"][1], a.roster["households"][2]
    with app.app_context(), company_context(a.company.id):
        make_bill(h2, amount=50000, due_on=today - timedelta(days=40))
        make_bill(h3, amount=100, due_on=today - timedelta(days=40))
        db.session.commit()
    admin = login_as(a.admin)
    assert admin.post(f"/c/{slug}/fees/arrears/remind", data={"min_owed": "1e30"}).status_code == 422
    assert admin.post(f"/c/{slug}/fees/arrears/remind", data={"min_owed": "99999"}).status_code == 422
    response = admin.post(f"/c/{slug}/fees/arrears/remind",
                          data={"min_owed": "10", "community_id": str(a.roster["communities"][0])})
    assert response.status_code == 303
    assert "Reminders sent to 2 homes" in admin.get(response.headers["Location"]).get_data(as_text=True)
    with app.app_context(), company_context(a.company.id):
        recipients = set(db.session.execute(select(OutboxMessage.recipient)
                                            .where(OutboxMessage.kind == "fee_reminder")).scalars())
    assert len(recipients) == 2  # the world's owner and h2's roster phone; h3 owes ¥1
    response = admin.post(f"/c/{slug}/fees/arrears/remind", data={"min_owed": "10"})
    assert "2 homes were reminded recently" in admin.get(response.headers["Location"]).get_data(as_text=True)


def test_automatic_reminders_only_where_switched_on_and_once_per_interval(app, two_companies, login_as):
    """The daily job (send-fee-reminders, 10:00 Beijing time) reminds only in a company that chose an amount in its
    fee settings, only homes owing more than it, and a home reminded by staff within the interval is skipped."""
    from saas.jobs import PERIODIC_JOBS
    from saas.notifications.models import OutboxMessage
    from tenants.fees.collection import remind_all_companies
    from tenants.fees.models import FeeSettings

    a, b = two_companies
    today = date.today()
    h2, h3 = a.roster["households"][1], a.roster["households"][2]
    with app.app_context(), company_context(a.company.id):
        make_bill(h2, amount=50000, due_on=today - timedelta(days=40))
        make_bill(h3, amount=100, due_on=today - timedelta(days=40))
        db.session.commit()

    def sms_count(world):
        with app.app_context(), company_context(world.company.id):
            return db.session.scalar(select(func.count()).select_from(OutboxMessage)
                                     .where(OutboxMessage.kind == "fee_reminder"))

    with app.app_context():
        remind_all_companies()
    assert sms_count(a) == 0 and sms_count(b) == 0  # off by default: nothing is sent

    admin = login_as(a.admin)
    settings_url = f"/c/{a.company.slug}/fees/settings"
    form = {"due_days": "15", "reminder_interval_days": "7", "prepay_cap_months": "12"}
    for bad in ("1e30", "-5", "abc", "2000000"):
        assert admin.post(settings_url, data=form | {"auto_remind_min": bad}).status_code == 422
    with app.app_context(), company_context(a.company.id):
        assert db.session.execute(select(FeeSettings.auto_remind_min_fen)).scalar() is None
    assert admin.post(settings_url, data=form | {"auto_remind_min": "¥100"}).status_code == 303
    assert 'value="100"' in admin.get(settings_url).get_data(as_text=True)

    with app.app_context():
        totals = remind_all_companies()
    assert totals["failed"] == 0 and totals["sent"] >= 1
    with app.app_context(), company_context(a.company.id):
        reminded = set(db.session.execute(select(OutboxMessage.recipient)
                                          .where(OutboxMessage.kind == "fee_reminder")).scalars())
    assert len(reminded) == 2  # the world's owner and h2's roster phone; h3 owes ¥1, under the amount
    assert sms_count(b) == 0  # company B left them off

    before = sms_count(a)
    result = app.test_cli_runner().invoke(args=["send-fee-reminders"])
    assert result.exit_code == 0 and "Fee reminders" in result.output
    assert sms_count(a) == before  # reminded within the interval: not again
    assert any(target == "tenants.fees.collection:remind_all_companies" for _, target, _ in PERIODIC_JOBS)
    assert admin.post(settings_url, data=form | {"auto_remind_min": ""}).status_code == 303
    with app.app_context(), company_context(a.company.id):
        assert db.session.execute(select(FeeSettings.auto_remind_min_fen)).scalar() is None


# --- the steward's home ---------------------------------------------------------------------------------------


def test_steward_home_shows_arrears_and_collection_rate(app, a, login_as):
    from saas.money import format_yuan
    from tenants.fees import arrears

    steward = login_as(a.steward)
    body = steward.get(f"/c/{a.company.slug}/steward").get_data(as_text=True)
    with app.app_context(), company_context(a.company.id):
        owed = arrears.owed_by_household(date.today(), [a.ids["household_id"]])[a.ids["household_id"]]
    assert "my-arrears" in body and format_yuan(owed) in body


def test_steward_figures_equal_the_bills_of_the_stewards_homes(app, a):
    """collection.steward_figures reads this month's and the overdue bills in one statement: compared here with the
    bills themselves, with a bill of this month (part paid) and an overdue one on the steward's home."""
    from saas.models import Role
    from tenants.fees.collection import steward_figures
    from tenants.fees.models import Bill, BillKind
    from tenants.stewards.models import StewardAssignment

    today = date.today()
    this_month = today.replace(day=1)
    with app.app_context(), company_context(a.company.id):
        steward_id = a.members[Role.STEWARD]
        homes = set(db.session.execute(select(StewardAssignment.household_id).where(
            StewardAssignment.steward_id == steward_id, StewardAssignment.ended_at.is_(None))).scalars())
        assert homes
        home = sorted(homes)[0]
        make_bill(home, amount=10000, paid=3000, due_on=this_month + timedelta(days=40), period_start=this_month)
        make_bill(home, amount=10000, due_on=today - timedelta(days=100))
        db.session.commit()
        figures = steward_figures(steward_id, today)
        bills = db.session.execute(select(Bill).where(Bill.household_id.in_(homes))).scalars().all()
        now = [b for b in bills if (b.period_start.year, b.period_start.month) == (this_month.year, this_month.month)
               and b.kind != BillKind.LATE_FEE]
        owed: dict = {}
        for b in bills:
            if b.amount_fen > b.paid_fen + b.credited_fen and b.due_on < today:
                owed[b.household_id] = owed.get(b.household_id, 0) + b.amount_fen - b.paid_fen - b.credited_fen
    assert figures.owed == owed and home in owed
    assert figures.arrears_fen == sum(owed.values()) and figures.owing_households == len(owed)
    assert figures.billed_this_month == sum(b.amount_fen - b.credited_fen for b in now) >= 10000
    assert figures.paid_this_month == sum(b.paid_fen for b in now) >= 3000


# --- late fees ------------------------------------------------------------------------------------------------


def _settings(**values):
    from tenants.fees.models import FeeSettings

    settings = db.session.execute(select(FeeSettings)).scalar_one_or_none() or FeeSettings()
    for key, value in values.items():
        setattr(settings, key, value)
    db.session.add(settings)
    db.session.commit()


def test_late_fees_only_with_a_clause_monthly_capped_and_idempotent(app, a):
    from tenants.fees import late_fees
    from tenants.fees.models import Bill, BillKind

    _clear_world_bills(app, a)
    h2 = a.roster["households"][1]
    today = date(2026, 12, 6)
    with app.app_context(), company_context(a.company.id):
        _settings(late_fees_enabled=False, late_fee_clause="第十条 逾期每日万分之五", late_fee_daily_permyriad=5,
                  late_fee_grace_days=10, late_fee_cap_percent=1)
        bill = make_bill(h2, amount=100000, due_on=date(2026, 9, 20), period_start=date(2026, 9, 1))
        db.session.commit()
        assert late_fees.issue_for_company(today) == {"bills": 0, "total_fen": 0}
        _settings(late_fees_enabled=True)
        result = late_fees.issue_for_company(today)
        late = db.session.execute(select(Bill).where(Bill.kind == BillKind.LATE_FEE, Bill.charge_key == f"late:{bill.id}")
                                  .order_by(Bill.period_start)).scalars().all()
        # Late from 1 Oct (20 Sep + 10 grace days): October 31 days × 0.05 % × ¥1000 = ¥15.50, capped at 1 % (¥10).
        assert [(b.period_start, b.amount_fen) for b in late] == [(date(2026, 10, 1), 1000)]
        assert result == {"bills": 1, "total_fen": 1000}
        assert late[0].charge_key == f"late:{bill.id}" and late[0].late_fee_clause == "第十条 逾期每日万分之五"
        _settings(late_fee_cap_percent=20)
        late_fees.issue_for_company(today)
        late_fees.issue_for_company(today)  # idempotent
        late = db.session.execute(select(Bill).where(Bill.kind == BillKind.LATE_FEE, Bill.charge_key == f"late:{bill.id}")
                                  .order_by(Bill.period_start)).scalars().all()
        # November: 30 days × ¥0.50 = ¥15; December is charged once it is over.
        assert [(b.period_start, b.amount_fen) for b in late] == [(date(2026, 10, 1), 1000),
                                                                   (date(2026, 11, 1), 1500)]
        assert all(b.amount_fen > 0 for b in late)
        _settings(late_fee_clause="  ")
        assert late_fees.issue_for_company(date(2027, 3, 1))["bills"] == 0


def test_late_fee_job_and_command_cover_every_company(app, two_companies):
    from tenants.fees.late_fees import issue_all_companies

    with app.app_context():
        totals = issue_all_companies()
    assert totals["companies"] >= 2 and totals["failed"] == 0
    result = app.test_cli_runner().invoke(args=["issue-late-fees"])
    assert result.exit_code == 0 and "Late fees" in result.output
    from saas.jobs import PERIODIC_JOBS

    assert any(target == "tenants.fees.late_fees:issue_all_companies" for _, target, _ in PERIODIC_JOBS)


# --- nothing public -------------------------------------------------------------------------------------------


def test_no_arrears_on_public_pages(app, a, client):
    for url in (f"/p/{a.company.slug}/", f"/p/{a.company.slug}"):
        body = client.get(url).get_data(as_text=True)
        assert "历史欠费" not in body and "A标记业主0" not in body and "¥" not in body
