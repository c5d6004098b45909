"""WeChat Pay for owners' fees (tenants/fees/online.py, callbacks.py, reconcile.py) against the local fake WeChat
Pay server (tests/wechatpay_fake.py), reached through the real `wechatpayv3` client: orders, the callback applied
exactly once, forged / reordered / another company's callbacks changing nothing, reconciliation, refunds."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from saas.clock import utcnow
from saas.errors import ServiceError
from saas.extensions import db
from saas.models import Company, User
from saas.tenancy import company_context, new_id
from tenants.fees import ledger, online, reconcile
from tenants.fees.models import (
    Bill,
    BillKind,
    CreditEntry,
    CreditKind,
    Payment,
    PaymentEvent,
    PaymentMethod,
    PaymentRefund,
    PaymentRoute,
    PaymentStatus,
    RefundStatus,
)
from tenants.roster.models import Household
from tests.wechatpay_fake import SUB_MCHID_A, SUB_MCHID_B, fake_wechatpay, post_notice  # noqa: F401  (fixture)

pytestmark = pytest.mark.world()


@pytest.fixture
def setup(app, two_companies, fake_wechatpay):  # noqa: F811
    """Both companies are sub-merchants; A's owner household has two open bills (Oct ¥120, Nov ¥125)."""
    a, b = two_companies
    with app.app_context():
        for world, sub in ((a, SUB_MCHID_A), (b, SUB_MCHID_B)):
            db.session.get(Company, world.company.id).wechat_sub_mchid = sub
        db.session.commit()
        with company_context(a.company.id):
            household = db.session.get(Household, (a.company.id, a.ids["household_id"]))
            bills = [_bill(household, 10, 12000), _bill(household, 11, 12500)]
            db.session.commit()
            a.bill_ids = [x.id for x in bills]
    return a, b, fake_wechatpay


def _bill(household, month, amount):
    row = Bill(id=new_id(), household_id=household.id, community_id=household.building.community_id,
               building_id=household.building_id, kind=BillKind.RUN, charge_key="item:pm", title="物业费",
               period_start=date(2026, month, 1), period_end=date(2026, month + 1, 1), amount_fen=amount,
               due_on=date(2026, month, 15))
    db.session.add(row)
    return row


def _order(app, world, bill_ids=None, channel="native"):
    with app.app_context(), company_context(world.company.id):
        owner = db.session.get(User, world.owner.id)
        payment = online.create_order([world.ids["household_id"]], bill_ids, channel=channel, payer=owner,
                                      client_ip="10.1.2.3")
        return payment.id, payment.out_trade_no


def _state(app, world, payment_id):
    with app.app_context(), company_context(world.company.id):
        payment = db.session.get(Payment, (world.company.id, payment_id))
        bills = db.session.execute(select(Bill).order_by(Bill.due_on)).scalars().all()
        return {"status": payment.status, "receipt": payment.receipt_number, "trade": payment.wechat_trade_state,
                "transaction": payment.wechat_transaction_id, "refunded": payment.refunded_fen,
                "paid": [b.paid_fen for b in bills if b.household_id == world.ids["household_id"]],
                "credit": ledger.credit_balance(world.ids["household_id"]),
                "events": db.session.scalar(select(func.count()).select_from(PaymentEvent)
                                            .where(PaymentEvent.payment_id == payment_id))}


def test_a_native_order_is_the_sum_of_the_chosen_bills_with_a_route_and_an_unguessable_number(app, setup):
    a, _b, fake = setup
    payment_id, out_trade_no = _order(app, a, [a.bill_ids[1]])
    sent = fake.calls("/v3/pay/partner/transactions/native")[0].body
    assert sent["sp_mchid"] == "1900000100" and sent["sub_mchid"] == SUB_MCHID_A
    assert sent["amount"] == {"total": 12500, "currency": "CNY"}
    assert sent["notify_url"] == "https://guanjia.example/wechatpay/notify"
    assert len(out_trade_no) <= 32 and out_trade_no.isalnum()
    _other_id, other_no = _order(app, a, [a.bill_ids[0]])
    assert other_no != out_trade_no
    with app.app_context():
        route = db.session.get(PaymentRoute, out_trade_no)
        assert route.company_id == a.company.id and route.payment_id == payment_id
    state = _state(app, a, payment_id)
    assert state["status"] == PaymentStatus.PENDING and state["events"] == 2  # created → pending


