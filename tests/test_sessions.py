"""Signing out and changing the password end every copy of a session: the session cookie, the 365-day remember
cookie, and the same account signed in on other devices (users.session_generation)."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from saas.extensions import db
from saas.models import AuditEvent, User
from saas.tenancy import company_context
from tests.factories import PASSWORD

HX = {"HX-Request": "true"}
NEW_PASSWORD = "a-new-password-7"


def _sign_in(app, user, *, remember: bool = False, password: str = PASSWORD):
    client = app.test_client()
    data = {"login": user.phone, "password": password}
    if remember:
        data["remember"] = "y"
    assert client.post("/login", data=data).status_code == 303
    return client


def _cookie(client, name: str) -> str:
    cookie = client.get_cookie(name)
    assert cookie is not None, f"no {name} cookie"
    return cookie.value


def _device_with(app, **cookies):
    """A fresh browser holding only copies of the given cookies (what a thief or a shared phone keeps)."""
    client = app.test_client()
    for name, value in cookies.items():
        client.set_cookie(name, value)
    return client


def _signed_in(client, url: str = "/home") -> bool:
    response = client.get(url)
    assert response.status_code in (200, 302)
    return not (response.status_code == 302 and "/login" in response.headers["Location"])


def _change_password(client, *, current=PASSWORD, new=NEW_PASSWORD, repeat=None, headers=None):
    return client.post("/account/password", data={"current_password": current, "new_password": new,
                                                  "confirm": new if repeat is None else repeat},
                       headers=headers or {})


# --- sign-out -----------------------------------------------------------------------------------


def test_sign_out_deletes_the_remember_cookie(app, two_companies):
    a, _ = two_companies
    client = _sign_in(app, a.steward, remember=True)
    assert _cookie(client, "remember_token")
    response = client.post("/logout")
    assert response.status_code == 303
    deleted = [h for h in response.headers.getlist("Set-Cookie") if h.startswith("remember_token=")]
    assert deleted and ("Expires=Thu, 01 Jan 1970" in deleted[0] or "Max-Age=0" in deleted[0])
    assert client.get_cookie("remember_token") is None
    assert not _signed_in(client)


def test_a_remember_cookie_kept_from_before_sign_out_no_longer_signs_in(app, two_companies):
    a, _ = two_companies
    client = _sign_in(app, a.steward, remember=True)
    remember = _cookie(client, "remember_token")
    assert _signed_in(_device_with(app, remember_token=remember))  # the cookie works while signed in
    client.post("/logout")
    assert not _signed_in(_device_with(app, remember_token=remember))


def test_a_copied_session_cookie_stops_working_at_sign_out(app, two_companies):
    a, _ = two_companies
    client = _sign_in(app, a.admin)
    copied = _cookie(client, "session")
    assert _signed_in(_device_with(app, session=copied))
    client.post("/logout")
    assert not _signed_in(_device_with(app, session=copied))
    assert client.get(f"/c/{a.company.slug}/").status_code == 302


def test_sign_out_signs_the_account_out_on_every_device(app, two_companies):
    a, _ = two_companies
    phone, laptop = _sign_in(app, a.steward), _sign_in(app, a.steward, remember=True)
    phone.post("/logout")
    assert not _signed_in(laptop)
    again = _sign_in(app, a.steward)  # and signing in again works as before
    assert _signed_in(again)


def test_signing_out_keeps_the_chosen_language(app, two_companies):
    a, _ = two_companies
    client = _sign_in(app, a.admin)
    client.get("/lang/zh_CN")
    response = client.post("/logout", follow_redirects=True)
    body = response.get_data(as_text=True)
    assert "您已退出登录。" in body and 'lang="zh-CN"' in body


def test_signing_in_keeps_the_language_chosen_on_the_login_page(app, two_companies):
    a, _ = two_companies
    client = app.test_client()
    client.get("/lang/zh_CN")
    assert client.post("/login", data={"login": a.admin.phone, "password": PASSWORD}).status_code == 303
    page = client.get(f"/c/{a.company.slug}/")
    assert 'lang="zh-CN"' in page.get_data(as_text=True)


def test_a_deactivated_account_is_signed_out_everywhere_at_once(app, two_companies):
    a, _ = two_companies
    client = _sign_in(app, a.steward, remember=True)
    copy = _device_with(app, remember_token=_cookie(client, "remember_token"))
    assert _signed_in(client) and _signed_in(copy)
    assert _signed_in(client, f"/c/{a.company.slug}/steward") and _signed_in(copy, f"/c/{a.company.slug}/steward")
    with app.app_context():
        db.session.get(User, a.steward.id).is_active_account = False
        db.session.commit()
    assert not _signed_in(client) and not _signed_in(copy)
    # A company page loads the user with the membership (tenants._MembershipWithUser): the same checks hold there.
    assert not _signed_in(client, f"/c/{a.company.slug}/steward") and not _signed_in(copy, f"/c/{a.company.slug}/steward")


# --- password change revokes the other copies ---------------------------------------------------


def test_a_password_set_elsewhere_revokes_copied_session_and_remember_cookies(app, two_companies):
    """A password reset by any path (the CLI, a future reset link) goes through User.set_password."""
    a, _ = two_companies
    client = _sign_in(app, a.technician, remember=True)
    session, remember = _cookie(client, "session"), _cookie(client, "remember_token")
    with app.app_context():
        user = db.session.get(User, a.technician.id)
        user.set_password(NEW_PASSWORD)
        db.session.commit()
    assert not _signed_in(_device_with(app, session=session))
    assert not _signed_in(_device_with(app, remember_token=remember))
    assert not _signed_in(client)


def test_changing_the_password_keeps_this_device_and_ends_every_other_copy(app, two_companies):
    a, _ = two_companies
    client = _sign_in(app, a.steward, remember=True)
    other_device = _sign_in(app, a.steward)
    old_session, old_remember = _cookie(client, "session"), _cookie(client, "remember_token")

    response = _change_password(client)
    assert response.status_code == 303 and response.headers["Location"].endswith("/home")

    assert _signed_in(client)
    # This device's remember cookie was re-issued for the new generation, so it still works on its own.
    new_remember = _cookie(client, "remember_token")
    assert new_remember != old_remember and _signed_in(_device_with(app, remember_token=new_remember))
    assert not _signed_in(other_device)
    assert not _signed_in(_device_with(app, session=old_session))
    assert not _signed_in(_device_with(app, remember_token=old_remember))

    assert app.test_client().post("/login", data={"login": a.steward.phone, "password": PASSWORD}).status_code == 422
    assert _signed_in(_sign_in(app, a.steward, password=NEW_PASSWORD))


def test_changing_the_password_without_remember_me_sets_no_remember_cookie(app, two_companies):
    a, _ = two_companies
    client = _sign_in(app, a.steward)
    assert _change_password(client).status_code == 303
    assert client.get_cookie("remember_token") is None and _signed_in(client)


def test_password_change_is_audited_in_the_users_companies(app, two_companies):
    a, b = two_companies
    client = _sign_in(app, a.admin)
    _change_password(client)
    with app.app_context(), company_context(a.company.id):
        events = db.session.execute(select(AuditEvent).where(AuditEvent.action == "auth.password_change")).scalars()
        [event] = list(events)
        assert event.actor_id == a.admin.id and event.object_id == a.admin.id
        assert "new-password" not in str(event.changes) and PASSWORD not in str(event.changes)
    with app.app_context(), company_context(b.company.id):
        assert not db.session.execute(
            select(AuditEvent).where(AuditEvent.action == "auth.password_change")).scalars().all()


def test_htmx_password_change_redirects_the_whole_page(app, two_companies):
    a, _ = two_companies
    client = _sign_in(app, a.owner)
    response = _change_password(client, headers=HX)
    assert response.status_code == 200 and response.headers["HX-Redirect"].endswith("/home")
    assert _signed_in(client)


@pytest.mark.parametrize("data, message", [
    ({"current": "not-my-password"}, "not your current password"),
    ({"new": "short-9ch"}, "at least 10 characters"),
    ({"repeat": "something-else-1"}, "not the same"),
    ({"new": PASSWORD}, "different from your current"),
    ({"current": ""}, "Enter your current password"),
])
def test_bad_password_changes_are_refused_with_a_message_and_change_nothing(app, two_companies, data, message):
    a, _ = two_companies
    client = _sign_in(app, a.steward)
    other_device = _sign_in(app, a.steward)
    response = _change_password(client, **data, headers=HX)
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert message in body and "<nav" not in body  # htmx gets the form alone, not a second page
    assert _signed_in(client) and _signed_in(other_device)
    with app.app_context():
        assert db.session.get(User, a.steward.id).check_password(PASSWORD)


def test_wrong_current_passwords_count_towards_the_lockout(app, two_companies):
    a, _ = two_companies
    client = _sign_in(app, a.steward)
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        assert _change_password(client, current="guess-guess").status_code == 422
    response = _change_password(client)  # even the right password, while locked
    assert response.status_code == 422 and "locked" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(User, a.steward.id).check_password(PASSWORD)


def test_the_password_page_needs_a_signed_in_user_and_is_in_the_menu(app, two_companies):
    a, _ = two_companies
    response = app.test_client().get("/account/password")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    client = _sign_in(app, a.admin)
    page = client.get("/account/password")
    assert page.status_code == 200
    assert 'autocomplete="current-password"' in page.get_data(as_text=True)
    dashboard = client.get(f"/c/{a.company.slug}/").get_data(as_text=True)
    assert 'href="/account/password"' in dashboard


def test_the_password_page_is_in_chinese(app, two_companies):
    a, _ = two_companies
    client = _sign_in(app, a.admin)
    client.get("/lang/zh_CN")
    body = _change_password(client, new="short-9ch", headers=HX).get_data(as_text=True)
    assert "请设置至少 10 位的密码" in body
    assert "修改密码" in client.get("/account/password").get_data(as_text=True)


# --- the user loader refuses stale and malformed ids without a 500 ------------------------------


@pytest.mark.parametrize("stored", [
    "not-a-uuid", "", ".", "..", "12345", "{id}", "{id}.", "{id}.x", "{id}.1", "{id}.-0", "{id}. 0", "{id}.0.0",
    "x.0", "{id}.00", "{id}." + "9" * 400,
])
def test_a_session_with_a_stale_or_malformed_user_id_is_signed_out_not_a_500(app, two_companies, stored):
    a, _ = two_companies
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = stored.format(id=a.admin.id)
        session["_fresh"] = True
    assert not _signed_in(client)
    assert client.get(f"/c/{a.company.slug}/").status_code == 302


def test_the_session_carries_the_user_id_and_its_generation(app, two_companies):
    a, _ = two_companies
    client = _sign_in(app, a.admin)
    with client.session_transaction() as session:
        user_id, generation = session["_user_id"].split(".")
    assert uuid.UUID(user_id) == a.admin.id and generation == "0"
