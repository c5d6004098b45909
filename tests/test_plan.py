"""The company's billing pages: plans and status, Upgrade through Stripe Checkout, Manage billing through the
customer portal, and what happens with no Stripe keys or a failing Stripe. Stripe is the local fake server
(tests/stripe_fake.py) reached through the real `stripe` client."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from saas.extensions import db
from saas.models import AuditEvent, Company, Role, SubscriptionStatus
from saas.tenancy import company_context, utcnow
from tests.stripe_fake import PRICES, fake_stripe  # noqa: F401  (fixture)

ATTEMPT = "3f6c1c0e5a8b4d2e9f7a6b5c4d3e2f1a"


# --- helpers shared with test_stripe_webhooks.py and test_platform_admin.py --------------------------------


def company_row(app, company_id) -> dict:
    """Every column of the company, for before/after comparisons."""
    with app.app_context():
        company = db.session.get(Company, company_id)
        row = {c.key: getattr(company, c.key) for c in Company.__mapper__.column_attrs}
        db.session.remove()
    return row


def update_company(app, company_id, **fields) -> None:
    with app.app_context():
        company = db.session.get(Company, company_id)
        for key, value in fields.items():
            setattr(company, key, value)
        db.session.commit()
        db.session.remove()


def audit_events(app, company_id, action: str | None = None) -> list[AuditEvent]:
    """The company's audit events about its plan (sign-ins are left out), or those of one action."""
    with app.app_context(), company_context(company_id):
        stmt = select(AuditEvent).where(AuditEvent.object_type == "company").order_by(AuditEvent.created_at)
        if action:
            stmt = stmt.where(AuditEvent.action == action)
        events = db.session.execute(stmt).scalars().all()
        db.session.expunge_all()
    return events


def add_households(app, company_id, n: int) -> None:
    """n households in one building, inserted in one flush (fast enough for a few hundred)."""
    from tenants.roster.models import Building, Community, Household, Occupancy

    with app.app_context(), company_context(company_id):
        community = Community(name=f"大小区{n}")
        db.session.add(community)
        db.session.flush()
        building = Building(community_id=community.id, name="1号楼")
        db.session.add(building)
        db.session.flush()
        db.session.add_all([Household(building_id=building.id, unit="1", room=str(1000 + i), floor_area_dm2=8000,
                                      occupancy=Occupancy.OCCUPIED) for i in range(n)])
        db.session.commit()
        db.session.remove()


def aware(value):
    from datetime import UTC

    return value if value is None or value.tzinfo else value.replace(tzinfo=UTC)


# --- fixtures ------------------------------------------------------------------------------------------


@pytest.fixture
def company(make_company):
    return make_company("acme", "测试物业")


@pytest.fixture
def admin_user(make_user, company):
    return make_user("公司管理员", memberships=[(company, Role.ADMIN)])


@pytest.fixture
def admin(login_as, admin_user):
    return login_as(admin_user)


def _url(company, path: str = "") -> str:
    return f"/c/{company.slug}/billing{path}"


# --- the page ------------------------------------------------------------------------------------------


def test_without_stripe_keys_the_page_explains_bank_transfer_and_offers_no_card_upgrade(company, admin):
    body = admin.get(_url(company)).get_data(as_text=True)
    assert "Online card payment is not set up" in body
    assert "Pay by bank transfer (对公转账)" in body and "transfer reference" in body
    assert "Upgrade to" not in body and "Manage billing" not in body
    # Prices in yuan from integer fen, with the household limits.
    for text in ("¥399", "¥999", "¥2,999", "Up to 500 households", "Up to 2,000 households",
                 "Up to 10,000 households"):
        assert text in body


def test_checkout_without_stripe_keys_says_so_and_changes_nothing(app, company, admin):
    before = company_row(app, company.id)
    response = admin.post(_url(company, "/checkout"), data={"plan": "basic", "attempt": ATTEMPT})
    assert response.status_code == 303 and response.headers["Location"].endswith(_url(company))
    assert "Online card payment is not set up" in admin.get(_url(company)).get_data(as_text=True)
    assert company_row(app, company.id) == before
    assert audit_events(app, company.id) == []


