"""Stripe webhooks, signed as Stripe signs them and verified by the app as in production: refused when forged
or stale, applied once however often delivered, and never rolled back by an older event arriving late."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from saas.extensions import db
from saas.models import Company, Role, StripeEvent, SubscriptionStatus
from tests.conftest import requires_postgres
from tests.stripe_fake import (
    checkout_session,
    event,
    fake_stripe,  # noqa: F401  (fixture)
    invoice,
    post_event,
    subscription,
)
from tests.test_plan import audit_events, aware, company_row, update_company

CUSTOMER = "cus_webhook"
SUB = "sub_webhook"


@pytest.fixture
def company(app, make_company, fake_stripe):  # noqa: F811
    """A company on trial that has started a checkout (so Stripe knows it as CUSTOMER)."""
    company = make_company("acme", "测试物业")
    update_company(app, company.id, stripe_customer_id=CUSTOMER, trial_ends_at=datetime.now(UTC) + timedelta(days=9))
    return company


@pytest.fixture
def stripe_client(app):
    return app.test_client()  # no login: Stripe has no account here


def _ts(dt: datetime) -> int:
    return int(dt.timestamp())


def _stripe_events(app) -> list[StripeEvent]:
    with app.app_context():
        rows = db.session.execute(select(StripeEvent).order_by(StripeEvent.received_at)).scalars().all()
        db.session.expunge_all()
    return rows


def _active(app, company, *, period_end: datetime | None = None, state_at: datetime | None = None):
    update_company(app, company.id, subscription_status=SubscriptionStatus.ACTIVE, plan_code="standard",
                   stripe_subscription_id=SUB, current_period_end=period_end or datetime.now(UTC) + timedelta(days=5),
                   stripe_state_at=state_at)


# --- refusing what Stripe did not send --------------------------------------------------------------------


def test_a_bad_signature_is_refused_and_changes_nothing(app, company, stripe_client):
    before = company_row(app, company.id)
    evt = event("checkout.session.completed", checkout_session(company.id, CUSTOMER, SUB))
    response = post_event(stripe_client, evt, secret="whsec_someone_else")
    assert response.status_code == 400
    assert company_row(app, company.id) == before and _stripe_events(app) == []


def test_a_stale_timestamp_is_refused_and_changes_nothing(app, company, stripe_client):
    before = company_row(app, company.id)
    evt = event("checkout.session.completed", checkout_session(company.id, CUSTOMER, SUB))
    response = post_event(stripe_client, evt, timestamp=int(time.time()) - 301)
    assert response.status_code == 400
    assert company_row(app, company.id) == before and _stripe_events(app) == []
    # Within the five minutes it is fine.
    assert post_event(stripe_client, evt, timestamp=int(time.time()) - 250).status_code == 200


@pytest.mark.parametrize("signature", ["", "t=1,v1=abc", "garbage"])
def test_a_missing_or_malformed_signature_is_refused(app, company, stripe_client, signature):
    evt = event("checkout.session.completed", checkout_session(company.id, CUSTOMER, SUB))
    assert post_event(stripe_client, evt, signature=signature).status_code == 400
    assert _stripe_events(app) == []


def test_a_tampered_body_is_refused(app, company, stripe_client):
    import json

    import stripe

    from tests.stripe_fake import WEBHOOK_SECRET

    evt = event("customer.subscription.updated", subscription(SUB, CUSTOMER, "canceled"))
    header = stripe.WebhookSignature.generate_signature_header(json.dumps(evt), WEBHOOK_SECRET)
    tampered = json.dumps(evt).replace("canceled", "active")
    response = stripe_client.post("/stripe/webhook", data=tampered, content_type="application/json",
                                  headers={"Stripe-Signature": header})
    assert response.status_code == 400


def test_without_a_webhook_secret_configured_every_webhook_is_refused(app, company, stripe_client, monkeypatch):
    monkeypatch.setitem(app.config, "STRIPE_WEBHOOK_SECRET", "")
    evt = event("checkout.session.completed", checkout_session(company.id, CUSTOMER, SUB))
    response = post_event(stripe_client, evt)
    assert response.status_code == 400 and _stripe_events(app) == []


@pytest.mark.parametrize("body", ["not json", "[1, 2]", '{"id": "evt_1"}', '{"id": 5, "type": "x", "created": 1}',
                                  '{"id": "evt_1", "type": "x", "created": 99999999999999999999}'])
def test_a_signed_body_that_is_not_an_event_is_refused(app, stripe_client, fake_stripe, body):  # noqa: F811
    import stripe

    from tests.stripe_fake import WEBHOOK_SECRET

    header = stripe.WebhookSignature.generate_signature_header(body, WEBHOOK_SECRET)
    response = stripe_client.post("/stripe/webhook", data=body, content_type="application/json",
                                  headers={"Stripe-Signature": header})
    assert response.status_code == 400


def test_the_webhook_needs_no_login_and_no_csrf_token(db_urls, company):
    from tests.conftest import make_test_app
    from tests.stripe_fake import WEBHOOK_SECRET

    strict = make_test_app(db_urls, WTF_CSRF_ENABLED=True, STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET)
    evt = event("some.unknown.event", {"id": "x", "object": "thing"})
    assert post_event(strict.test_client(), evt).status_code == 200
    # ...while other posts still need the token.
    assert strict.test_client().post("/login", data={"login": "x", "password": "y"}).status_code == 400


# --- what each event does ---------------------------------------------------------------------------------


def test_an_unknown_event_type_is_acknowledged_and_ignored(app, company, stripe_client):
    before = company_row(app, company.id)
    response = post_event(stripe_client, event("customer.tax_id.created", {"id": "txi_1", "customer": CUSTOMER}))
    assert response.status_code == 200 and response.json["outcome"] == "ignored_type"
    assert company_row(app, company.id) == before
    [seen] = _stripe_events(app)
    assert seen.type == "customer.tax_id.created" and seen.outcome == "ignored_type"


def test_checkout_completed_activates_the_plan_chosen_and_links_the_subscription(app, company, stripe_client):
    evt = event("checkout.session.completed", checkout_session(company.id, CUSTOMER, SUB, plan="professional"))
    response = post_event(stripe_client, evt)
    assert response.status_code == 200 and response.json["outcome"] == "applied"
    row = company_row(app, company.id)
    assert row["subscription_status"] == SubscriptionStatus.ACTIVE and row["plan_code"] == "professional"
    assert row["stripe_subscription_id"] == SUB and aware(row["stripe_state_at"]).timestamp() == evt["created"]
    [audit] = audit_events(app, company.id)
    assert audit.action == "subscription.activated" and audit.actor_name == "Stripe"
    assert audit.changes["status"] == ["trialing", "active"] and audit.changes["stripe_event"] == evt["id"]
    with app.app_context():
        assert not db.session.get(Company, company.id).is_read_only()


def test_checkout_completed_before_payment_only_links_the_subscription(app, company, stripe_client):
    evt = event("checkout.session.completed",
                checkout_session(company.id, CUSTOMER, SUB, payment_status="unpaid"))
    assert post_event(stripe_client, evt).status_code == 200
    row = company_row(app, company.id)
    assert row["stripe_subscription_id"] == SUB and row["subscription_status"] == SubscriptionStatus.TRIALING


def test_a_company_is_found_by_metadata_when_stripe_knows_a_customer_we_have_not_stored(app, make_company,
                                                                                       stripe_client, fake_stripe):  # noqa: F811
    company = make_company("meta", "元数据物业")
    evt = event("checkout.session.completed", checkout_session(company.id, "cus_new", SUB))
    assert post_event(stripe_client, evt).status_code == 200
    row = company_row(app, company.id)
    assert row["stripe_customer_id"] == "cus_new" and row["subscription_status"] == SubscriptionStatus.ACTIVE


@pytest.mark.parametrize(("stripe_status", "expected"), [
    ("active", SubscriptionStatus.ACTIVE),
    ("trialing", SubscriptionStatus.ACTIVE),
    ("past_due", SubscriptionStatus.PAST_DUE),
    ("unpaid", SubscriptionStatus.PAST_DUE),
    ("canceled", SubscriptionStatus.CANCELED),
])
def test_subscription_updates_set_status_period_end_and_plan_from_the_price(app, company, stripe_client,
                                                                            stripe_status, expected):
    _active(app, company)
    period_end = _ts(datetime.now(UTC) + timedelta(days=31))
    evt = event("customer.subscription.updated",
                subscription(SUB, CUSTOMER, stripe_status, plan="professional", period_end=period_end))
    assert post_event(stripe_client, evt).json["outcome"] == "applied"
    row = company_row(app, company.id)
    assert row["subscription_status"] == expected and row["plan_code"] == "professional"
    assert aware(row["current_period_end"]).timestamp() == period_end


def test_an_incomplete_subscription_changes_nothing(app, company, stripe_client):
    before = company_row(app, company.id)
    evt = event("customer.subscription.created", subscription(SUB, CUSTOMER, "incomplete"))
    assert post_event(stripe_client, evt).json["outcome"] == "ignored_status"
    assert company_row(app, company.id) == before


def test_subscription_created_before_checkout_completed_is_adopted(app, company, stripe_client):
    evt = event("customer.subscription.created", subscription(SUB, CUSTOMER, "active", plan="basic"))
    assert post_event(stripe_client, evt).json["outcome"] == "applied"
    row = company_row(app, company.id)
    assert row["stripe_subscription_id"] == SUB and row["plan_code"] == "basic"
    assert row["subscription_status"] == SubscriptionStatus.ACTIVE and row["current_period_end"] is not None


def test_subscription_deleted_cancels_the_plan_and_the_company_becomes_read_only(app, company, stripe_client):
    _active(app, company)
    evt = event("customer.subscription.deleted", subscription(SUB, CUSTOMER, "canceled"))
    assert post_event(stripe_client, evt).status_code == 200
    assert company_row(app, company.id)["subscription_status"] == SubscriptionStatus.CANCELED
    assert [e.action for e in audit_events(app, company.id)] == ["subscription.canceled"]
    with app.app_context():
        assert db.session.get(Company, company.id).is_read_only()


def test_invoice_paid_renews_the_period_and_clears_past_due(app, company, stripe_client):
    _active(app, company)
    update_company(app, company.id, subscription_status=SubscriptionStatus.PAST_DUE)
    new_end = _ts(datetime.now(UTC) + timedelta(days=35))
    assert post_event(stripe_client, event("invoice.paid", invoice(SUB, CUSTOMER, period_end=new_end))).status_code == 200
    row = company_row(app, company.id)
    assert row["subscription_status"] == SubscriptionStatus.ACTIVE
    assert aware(row["current_period_end"]).timestamp() == new_end
    assert [e.action for e in audit_events(app, company.id)] == ["subscription.renewed"]


def test_invoice_paid_never_shortens_the_period(app, company, stripe_client):
    end = datetime.now(UTC).replace(microsecond=0) + timedelta(days=40)
    _active(app, company, period_end=end)
    earlier = _ts(end - timedelta(days=30))
    assert post_event(stripe_client, event("invoice.paid", invoice(SUB, CUSTOMER, period_end=earlier))).status_code == 200
    assert aware(company_row(app, company.id)["current_period_end"]) == end


def test_invoice_payment_failed_marks_the_plan_past_due_but_keeps_it_writable(app, company, stripe_client):
    _active(app, company)
    assert post_event(stripe_client, event("invoice.payment_failed", invoice(SUB, CUSTOMER))).status_code == 200
    assert company_row(app, company.id)["subscription_status"] == SubscriptionStatus.PAST_DUE
    assert [e.action for e in audit_events(app, company.id)] == ["subscription.past_due"]
    with app.app_context():
        assert not db.session.get(Company, company.id).is_read_only()


def test_an_invoice_paid_after_cancellation_does_not_reactivate(app, company, stripe_client):
    _active(app, company)
    update_company(app, company.id, subscription_status=SubscriptionStatus.CANCELED)
    response = post_event(stripe_client, event("invoice.paid", invoice(SUB, CUSTOMER)))
    assert response.json["outcome"] == "ignored_canceled"
    assert company_row(app, company.id)["subscription_status"] == SubscriptionStatus.CANCELED


def test_events_of_another_subscription_leave_the_live_one_alone(app, company, stripe_client):
    _active(app, company)
    before = company_row(app, company.id)
    for evt in (event("customer.subscription.deleted", subscription("sub_old", CUSTOMER, "canceled")),
                event("invoice.payment_failed", invoice("sub_old", CUSTOMER)),
                event("customer.subscription.updated", subscription("sub_other", CUSTOMER, "active"))):
        assert post_event(stripe_client, evt).json["outcome"] == "ignored_other_subscription"
    assert company_row(app, company.id) == before


def test_an_event_for_an_unknown_customer_is_acknowledged(app, company, stripe_client):
    before = company_row(app, company.id)
    response = post_event(stripe_client, event("invoice.paid", invoice("sub_x", "cus_nobody")))
    assert response.status_code == 200 and response.json["outcome"] == "ignored_no_company"
    assert company_row(app, company.id) == before


# --- exactly once, in order ---------------------------------------------------------------------------------


def _events_for_replay(company):
    return [
        event("checkout.session.completed", checkout_session(company.id, CUSTOMER, SUB)),
        event("customer.subscription.updated", subscription(SUB, CUSTOMER, "past_due")),
        event("invoice.paid", invoice(SUB, CUSTOMER, period_end=int(time.time()) + 90 * 86400)),
        event("invoice.payment_failed", invoice(SUB, CUSTOMER)),
        event("customer.subscription.deleted", subscription(SUB, CUSTOMER, "canceled")),
        event("customer.discount.created", {"id": "di_1", "customer": CUSTOMER}),
    ]


@pytest.mark.parametrize("index", range(6))
def test_replaying_any_event_changes_nothing(app, company, stripe_client, index):
    _active(app, company)
    update_company(app, company.id, stripe_subscription_id=None if index == 0 else SUB)
    evt = _events_for_replay(company)[index]
    first = post_event(stripe_client, evt)
    assert first.status_code == 200
    after_first = company_row(app, company.id)
    audits = len(audit_events(app, company.id))
    for _ in range(3):
        again = post_event(stripe_client, evt)
        assert again.status_code == 200 and again.json["outcome"] == "duplicate"
    assert company_row(app, company.id) == after_first
    assert len(audit_events(app, company.id)) == audits
    assert len(_stripe_events(app)) == 1


@requires_postgres
def test_the_same_event_delivered_several_times_at_once_is_applied_once(app, company):
    import threading

    evt = event("checkout.session.completed", checkout_session(company.id, CUSTOMER, SUB))
    barrier = threading.Barrier(4)
    outcomes = []

    def deliver():
        client = app.test_client()
        barrier.wait()
        response = post_event(client, evt)
        outcomes.append((response.status_code, response.json and response.json.get("outcome")))

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == [(200, "applied")] + [(200, "duplicate")] * 3
    assert [e.action for e in audit_events(app, company.id)] == ["subscription.activated"]
    assert len(_stripe_events(app)) == 1


def test_a_replay_after_later_changes_does_not_undo_them(app, company, stripe_client):
    _active(app, company)
    canceled = event("customer.subscription.deleted", subscription(SUB, CUSTOMER, "canceled"))
    assert post_event(stripe_client, canceled).status_code == 200
    # The platform admin activates a plan by hand afterwards (simulated); the old event replayed changes nothing.
    update_company(app, company.id, subscription_status=SubscriptionStatus.ACTIVE, stripe_subscription_id=None)
    before = company_row(app, company.id)
    assert post_event(stripe_client, canceled).json["outcome"] == "duplicate"
    assert company_row(app, company.id) == before


def test_an_older_event_arriving_after_a_newer_one_changes_nothing(app, company, stripe_client):
    _active(app, company)
    now = int(time.time())
    newer = event("customer.subscription.updated", subscription(SUB, CUSTOMER, "past_due"), created=now)
    older = event("customer.subscription.updated", subscription(SUB, CUSTOMER, "active", plan="basic"),
                  created=now - 60)
    assert post_event(stripe_client, newer).json["outcome"] == "applied"
    response = post_event(stripe_client, older)
    assert response.status_code == 200 and response.json["outcome"] == "stale"
    row = company_row(app, company.id)
    assert row["subscription_status"] == SubscriptionStatus.PAST_DUE and row["plan_code"] == "standard"
    assert aware(row["stripe_state_at"]).timestamp() == now
    assert [e.outcome for e in _stripe_events(app)] == ["applied", "stale"]  # seen, recorded, not applied


def test_a_late_checkout_completed_does_not_revive_a_canceled_subscription(app, company, stripe_client):
    now = int(time.time())
    completed = event("checkout.session.completed", checkout_session(company.id, CUSTOMER, SUB), created=now - 120)
    created = event("customer.subscription.created", subscription(SUB, CUSTOMER, "active"), created=now - 119)
    deleted = event("customer.subscription.deleted", subscription(SUB, CUSTOMER, "canceled"), created=now)
    for evt in (created, deleted, completed):  # Stripe does not promise delivery order
        assert post_event(stripe_client, evt).status_code == 200
    assert company_row(app, company.id)["subscription_status"] == SubscriptionStatus.CANCELED


def test_events_delivered_in_any_order_end_in_the_state_of_the_newest(app, company, stripe_client):
    import itertools

    now = int(time.time())
    period_end = now + 30 * 86400
    sequence = [
        event("customer.subscription.created", subscription(SUB, CUSTOMER, "active", period_end=period_end),
              created=now - 30),
        event("invoice.payment_failed", invoice(SUB, CUSTOMER), created=now - 20),
        event("customer.subscription.updated", subscription(SUB, CUSTOMER, "past_due", period_end=period_end),
              created=now - 19),
        event("invoice.paid", invoice(SUB, CUSTOMER, period_end=period_end), created=now - 10),
        event("customer.subscription.updated", subscription(SUB, CUSTOMER, "active", plan="professional",
                                                            period_end=period_end), created=now - 9),
    ]
    initial = company_row(app, company.id)
    for n, order in enumerate(itertools.islice(itertools.permutations(sequence), 0, None, 17)):
        update_company(app, company.id, **{k: v for k, v in initial.items() if k != "id"})
        for evt in order:
            post_event(stripe_client, {**evt, "id": f"{evt['id']}-{n}"})
        row = company_row(app, company.id)
        assert (row["subscription_status"], row["plan_code"]) == (SubscriptionStatus.ACTIVE, "professional"), \
            [e["type"] for e in order]
        assert aware(row["current_period_end"]).timestamp() == period_end


# --- the whole path -----------------------------------------------------------------------------------------


def test_upgrade_then_webhooks_activate_the_plan_shown_on_the_billing_page(app, make_company, make_user, login_as,
                                                                          stripe_client, fake_stripe):  # noqa: F811
    company = make_company("flow", "流程物业")
    admin = login_as(make_user("管理员", memberships=[(company, Role.ADMIN)]))
    response = admin.post(f"/c/{company.slug}/billing/checkout", data={"plan": "standard"})
    assert response.status_code == 303
    [session] = fake_stripe.calls("/v1/checkout/sessions")
    customer = session.form["customer"]
    # Stripe, after the card is paid: the subscription, the session, the first invoice.
    period_end = int(time.time()) + 30 * 86400
    for evt in (event("customer.subscription.created", subscription("sub_flow", customer, "active",
                                                                    period_end=period_end)),
                event("checkout.session.completed", checkout_session(company.id, customer, "sub_flow")),
                event("invoice.paid", invoice("sub_flow", customer, period_end=period_end))):
        assert post_event(stripe_client, evt).status_code == 200
    body = admin.get(f"/c/{company.slug}/billing").get_data(as_text=True)
    assert "Paid by card; renews on" in body and "Manage billing" in body and "Upgrade to" not in body
    audit_page = admin.get(f"/c/{company.slug}/audit").get_data(as_text=True)
    assert "Subscription active" in audit_page and "Stripe" in audit_page
