"""notify(): the in-app notice and the outbox text written by one call."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from saas.extensions import db
from saas.models import Role, User
from saas.notifications.models import Channel, DeliveryStatus, OutboxMessage
from saas.tenancy import company_context
from tenants.inbox.models import Notification
from tenants.inbox.services import notify


def _rows(model):
    return list(db.session.execute(select(model)).scalars())


def test_notify_writes_the_notice_and_the_text_together_and_skips_the_actor(app, make_company, make_user):
    company = make_company()
    actor = make_user("王经理", memberships=[(company, Role.ADMIN)])
    owner = make_user("李业主", memberships=[(company, Role.OWNER)])
    phoneless = make_user("张师傅", memberships=[(company, Role.TECHNICIAN)])
    subject_id = uuid.uuid4()
    with app.app_context(), company_context(company.id):
        db.session.get(User, phoneless.id).phone = None
        db.session.commit()
        messages = notify([actor, owner.id, None, phoneless.id, owner], "WO-2026-000001：已完成。",
                          subject_type="work_order", subject_id=subject_id, actor=actor,
                          sms="您的报修 WO-2026-000001 已完成。", kind="work_order_complete")
        db.session.commit()

        notices = _rows(Notification)
        assert sorted(n.user_id for n in notices) == sorted([owner.id, phoneless.id])  # once each, not the actor
        assert {(n.body, n.subject_type, n.subject_id) for n in notices} == {
            ("WO-2026-000001：已完成。", "work_order", subject_id)}
        # Only the owner has a phone: the technician without one gets the notice only.
        assert _rows(OutboxMessage) == messages
        [text] = messages
        assert (text.channel, text.recipient, text.body, text.kind, text.related_id, text.status) == (
            Channel.SMS, owner.phone, "您的报修 WO-2026-000001 已完成。", "work_order_complete", subject_id,
            DeliveryStatus.OUTBOX_ONLY)


def test_no_text_without_a_phone_or_an_sms(app, make_company, make_user):
    company = make_company()
    user = make_user("李业主", memberships=[(company, Role.OWNER)])
    with app.app_context(), company_context(company.id):
        assert notify([user.id], "只在应用内", subject_type="work_order") == []  # no sms text: notice only
        assert notify([user.id], None, subject_type="work_order", sms="短信", phone="", kind="k") == []
        db.session.commit()
        assert [n.body for n in _rows(Notification)] == ["只在应用内"]
        assert _rows(OutboxMessage) == []


def test_a_given_phone_is_texted_and_once_texts_each_phone_once_per_subject(app, make_company, make_user):
    company = make_company()
    admin = make_user("王经理", memberships=[(company, Role.ADMIN)])
    subject_id = uuid.uuid4()
    with app.app_context(), company_context(company.id):
        [receipt] = notify([], None, subject_type="work_order", subject_id=subject_id, sms="已收到",
                           phone="13611112222", kind="work_order_received")
        assert receipt.recipient == "13611112222"
        first = notify([admin.id], "无人接单", subject_type="work_order", subject_id=subject_id, sms="无人接单",
                       kind="work_order_unassigned", once=True)
        again = notify([admin.id], None, subject_type="work_order", subject_id=subject_id, sms="无人接单",
                       kind="work_order_unassigned", once=True)
        db.session.commit()
        assert [m.recipient for m in first] == [admin.phone] and again == []
