"""The front door: landing and pricing pages, self-serve signup with its slug proposals, and `create-company`."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from saas.extensions import db
from saas.models import AuditEvent, Company, Membership, PlatformAuditEvent, Role, SubscriptionStatus, User
from saas.signup.slugs import slug_from_name
from saas.tenancy import company_context, utcnow

HX = {"HX-Request": "true"}


def _form(**changes) -> dict:
    data = {"company_name": "红山物业", "slug": "hongshan-wuye", "slug_suggested": "hongshan-wuye",
            "admin_name": "王经理", "login": "138 0013 8000", "password": "a-long-password"}
    data.update(changes)
    return data


def _count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def _company(app, slug: str) -> Company | None:
    with app.app_context():
        company = db.session.execute(select(Company).where(Company.slug == slug)).scalar_one_or_none()
        if company is not None:
            db.session.expunge(company)
        return company


# --- slugs ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name, slug", [
    ("红山物业", "hongshan-wuye"),
    ("天山物业服务有限公司", "tianshan-wuye-fuwu"),
    ("红山物业管理有限公司", "hongshan-wuye-guanli"),
    ("重庆物业", "chongqing-wuye"),
    ("ABC物业", "abc-wuye"),
    ("新疆 红山 A1 物业", "xinjiang-hongshan-a1-wuye"),
    ("Red Hill Property", "red-hill-property"),
    ("Ａｂｃ", "abc"),  # full-width letters
    ("A", "a-wuye"),  # too short alone: padded to a valid slug
    ("😀 !!", ""),
])
def test_slug_is_proposed_from_the_name_in_pinyin(name, slug):
    assert slug_from_name(name) == slug


def test_proposed_slugs_are_always_well_formed():
    from saas.signup.slugs import slug_problem

    for name in ("红" * 80, "x" * 200, "-a-b-", "物业公司", "a--b", "長春物業", "123"):
        slug = slug_from_name(name)
        assert slug == "" or slug_problem(slug) is None, (name, slug)


def test_slug_suggestion_follows_the_name_until_the_user_edits_it(app, client, make_company):
    make_company("hongshan-wuye", "别家红山物业")
    response = client.get("/signup/slug", query_string={"company_name": "红山物业"}, headers=HX)
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    # Taken already: the next free one, recorded as the current proposal.
    assert 'value="hongshan-wuye-2"' in body and body.count('value="hongshan-wuye-2"') == 2
    assert 'id="slug-field"' in body and "<html" not in body

    # The slug still equals the previous proposal: a new name updates it.
    body = client.get("/signup/slug", query_string={"company_name": "天山物业", "slug": "hongshan-wuye-2",
                                                    "slug_suggested": "hongshan-wuye-2"}, headers=HX).get_data(True)
    assert 'value="tianshan-wuye"' in body

    # The user typed their own: it is kept, and only checked.
    body = client.get("/signup/slug", query_string={"company_name": "天山物业", "slug": "ts-wy",
                                                    "slug_suggested": "tianshan-wuye"}, headers=HX).get_data(True)
    assert 'value="ts-wy"' in body and "ts-wy is available" in body


def test_typing_in_the_slug_field_only_checks_it(client, make_company):
    make_company("hongshan-wuye", "红山物业")
    headers = {**HX, "HX-Trigger-Name": "slug"}
    body = client.get("/signup/slug", query_string={"slug": "hongshan-wuye"}, headers=headers).get_data(True)
    assert 'id="slug-status"' in body and "<input" not in body
    assert "already taken" in body and "hongshan-wuye-2" in body
    body = client.get("/signup/slug", query_string={"slug": "admin"}, headers=headers).get_data(True)
    assert "reserved" in body
    body = client.get("/signup/slug", query_string={"slug": "Bad Slug!"}, headers=headers).get_data(True)
    assert "lowercase letters" in body


# --- signup ---------------------------------------------------------------------------------------


def test_signup_creates_a_trial_company_with_its_admin_and_lands_on_the_checklist(app, client):
    response = client.post("/signup", data=_form())
    assert response.status_code == 303, response.get_data(True)[:2000]
    assert response.headers["Location"] == "/c/hongshan-wuye/onboarding"

    company = _company(app, "hongshan-wuye")
    assert company.name == "红山物业"
    assert company.subscription_status == SubscriptionStatus.TRIALING and company.plan_code == "trial"
    assert not company.is_read_only()
    ends = company.trial_ends_at.replace(tzinfo=None) if company.trial_ends_at.tzinfo else company.trial_ends_at
    expected = (utcnow() + timedelta(days=app.config["TRIAL_DAYS"])).replace(tzinfo=None)
    assert abs(ends - expected) < timedelta(minutes=1)
    assert company.trial_days_left() == 30

    with app.app_context():
        user = db.session.execute(select(User).where(User.phone == "13800138000")).scalar_one()
        assert user.name == "王经理" and user.check_password("a-long-password") and user.email is None
        platform = db.session.execute(select(PlatformAuditEvent)).scalar_one()
        assert platform.action == "company.signup" and platform.company_id == company.id
        assert platform.actor_id == user.id and platform.details["source"] == "signup"
        with company_context(company.id):
            [membership] = db.session.execute(select(Membership)).scalars().all()
            assert membership.user_id == user.id and membership.role == Role.ADMIN
            [event] = db.session.execute(select(AuditEvent)).scalars().all()
            assert event.action == "company.signup" and event.actor_id == user.id
            assert event.changes["slug"] == [None, "hongshan-wuye"]

    # Signed in as the new admin, on the checklist.
    page = client.get(response.headers["Location"])
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "Getting started" in body and "0 of 6 steps done" in body and "Free trial: 30 days left." in body


def test_a_new_company_gets_the_standard_repair_categories_from_the_company_modules(app, client):
    # Signup (saas/) announces company_created; work orders' defaults arrive through tenants.register's receiver.
    from tenants.work_orders.models import WorkOrderCategory
    from tenants.work_orders.services import DEFAULT_CATEGORIES

    assert client.post("/signup", data=_form()).status_code == 303
    company = _company(app, "hongshan-wuye")
    with app.app_context(), company_context(company.id):
        names = db.session.execute(select(WorkOrderCategory.name).order_by(WorkOrderCategory.position)).scalars()
        assert list(names) == list(DEFAULT_CATEGORIES)


def test_a_receiver_of_company_created_that_fails_leaves_no_company(app):
    from saas.signup.services import company_created, create_company_with_admin

    def refuse(company, **extra):
        raise RuntimeError("a company module could not set the company up")

    company_created.connect(refuse)
    try:
        with app.app_context(), pytest.raises(RuntimeError):
            try:
                create_company_with_admin(name="红山物业", slug="hongshan-wuye", admin_name="王经理",
                                          phone="13800138000", password="a-long-password")
            finally:
                db.session.rollback()
    finally:
        company_created.disconnect(refuse)
    assert _company(app, "hongshan-wuye") is None and _count(app, User) == 0


def test_trial_length_comes_from_the_configuration(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "TRIAL_DAYS", 14)
    assert client.post("/signup", data=_form()).status_code == 303
    assert _company(app, "hongshan-wuye").trial_days_left() == 14


def test_signup_with_an_email_address(app, client):
    response = client.post("/signup", data=_form(login=" Wang@Example.COM "))
    assert response.status_code == 303
    with app.app_context():
        user = db.session.execute(select(User)).scalar_one()
        assert user.email == "Wang@example.com" and user.phone is None
    assert client.post("/logout").status_code == 303
    assert client.post("/login", data={"login": "wang@example.com", "password": "a-long-password"}).status_code == 303


def test_signup_without_a_slug_takes_the_one_the_name_gives(app, client, make_company):
    """Without JavaScript nobody proposed an address: the name's own (made unique) is used."""
    make_company("hongshan-wuye", "红山物业")
    response = client.post("/signup", data=_form(slug="", slug_suggested=""))
    assert response.status_code == 303
    assert response.headers["Location"] == "/c/hongshan-wuye-2/onboarding"


