"""The onboarding checklist ticks itself from the company's data; the company profile validates and audits."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from saas.extensions import db
from saas.models import AuditEvent, Company, Role
from saas.tenancy import company_context, utcnow


@pytest.fixture
def fresh(app, make_company, make_user):
    """A company just signed up: one admin, nothing else."""
    company = make_company("hongshan-wuye", "红山物业")
    with app.app_context():
        row = db.session.get(Company, company.id)
        row.trial_ends_at = utcnow() + timedelta(days=30)
        db.session.commit()
        with company_context(company.id):  # as signup does
            from tenants.work_orders.services import ensure_default_categories

            ensure_default_categories()
            db.session.commit()
    admin = make_user("王经理", memberships=[(company, Role.ADMIN)])
    return company, admin


def _steps(body: str) -> dict:
    return dict(re.findall(r'id="step-(\w+)" data-done="(true|false)"', body))


def _give_every_category_to(app, company, user):
    from saas.models import Membership
    from tenants.work_orders import queries
    from tenants.work_orders import settings_services as ss

    with app.app_context(), company_context(company.id):
        person = db.session.execute(select(Membership.id).where(Membership.user_id == user.id)).scalar_one()
        ss.set_dispatch({c.id: str(person) for c in queries.live_categories()}, actor=None)


def _set_company(app, company_id, **values):
    with app.app_context():
        company = db.session.get(Company, company_id)
        for key, value in values.items():
            setattr(company, key, value)
        db.session.commit()


def test_checklist_ticks_each_step_as_it_is_done(app, fresh, login_as, make_roster, make_user):
    company, admin = fresh
    client = login_as(admin)
    url = f"/c/{company.slug}/onboarding"

    body = client.get(url).get_data(as_text=True)
    assert _steps(body) == {"profile": "false", "community": "false", "households": "false", "staff": "false",
                            "repairs": "false", "notices": "false"}
    assert "0 of 6 steps done" in body
    # Each step links to the page that does it.
    for path in ("/settings/profile", "/communities", "/members"):
        assert f'href="/c/{company.slug}{path}' in body

    _set_company(app, company.id, licence_number="91650100MA7EXAMP1E", complaint_phone="0991-1234567")
    body = client.get(url).get_data(as_text=True)
    assert _steps(body)["profile"] == "true" and "1 of 6 steps done" in body

    make_roster(company, communities=1, buildings=1, households=0)
    assert _steps(client.get(url).get_data(as_text=True))["community"] == "true"
    assert _steps(client.get(url).get_data(as_text=True))["households"] == "false"

    make_roster(company, communities=1, buildings=1, households=1, prefix="二")
    assert _steps(client.get(url).get_data(as_text=True))["households"] == "true"

    steward = make_user("李管家", memberships=[(company, Role.STEWARD)])
    assert _steps(client.get(url).get_data(as_text=True))["staff"] == "true"
    _give_every_category_to(app, company, steward)
    assert _steps(client.get(url).get_data(as_text=True))["repairs"] == "true"

    _set_company(app, company.id, notices_printed_at=utcnow())
    body = client.get(url).get_data(as_text=True)
    assert set(_steps(body).values()) == {"true"}
    assert "6 of 6 steps done" in body and "Your company is ready." in body


def test_the_invite_step_lands_on_the_invitation_form(app, fresh, login_as):
    company, admin = fresh
    client = login_as(admin)
    body = client.get(f"/c/{company.slug}/onboarding").get_data(as_text=True)
    step = body[body.index('id="step-staff"'):]
    href = re.search(r'href="([^"]+)"', step).group(1)
    assert href == f"/c/{company.slug}/members/invitations#invite-form"
    path, anchor = href.split("#")
    form = client.get(path).get_data(as_text=True)
    assert re.search(rf'<form id="{anchor}"[^>]*action="/c/{company.slug}/members/invitations"', form)


def test_an_owner_joining_does_not_count_as_inviting_staff(app, fresh, login_as, make_user):
    company, admin = fresh
    make_user("业主", memberships=[(company, Role.OWNER)])
    body = login_as(admin).get(f"/c/{company.slug}/onboarding").get_data(as_text=True)
    assert _steps(body)["staff"] == "false"


def test_a_pending_invitation_counts_as_inviting_staff(app, fresh, login_as):
    from tenants.members.models import Invitation

    company, admin = fresh
    with app.app_context(), company_context(company.id):
        db.session.add(Invitation(invited_by_id=admin.id, name="李管家", role=Role.STEWARD, phone="13912345678",
                                  token_hash="0" * 64, expires_at=utcnow() + timedelta(days=7)))
        db.session.commit()
    body = login_as(admin).get(f"/c/{company.slug}/onboarding").get_data(as_text=True)
    assert _steps(body)["staff"] == "true"


def test_checklist_and_profile_are_for_admins_only(two_companies, login_as):
    a, _ = two_companies
    for user in (a.steward, a.technician, a.owner):
        client = login_as(user)
        assert client.get(f"/c/{a.company.slug}/onboarding").status_code == 403
        assert client.get(f"/c/{a.company.slug}/settings/profile").status_code == 403
        assert client.post(f"/c/{a.company.slug}/settings/profile",
                           data={"licence_number": "91650100MA7EXAMP1E", "complaint_phone": "0991-1234567"}
                           ).status_code == 403


# --- the profile ----------------------------------------------------------------------------------


def test_admin_saves_the_profile_normalised_and_audited(app, fresh, login_as):
    company, admin = fresh
    client = login_as(admin)
    response = client.post(f"/c/{company.slug}/settings/profile", data={
        "licence_number": " 91650100ma7examp1e ", "complaint_phone": "0991 - 1234567", "address": " 红山路 88 号 "})
    assert response.status_code == 303
    assert response.headers["Location"] == f"/c/{company.slug}/onboarding"
    with app.app_context():
        row = db.session.get(Company, company.id)
        assert (row.licence_number, row.complaint_phone, row.address) == (
            "91650100MA7EXAMP1E", "0991-1234567", "红山路 88 号")
        with company_context(company.id):
            [event] = db.session.execute(
                select(AuditEvent).where(AuditEvent.action == "company.profile_update")).scalars().all()
            assert event.actor_id == admin.id
            assert event.changes["licence_number"] == ["", "91650100MA7EXAMP1E"]
            assert event.changes["complaint_phone"] == ["", "0991-1234567"]
    page = client.get(f"/c/{company.slug}/settings/profile").get_data(as_text=True)
    assert 'value="91650100MA7EXAMP1E"' in page and 'value="0991-1234567"' in page


def test_saving_an_unchanged_profile_writes_no_audit_event(app, fresh, login_as):
    company, admin = fresh
    client = login_as(admin)
    data = {"licence_number": "91650100MA7EXAMP1E", "complaint_phone": "4001234567", "address": ""}
    assert client.post(f"/c/{company.slug}/settings/profile", data=data).status_code == 303
    assert client.post(f"/c/{company.slug}/settings/profile", data=data).status_code == 303
    with app.app_context(), company_context(company.id):
        events = db.session.execute(
            select(AuditEvent).where(AuditEvent.action == "company.profile_update")).scalars().all()
        assert len(events) == 1


@pytest.mark.parametrize("phone, stored", [
    ("13800138000", "13800138000"),
    ("+86 138-0013-8000", "13800138000"),
    ("0991-1234567", "0991-1234567"),
    ("09911234567", "09911234567"),
    ("010-12345678", "010-12345678"),
    ("400-123-4567", "400-123-4567"),
    ("4001234567", "4001234567"),
    ("（0991）1234567", "09911234567"),
])
def test_complaint_phone_accepts_mobiles_landlines_and_400_numbers(app, fresh, login_as, phone, stored):
    company, admin = fresh
    response = login_as(admin).post(f"/c/{company.slug}/settings/profile", data={
        "licence_number": "91650100MA7EXAMP1E", "complaint_phone": phone})
    assert response.status_code == 303
    with app.app_context():
        assert db.session.get(Company, company.id).complaint_phone == stored


def test_admin_sets_the_service_phone_validated_like_the_complaint_phone(app, fresh, login_as):
    company, admin = fresh
    client = login_as(admin)
    url = f"/c/{company.slug}/settings/profile"
    assert 'name="service_phone"' in client.get(url).get_data(as_text=True)
    data = {"licence_number": "91650100MA7EXAMP1E", "complaint_phone": "0991-1234567"}
    response = client.post(url, data={**data, "service_phone": "12345"})
    assert response.status_code == 422
    assert re.search(r'name="service_phone"[^>]*>\s*<div class="invalid-feedback">[^<]*Enter a mobile number',
                     response.get_data(as_text=True))
    with app.app_context():
        assert db.session.get(Company, company.id).complaint_phone == ""  # nothing saved
    assert client.post(url, data={**data, "service_phone": "400 123 4567"}).status_code == 303
    with app.app_context():
        assert db.session.get(Company, company.id).service_phone == "4001234567"  # normalised, spaces dropped
        with company_context(company.id):
            [event] = db.session.execute(
                select(AuditEvent).where(AuditEvent.action == "company.profile_update")).scalars().all()
            assert event.changes["service_phone"][0] == ""
    assert 'name="service_phone"' in client.get(url).get_data(as_text=True)
    # It is optional: clearing it is allowed.
    assert client.post(url, data={**data, "service_phone": ""}).status_code == 303
    with app.app_context():
        assert db.session.get(Company, company.id).service_phone == ""


@pytest.mark.parametrize("field, value, message", [
    ("licence_number", "", "Enter the 18-character code from your business licence."),
    ("licence_number", "91650100MA7EXAMP1", "The unified social credit code has 18 characters; this has 17."),
    ("licence_number", "91650100MA7EXAMPLO", "never I, O, S, V or Z"),
    ("licence_number", "9165010AMA7EXAMP1E", "never I, O, S, V or Z"),  # letters where the 6-digit code goes
    ("licence_number", "91650100MA7EXAMP1E91650100MA7EXAMP1E", "this has 36"),
    ("complaint_phone", "", "Enter the phone number owners can call with complaints."),
    ("complaint_phone", "12345", "Enter a mobile number, a landline with area code"),
    ("complaint_phone", "0991-123", "Enter a mobile number, a landline with area code"),
    ("complaint_phone", "1234567", "Enter a mobile number, a landline with area code"),
    ("complaint_phone", "800-12-345", "Enter a mobile number, a landline with area code"),
    ("address", "路" * 201, "Field cannot be longer than 200 characters."),
    ("address", "红山路\n88号", "Remove line breaks"),
])
def test_bad_profile_input_is_refused_next_to_the_field_and_changes_nothing(app, fresh, login_as, field, value,
                                                                           message):
    company, admin = fresh
    data = {"licence_number": "91650100MA7EXAMP1E", "complaint_phone": "0991-1234567", "address": "红山路"}
    data[field] = value
    for headers in ({}, {"HX-Request": "true", "HX-Boosted": "true"}):
        response = login_as(admin).post(f"/c/{company.slug}/settings/profile", data=data, headers=headers)
        body = response.get_data(as_text=True)
        assert response.status_code == 422
        assert message in body
        # The message sits right after its own field.
        assert re.search(rf'name="{field}"[^>]*>\s*<div class="invalid-feedback">[^<]*{re.escape(message)}', body)
    with app.app_context():
        row = db.session.get(Company, company.id)
        assert (row.licence_number, row.complaint_phone, row.address) == ("", "", "")
        with company_context(company.id):
            assert not db.session.execute(
                select(AuditEvent).where(AuditEvent.action == "company.profile_update")).first()


# --- the banner -----------------------------------------------------------------------------------


def test_banner_shows_the_trial_days_left_to_admins_only(app, two_companies, login_as):
    a, _ = two_companies
    _set_company(app, a.company.id, trial_ends_at=utcnow() + timedelta(days=12, hours=1))
    body = login_as(a.admin).get(f"/c/{a.company.slug}/communities").get_data(as_text=True)
    assert "Free trial: 13 days left." in body
    admin_page = login_as(a.admin).get(f"/c/{a.company.slug}/").get_data(as_text=True)
    assert f'href="/c/{a.company.slug}/onboarding"' in admin_page  # the admin's way back to the checklist
    # Stewards, technicians and owners cannot choose a plan: the trial is none of their business.
    for user, url in ((a.steward, "/communities"), (a.steward, "/steward"), (a.technician, "/"),
                      (a.technician, "/communities"), (a.owner, "/my")):
        body = login_as(user).get(f"/c/{a.company.slug}{url}").get_data(as_text=True)
        assert "Free trial" not in body and 'id="company-banner"' not in body, (user.name, url)


def test_banner_warns_in_the_last_week_and_says_one_day(app, two_companies, login_as):
    a, _ = two_companies
    _set_company(app, a.company.id, trial_ends_at=utcnow() + timedelta(hours=20))
    body = login_as(a.admin).get(f"/c/{a.company.slug}/").get_data(as_text=True)
    assert "Free trial: 1 day left." in body and "alert-warning" in body


def test_no_trial_banner_for_a_paying_company(app, two_companies, login_as):
    from saas.models import SubscriptionStatus

    a, _ = two_companies
    _set_company(app, a.company.id, trial_ends_at=utcnow() - timedelta(days=3),
                 subscription_status=SubscriptionStatus.ACTIVE, plan_code="basic")
    body = login_as(a.admin).get(f"/c/{a.company.slug}/").get_data(as_text=True)
    assert 'id="company-banner"' not in body
