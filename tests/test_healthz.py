from __future__ import annotations

from sqlalchemy.exc import OperationalError

from tests.conftest import REDIS_URL, make_test_app, requires_redis


def test_healthz_reports_database_and_inline_queue(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    data = response.get_json()
    assert data["status"] == "ok"
    assert data["database"]["status"] == "ok"
    assert data["queue"] == {"status": "ok", "mode": "inline"}


def test_healthz_is_503_when_the_database_fails(app, client, monkeypatch):
    from saas.extensions import db

    def broken(*args, **kwargs):
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    monkeypatch.setattr(db.session, "execute", broken)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["database"]["status"] == "error"


def test_healthz_is_503_when_redis_is_unreachable(db_urls):
    app = make_test_app(db_urls, REDIS_URL="redis://127.0.0.1:1/0")
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["queue"]["status"] == "error"


@requires_redis
def test_healthz_with_real_redis(db_urls):
    app = make_test_app(db_urls, REDIS_URL=REDIS_URL)
    response = app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.get_json()["queue"] == {"status": "ok", "mode": "rq"}