def test_portal_without_stripe_keys_says_so(company, admin):
    response = admin.post(_url(company, "/portal"), follow_redirects=True)
    assert response.status_code == 200
    assert "Online card payment is not set up" in response.get_data(as_text=True)


def test_with_stripe_configured_each_fitting_plan_has_an_upgrade_button(company, admin, fake_stripe):  # noqa: F811
    response = admin.get(_url(company))
    body = response.get_data(as_text=True)
    for name in ("Basic", "Standard", "Professional"):
        assert f"Upgrade to {name}" in body
    assert "Online card payment is not set up" not in body
    # The forms are answered with a 303 to Stripe: the page's CSP lets the browser follow it.
    assert "form-action 'self' https://checkout.stripe.com https://billing.stripe.com" in \
        response.headers["Content-Security-Policy"]


@pytest.mark.parametrize(("fields", "texts"), [
    ({"trial_ends_at": timedelta(days=12, hours=1)}, ["Free trial: 13 days left"]),
    ({"trial_ends_at": -timedelta(days=1)}, ["The free trial ended on", "Read-only", "Choose a plan"]),
    ({"subscription_status": SubscriptionStatus.ACTIVE, "plan_code": "basic",
      "current_period_end": timedelta(days=40)}, ["Basic", "Paid by bank transfer until", "Your plan"]),
    ({"subscription_status": SubscriptionStatus.ACTIVE, "plan_code": "basic",
      "current_period_end": -timedelta(days=1)}, ["The paid period ended on", "Read-only"]),
    ({"subscription_status": SubscriptionStatus.ACTIVE, "plan_code": "standard", "stripe_customer_id": "cus_1",
      "stripe_subscription_id": "sub_1", "current_period_end": timedelta(days=20)},
     ["Paid by card; renews on", "Your plan"]),
    ({"subscription_status": SubscriptionStatus.PAST_DUE, "plan_code": "standard", "stripe_customer_id": "cus_1",
      "stripe_subscription_id": "sub_1"}, ["Payment overdue", "The last card payment failed"]),
    ({"subscription_status": SubscriptionStatus.CANCELED, "plan_code": "standard"},
     ["The plan is canceled.", "Read-only"]),
    ({"suspended_at": timedelta(0)}, ["Suspended by the platform since", "Read-only"]),
])
def test_the_page_states_the_plan_and_whether_the_company_is_read_only(app, company, admin, fields, texts):
    now = utcnow()
    update_company(app, company.id, **{k: now + v if isinstance(v, timedelta) else v for k, v in fields.items()})
    body = admin.get(_url(company)).get_data(as_text=True)
    for text in texts:
        assert text in body, text
    if "Read-only" not in texts:
        assert "Read-only" not in body


def test_a_card_subscriber_gets_manage_billing_instead_of_upgrade_buttons(app, company, admin,
                                                                          fake_stripe):  # noqa: F811
    update_company(app, company.id, subscription_status=SubscriptionStatus.ACTIVE, plan_code="standard",
                   stripe_customer_id="cus_1", stripe_subscription_id="sub_1")
    body = admin.get(_url(company)).get_data(as_text=True)
    assert "Manage billing" in body and "Upgrade to" not in body


def test_billing_is_for_company_admins_and_checkout_and_portal_work_when_read_only(app):
    for endpoint in ("index", "checkout", "portal", "success"):
        assert app.view_functions[f"company.plan.{endpoint}"].allowed_roles == (Role.ADMIN,)
    for endpoint in ("checkout", "portal"):
        assert getattr(app.view_functions[f"company.plan.{endpoint}"], "allowed_when_read_only", False)


# --- checkout ------------------------------------------------------------------------------------------


