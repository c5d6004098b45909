"""The owner's bills (/c/<slug>/my/bills): what is due by home, oldest first, credit and paid history; paying
with WeChat Pay (a Native QR on a computer, H5 in a phone's browser) and the "I have paid" check; only the
owner's own homes; offline instructions only when online payment is not set up."""

from __future__ import annotations

import re
from urllib.parse import unquote

import pytest
from sqlalchemy import select

from saas.extensions import db
from saas.models import Company
from saas.tenancy import company_context
from tenants.fees.models import Bill, FeeSettings, Payment, PaymentStatus
from tests.wechatpay_fake import SUB_MCHID_A, fake_wechatpay, post_notice  # noqa: F401  (fixture)

pytestmark = pytest.mark.world("fees_online")
PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 Safari/604.1"


@pytest.fixture
def owner(app, two_companies, login_as):
    a, b = two_companies
    from datetime import date

    from saas.tenancy import new_id
    from tenants.fees.models import BillKind
    from tenants.roster.models import Household

    for world in (a, b):
        with app.app_context(), company_context(world.company.id):
            household = db.session.get(Household, (world.company.id, world.ids["household_id"]))
            for month, amount in ((10, 12000), (11, 12500)):
                db.session.add(Bill(id=new_id(), household_id=household.id, kind=BillKind.RUN,
                                    community_id=household.building.community_id, building_id=household.building_id,
                                    charge_key="item:pm", title="物业费", period_start=date(2026, month, 1),
                                    period_end=date(2026, month + 1, 1), amount_fen=amount,
                                    due_on=date(2026, month, 15)))
            db.session.commit()
    return a, b, login_as(a.owner)


def _online(app, a):
    with app.app_context():
        db.session.get(Company, a.company.id).wechat_sub_mchid = SUB_MCHID_A
        db.session.commit()


def _bills(app, a):
    with app.app_context(), company_context(a.company.id):
        return [b.id for b in db.session.execute(select(Bill).order_by(Bill.due_on)).scalars()]


def test_without_wechat_pay_the_owner_sees_what_is_due_and_the_offline_instructions_only(app, owner):
    a, _b, client = owner
    page = client.get(f"/c/{a.company.slug}/my/bills")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "¥120" in html and "¥125" in html and html.index("¥120") < html.index("¥125")  # oldest first
    assert "工作日 9:00-17:00 到物业服务中心缴费" in html
    assert 'name="bill_id"' not in html and "Pay all with WeChat Pay" not in html
    refused = client.post(f"/c/{a.company.slug}/my/bills/pay", data={"household_id": str(a.ids["household_id"]),
                                                                     "which": "all"})
    assert refused.status_code == 303
    with app.app_context(), company_context(a.company.id):
        assert db.session.execute(select(Payment).where(Payment.status == PaymentStatus.CREATED)).first() is None


