"""PostgreSQL row-level security, checked with raw SQL as the app's own role (the second lock)."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import ProgrammingError

from saas.tenancy import CompanyScoped
from tests.conftest import APP_ROLE, ON_POSTGRES

pytestmark = pytest.mark.skipif(not ON_POSTGRES, reason="needs TEST_DATABASE_URL (PostgreSQL)")


@pytest.fixture
def app_engine(db_urls):
    engine = create_engine(db_urls["app"])
    yield engine
    engine.dispose()


def _set(conn, company_id):
    conn.execute(text("SELECT set_config('app.company_id', :c, true)"), {"c": str(company_id) if company_id else ""})


def test_app_role_is_neither_superuser_nor_owner_nor_bypassing(app_engine, owner_engine):
    with app_engine.connect() as conn:
        user, superuser, bypass = conn.execute(text(
            "SELECT current_user, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")).one()
    assert user == APP_ROLE and not superuser and not bypass
    with owner_engine.connect() as conn:
        owners = set(conn.execute(text("SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'")).scalars())
    assert APP_ROLE not in owners


def test_every_company_table_has_forced_rls_and_a_policy(app, owner_engine):
    from saas.extensions import db

    scoped = {m.local_table.name for m in db.Model.registry.mappers if issubclass(m.class_, CompanyScoped)}
    # And the tables keyed by company without an id of their own (pre-aggregated figures: company_id leads the key).
    scoped |= {t.name for t in db.metadata.sorted_tables if "company_id" in t.primary_key.columns}
    with owner_engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class WHERE relname = ANY(:t)"),
            {"t": list(scoped)}).all()
        policies = set(conn.execute(text("SELECT tablename FROM pg_policies WHERE policyname = 'company_isolation'")).scalars())
    assert {r.relname for r in rows} == scoped
    assert all(r.relrowsecurity and r.relforcerowsecurity for r in rows)
    assert policies == scoped


def test_no_company_set_means_no_rows(app_engine, two_companies):
    with app_engine.begin() as conn:
        _set(conn, None)
        for table in ("households", "communities", "buildings", "memberships", "audit_events"):
            assert conn.execute(text(f"SELECT count(*) FROM {table}")).scalar() == 0, table


def test_company_set_means_only_that_companys_rows(app_engine, two_companies):
    a, b = two_companies
    with app_engine.begin() as conn:
        _set(conn, a.company.id)
        ids = set(conn.execute(text("SELECT id FROM households")).scalars())
        companies = set(conn.execute(text("SELECT DISTINCT company_id FROM households")).scalars())
    assert ids == set(a.roster["households"]) and companies == {a.company.id}
    with app_engine.begin() as conn:
        _set(conn, b.company.id)
        assert set(conn.execute(text("SELECT id FROM households")).scalars()) == set(b.roster["households"])
        # An UPDATE aimed at A's row touches nothing.
        updated = conn.execute(text("UPDATE households SET owner_name = 'x' WHERE id = :id"),
                               {"id": a.roster["households"][0]}).rowcount
    assert updated == 0


def test_inserting_another_companys_row_is_refused(app_engine, two_companies):
    a, b = two_companies
    with pytest.raises(ProgrammingError, match="row-level security"):
        with app_engine.begin() as conn:
            _set(conn, a.company.id)
            conn.execute(text(
                "INSERT INTO communities (company_id, id, name, address, created_at) "
                "VALUES (:c, :id, 'x', '', now())"), {"c": b.company.id, "id": uuid.uuid4()})


def test_moving_a_row_to_another_company_is_refused(app_engine, two_companies):
    a, b = two_companies
    with pytest.raises(ProgrammingError, match="row-level security"):
        with app_engine.begin() as conn:
            _set(conn, a.company.id)
            conn.execute(text("UPDATE communities SET company_id = :b WHERE id = :id"),
                         {"b": b.company.id, "id": a.roster["communities"][0]})


def test_app_role_cannot_hard_delete(app_engine, two_companies):
    a, _ = two_companies
    with pytest.raises(ProgrammingError, match="permission denied"):
        with app_engine.begin() as conn:
            _set(conn, a.company.id)
            conn.execute(text("DELETE FROM households"))


def test_a_transaction_after_a_companys_one_starts_with_no_company(app_engine, two_companies):
    """Why no setting is sent when a transaction begins without a company: the settings are transaction-local, so a
    pooled connection that served company A shows nothing in its next transaction."""
    a, _ = two_companies
    with app_engine.connect() as conn:
        with conn.begin():
            _set(conn, a.company.id)
            assert conn.execute(text("SELECT count(*) FROM households")).scalar() > 0
        with conn.begin():
            assert conn.execute(text("SELECT current_setting('app.company_id', true)")).scalar() in ("", None)
            assert conn.execute(text("SELECT count(*) FROM households")).scalar() == 0


def test_a_company_request_sets_its_company_in_the_statement_that_finds_it(app, two_companies, login_as):
    """The URL's company becomes the row-level-security setting inside the statement that looks the company up:
    no separate set_config round trip at the start or the end of the request. (Without the setting the membership
    lookup finds nothing and the page is a 404.)"""
    from sqlalchemy import event

    from saas.extensions import db

    a, b = two_companies
    sent: list[str] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        sent.append(" ".join(statement.split()))

    with app.app_context():
        engine = db.engine
    client = login_as(a.admin)
    event.listen(engine, "before_cursor_execute", before)
    try:
        response = client.get(f"/c/{a.company.slug}/households")
    finally:
        event.remove(engine, "before_cursor_execute", before)
    assert response.status_code == 200
    assert not [s for s in sent if s.startswith("SELECT set_config")], sent
    assert [s for s in sent if "FROM companies" in s and "set_config" in s]