def test_upgrade_opens_a_subscription_checkout_for_the_chosen_plan(app, company, admin, fake_stripe):  # noqa: F811
    response = admin.post(_url(company, "/checkout"), data={"plan": "standard", "attempt": ATTEMPT})
    assert response.status_code == 303
    location = response.headers["Location"]
    assert location.startswith(fake_stripe.base_url + "/pay/cs_test_")

    [customer] = fake_stripe.calls("/v1/customers")
    assert customer.form["metadata[company_id]"] == str(company.id)
    assert customer.idempotency_key.startswith(f"customer-{company.id}-")
    [session] = fake_stripe.calls("/v1/checkout/sessions")
    form = session.form
    assert form["mode"] == "subscription"
    assert form["line_items[0][price]"] == PRICES["standard"] and form["line_items[0][quantity]"] == "1"
    assert form["client_reference_id"] == str(company.id)
    assert form["metadata[company_id]"] == str(company.id) and form["metadata[plan]"] == "standard"
    assert form["subscription_data[metadata][company_id]"] == str(company.id)
    assert form["customer"] == "cus_fake1" or form["customer"].startswith("cus_fake")
    assert form["success_url"] == f"http://localhost/c/{company.slug}/billing/success?session_id={{CHECKOUT_SESSION_ID}}"
    assert form["cancel_url"] == f"http://localhost/c/{company.slug}/billing"
    assert session.idempotency_key == f"checkout-{company.id}-standard-{ATTEMPT}"

    # The customer is linked; the plan itself waits for Stripe's webhook.
    row = company_row(app, company.id)
    assert row["stripe_customer_id"] == form["customer"]
    assert row["subscription_status"] == SubscriptionStatus.TRIALING and row["plan_code"] == "trial"
    assert [e.action for e in audit_events(app, company.id)] == ["subscription.customer_linked",
                                                                  "subscription.checkout_started"]


def test_a_double_submitted_upgrade_form_gets_the_same_session_not_a_second_one(app, company, admin,
                                                                                fake_stripe):  # noqa: F811
    first = admin.post(_url(company, "/checkout"), data={"plan": "basic", "attempt": ATTEMPT})
    second = admin.post(_url(company, "/checkout"), data={"plan": "basic", "attempt": ATTEMPT})
    assert first.headers["Location"] == second.headers["Location"]
    assert len(fake_stripe.calls("/v1/customers")) == 1  # the company keeps its customer
    keys = {c.idempotency_key for c in fake_stripe.calls("/v1/checkout/sessions")}
    assert keys == {f"checkout-{company.id}-basic-{ATTEMPT}"}
    # A new visit to the page is a new attempt.
    third = admin.post(_url(company, "/checkout"), data={"plan": "basic", "attempt": "another-attempt-123"})
    assert third.headers["Location"] != first.headers["Location"]


def test_an_existing_stripe_customer_is_reused(app, company, admin, fake_stripe):  # noqa: F811
    update_company(app, company.id, stripe_customer_id="cus_existing")
    admin.post(_url(company, "/checkout"), data={"plan": "basic", "attempt": ATTEMPT})
    assert fake_stripe.calls("/v1/customers") == []
    assert fake_stripe.calls("/v1/checkout/sessions")[0].form["customer"] == "cus_existing"


@pytest.mark.parametrize(("status", "path"), [
    (500, "/v1/checkout/sessions"), (402, "/v1/checkout/sessions"), (500, "/v1/customers"),
])
def test_a_failing_stripe_call_leaves_the_company_as_it_was_and_says_so(app, company, admin, fake_stripe,  # noqa: F811
                                                                         status, path):
    before = company_row(app, company.id)
    fake_stripe.fail(status, path=path)
    response = admin.post(_url(company, "/checkout"), data={"plan": "standard", "attempt": ATTEMPT})
    assert response.status_code == 303 and response.headers["Location"].endswith(_url(company))
    body = admin.get(_url(company)).get_data(as_text=True)
    assert "The payment service did not respond as expected. Nothing was changed" in body
    assert company_row(app, company.id) == before
    assert audit_events(app, company.id) == []