def test_pay_all_on_a_computer_shows_a_qr_then_the_callback_marks_it_paid(app, owner, fake_wechatpay):  # noqa: F811
    a, _b, client = owner
    _online(app, a)
    page = client.get(f"/c/{a.company.slug}/my/bills").get_data(as_text=True)
    assert 'name="bill_id"' in page
    response = client.post(f"/c/{a.company.slug}/my/bills/pay",
                           data={"household_id": str(a.ids["household_id"]), "which": "all"})
    assert response.status_code == 303
    payment_url = response.headers["Location"]
    assert "/my/bills/payments/" in payment_url
    order = fake_wechatpay.calls("/v3/pay/partner/transactions/native")[0].body
    assert order["amount"]["total"] == 24500
    html = client.get(payment_url).get_data(as_text=True)
    assert "qr.svg" in html and "hx-trigger=\"every 4s\"" in html
    qr = client.get(payment_url + "/qr.svg")
    assert qr.status_code == 200 and qr.mimetype == "image/svg+xml"
    # "I have paid" before paying: still waiting
    assert client.post(payment_url + "/check").status_code == 303
    fake_wechatpay.pay(order["out_trade_no"])
    headers, body = fake_wechatpay.payment_notice(order["out_trade_no"])
    assert post_notice(app.test_client(), headers, body).status_code == 204
    status = client.get(payment_url + "/status", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "SJ-" in status and "every 4s" not in status
    assert client.get(payment_url + "/qr.svg").status_code == 404  # a paid order shows no code
    mine = client.get(f"/c/{a.company.slug}/my/bills").get_data(as_text=True)
    assert "SJ-" in mine and 'name="bill_id"' not in mine


def test_pay_chosen_on_a_phone_goes_to_wechat_h5_and_i_have_paid_asks_wechat(app, owner, fake_wechatpay):  # noqa: F811
    a, _b, client = owner
    _online(app, a)
    bills = _bills(app, a)
    response = client.post(f"/c/{a.company.slug}/my/bills/pay", data={"bill_id": [str(bills[0])]},
                           headers={"User-Agent": PHONE})
    assert response.status_code == 303
    location = response.headers["Location"]
    assert location.startswith("https://wx.tenpay.com/") and "redirect_url=" in location
    back = unquote(location.split("redirect_url=", 1)[1])
    order = fake_wechatpay.calls("/v3/pay/partner/transactions/h5")[0].body
    assert order["amount"]["total"] == 12000 and order["scene_info"]["h5_info"]["type"] == "Wap"
    fake_wechatpay.pay(order["out_trade_no"])  # the callback is late: the owner's check finds it
    path = re.sub(r"^https?://[^/]+", "", back)
    assert client.post(path + "/check").status_code == 303
    with app.app_context(), company_context(a.company.id):
        payment = db.session.execute(select(Payment).where(Payment.out_trade_no == order["out_trade_no"])).scalar_one()
        assert payment.status == PaymentStatus.PAID and payment.receipt_number


def test_another_homes_bill_or_payment_is_refused(app, owner, two_companies, fake_wechatpay, login_as):  # noqa: F811
    a, b, client = owner
    _online(app, a)
    b_bills = _bills(app, b)
    response = client.post(f"/c/{a.company.slug}/my/bills/pay", data={"bill_id": [str(b_bills[0])]})
    assert response.status_code == 303 and not fake_wechatpay.calls("/v3/pay")
    other = login_as(a.steward)
    url = f"/c/{a.company.slug}/my/bills/payments/{a.ids['wechat_payment_id']}"
    assert other.get(url).status_code == 403
    b_owner = login_as(b.owner)
    assert b_owner.get(url.replace(a.company.slug, b.company.slug)).status_code == 404


def test_credit_is_shown_with_what_it_is(app, owner):
    a, _b, client = owner
    from saas.models import User
    from tenants.fees import ledger
    from tenants.fees.models import PaymentMethod
    from tenants.roster.models import Household

    with app.app_context(), company_context(a.company.id):
        household = db.session.get(Household, (a.company.id, a.ids["household_id"]))
        ledger.record_offline_payment(household, method=PaymentMethod.CASH, amount_fen=30000,
                                      actor=db.session.get(User, a.admin.id))
        assert db.session.execute(select(FeeSettings)).scalar_one()
        db.session.commit()
    html = client.get(f"/c/{a.company.slug}/my/bills").get_data(as_text=True)
    assert "¥55" in html  # ¥300 paid, ¥245 owed: the rest is credit


def test_pay_the_chosen_bills_with_none_chosen_pays_nothing(app, owner, fake_wechatpay):  # noqa: F811
    a, _b, client = owner
    _online(app, a)
    response = client.post(f"/c/{a.company.slug}/my/bills/pay",
                           data={"household_id": str(a.ids["household_id"]), "which": "chosen"})
    assert response.status_code == 303 and response.headers["Location"].endswith("/my/bills")
    assert not fake_wechatpay.calls("/v3/pay")
