"""A request's transaction that only read ends with COMMIT, so psycopg keeps its prepared statements (a ROLLBACK
makes it forget them all); anything that wrote, failed or left changes in the session is rolled back as before
(saas.read_transactions)."""

from __future__ import annotations

import pytest
from sqlalchemy import event, select, text

from saas.extensions import db
from saas.read_transactions import end_session
from saas.tenancy import company_context
from tenants.roster.models import Community
from tests.conftest import requires_postgres


@pytest.fixture
def endings(app):
    """The engine's transaction endings, in order: "commit" or "rollback"."""
    seen: list[str] = []
    with app.app_context():
        engine = db.engine
    on_commit, on_rollback = (lambda conn: seen.append("commit")), (lambda conn: seen.append("rollback"))
    event.listen(engine, "commit", on_commit)
    event.listen(engine, "rollback", on_rollback)
    yield seen
    event.remove(engine, "commit", on_commit)
    event.remove(engine, "rollback", on_rollback)


def test_a_page_that_only_reads_commits(admin, a, endings):
    assert admin.get(f"/c/{a.company.slug}/households").status_code == 200
    assert endings == ["commit"]


def _names(company_id) -> set[str]:
    with company_context(company_id):
        names = set(db.session.execute(select(Community.name)).scalars())
    db.session.rollback()
    return names


def test_what_a_context_read_stays_readable_after_it_ends(app, a, endings):
    with app.app_context(), company_context(a.company.id):
        community = db.session.execute(select(Community)).scalars().first()
    assert endings == ["commit"]
    assert community.name  # not expired by the commit: no load attempted on a closed session


def test_a_write_not_committed_is_rolled_back(app, a, endings):
    with app.test_request_context("/"):
        with company_context(a.company.id):
            db.session.add(Community(name="写了没提交"))
            db.session.flush()  # an INSERT sent, never committed
            end_session(None)
        assert "写了没提交" not in _names(a.company.id)
    assert endings[0] == "rollback"


def test_a_change_left_in_the_session_is_not_committed(app, a, endings):
    with app.test_request_context("/"):
        with company_context(a.company.id):
            db.session.execute(select(Community.id)).all()  # a transaction that has only read...
            db.session.add(Community(name="未刷新"))  # ...and an object added but not flushed
            end_session(None)
        assert "未刷新" not in _names(a.company.id)
    assert endings[0] == "rollback"


def test_a_failed_request_is_rolled_back_even_if_it_only_read(app, a, endings):
    with app.test_request_context("/"):
        with company_context(a.company.id):
            db.session.execute(select(Community.id)).all()
            end_session(RuntimeError("the view failed"))
    assert endings == ["rollback"]


@requires_postgres
def test_statements_of_a_page_seen_often_are_prepared_on_the_server(admin, a, app):
    for _ in range(7):  # psycopg prepares a statement on its sixth run on a connection (prepare_threshold 5)
        assert admin.get(f"/c/{a.company.slug}/households").status_code == 200
    with app.app_context():  # requests one after another: the pool hands back the one connection they used
        prepared = db.session.execute(text("SELECT count(*) FROM pg_prepared_statements")).scalar()
        db.session.rollback()
    assert prepared >= 3