def test_stripe_unreachable_leaves_the_company_as_it_was_and_says_so(app, company, admin, fake_stripe,  # noqa: F811
                                                                     monkeypatch):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setitem(app.config, "STRIPE_API_BASE", f"http://127.0.0.1:{port}")
    monkeypatch.setitem(app.config, "STRIPE_MAX_NETWORK_RETRIES", 0)
    before = company_row(app, company.id)
    response = admin.post(_url(company, "/checkout"), data={"plan": "standard"}, follow_redirects=True)
    assert "The payment service did not respond as expected" in response.get_data(as_text=True)
    assert company_row(app, company.id) == before


def test_a_transient_stripe_error_is_retried_with_the_same_idempotency_key(app, company, admin,
                                                                           fake_stripe):  # noqa: F811
    update_company(app, company.id, stripe_customer_id="cus_existing")
    fake_stripe.fail(500, path="/v1/checkout/sessions", retry=True)
    response = admin.post(_url(company, "/checkout"), data={"plan": "basic", "attempt": ATTEMPT})
    assert response.status_code == 303 and response.headers["Location"].startswith(fake_stripe.base_url)
    calls = fake_stripe.calls("/v1/checkout/sessions")
    assert len(calls) == 2 and calls[0].idempotency_key == calls[1].idempotency_key


@pytest.mark.parametrize("plan", ["gold", "", "trial"])
def test_an_unknown_plan_is_refused_next_to_the_plans(app, company, admin, fake_stripe, plan):  # noqa: F811
    response = admin.post(_url(company, "/checkout"), data={"plan": plan})
    assert response.status_code == 422
    assert "Choose one of the plans." in response.get_data(as_text=True)
    assert fake_stripe.requests == []


def test_a_plan_too_small_for_the_households_is_refused_naming_one_that_fits(app, company, admin,
                                                                             fake_stripe):  # noqa: F811
    add_households(app, company.id, 501)
    response = admin.post(_url(company, "/checkout"), data={"plan": "basic"})
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "This company has 501 households; the Basic plan holds 500." in body and "The Standard plan" in body
    assert "Too small for your 501 households." in body
    assert fake_stripe.requests == []


def test_an_expired_trial_can_still_pay(app, company, admin, fake_stripe):  # noqa: F811
    update_company(app, company.id, trial_ends_at=utcnow() - timedelta(days=3))
    with app.app_context():
        assert db.session.get(Company, company.id).is_read_only()
    response = admin.post(_url(company, "/checkout"), data={"plan": "basic", "attempt": ATTEMPT})
    assert response.status_code == 303 and response.headers["Location"].startswith(fake_stripe.base_url)


def test_a_company_paying_by_card_is_sent_to_manage_billing_instead_of_a_second_checkout(app, company, admin,
                                                                                          fake_stripe):  # noqa: F811
    update_company(app, company.id, subscription_status=SubscriptionStatus.ACTIVE, plan_code="standard",
                   stripe_customer_id="cus_1", stripe_subscription_id="sub_1")
    response = admin.post(_url(company, "/checkout"), data={"plan": "professional"}, follow_redirects=True)
    assert "You already pay by card" in response.get_data(as_text=True)
    assert fake_stripe.requests == []


def test_htmx_checkout_is_told_to_navigate_to_stripe(company, admin, fake_stripe):  # noqa: F811
    response = admin.post(_url(company, "/checkout"), data={"plan": "basic"}, headers={"HX-Request": "true"})
    assert response.status_code == 200 and response.headers["HX-Redirect"].startswith(fake_stripe.base_url)


# --- the customer portal -------------------------------------------------------------------------------


def test_manage_billing_opens_the_customer_portal(app, company, admin, fake_stripe):  # noqa: F811
    update_company(app, company.id, stripe_customer_id="cus_portal", subscription_status=SubscriptionStatus.ACTIVE,
                   stripe_subscription_id="sub_1")
    before = company_row(app, company.id)
    response = admin.post(_url(company, "/portal"), data={"attempt": ATTEMPT})
    assert response.status_code == 303
    assert response.headers["Location"].startswith(fake_stripe.base_url + "/portal/bps_")
    [call] = fake_stripe.calls("/v1/billing_portal/sessions")
    assert call.form == {"customer": "cus_portal", "return_url": f"http://localhost/c/{company.slug}/billing"}
    assert call.idempotency_key == f"portal-{company.id}-{ATTEMPT}"
    assert company_row(app, company.id) == before


