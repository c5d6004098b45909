"""One clean migration history: upgrade → downgrade → upgrade works, and the models match it (no drift)."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from saas.config import normalise_db_url
from tests.conftest import ON_POSTGRES, TEST_DATABASE_URL, make_test_app


def _round_trip(urls: dict):
    app = make_test_app(urls)
    runner = app.test_cli_runner()
    for args in (["db", "upgrade"], ["db", "downgrade", "base"], ["db", "upgrade"]):
        result = runner.invoke(args=args)
        assert result.exit_code == 0, (args, result.output, result.exception)
    check = runner.invoke(args=["db", "check"])
    assert check.exit_code == 0, check.output
    return app


def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_sqlite_upgrade_downgrade_upgrade_and_no_drift(tmp_path):
    url = f"sqlite:///{tmp_path / 'migrations.sqlite3'}"
    app = _round_trip({"owner": url, "app": url})
    assert {"companies", "users", "memberships", "households", "audit_events"} <= _tables(url)
    result = app.test_cli_runner().invoke(args=["db", "downgrade", "base"])
    assert result.exit_code == 0
    assert _tables(url) <= {"alembic_version"}


@pytest.mark.skipif(not ON_POSTGRES, reason="needs TEST_DATABASE_URL (PostgreSQL)")
def test_postgres_upgrade_downgrade_upgrade_and_no_drift():
    base = make_url(normalise_db_url(TEST_DATABASE_URL))
    name = f"{base.database}_migrations"
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = base.set(database=name).render_as_string(hide_password=False)
    try:
        app = _round_trip({"owner": url, "app": url})
        engine = create_engine(url)
        with engine.connect() as conn:
            policies = conn.execute(text("SELECT count(*) FROM pg_policies WHERE policyname = 'company_isolation'")).scalar()
        from saas.extensions import db

        # Every company table (company_id leads its primary key) has its policy, and nothing else has one.
        company_tables = [t for t in db.metadata.sorted_tables if "company_id" in t.primary_key.columns]
        assert policies == len(company_tables) >= 40
        app.test_cli_runner().invoke(args=["db", "downgrade", "base"])
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM pg_policies")).scalar() == 0
        engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