def test_a_taken_slug_is_refused_with_a_free_suggestion(app, client, make_company):
    make_company("hongshan-wuye", "红山物业")
    response = client.post("/signup", data=_form())
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "This address is already taken. hongshan-wuye-2 is free." in body
    assert _count(app, Company) == 1 and _count(app, User) == 0


@pytest.mark.parametrize("slug, message", [
    ("admin", "This address is reserved"),
    ("pricing", "This address is reserved"),
    ("ab", "Use 3 to 63 characters"),
    ("hong shan", "Use only lowercase letters"),
    ("hong--shan", "Use only lowercase letters"),
    ("-hongshan", "Use only lowercase letters"),
    ("红山物业", "Use only lowercase letters"),
    ("a" * 64, "Use 3 to 63 characters"),
])
def test_bad_slugs_are_refused_next_to_the_field(app, client, slug, message):
    response = client.post("/signup", data=_form(slug=slug, slug_suggested=""))
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in body and 'id="slug"' in body and "is-invalid" in body
    assert _count(app, Company) == 0 and _count(app, User) == 0


def test_uppercase_slug_is_lowercased(app, client):
    assert client.post("/signup", data=_form(slug="HongShan-WY")).status_code == 303
    assert _company(app, "hongshan-wy") is not None


@pytest.mark.parametrize("changes, message", [
    ({"company_name": ""}, "Enter the company name."),
    ({"admin_name": "  "}, "Enter your name."),
    ({"login": ""}, "Enter a mobile number or e-mail address."),
    ({"login": "12345"}, "Enter a mainland mobile number (11 digits starting with 1) or an e-mail address."),
    ({"login": "wang@"}, "Enter a valid e-mail address"),
    ({"password": "nine-char"}, "Choose a password of at least 10 characters."),
    ({"password": ""}, "Choose a password of at least 10 characters."),
    ({"company_name": "红山\n物业"}, "Remove line breaks"),
    ({"company_name": "物" * 101}, "Field cannot be longer than 100 characters."),
])
def test_bad_input_is_refused_with_a_message_and_changes_nothing(app, client, changes, message):
    response = client.post("/signup", data=_form(**changes))
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert _count(app, Company) == 0 and _count(app, User) == 0 and _count(app, PlatformAuditEvent) == 0