def test_pay_then_callback_settles_the_bills_once_with_a_receipt_number(app, setup, client):
    a, _b, fake = setup
    payment_id, out_trade_no = _order(app, a)  # all open bills: ¥245
    fake.pay(out_trade_no)
    headers, body = fake.payment_notice(out_trade_no)
    assert post_notice(client, headers, body).status_code == 204
    state = _state(app, a, payment_id)
    assert state["status"] == PaymentStatus.PAID and state["paid"] == [12000, 12500] and state["credit"] == 0
    assert state["receipt"].startswith("SJ-") and state["trade"] == "SUCCESS" and state["transaction"]
    # WeChat repeats its notice until it hears 2xx: a repeat changes nothing and still answers 204.
    assert post_notice(client, headers, body).status_code == 204
    headers, body = fake.payment_notice(out_trade_no)
    assert post_notice(client, headers, body).status_code == 204
    assert _state(app, a, payment_id) == state


def test_a_late_notice_of_an_earlier_state_never_overwrites_a_payment(app, setup, client):
    a, _b, fake = setup
    payment_id, out_trade_no = _order(app, a)
    early = fake.transaction(out_trade_no)  # NOTPAY, as it was before the payer paid
    fake.pay(out_trade_no)
    headers, body = fake.payment_notice(out_trade_no)
    assert post_notice(client, headers, body).status_code == 204
    paid = _state(app, a, payment_id)
    for trade_state in ("NOTPAY", "CLOSED", "PAYERROR"):
        headers, body = fake.notice({**early, "trade_state": trade_state}, event_type="TRANSACTION.CLOSED")
        assert post_notice(client, headers, body).status_code == 204
    assert _state(app, a, payment_id) == paid


@pytest.mark.parametrize("how", ["forged_key", "stale", "unknown_serial", "wrong_apiv3_key", "tampered"])
def test_a_notice_not_from_wechat_changes_nothing(app, setup, client, how, caplog):
    a, _b, fake = setup
    payment_id, out_trade_no = _order(app, a)
    fake.pay(out_trade_no)
    before = _state(app, a, payment_id)
    kwargs = {"forged_key": {"key": fake.forged_key}, "stale": {"timestamp": 1_600_000_000},
              "unknown_serial": {"serial": "ABCDEF0123"}, "wrong_apiv3_key": {"apiv3_key": "x" * 32},
              "tampered": {}}[how]
    headers, body = fake.payment_notice(out_trade_no, **kwargs)
    if how == "tampered":
        body = body.replace(b'"TRANSACTION.SUCCESS"', b'"TRANSACTION.SUCCESZ"')
    response = post_notice(client, headers, body)
    assert response.status_code in (400, 401) and response.get_json()["code"] == "FAIL"
    assert _state(app, a, payment_id) == before
    assert "refused" in caplog.text


def test_an_unknown_order_another_companys_order_or_another_amount_changes_nothing(app, setup, client):
    a, b, fake = setup
    payment_id, out_trade_no = _order(app, a)
    fake.pay(out_trade_no)
    b_payment_id, b_out_trade_no = _order(app, b_with_bill(app, b))
    fake.pay(b_out_trade_no)
    before_a, before_b = _state(app, a, payment_id), _state(app, b, b_payment_id)
    # unknown order
    headers, body = fake.notice({**fake.transaction(out_trade_no), "out_trade_no": "GJNOSUCHORDER"})
    assert post_notice(client, headers, body).status_code == 404
    # B's order named with A's sub-merchant (a notice for company A can never touch company B)
    headers, body = fake.notice({**fake.transaction(b_out_trade_no), "sub_mchid": SUB_MCHID_A})
    assert post_notice(client, headers, body).status_code == 400
    # another amount than the payment's
    trade = fake.transaction(out_trade_no)
    headers, body = fake.notice({**trade, "amount": {**trade["amount"], "total": 1}})
    assert post_notice(client, headers, body).status_code == 400
    assert _state(app, a, payment_id) == before_a and _state(app, b, b_payment_id) == before_b
    assert before_a["status"] == PaymentStatus.PENDING


