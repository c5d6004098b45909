"""Check a pooled database connection before use only when it has sat idle: a connection is tested with a round trip
(``SELECT 1``) when it is taken from the pool after more than IDLE_PING_SECONDS unused, not on every checkout.

Why not SQLAlchemy's ``pool_pre_ping``: it pings on every checkout, one extra round trip per request. For a page
answered from the public page cache that is a quarter of its database work (the ping, BEGIN, one statement,
ROLLBACK), and it is paid on every request of a busy worker whose connection was in use a few milliseconds ago.
What the ping protects against (the server restarted, a firewall dropped an idle connection) shows first on
connections that have been idle; a connection in steady use is tested by its own statements. If the server goes
away between two busy requests, the next statement fails with a disconnect error, and SQLAlchemy then invalidates
every connection of the pool older than that moment, so the worker's following request connects afresh (one
request fails, as it would have while the server was restarting anyway).

A dead connection found by the ping raises ``DisconnectionError``, on which the pool discards it and checks out
another (SQLAlchemy tries a second connection), so the request never sees it.
"""

from __future__ import annotations

import time

from sqlalchemy import event, exc

IDLE_PING_SECONDS = 10.0
_LAST_USED = "guanjia_last_used"  # connection_record.info key: monotonic time of the last checkin


def install(engine, idle_seconds: float = IDLE_PING_SECONDS) -> None:
    """Ping connections idle longer than idle_seconds on checkout (idle_seconds=0: every checkout)."""

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_connection, connection_record, connection_proxy):
        last_used = connection_record.info.get(_LAST_USED)
        if last_used is not None and time.monotonic() - last_used <= idle_seconds:
            return
        try:
            cursor = dbapi_connection.cursor()  # psycopg raises here already on a closed connection
            try:
                cursor.execute("SELECT 1")
                cursor.fetchall()
            finally:
                cursor.close()
            if engine.dialect.name == "postgresql":
                # psycopg opened a transaction for the SELECT (autocommit is off): end it, or the request's first
                # statement would run in this transaction, started before the request (stale timestamps, snapshot).
                dbapi_connection.rollback()
        except engine.dialect.loaded_dbapi.Error as error:
            # The pool invalidates this connection and checks out another one.
            raise exc.DisconnectionError(f"idle connection failed its check: {error}") from error

    @event.listens_for(engine, "connect")
    def _new(dbapi_connection, connection_record):
        connection_record.info[_LAST_USED] = time.monotonic()  # just connected: nothing to check

    @event.listens_for(engine, "checkin")
    def _remember_use(dbapi_connection, connection_record):
        connection_record.info[_LAST_USED] = time.monotonic()