def test_an_existing_account_must_sign_in_first(app, client, make_user):
    make_user("老用户", phone="13800138000")
    response = client.post("/signup", data=_form())
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "An account with this mobile number or e-mail already exists. Sign in with it first" in body
    assert "/login?next=/signup" in body
    assert _count(app, Company) == 0


def test_a_signed_in_user_starts_another_company_as_its_admin(app, two_companies, login_as):
    a, _ = two_companies
    client = login_as(a.admin)
    page = client.get("/signup").get_data(as_text=True)
    assert 'name="password"' not in page and a.admin.name in page
    response = client.post("/signup", data={"company_name": "新物业", "slug": "xin-wuye"})
    assert response.status_code == 303 and response.headers["Location"] == "/c/xin-wuye/onboarding"
    assert client.get("/c/xin-wuye/onboarding").status_code == 200
    company = _company(app, "xin-wuye")
    with app.app_context(), company_context(company.id):
        [membership] = db.session.execute(select(Membership)).scalars().all()
        assert membership.user_id == a.admin.id and membership.role == Role.ADMIN
    assert client.get(f"/c/{a.company.slug}/").status_code == 200  # still in the first company too


def test_signup_is_rate_limited_per_address(app, client):
    for _ in range(10):
        assert client.post("/signup", data=_form(password="x")).status_code == 422
    assert client.post("/signup", data=_form()).status_code == 429
    assert _count(app, Company) == 0
    assert client.get("/signup").status_code == 200  # reading the form is not limited


def test_signup_needs_a_csrf_token(db_urls):
    from tests.conftest import make_test_app

    app = make_test_app(db_urls, WTF_CSRF_ENABLED=True)
    response = app.test_client().post("/signup", data=_form())
    assert response.status_code == 400
    assert _count(app, Company) == 0


# --- landing and pricing --------------------------------------------------------------------------