def b_with_bill(app, b):
    with app.app_context(), company_context(b.company.id):
        _bill(db.session.get(Household, (b.company.id, b.ids["household_id"])), 10, 9900)
        db.session.commit()
    return b


def test_cash_recorded_while_the_owner_pays_online_becomes_visible_credit(app, setup, client):
    a, _b, fake = setup
    payment_id, out_trade_no = _order(app, a, [a.bill_ids[0]])  # ¥120 for October
    with app.app_context(), company_context(a.company.id):
        household = db.session.get(Household, (a.company.id, a.ids["household_id"]))
        ledger.record_offline_payment(household, method=PaymentMethod.CASH, amount_fen=12000,
                                      bill_ids=[a.bill_ids[0]], actor=db.session.get(User, a.admin.id))
        db.session.commit()
    fake.pay(out_trade_no)
    headers, body = fake.payment_notice(out_trade_no)
    assert post_notice(client, headers, body).status_code == 204
    state = _state(app, a, payment_id)
    # Nothing is paid twice: October was paid in cash, so the online ¥120 settles November's ¥125 in part…
    assert state["status"] == PaymentStatus.PAID and state["paid"] == [12000, 12000] and state["credit"] == 0
    # …and with November settled first by hand too, the money is credit, shown as such.
    payment_id2, out2 = _order(app, a, [a.bill_ids[1]])  # the ¥5 left
    with app.app_context(), company_context(a.company.id):
        household = db.session.get(Household, (a.company.id, a.ids["household_id"]))
        ledger.record_offline_payment(household, method=PaymentMethod.CASH, amount_fen=500, actor=None)
        db.session.commit()
    fake.pay(out2)
    headers, body = fake.payment_notice(out2)
    assert post_notice(client, headers, body).status_code == 204
    state = _state(app, a, payment_id2)
    assert state["credit"] == 500
    with app.app_context(), company_context(a.company.id):
        entry = db.session.execute(select(CreditEntry).where(CreditEntry.payment_id == payment_id2)).scalar_one()
        assert entry.kind == CreditKind.OVERPAYMENT


def test_reconciliation_applies_a_missed_success_and_closes_an_expired_order(app, setup):
    a, _b, fake = setup
    paid_id, paid_no = _order(app, a, [a.bill_ids[0]])
    open_id, open_no = _order(app, a, [a.bill_ids[1]])
    fake.pay(paid_no)  # the callback never came
    with app.app_context():
        too_soon = reconcile.check_all_companies(utcnow())
        assert too_soon["checked"] == 0  # younger than WECHATPAY_RECONCILE_MINUTES
        later = utcnow() + timedelta(minutes=30)  # past both the reconcile delay and the order's expiry
        result = reconcile.check_all_companies(later)
    assert result["paid"] == 1 and result["closed"] == 1
    assert _state(app, a, paid_id)["status"] == PaymentStatus.PAID
    assert _state(app, a, open_id)["status"] == PaymentStatus.CLOSED
    assert fake.orders[open_no]["trade_state"] == "CLOSED"
    assert fake.calls(f"/v3/pay/partner/transactions/out-trade-no/{open_no}/close")
    with app.app_context():
        again = reconcile.check_all_companies(later)
    assert again["checked"] == 0 and _state(app, a, paid_id)["events"] == 2 + 1


def test_a_notice_of_success_for_a_closed_order_still_applies_the_money(app, setup, client):
    """WeChat's word wins: money taken just before we closed the order is applied, not lost."""
    a, _b, fake = setup
    payment_id, out_trade_no = _order(app, a)
    with app.app_context(), company_context(a.company.id):
        from tenants.fees import payment_states

        payment_states.move(db.session.get(Payment, (a.company.id, payment_id)), PaymentStatus.CLOSED,
                            source="reconcile")
        db.session.commit()
    fake.pay(out_trade_no)
    headers, body = fake.payment_notice(out_trade_no)
    assert post_notice(client, headers, body).status_code == 204
    assert _state(app, a, payment_id)["status"] == PaymentStatus.PAID


