"""One clean migration history: upgrade → downgrade → upgrade works, and the models match it (no drift)."""

from __future__ import annotations

from contextlib import contextmanager

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


@contextmanager
def _scratch_postgres(suffix: str):
    """A PostgreSQL database of its own for one test (made afresh, dropped after): yields its URL."""
    base = make_url(normalise_db_url(TEST_DATABASE_URL))
    name = f"{base.database}_{suffix}"
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.mark.skipif(not ON_POSTGRES, reason="needs TEST_DATABASE_URL (PostgreSQL)")
def test_postgres_upgrade_downgrade_upgrade_and_no_drift():
    with _scratch_postgres("migrations") as url:
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


# --- 0018_payment_community: the payments' community backfilled, their day figures counted again ------------------


def _payment_community_backfill(url: str) -> None:
    """At 0017 a payment's figures follow its household's current building: a refund after the household moved
    to another community leaves a row of the old community and a negative one of the new. 0018 gives the payment
    its household's (current) community and counts fee_payment_days again, exactly; its downgrade counts them the
    old way, and the upgrade after it again."""
    import uuid
    from datetime import UTC, date, datetime

    import sqlalchemy as sa

    app = make_test_app({"owner": url, "app": url})
    runner = app.test_cli_runner()
    assert runner.invoke(args=["db", "upgrade", "0017_roster"]).exit_code == 0

    def table(name, *columns):
        return sa.table(name, sa.column("company_id", sa.Uuid()), sa.column("id", sa.Uuid()),
                        sa.column("created_at", sa.DateTime(timezone=True)), *columns)

    now = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
    company, old, new, b_old, b_new, home, paid = (uuid.uuid4() for _ in range(7))
    engine = create_engine(url)
    postgres = engine.dialect.name == "postgresql"

    def all_companies(conn):
        if postgres:  # the owner is subject to the policies too (FORCE)
            conn.execute(text("SELECT set_config('app.all_companies', 'on', true)"))

    with engine.begin() as conn:
        all_companies(conn)
        conn.execute(sa.table("companies", sa.column("id", sa.Uuid()), sa.column("slug"), sa.column("name"),
                              sa.column("created_at", sa.DateTime(timezone=True))).insert(),
                     {"id": company, "slug": "mig-0018", "name": "迁移物业", "created_at": now})
        communities = table("communities", sa.column("name"), sa.column("address"))
        conn.execute(communities.insert(), [{"company_id": company, "id": c, "created_at": now, "name": n,
                                             "address": "测试路"} for c, n in ((old, "旧小区"), (new, "新小区"))])
        buildings = table("buildings", sa.column("community_id", sa.Uuid()), sa.column("name"))
        conn.execute(buildings.insert(), [{"company_id": company, "id": b, "created_at": now, "community_id": c,
                                           "name": "1号楼"} for b, c in ((b_old, old), (b_new, new))])
        households = table("households", sa.column("building_id", sa.Uuid()), sa.column("unit"), sa.column("room"),
                           sa.column("floor_area_dm2"), sa.column("occupancy"), sa.column("owner_name"),
                           sa.column("owner_phone"))
        conn.execute(households.insert(), {"company_id": company, "id": home, "created_at": now, "building_id": b_old,
                                           "unit": "1", "room": "0101", "floor_area_dm2": 8850,
                                           "occupancy": "occupied", "owner_name": "业主", "owner_phone": ""})
        payments = table("payments", sa.column("household_id", sa.Uuid()), sa.column("method"),
                         sa.column("status"), sa.column("amount_fen"), sa.column("refunded_fen"),
                         sa.column("reference"), sa.column("note"), sa.column("receipt_number"),
                         sa.column("paid_at", sa.DateTime(timezone=True)))
        conn.execute(payments.insert(), {"company_id": company, "id": paid, "created_at": now, "household_id": home,
                                         "method": "cash", "status": "paid", "amount_fen": 15000, "refunded_fen": 0,
                                         "reference": "", "note": "", "receipt_number": "SJ-2026-000001",
                                         "paid_at": now})
        # The household moves, then the payment is partly refunded: the 0016 triggers get it wrong.
        conn.execute(sa.update(households).where(households.c.id == home).values(building_id=b_new))
        conn.execute(sa.update(payments).where(payments.c.id == paid)
                     .values(status="partly_refunded", refunded_fen=4000))

    def days():
        with engine.begin() as conn:
            all_companies(conn)
            rows = conn.execute(text("SELECT day, community_id, method, status, payments, amount_fen, refunded_fen "
                                     "FROM fee_payment_days")).all()
        return {(str(d), uuid.UUID(str(c)), m, s): (n, a, r) for d, c, m, s, n, a, r in rows if (n, a, r) != (0, 0, 0)}

    exact = {(str(date(2026, 12, 1)), new, "cash", "partly_refunded"): (1, 15000, 4000)}
    assert days() != exact  # what 0016's triggers kept
    try:
        assert runner.invoke(args=["db", "upgrade"]).exit_code == 0
        with engine.begin() as conn:
            all_companies(conn)
            assert uuid.UUID(str(conn.execute(text("SELECT community_id FROM payments")).scalar_one())) == new
        assert days() == exact
        assert runner.invoke(args=["db", "downgrade", "0017_roster"]).exit_code == 0
        assert days() == exact
        assert runner.invoke(args=["db", "upgrade"]).exit_code == 0
        assert days() == exact
    finally:
        engine.dispose()


