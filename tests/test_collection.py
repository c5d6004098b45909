"""Collection rate (收缴率): paid ÷ billed per period and community, credited amounts left out of billed, late fees
not counted, and the running rate; the page with its month chart."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import update

from saas.extensions import db
from saas.tenancy import company_context
from tests.test_fee_arrears import make_bill

pytestmark = pytest.mark.world("fees_bills")


@pytest.fixture
def a(two_companies, app):
    from tenants.fees.models import Bill

    a = two_companies[0]
    with app.app_context(), company_context(a.company.id):  # the world's bills out of the sums
        db.session.execute(update(Bill).values(period_start=date(2000, 1, 1), period_end=date(2000, 2, 1)))
        db.session.commit()
    return a


def test_rate_per_month_excludes_credited_and_late_fees_and_runs(app, a, make_roster):
    from tenants.fees import collection
    from tenants.fees.models import BillKind

    today = date(2026, 12, 6)
    h1, h2 = a.roster["households"][:2]
    other = make_roster(a.company, communities=1, buildings=1, households=1, prefix="乙区")["households"][0]
    with app.app_context(), company_context(a.company.id):
        make_bill(h1, amount=10000, paid=10000, due_on=date(2026, 11, 15), period_start=date(2026, 11, 1))
        make_bill(h2, amount=10000, credited=5000, paid=1000, due_on=date(2026, 11, 15),
                  period_start=date(2026, 11, 1))
        make_bill(h2, amount=700, due_on=date(2026, 11, 15), period_start=date(2026, 11, 1), kind=BillKind.LATE_FEE)
        make_bill(h1, amount=20000, paid=5000, due_on=date(2026, 12, 15), period_start=date(2026, 12, 1))
        make_bill(other, amount=20000, paid=20000, due_on=date(2026, 12, 15), period_start=date(2026, 12, 1))
        make_bill(h1, amount=99999, due_on=date(2025, 11, 15), period_start=date(2025, 11, 1))  # before the window
        db.session.commit()
        periods = collection.by_period(today)
        assert len(periods) == 12 and periods[0].period_start == date(2026, 1, 1)
        nov, dec = periods[-2], periods[-1]
        assert (nov.billed, nov.paid) == (15000, 11000)  # 10000 + (10000 − 5000 credited); late fee left out
        assert (dec.billed, dec.paid) == (40000, 25000)
        assert dec.rate == 25000 / 40000 and dec.running_rate == 36000 / 55000
        assert periods[0].rate is None  # nothing billed: no rate, not 0 %
        community = a.roster["communities"][0]
        mine = collection.by_period(today, community_id=community)[-1]
        assert (mine.billed, mine.paid) == (20000, 5000)
        rows = {r.id: r for r in collection.by_community(today)}
        assert (rows[community].billed, rows[community].paid) == (20000, 5000)
        assert (rows[community].running_billed, rows[community].running_paid) == (35000, 16000)


def test_collection_page_and_chart(app, a, login_as):
    from saas.clock import local_today

    today = local_today()
    with app.app_context(), company_context(a.company.id):
        make_bill(a.roster["households"][0], amount=10000, paid=7500, due_on=today + timedelta(days=5),
                  period_start=today.replace(day=1))
        db.session.commit()
    admin = login_as(a.admin)
    body = admin.get(f"/c/{a.company.slug}/fees/collection").get_data(as_text=True)
    assert "fee-chart" in body and "75.0%" in body
    assert "excludes amounts credited" in body  # the page says what billed means
    assert admin.get(f"/c/{a.company.slug}/fees/collection?community_id={a.roster['communities'][0]}").status_code \
        == 200
    assert admin.get(f"/c/{a.company.slug}/fees/collection?community_id=nope").status_code == 404


def test_collection_page_empty_state(app, two_companies, login_as):
    b = two_companies[1]
    from tenants.fees.models import Bill

    with app.app_context(), company_context(b.company.id):
        db.session.execute(update(Bill).values(period_start=date(2000, 1, 1), period_end=date(2000, 2, 1)))
        db.session.commit()
    body = login_as(b.admin).get(f"/c/{b.company.slug}/fees/collection").get_data(as_text=True)
    assert "No bills in the last 12 months" in body
