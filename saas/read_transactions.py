"""Keep psycopg's prepared statements across requests: a request's transaction that only read ends with COMMIT,
not ROLLBACK, and each connection prepares statements early and keeps enough of them.

psycopg prepares a statement on the server once it has run a few times on a connection (``prepare_threshold``);
PostgreSQL then stops planning it on every run (after five runs it settles on a generic plan where that is no
worse). But psycopg forgets every prepared statement on a ROLLBACK (a rolled-back transaction may have dropped what
they refer to), and every request ended with one: the session is closed at teardown, which rolls back. So nothing
was ever prepared, and each page paid the planner for every statement, every time: 0.05 to 1.3 ms a statement on
the busy pages, as much as running it or more.

A transaction in which only SELECT statements ran ends the same way whether it is committed or rolled back (its
row-level-security settings are transaction-local either way), so at the end of a request that succeeded, with
nothing pending in the session and no other statement sent in the open transaction, it is committed. Anything else
(an error, an INSERT, UPDATE, DELETE or anything not starting with SELECT, an object changed but not flushed) is
rolled back as before.
"""

from __future__ import annotations

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

_WROTE = "guanjia_wrote"  # connection.info: a statement other than SELECT ran in the open transaction

# psycopg's defaults are to prepare a statement on its sixth run and keep 100 per connection, least recently used
# first out. The pages together run a few hundred different statements, and a worker serves them all on its one
# connection: with 100 kept, a statement was mostly forgotten before its next run, so few were ever prepared (and
# PostgreSQL keeps planning a prepared one for its first five runs before it settles on a generic plan). A generic
# plan is only chosen where PostgreSQL estimates it no worse than planning each time (plan_cache_mode auto).
PREPARE_THRESHOLD = 2
PREPARED_MAX = 500


def install(app: Flask, engine: Engine) -> None:
    """Call after ``db.init_app(app)``: Flask runs app-context teardowns last registered first, so this one sees
    the session before Flask-SQLAlchemy's teardown closes it."""

    @event.listens_for(engine, "before_cursor_execute")
    def _note_write(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip()[:6].upper() != "SELECT":
            conn.info[_WROTE] = True

    @event.listens_for(engine, "connect")
    def _keep_prepared(dbapi_connection, connection_record):
        if hasattr(dbapi_connection, "prepared_max"):  # psycopg 3
            dbapi_connection.prepare_threshold = PREPARE_THRESHOLD
            dbapi_connection.prepared_max = PREPARED_MAX

    app.teardown_appcontext(end_session)


@event.listens_for(Session, "after_begin")
def _new_transaction(session, transaction, connection):
    connection.info[_WROTE] = False


def end_session(exc: BaseException | None = None) -> None:
    """End the request's session: its transaction committed if it only read and the request succeeded, rolled
    back otherwise; then closed (as Flask-SQLAlchemy's teardown would)."""
    from saas.extensions import db

    if not db.session.registry.has():
        return
    session = db.session()
    if exc is None and session.in_transaction() and not (session.new or session.dirty or session.deleted):
        connection = session.connection()
        if connection.info.get(_WROTE) is False:  # only SELECTs since the transaction began
            # Not expired: the objects stay readable after the session closes, as after a rollback (a test or a
            # command may read what it loaded once its app context is gone). The session is closed next anyway.
            expire, session.expire_on_commit = session.expire_on_commit, False
            try:
                session.commit()
            finally:
                session.expire_on_commit = expire
    session.close()
