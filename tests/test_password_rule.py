"""One password rule (saas.validators: at least 10 characters) for every way a password is set, with one
message, in Chinese by default."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from saas.extensions import db
from saas.models import User
from saas.validators import MIN_PASSWORD, password_problem
from tests.conftest import make_test_app
from tests.factories import invitation_messages, login

NINE, TEN = "nine-char", "ten-chars!"
ZH_MESSAGE = "请设置至少 10 位的密码。"


def test_the_rule_is_ten_characters_and_128_at_most():
    assert MIN_PASSWORD == 10 and len(NINE) == 9 and len(TEN) == 10
    assert password_problem(NINE) is not None and password_problem("") is not None
    assert password_problem(None) is not None
    assert password_problem(TEN) is None and password_problem("x" * 128) is None
    assert password_problem("x" * 129) is not None


@pytest.fixture
def zh_app(db_urls):
    return make_test_app(db_urls, BABEL_DEFAULT_LOCALE="zh_CN")


def _user_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(User))


def _invitation_token(app, world) -> str:
    admin = login(app.test_client(), world.admin)
    assert admin.post(f"/c/{world.company.slug}/members/invitations",
                      data={"name": "孙师傅", "role": "steward", "phone": "13611112222"}).status_code == 303
    return re.search(r"/invite/([A-Za-z0-9_-]+)", invitation_messages(app, world)[0].body).group(1)


def _household_code(app, world) -> str:
    """Give a household of ``world`` a code (the roster factory leaves them without one) and return it."""
    from saas.tenancy import company_context
    from tenants.roster.codes import generate_household_code
    from tenants.roster.models import Household

    with app.app_context(), company_context(world.company.id):
        household = db.session.execute(
            select(Household).where(Household.id == world.roster["households"][1])).scalar_one()
        household.household_code = code = generate_household_code()
        db.session.commit()
        return code


def test_every_form_that_sets_a_password_refuses_nine_characters_with_the_same_chinese_message(
        zh_app, two_companies):
    a, _ = two_companies
    before = _user_count(zh_app)
    signup = zh_app.test_client().post("/signup", data={
        "company_name": "红山物业", "slug": "hongshan", "admin_name": "王经理", "login": "13700001234",
        "password": NINE})
    token = _invitation_token(zh_app, a)
    invitation = zh_app.test_client().post(f"/invite/{token}", data={"name": "孙", "password": NINE,
                                                                      "confirm": NINE})
    join = zh_app.test_client().post(f"/join/{a.company.slug}", data={
        "phone": "13700005678", "password": NINE, "code": _household_code(zh_app, a)})
    change = login(zh_app.test_client(), a.steward).post("/account/password", data={
        "current_password": "correct-horse-9", "new_password": NINE, "confirm": NINE})
    for name, response in (("signup", signup), ("invitation", invitation), ("join", join),
                           ("change", change)):
        assert response.status_code == 422, name
        assert ZH_MESSAGE in response.get_data(as_text=True), name
    assert _user_count(zh_app) == before


def test_ten_characters_are_enough_everywhere(app, two_companies):
    a, _ = two_companies
    assert app.test_client().post("/signup", data={
        "company_name": "红山物业", "slug": "hongshan", "admin_name": "王经理", "login": "13700001234",
        "password": TEN}).status_code == 303
    token = _invitation_token(app, a)
    assert app.test_client().post(f"/invite/{token}", data={"name": "孙", "password": TEN,
                                                             "confirm": TEN}).status_code == 303
    assert app.test_client().post(f"/join/{a.company.slug}", data={
        "phone": "13700005678", "password": TEN, "code": _household_code(app, a)}).status_code == 303


def test_the_forms_describe_the_rule(zh_app, two_companies):
    a, _ = two_companies
    assert "至少 10 位" in zh_app.test_client().get("/signup").get_data(as_text=True)
    assert "至少 10 位" in zh_app.test_client().get(f"/invite/{_invitation_token(zh_app, a)}").get_data(as_text=True)
    assert "至少 10 位" in zh_app.test_client().get(f"/join/{a.company.slug}").get_data(as_text=True)


def test_the_cli_applies_the_same_rule(app):
    runner = app.test_cli_runner()
    short = runner.invoke(args=["create-platform-admin", "--phone", "13700001111", "--name", "x",
                                "--password", NINE])
    assert short.exit_code != 0 and "10" in short.output
    assert runner.invoke(args=["create-platform-admin", "--phone", "13700001111", "--name", "x",
                               "--password", TEN]).exit_code == 0
    company = runner.invoke(args=["create-company", "--slug", "hongshan", "--name", "红山", "--admin-phone",
                                  "13700002222", "--admin-name", "王", "--admin-password", NINE])
    assert company.exit_code != 0 and "10" in company.output