def _paid(app, a, fake, client, bill_ids=None):
    payment_id, out_trade_no = _order(app, a, bill_ids)
    fake.pay(out_trade_no)
    headers, body = fake.payment_notice(out_trade_no)
    assert post_notice(client, headers, body).status_code == 204
    return payment_id


def _refund(app, a, payment_id, amount, reason="业主搬离，多交退回"):
    with app.app_context(), company_context(a.company.id):
        payment = db.session.get(Payment, (a.company.id, payment_id))
        refund = online.start_refund(payment, amount, reason, db.session.get(User, a.admin.id))
        return refund.id, refund.out_refund_no, refund.status


def test_a_partial_refund_waits_for_wechat_then_applies_once_by_callback(app, setup, client):
    a, _b, fake = setup
    payment_id = _paid(app, a, fake, client)
    refund_id, out_refund_no, status = _refund(app, a, payment_id, 5000)
    assert status == RefundStatus.PENDING  # WeChat answered PROCESSING
    assert fake.refunds[out_refund_no]["amount"]["refund"] == 5000
    assert _state(app, a, payment_id)["status"] == PaymentStatus.PAID
    fake.finish_refund(out_refund_no)
    headers, body = fake.refund_notice(out_refund_no)
    assert post_notice(client, headers, body).status_code == 204
    assert post_notice(client, headers, body).status_code == 204  # a repeat
    state = _state(app, a, payment_id)
    assert state["status"] == PaymentStatus.PARTLY_REFUNDED and state["refunded"] == 5000
    assert state["paid"] == [12000, 7500]  # the latest bill it paid is owed again
    with app.app_context(), company_context(a.company.id):
        assert db.session.get(PaymentRefund, (a.company.id, refund_id)).status == RefundStatus.SUCCEEDED


def test_a_full_refund_answered_at_once_and_a_refund_beyond_the_payment_refused(app, setup, client):
    a, _b, fake = setup
    payment_id = _paid(app, a, fake, client, [a.bill_ids[0]])
    fake.refund_status = "SUCCESS"
    with pytest.raises(ServiceError):
        _refund(app, a, payment_id, 12001)
    with pytest.raises(ServiceError):
        _refund(app, a, payment_id, 100, reason="")
    _refund_id, _no, status = _refund(app, a, payment_id, 12000)
    assert status == RefundStatus.SUCCEEDED
    state = _state(app, a, payment_id)
    assert state["status"] == PaymentStatus.REFUNDED and state["refunded"] == 12000 and state["paid"][0] == 0


def test_a_refund_wechat_made_is_recorded_even_when_a_correction_moved_the_money_meanwhile(app, setup, client):
    """The owner already has the money back when WeChat's notice arrives: the notice is applied (204, not a 500
    that WeChat would resend for days), and the bills the money had moved to are owed again."""
    a, _b, fake = setup
    payment_id = _paid(app, a, fake, client)  # both bills: ¥120 + ¥125
    _refund_id, out_refund_no, status = _refund(app, a, payment_id, 24500)
    assert status == RefundStatus.PENDING
    with app.app_context(), company_context(a.company.id):  # meanwhile staff reissue November at ¥100
        november = db.session.get(Bill, (a.company.id, a.bill_ids[1]))
        replacement_id = ledger.reissue(november, 10000, "面积录错，更正", db.session.get(User, a.admin.id)).id
        db.session.commit()
        assert ledger.credit_balance(a.ids["household_id"]) == 2500  # ¥125 paid, ¥100 of it on the new bill
    fake.finish_refund(out_refund_no)
    headers, body = fake.refund_notice(out_refund_no)
    assert post_notice(client, headers, body).status_code == 204
    state = _state(app, a, payment_id)
    assert state["status"] == PaymentStatus.REFUNDED and state["refunded"] == 24500
    assert state["credit"] == 0 and sum(state["paid"]) == 0  # every fen of the payment went back
    with app.app_context(), company_context(a.company.id):
        assert db.session.get(Bill, (a.company.id, replacement_id)).outstanding_fen == 10000
        assert ledger.outstanding_fen(a.ids["household_id"]) == 12000 + 10000  # October and the corrected November