def test_0018_gives_payments_their_community_and_counts_their_days_again_on_sqlite(tmp_path):
    _payment_community_backfill(f"sqlite:///{tmp_path / 'payments.sqlite3'}")


@pytest.mark.skipif(not ON_POSTGRES, reason="needs TEST_DATABASE_URL (PostgreSQL)")
def test_0018_gives_payments_their_community_and_counts_their_days_again_on_postgres():
    with _scratch_postgres("migrations_0018") as url:
        _payment_community_backfill(url)


# --- 0020_wo_all_communities: the dashboard's weekly rows added up over every community ---------------------------


def _all_communities_backfill(url: str) -> None:
    """0020 adds one row per company, week, kind and key with community_key ALL: the sums of that key's rows in
    every community (and in none), revisions included; its downgrade removes them, and the upgrade after it adds
    them again."""
    import uuid
    from datetime import UTC, date, datetime

    import sqlalchemy as sa

    from tenants.work_orders.figures import ALL, COUNTS, NIL

    app = make_test_app({"owner": url, "app": url})
    runner = app.test_cli_runner()
    assert runner.invoke(args=["db", "upgrade", "0019_rating_reviews"]).exit_code == 0
    now = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
    company, category, east, west = (uuid.uuid4() for _ in range(4))
    monday = date(2026, 11, 30)
    weeks = sa.table("work_order_weeks", *(sa.column(c, sa.Uuid()) for c in ("company_id", "id", "key_id",
                                                                             "community_key")),
                     sa.column("week", sa.Date()), sa.column("kind"), sa.column("created_at", sa.DateTime(timezone=True)),
                     *(sa.column(c, sa.Integer()) for c in (*COUNTS, "revision")))
    engine = create_engine(url)
    postgres = engine.dialect.name == "postgresql"

    def all_companies(conn):
        if postgres:  # the owner is subject to the policies too (FORCE)
            conn.execute(text("SELECT set_config('app.all_companies', 'on', true)"))

    def row(community, opened, revision, week=monday):
        return {"company_id": company, "id": uuid.uuid4(), "created_at": now, "week": week, "kind": "c",
                "key_id": category, "community_key": community, "revision": revision,
                **{name: 0 for name in COUNTS}, "opened": opened, "rating_sum_overall": 4 * opened}

    with engine.begin() as conn:
        all_companies(conn)
        conn.execute(sa.table("companies", sa.column("id", sa.Uuid()), sa.column("slug"), sa.column("name"),
                              sa.column("created_at", sa.DateTime(timezone=True))).insert(),
                     {"id": company, "slug": "mig-0020", "name": "迁移物业", "created_at": now})
        conn.execute(weeks.insert(), [row(east, 2, 3), row(west, 5, 4), row(NIL, 1, 1),
                                      row(east, 7, 2, week=date(2026, 11, 23))])

    def all_rows():
        with engine.begin() as conn:
            all_companies(conn)
            rows = conn.execute(sa.select(weeks.c.week, weeks.c.opened, weeks.c.rating_sum_overall,
                                          weeks.c.revision).where(weeks.c.community_key == ALL)).all()
        return sorted((str(week), opened, stars, revision) for week, opened, stars, revision in rows)

    exact = [("2026-11-23", 7, 28, 2), ("2026-11-30", 8, 32, 8)]
    try:
        assert runner.invoke(args=["db", "upgrade", "0020_wo_all_communities"]).exit_code == 0
        assert all_rows() == exact
        assert runner.invoke(args=["db", "downgrade", "0019_rating_reviews"]).exit_code == 0
        assert all_rows() == []
        assert runner.invoke(args=["db", "upgrade"]).exit_code == 0
        assert all_rows() == exact
    finally:
        engine.dispose()


def test_0020_adds_up_the_weekly_rows_over_every_community_on_sqlite(tmp_path):
    _all_communities_backfill(f"sqlite:///{tmp_path / 'weeks.sqlite3'}")


@pytest.mark.skipif(not ON_POSTGRES, reason="needs TEST_DATABASE_URL (PostgreSQL)")
def test_0020_adds_up_the_weekly_rows_over_every_community_on_postgres():
    with _scratch_postgres("migrations_0020") as url:
        _all_communities_backfill(url)