def test_landing_page_for_visitors_and_home_for_signed_in_users(client, two_companies, login_as):
    response = client.get("/")
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Run your property company from your phone" in body
    assert 'href="/signup"' in body and 'href="/pricing"' in body and 'href="/login"' in body
    assert "Start a 30-day free trial" in body and "¥399" in body
    signed_in = login_as(two_companies[0].admin)
    assert signed_in.get("/").headers["Location"].endswith("/home")


def test_pricing_lists_every_plan_by_household_count(client):
    from saas.subscriptions.plans import PLANS

    body = client.get("/pricing").get_data(as_text=True)
    for plan in PLANS:
        assert str(plan.name) in body
        assert f"Up to {plan.max_households:,} households" in body
    assert "¥399" in body and "¥999" in body and "¥2,999" in body
    assert "read-only" in body and 'href="/signup"' in body


def test_login_page_links_to_the_free_trial(client):
    assert 'href="/signup"' in client.get("/login").get_data(as_text=True)


# --- the CLI --------------------------------------------------------------------------------------


def test_cli_create_company_starts_a_trial_like_signup(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["create-company", "--slug", "hongshan", "--name", "红山", "--admin-phone",
                                 "13700002222", "--admin-name", "王", "--admin-password", "a-long-password"])
    assert result.exit_code == 0, result.output
    assert "/c/hongshan/" in result.output
    company = _company(app, "hongshan")
    assert company.subscription_status == SubscriptionStatus.TRIALING and company.trial_days_left() == 30
    with app.app_context():
        assert db.session.execute(select(PlatformAuditEvent)).scalar_one().details["source"] == "cli"


def test_cli_create_company_attaches_an_existing_account_and_refuses_bad_slugs(app, make_user):
    user = make_user("老王", phone="13700003333")
    runner = app.test_cli_runner()
    base = ["--name", "红山", "--admin-phone", "13700003333", "--admin-name", "王", "--admin-password", "x"]
    assert runner.invoke(args=["create-company", "--slug", "admin", *base]).exit_code != 0
    assert runner.invoke(args=["create-company", "--slug", "Bad Slug", *base]).exit_code != 0
    result = runner.invoke(args=["create-company", "--slug", "hongshan", *base])
    assert result.exit_code == 0, result.output
    company = _company(app, "hongshan")
    with app.app_context(), company_context(company.id):
        assert db.session.execute(select(Membership.user_id)).scalar_one() == user.id
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User)) == 1


def test_long_names_get_unique_slugs_within_63_characters(app, make_company):
    from saas.signup.slugs import MAX_LENGTH, available_slug, slug_problem

    base = slug_from_name("红" * 40)
    make_company(base, "一")
    with app.app_context():
        second = available_slug(base)
        assert second.endswith("-2") and len(second) <= MAX_LENGTH and slug_problem(second) is None
    make_company(second, "二")
    with app.app_context():
        assert available_slug(base).endswith("-3")
        assert available_slug("admin") == "admin-2"  # a reserved word gets a free variant
        assert available_slug("Bad Slug") == ""


_text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.fixed_dictionaries({
    "company_name": _text, "slug": st.one_of(_text, st.from_regex(r"[a-z0-9-]{0,70}", fullmatch=True)),
    "slug_suggested": _text, "admin_name": _text,
    "login": st.one_of(_text, st.just("13912345678"), st.just("a@b.cn")), "password": _text,
}))
def test_random_signup_input_never_500s_and_only_valid_input_creates(app, client, monkeypatch, data):
    monkeypatch.setitem(app.config, "SIGNUP_RATE_LIMIT", "1000 per minute")
    before = _count(app, Company)
    response = client.post("/signup", data=data)
    assert response.status_code in (303, 422), response.status_code
    assert _count(app, Company) == before + (1 if response.status_code == 303 else 0)
    slug_page = client.get("/signup/slug", query_string={k: data[k] for k in ("company_name", "slug",
                                                                              "slug_suggested")}, headers=HX)
    query = "".join(data[k] for k in ("company_name", "slug", "slug_suggested"))
    # A NUL in a query string is refused before any view runs (saas/security.py: PostgreSQL cannot store it).
    assert slug_page.status_code in (200, 429) or ("\x00" in query and slug_page.status_code == 400)
    client.post("/logout")