def test_reconciliation_applies_a_refund_whose_callback_was_lost(app, setup, client):
    a, _b, fake = setup
    payment_id = _paid(app, a, fake, client)
    _refund_id, out_refund_no, _status = _refund(app, a, payment_id, 24500)
    fake.finish_refund(out_refund_no)
    with app.app_context():
        result = reconcile.check_all_companies(utcnow() + timedelta(minutes=30))
    assert result["refunds_applied"] == 1
    assert _state(app, a, payment_id)["status"] == PaymentStatus.REFUNDED


def test_the_refund_page_is_for_admins_and_refunds_through_wechat(app, setup, client, login_as):
    a, _b, fake = setup
    payment_id = _paid(app, a, fake, client)
    url = f"/c/{a.company.slug}/fees/payments/{payment_id}/wechat-refund"
    staff = login_as(a.steward)
    assert staff.get(url).status_code == 403
    admin = login_as(a.admin)
    assert admin.get(url).status_code == 200
    bad = admin.post(url, data={"amount": "1e30", "reason": "退款"})
    assert bad.status_code == 422
    done = admin.post(url, data={"amount": "50.00", "reason": "多交退回"})
    assert done.status_code == 303
    assert [r["amount"]["refund"] for r in fake.refunds.values()] == [5000]


def test_with_no_keys_or_no_sub_merchant_no_order_is_made(app, two_companies):
    a, _b = two_companies
    with app.app_context(), company_context(a.company.id):
        with pytest.raises(online.OnlinePaymentError):
            online.create_order([a.ids["household_id"]], None, channel="native", payer=None)


def test_the_reconciliation_command_and_its_schedule(app, setup):
    from saas.jobs import PERIODIC_JOBS

    assert ("check-fee-payments", "tenants.fees.reconcile:check_all_companies", "*/5 * * * *") in PERIODIC_JOBS
    result = app.test_cli_runner().invoke(args=["check-fee-payments"])
    assert result.exit_code == 0 and "WeChat Pay reconciliation" in result.output


def test_a_platform_admin_sets_the_sub_merchant_number_audited_and_only_a_platform_admin(app, two_companies,
                                                                                       make_user, login_as):
    from saas.models import PlatformAuditEvent

    a, _b = two_companies
    url = f"/admin/companies/{a.company.id}/wechat-pay"
    assert login_as(a.admin).post(url, data={"wechat_sub_mchid": "1900000109"}).status_code == 404
    platform = login_as(make_user("平台管理员", platform_admin=True))
    assert platform.post(url, data={"wechat_sub_mchid": "19000<b>"}).status_code == 303
    with app.app_context():
        assert db.session.get(Company, a.company.id).wechat_sub_mchid is None
    assert platform.post(url, data={"wechat_sub_mchid": " 1900000109 "}).status_code == 303
    with app.app_context():
        assert db.session.get(Company, a.company.id).wechat_sub_mchid == "1900000109"
        event = db.session.execute(select(PlatformAuditEvent).where(
            PlatformAuditEvent.action == "company.wechat_sub_mchid_set")).scalar_one()
        assert event.company_id == a.company.id
    page = platform.get(f"/admin/companies/{a.company.id}").get_data(as_text=True)
    assert 'value="1900000109"' in page


def test_an_order_wechat_refuses_is_failed_and_says_so(app, setup):
    a, _b, fake = setup
    fake.fail_next = 1
    with pytest.raises(ServiceError) as refused:
        _order(app, a)
    assert "WeChat Pay" in str(refused.value.message)
    with app.app_context(), company_context(a.company.id):
        payment = db.session.execute(select(Payment)).scalar_one()
        assert payment.status == PaymentStatus.FAILED
