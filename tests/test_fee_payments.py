"""Offline payments at the counter (tenants/fees/payment_views.py): the cashier role, finding a home, recording a
payment against its oldest or ticked bills or ahead, errors at their fields, the payments list and refunds."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import event, select

from saas.extensions import db
from saas.models import AuditEvent, Role
from saas.tenancy import company_context
from tenants.fees import ledger
from tenants.fees.models import Bill, CreditEntry, CreditKind, Payment, PaymentStatus
from tenants.roster.models import Household
from tests.world.fees_payments import add_bill

pytestmark = [pytest.mark.world("fees_payments"), pytest.mark.usefixtures("uploads")]


def _home(app, world, index=1):
    """A second home of the world (no payment yet) with two open bills, oldest first."""
    with app.app_context(), company_context(world.company.id):
        household = db.session.get(Household, (world.company.id, world.roster["households"][index]))
        old = add_bill(household, "物业费", date(2026, 9, 1), date(2026, 10, 1), 10_000)
        new = add_bill(household, "物业费", date(2026, 10, 1), date(2026, 11, 1), 10_000)
        db.session.commit()
        return household.id, old.id, new.id


def _url(world, household_id):
    return f"/c/{world.company.slug}/fees/households/{household_id}/pay"


def _bills(app, world, *ids):
    with app.app_context(), company_context(world.company.id):
        return [db.session.get(Bill, (world.company.id, i)).paid_fen for i in ids]


def test_the_cashier_role_sees_the_fee_pages_and_nothing_of_work_orders_or_stewards(app, two_companies, login_as):
    a, _ = two_companies
    client = login_as(a.cashier)
    slug = a.company.slug
    assert client.get(f"/c/{slug}/").headers["Location"].endswith("/fees/payments/new")
    for url in ("/fees/payments", "/fees/payments/new", "/fees/invoices", "/notifications"):
        assert client.get(f"/c/{slug}{url}").status_code == 200, url
    for url in ("/work-orders", "/stewards", "/households", "/members"):
        assert client.get(f"/c/{slug}{url}").status_code in (403, 404), url
    page = client.get(f"/c/{slug}/fees/payments").get_data(as_text=True)
    assert "/work-orders" not in page and "/stewards" not in page
    assert Role.CASHIER.label


def test_admin_can_invite_a_cashier(app, two_companies, login_as):
    a, _ = two_companies
    client = login_as(a.admin)
    assert 'value="cashier"' in client.get(f"/c/{a.company.slug}/members").get_data(as_text=True)
    response = client.post(f"/c/{a.company.slug}/members/invitations",
                           data={"name": "钱出纳", "role": "cashier", "phone": "13912340000"})
    assert response.status_code in (200, 303)
    from tenants.members.models import Invitation
    with app.app_context(), company_context(a.company.id):
        assert db.session.execute(select(Invitation).where(Invitation.name == "钱出纳")).scalar_one().role == Role.CASHIER


def test_search_finds_a_home_by_room_or_owner(app, two_companies, login_as):
    a, _ = two_companies
    with app.app_context(), company_context(a.company.id):
        household = db.session.get(Household, (a.company.id, a.ids["household_id"]))
        room, label = household.room, household.label
    client = login_as(a.cashier)
    body = client.get(f"/c/{a.company.slug}/fees/payments/new", query_string={"q": room},
                      headers={"HX-Request": "true", "HX-Target": "household-results"}).get_data(as_text=True)
    assert label in body and "<html" not in body
    assert "No home matches" in client.get(f"/c/{a.company.slug}/fees/payments/new?q=zzzz").get_data(as_text=True)


def test_a_payment_settles_the_oldest_bills_first_and_shows_the_receipt(app, two_companies, login_as):
    a, _ = two_companies
    household_id, old, new = _home(app, a)
    client = login_as(a.cashier)
    page = client.get(_url(a, household_id)).get_data(as_text=True)
    assert page.index(str(old)) < page.index(str(new)) and "200.00" in page  # both ticked, the total proposed
    response = client.post(_url(a, household_id), data={"method": "cash", "amount": "150"})
    assert response.status_code == 303
    assert "/fees/payments/" in response.headers["Location"]
    assert _bills(app, a, old, new) == [10_000, 5_000]
    receipt = client.get(response.headers["Location"]).get_data(as_text=True)
    with app.app_context(), company_context(a.company.id):
        payment = db.session.execute(select(Payment).where(Payment.household_id == household_id)).scalar_one()
        assert payment.recorded_by_id == a.cashier.id and payment.status == PaymentStatus.PAID
        assert db.session.execute(select(AuditEvent).where(AuditEvent.action == "fee.payment_recorded",
                                                           AuditEvent.object_id == payment.id)).scalar_one()
    assert payment.receipt_number in receipt


def test_ticked_bills_only_and_the_rest_becomes_credit(app, two_companies, login_as):
    a, _ = two_companies
    household_id, old, new = _home(app, a)
    client = login_as(a.admin)
    assert client.post(_url(a, household_id), data={"method": "wechat_transfer", "amount": "120",
                                                    "bill_ids": [str(new)]}).status_code == 303
    assert _bills(app, a, old, new) == [0, 10_000]
    with app.app_context(), company_context(a.company.id):
        assert ledger.credit_balance(household_id) == 2_000


def test_mistakes_show_at_their_fields_and_write_nothing(app, two_companies, login_as):
    a, _ = two_companies
    household_id, old, new = _home(app, a)
    client = login_as(a.cashier)
    cases = [({"method": "cash", "amount": "1e30"}, "amount"),
             ({"method": "cash", "amount": "-5"}, "amount"),
             ({"method": "cash", "amount": "abc"}, "amount"),
             ({"method": "bank_transfer", "amount": "10"}, "reference"),
             ({"method": "wechat_pay", "amount": "10"}, "method"),
             ({"method": "cash", "amount": "10", "bill_ids": ["not-a-uuid"]}, "bill"),
             ({"method": "cash", "amount": "10", "bill_ids": [str(a.ids["payment_id"])]}, "bill")]
    for data, where in cases:
        response = client.post(_url(a, household_id), data=data, headers={"HX-Request": "true",
                                                                          "HX-Target": "payment-form"})
        assert response.status_code == 422, (data, response.status_code)
        body = response.get_data(as_text=True)
        assert "<html" not in body, data
        if where == "bill":
            assert 'class="text-danger small mt-1"' in body, data
        else:
            assert f'is-invalid" id="{where}"' in body, (data, body[:3000])
    assert _bills(app, a, old, new) == [0, 0]
    with app.app_context(), company_context(a.company.id):
        assert not db.session.execute(select(Payment).where(Payment.household_id == household_id)).first()


def test_paying_ahead_is_capped(app, two_companies, login_as):
    a, _ = two_companies
    with app.app_context(), company_context(a.company.id):
        household = db.session.get(Household, (a.company.id, a.roster["households"][1]))
        run = add_bill(household, "物业费", date(2026, 11, 1), date(2026, 12, 1), 10_000)
        from tenants.fees.models import BillKind
        run.kind = BillKind.RUN
        db.session.commit()
        household_id = household.id
    client = login_as(a.cashier)
    too_much = client.post(_url(a, household_id), data={"method": "cash", "amount": "1400", "prepay": "y"})
    assert too_much.status_code == 422 and "limited" in too_much.get_data(as_text=True)
    assert client.post(_url(a, household_id), data={"method": "cash", "amount": "300", "prepay": "y"}).status_code == 303
    with app.app_context(), company_context(a.company.id):
        kinds = db.session.execute(select(CreditEntry.kind).where(CreditEntry.household_id == household_id)).scalars()
        assert CreditKind.PREPAYMENT in set(kinds)


def test_the_payments_list_filters_totals_and_keeps_its_query_count(app, two_companies, login_as):
    a, _ = two_companies
    client = login_as(a.cashier)
    slug = a.company.slug
    body = client.get(f"/c/{slug}/fees/payments").get_data(as_text=True)
    assert "¥400" in body and "¥10" in body  # the world's payment and its refund
    assert "No payments match" in client.get(f"/c/{slug}/fees/payments?method=cash").get_data(as_text=True)
    assert "¥400" in client.get(f"/c/{slug}/fees/payments?method=bank_transfer&date_from=2000-01-01"
                                    f"&community_id={a.ids['community_id']}").get_data(as_text=True)
    assert "No payments match" in client.get(f"/c/{slug}/fees/payments?date_to=2000-01-01").get_data(as_text=True)
    assert client.get(f"/c/{slug}/fees/payments?date_from=garbage&method=x&status=y").status_code == 200

    def count(url):
        statements = []

        def seen(*args):
            statements.append(args[2])

        with app.app_context():
            engine = db.engine
        event.listen(engine, "before_cursor_execute", seen)
        try:
            assert client.get(url).status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", seen)
        return len(statements)

    before = count(f"/c/{slug}/fees/payments")
    for _ in range(3):
        household_id, _old, _new = _home(app, a)
        with app.app_context(), company_context(a.company.id):
            household = db.session.get(Household, (a.company.id, household_id))
            from tenants.fees.models import PaymentMethod
            ledger.record_offline_payment(household, method=PaymentMethod.CASH, amount_fen=100, actor=None)
            db.session.commit()
    assert count(f"/c/{slug}/fees/payments") == before


def test_a_refund_needs_a_reason_and_stays_within_the_payment(app, two_companies, login_as):
    a, _ = two_companies
    client = login_as(a.cashier)
    url = f"/c/{a.company.slug}/fees/payments/{a.ids['payment_id']}/refund"
    assert client.post(url, data={"amount": "5", "reason": ""}).status_code == 422
    assert client.post(url, data={"amount": "999", "reason": "退"}).status_code == 422
    assert client.post(url, data={"amount": "5", "reason": "退五元"}).status_code == 303
    with app.app_context(), company_context(a.company.id):
        payment = db.session.get(Payment, (a.company.id, a.ids["payment_id"]))
        assert payment.refunded_fen == 1_500 and payment.status == PaymentStatus.PARTLY_REFUNDED


def test_other_roles_cannot_record_payments(app, two_companies, login_as):
    a, _ = two_companies
    for user in (a.steward, a.technician, a.owner):
        client = login_as(user)
        assert client.post(_url(a, a.ids["household_id"]), data={"method": "cash", "amount": "1"}).status_code == 403
