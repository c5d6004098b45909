"""saas/connection_checks.py: a pooled connection is checked before use only after sitting idle, and a dead one found
then is replaced without the caller noticing; a connection in steady use is not checked (one round trip less per
request). PostgreSQL only: SQLite has no server to lose."""

import time

import pytest
from sqlalchemy import create_engine, exc, text

from tests.conftest import requires_postgres

pytestmark = requires_postgres


def _engine(db_urls, idle_seconds):
    from saas import connection_checks

    engine = create_engine(db_urls["owner"], pool_size=1, max_overflow=0, pool_pre_ping=False)
    connection_checks.install(engine, idle_seconds)
    return engine


def _backend_pid(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT pg_backend_pid()")).scalar_one()


def _terminate(db_urls, pid: int) -> None:
    killer = create_engine(db_urls["owner"], isolation_level="AUTOCOMMIT")
    with killer.connect() as conn:
        conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    killer.dispose()
    time.sleep(0.2)  # the backend exits


def test_an_idle_connection_that_died_is_replaced_before_use(db_urls):
    engine = _engine(db_urls, idle_seconds=0.05)
    try:
        pid = _backend_pid(engine)
        _terminate(db_urls, pid)
        time.sleep(0.1)  # idle longer than the threshold: the next checkout pings, finds it dead, reconnects
        assert _backend_pid(engine) != pid
    finally:
        engine.dispose()


def test_a_connection_in_steady_use_is_not_pinged(db_urls):
    engine = _engine(db_urls, idle_seconds=3600)
    try:
        pid = _backend_pid(engine)
        _terminate(db_urls, pid)
        # Not idle: no ping, so the statement itself meets the dead connection (what pre_ping would have hidden).
        with pytest.raises(exc.DBAPIError) as raised, engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        assert raised.value.connection_invalidated
        assert _backend_pid(engine) != pid  # and the pool connects afresh for the next request
    finally:
        engine.dispose()


def test_the_ping_leaves_no_transaction_open(db_urls):
    """The check's SELECT must not leave a transaction that the request's statements would then run in."""
    engine = _engine(db_urls, idle_seconds=0)
    try:
        _backend_pid(engine)
        with engine.connect() as conn:
            time.sleep(0.05)  # nothing sent: the transaction, if any, would be the ping's
            # now() is when the transaction began: just before this statement, unless the ping's transaction went on.
            late = conn.execute(text("SELECT extract(epoch FROM statement_timestamp() - now())")).scalar_one()
        assert late < 0.04
    finally:
        engine.dispose()


def test_the_app_checks_idle_connections_and_not_every_checkout(app):
    from saas.extensions import db

    assert app.config["SQLALCHEMY_ENGINE_OPTIONS"].get("pool_pre_ping") is False
    with app.app_context():
        listeners = [getattr(fn, "__name__", "") for fn in db.engine.pool.dispatch.checkout]
    assert "_ping_if_idle" in listeners
