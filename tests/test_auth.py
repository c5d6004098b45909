"""Sign-in, lockout, rate limits, CSRF, cookies, headers, and the production secret-key guard."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from saas.models import AuditEvent, Role
from tests.conftest import make_test_app
from tests.factories import PASSWORD


def _audit_actions(app, company_id):
    from saas.extensions import db
    from saas.tenancy import company_context

    with app.app_context(), company_context(company_id):
        actions = [e.action for e in db.session.execute(select(AuditEvent).order_by(AuditEvent.created_at)).scalars()]
        db.session.remove()
    return actions


def test_passwords_are_hashed_with_scrypt(ctx):
    from saas.models import User

    user = User(name="x", phone="13700000000")
    user.set_password("secret-123")
    assert user.password_hash.startswith("scrypt:")
    assert user.check_password("secret-123") and not user.check_password("secret-124")


def test_login_with_phone_lands_in_the_company_and_is_audited(app, two_companies, client):
    a, _ = two_companies
    response = client.post("/login", data={"login": a.admin.phone, "password": PASSWORD})
    assert response.status_code == 303
    response = client.get("/home")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/c/{a.company.slug}/")
    assert "auth.login" in _audit_actions(app, a.company.id)


def test_wrong_password_gives_a_clear_message_and_no_session(app, two_companies, client):
    a, _ = two_companies
    response = client.post("/login", data={"login": a.admin.phone, "password": "wrong"})
    assert response.status_code == 422
    assert "Wrong mobile number" in response.get_data(as_text=True) or "密码错误" in response.get_data(as_text=True)
    assert client.get("/home").status_code == 302
    assert "auth.login_failed" in _audit_actions(app, a.company.id)


def test_unknown_account_gets_the_same_message(app, two_companies, client):
    response = client.post("/login", data={"login": "13999999999", "password": "whatever"})
    assert response.status_code == 422


def test_account_locks_after_repeated_failures(app, two_companies, client):
    a, _ = two_companies
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        client.post("/login", data={"login": a.admin.phone, "password": "wrong"})
    # Even the right password is refused while locked.
    response = client.post("/login", data={"login": a.admin.phone, "password": PASSWORD})
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "locked" in body or "锁定" in body
    actions = _audit_actions(app, a.company.id)
    assert "auth.locked" in actions and "auth.login_refused_locked" in actions


def test_lock_expires(app, two_companies, client):
    from datetime import timedelta

    from saas.extensions import db
    from saas.models import User
    from saas.tenancy import utcnow

    a, _ = two_companies
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        client.post("/login", data={"login": a.admin.phone, "password": "wrong"})
    with app.app_context():
        user = db.session.execute(select(User).where(User.id == a.admin.id)).scalar_one()
        user.locked_until = utcnow() - timedelta(seconds=1)
        db.session.commit()
    assert client.post("/login", data={"login": a.admin.phone, "password": PASSWORD}).status_code == 303


def test_login_is_rate_limited_per_address(db_urls, two_companies):
    app = make_test_app(db_urls, LOGIN_RATE_LIMIT="3 per minute")
    client = app.test_client()
    codes = [client.post("/login", data={"login": "13999999999", "password": "x"}).status_code for _ in range(4)]
    assert codes[:3] == [422, 422, 422] and codes[3] == 429


def test_next_parameter_cannot_redirect_off_site(app, two_companies, client):
    a, _ = two_companies
    for target in ("https://evil.example/", "//evil.example/", "javascript:alert(1)"):
        response = client.post(f"/login?next={target}", data={"login": a.admin.phone, "password": PASSWORD})
        assert response.headers["Location"] == "/home", target
        client.post("/logout")


def test_next_parameter_returns_to_the_requested_page(app, two_companies, client):
    a, _ = two_companies
    response = client.get(f"/c/{a.company.slug}/households")
    assert response.status_code == 302
    login_url = response.headers["Location"]
    response = client.post(login_url, data={"login": a.admin.phone, "password": PASSWORD})
    assert response.headers["Location"] == f"/c/{a.company.slug}/households"


def test_logout_requires_post_and_ends_the_session(app, two_companies, login_as):
    a, _ = two_companies
    client = login_as(a.admin)
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 303
    assert client.get(f"/c/{a.company.slug}/").status_code == 302
    assert "auth.logout" in _audit_actions(app, a.company.id)


# --- CSRF -----------------------------------------------------------------------------------------


@pytest.fixture
def csrf_app(db_urls):
    return make_test_app(db_urls, WTF_CSRF_ENABLED=True)


def _csrf_token(client, path) -> str:
    body = client.get(path).get_data(as_text=True)
    return re.search(r'"X-CSRFToken": "([^"]+)"', body).group(1)


def test_login_without_csrf_token_is_refused(csrf_app, two_companies):
    a, _ = two_companies
    response = csrf_app.test_client().post("/login", data={"login": a.admin.phone, "password": PASSWORD})
    assert response.status_code == 400


def test_state_change_without_csrf_token_is_refused_and_changes_nothing(csrf_app, two_companies):
    a, _ = two_companies
    client = csrf_app.test_client()
    token = _csrf_token(client, "/login")
    assert client.post("/login", data={"login": a.admin.phone, "password": PASSWORD, "csrf_token": token}).status_code == 303
    hid = a.roster["households"][0]
    url = f"/c/{a.company.slug}/households/{hid}/delete"
    assert client.post(url).status_code == 400
    assert client.post(url, headers={"HX-Request": "true"}).status_code == 400
    assert client.post(url, headers={"HX-Request": "true", "X-CSRFToken": "forged"}).status_code == 400
    # Still there:
    assert client.get(f"/c/{a.company.slug}/households/{hid}").get_data(as_text=True).count("deleted on") == 0
    # The htmx header the page sets on <body> is accepted.
    token = _csrf_token(client, f"/c/{a.company.slug}/households")
    response = client.post(url, headers={"HX-Request": "true", "X-CSRFToken": token})
    assert response.status_code == 200


def test_csrf_failure_on_htmx_request_shows_a_message(csrf_app, two_companies):
    a, _ = two_companies
    client = csrf_app.test_client()
    token = _csrf_token(client, "/login")
    client.post("/login", data={"login": a.admin.phone, "password": PASSWORD, "csrf_token": token})
    response = client.post(f"/c/{a.company.slug}/households/{a.roster['households'][0]}/delete",
                           headers={"HX-Request": "true"})
    assert response.status_code == 400
    assert response.headers["HX-Retarget"] == "#flash"
    assert "alert" in response.get_data(as_text=True)


# --- cookies, headers, configuration --------------------------------------------------------------


def test_session_cookie_flags(db_urls, two_companies):
    a, _ = two_companies
    app = make_test_app(db_urls, SESSION_COOKIE_SECURE=True)
    client = app.test_client()
    response = client.post("/login", data={"login": a.admin.phone, "password": PASSWORD})
    cookie = response.headers.get("Set-Cookie")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie


def test_security_headers_and_csp_without_inline_script(client):
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    body = response.get_data(as_text=True)
    # Every <script> has a src (no inline JavaScript), and no inline event handlers.
    assert all("src=" in tag for tag in re.findall(r"<script[^>]*>", body))
    assert not re.search(r"\son[a-z]+=", body)


def test_production_refuses_the_default_secret_key(monkeypatch, tmp_path):
    from saas import InsecureConfiguration, create_app

    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("GUANJIA_ENV", "production")
    monkeypatch.setenv("GUANJIA_INSTANCE_PATH", str(tmp_path))
    with pytest.raises(InsecureConfiguration):
        create_app()
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    app = create_app()
    assert app.config["SESSION_COOKIE_SECURE"] is True


def test_owner_role_lands_on_portal(app, two_companies, login_as):
    a, _ = two_companies
    client = login_as(a.owner)
    response = client.get("/home")
    assert response.headers["Location"].endswith(f"/c/{a.company.slug}/my")
    assert Role.OWNER.value == "owner"


def test_behind_a_trusted_proxy_limits_count_per_client_address(db_urls, two_companies):
    app = make_test_app(db_urls, LOGIN_RATE_LIMIT="2 per minute", PROXY_FIX_HOPS=1)
    client = app.test_client()

    def attempt(addr):
        return client.post("/login", data={"login": "13999999999", "password": "x"},
                           headers={"X-Forwarded-For": addr}).status_code

    assert [attempt("1.1.1.1") for _ in range(3)] == [422, 422, 429]
    assert attempt("2.2.2.2") == 422  # another client behind the same proxy is not blocked
