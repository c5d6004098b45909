"""WeChat Pay for owners: a waiting WeChat Pay order (Native, with its QR) of the owner's household (no bills: the
bill builders add those), so the owner's /my/bills pages and the admin's refund page of that payment answer 200,
and another company's members get 404. URL parameter: wechat_payment_id."""

from __future__ import annotations

from datetime import timedelta

PROVIDES = ("wechat_payment_id",)


def build(app, world) -> dict:
    from saas.clock import utcnow
    from saas.extensions import db
    from saas.tenancy import company_context, new_id
    from tenants.fees import payment_states
    from tenants.fees.models import FeeSettings, Payment, PaymentMethod, PaymentRoute, PaymentStatus
    from tenants.roster.models import Household

    with app.app_context(), company_context(world.company.id):
        household = db.session.get(Household, (world.company.id, world.ids["household_id"]))
        if db.session.query(FeeSettings).first() is None:
            db.session.add(FeeSettings(offline_instructions="工作日 9:00-17:00 到物业服务中心缴费"))
        out_trade_no = "GJWORLD" + world.company.slug.replace("-", "").upper()[:20]
        payment = Payment(id=new_id(), household_id=household.id, community_id=household.building.community_id,
                          method=PaymentMethod.WECHAT_PAY, status=PaymentStatus.PENDING, amount_fen=12000, out_trade_no=out_trade_no,
                          wechat_channel="native", wechat_code_url="weixin://wxpay/bizpayurl?pr=world",
                          wechat_trade_state="NOTPAY", expires_at=utcnow() + timedelta(days=3650),
                          note="物业费 10月", reference="")
        db.session.add(payment)
        payment_states.start(payment, PaymentStatus.PENDING, source="owner")
        db.session.add(PaymentRoute(out_trade_no=out_trade_no, company_id=world.company.id, payment_id=payment.id))
        db.session.commit()
        return {"wechat_payment_id": payment.id}