def test_manage_billing_without_a_card_customer_says_to_choose_a_plan(company, admin, fake_stripe):  # noqa: F811
    response = admin.post(_url(company, "/portal"), follow_redirects=True)
    assert "There is no card payment to manage yet" in response.get_data(as_text=True)
    assert fake_stripe.requests == []


def test_a_failing_portal_call_says_so(app, company, admin, fake_stripe):  # noqa: F811
    update_company(app, company.id, stripe_customer_id="cus_portal")
    fake_stripe.fail(500)
    response = admin.post(_url(company, "/portal"), follow_redirects=True)
    assert "The payment service did not respond as expected" in response.get_data(as_text=True)


# --- the return page ------------------------------------------------------------------------------------


def test_the_return_page_says_activation_follows_and_checks_again(company, admin):
    response = admin.get(_url(company, "/success?session_id=cs_test_1"))
    body = response.get_data(as_text=True)
    assert "Payment received" in body and "as soon as Stripe confirms" in body
    assert 'hx-get="/c/acme/billing/success?poll=1"' in body
    # The poll asks for the status block alone.
    partial = admin.get(_url(company, "/success?poll=1"),
                        headers={"HX-Request": "true", "HX-Target": "billing-status"}).get_data(as_text=True)
    assert partial.lstrip().startswith('<div id="billing-status"') and "<html" not in partial
    assert 'poll=2' in partial


def test_the_return_page_stops_checking_once_the_plan_is_active(app, company, admin):
    update_company(app, company.id, subscription_status=SubscriptionStatus.ACTIVE, plan_code="standard",
                   stripe_customer_id="cus_1", stripe_subscription_id="sub_1")
    body = admin.get(_url(company, "/success")).get_data(as_text=True)
    assert "Your Standard plan is active." in body and "hx-get" not in body.split('id="billing-status"')[1][:200]


def test_the_return_page_gives_up_checking_after_a_minute(company, admin):
    body = admin.get(_url(company, "/success?poll=20")).get_data(as_text=True)
    assert "Stripe has not confirmed yet" in body and "poll=21" not in body


# --- when a plan paid by transfer ends -----------------------------------------------------------------


def test_a_plan_paid_by_transfer_turns_read_only_at_its_period_end_but_a_card_plan_does_not():
    now = utcnow()
    manual = Company(slug="x", name="x", subscription_status=SubscriptionStatus.ACTIVE, plan_code="basic",
                     current_period_end=now + timedelta(days=1))
    assert not manual.is_read_only(now)
    assert manual.is_read_only(now + timedelta(days=1, seconds=1))
    card = Company(slug="y", name="y", subscription_status=SubscriptionStatus.ACTIVE, plan_code="basic",
                   current_period_end=now - timedelta(days=1), stripe_subscription_id="sub_1")
    assert not card.is_read_only(now)  # Stripe renews it and tells us by webhook when it ends


def test_billing_pages_count_only_this_companys_households(app, company, admin, make_company):
    other = make_company("other", "别家物业")
    add_households(app, other.id, 7)
    add_households(app, company.id, 3)
    with app.app_context(), company_context(company.id):
        from tenants.roster.models import Household

        assert db.session.scalar(select(func.count()).select_from(Household)) == 3
    assert "3 of 2,000 households used." in admin.get(_url(company)).get_data(as_text=True)


def test_checkout_urls_point_back_to_this_site(app, company, admin, fake_stripe):  # noqa: F811
    admin.post(_url(company, "/checkout"), data={"plan": "basic"})
    form = fake_stripe.calls("/v1/checkout/sessions")[0].form
    assert urlsplit(form["success_url"]).path == f"/c/{company.slug}/billing/success"
