"""Test setup.

Default: SQLite in a temporary folder, jobs inline, nothing to install. With TEST_DATABASE_URL (a
PostgreSQL URL for a role that may create roles and schemas) the same suite runs on PostgreSQL, the app
connecting as a separate non-owner role so row-level security applies; with REDIS_URL the job and queue
tests use real Redis. Under CI both must be set: missing services fail the run instead of skipping.
"""

from __future__ import annotations

import os
import re
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url

from saas.config import normalise_db_url

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")
REDIS_URL = os.environ.get("REDIS_URL", "")
APP_ROLE = "guanjia_app_test"
ON_POSTGRES = TEST_DATABASE_URL.startswith("postgres")

requires_postgres = pytest.mark.skipif(not ON_POSTGRES, reason="needs TEST_DATABASE_URL (PostgreSQL)")
requires_redis = pytest.mark.skipif(not REDIS_URL, reason="needs REDIS_URL")


def pytest_configure(config):
    sqlite_pass = os.environ.get("GUANJIA_CI_SQLITE_PASS")  # .ci/run's second, deliberate SQLite pass
    if os.environ.get("CI") and not sqlite_pass and not (ON_POSTGRES and REDIS_URL):
        raise pytest.UsageError("CI must set TEST_DATABASE_URL (PostgreSQL) and REDIS_URL; refusing to skip")
    # --- the test world: which builders of tests/world/ the two_companies fixture runs (tests/world/__init__.py)
    config.addinivalue_line("markers", "world(*builders): the tests/world/ builders two_companies runs for this "
                                       "test ('all' for every one; no names for the base world only)")


# --- the database ---------------------------------------------------------------------------------


def _postgres_urls(worker: str) -> tuple[str, str]:
    """(owner URL, app-role URL) for a database of this test worker, created fresh."""
    base = make_url(normalise_db_url(TEST_DATABASE_URL))
    name = f"{base.database}_{worker}" if worker != "master" else base.database
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
        if not conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": APP_ROLE}).first():
            conn.execute(text(f"CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS"))
    admin.dispose()
    owner = base.set(database=name)
    app_url = owner.set(username=APP_ROLE, password=None)
    return owner.render_as_string(hide_password=False), app_url.render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def db_urls(tmp_path_factory, worker_id) -> dict:
    if ON_POSTGRES:
        owner, app_url = _postgres_urls(worker_id)
        return {"owner": owner, "app": app_url}
    path = tmp_path_factory.mktemp("db") / "test.sqlite3"
    return {"owner": f"sqlite:///{path}", "app": f"sqlite:///{path}"}


@pytest.fixture(scope="session")
def worker_id(request) -> str:
    return getattr(request.config, "workerinput", {}).get("workerid", "master")


def make_test_app(db_urls: dict, **overrides):
    from saas import create_app

    return create_app(app_config(db_urls, **overrides))


def app_config(db_urls: dict, **overrides) -> dict:
    config = {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": db_urls["app"],
        "MIGRATION_DATABASE_URL": db_urls["owner"],
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_STORAGE_URI": "memory://",
        "REDIS_URL": "",
        "SERVER_NAME": None,
        "LOGIN_RATE_LIMIT": "1000 per minute",
        "BABEL_DEFAULT_LOCALE": "en",  # assertions read English; tests/test_i18n.py checks Chinese
    }
    config.update(overrides)
    return config


@pytest.fixture(scope="session")
def app(db_urls):
    app = make_test_app(db_urls)
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        if ON_POSTGRES:
            from saas.cli import grant_app_role

            owner = create_engine(db_urls["owner"])
            with owner.begin() as conn:
                grant_app_role(conn, APP_ROLE)
            owner.dispose()
    return app


@pytest.fixture(scope="session")
def owner_engine(app, db_urls):
    engine = create_engine(db_urls["owner"])
    yield engine
    engine.dispose()


@pytest.fixture(autouse=True)
def _clean_database(request, app, owner_engine):
    """Every test starts with empty tables (tests commit through real requests, so no rollback trick)."""
    yield
    from saas.extensions import db, limiter

    with app.app_context():
        db.session.remove()
        tables = [t.name for t in reversed(db.metadata.sorted_tables)]
    with owner_engine.begin() as conn:
        if ON_POSTGRES:
            conn.execute(text("TRUNCATE " + ", ".join(tables) + " CASCADE"))
        else:
            for table in tables:
                conn.execute(text(f"DELETE FROM {table}"))
    limiter.reset()
    from saas.public_cache import pages

    pages.clear()  # the tables were emptied behind the session's back


@pytest.fixture
def ctx(app):
    """An app context for tests that call services directly."""
    with app.app_context():
        yield
        from saas.extensions import db

        db.session.remove()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def make_client(app):
    return app.test_client


# --- counting queries -----------------------------------------------------------------------------


class QueryCounter:
    def __init__(self):
        self.statements: list[str] = []

    @property
    def count(self) -> int:
        return len(self.statements)


@pytest.fixture
def count_queries(app):
    from saas.extensions import db

    @contextmanager
    def counting():
        counter = QueryCounter()

        def before(conn, cursor, statement, parameters, context, executemany):
            if not re.match(r"\s*SELECT set_config", statement):
                counter.statements.append(statement)

        with app.app_context():
            engine = db.engine
        event.listen(engine, "before_cursor_execute", before)
        try:
            yield counter
        finally:
            event.remove(engine, "before_cursor_execute", before)

    return counting


from tests.factories import *  # noqa: E402,F401,F403  (fixtures)

# --- roster-side shortcuts (company A, its signed-in admin, a private upload folder) -------------------------


@pytest.fixture
def a(two_companies):
    """Company A of ``two_companies``."""
    return two_companies[0]


@pytest.fixture
def admin(a, login_as):
    """A client signed in as company A's admin."""
    return login_as(a.admin)


@pytest.fixture
def uploads(app, tmp_path, monkeypatch):
    """Uploaded and exported files go to this test's own folder (``pytestmark = usefixtures("uploads")``)."""
    folder = tmp_path / "uploads"
    monkeypatch.setitem(app.config, "UPLOAD_FOLDER", str(folder))
    return folder
