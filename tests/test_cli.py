"""Command-line tasks: platform admin, company creation, demo seed, the PostgreSQL app role."""

from __future__ import annotations

from sqlalchemy import select, text

from saas.extensions import db
from saas.models import Company, User
from tests.conftest import ON_POSTGRES, requires_postgres


def test_create_platform_admin_then_sign_in_to_admin(app, two_companies):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["create-platform-admin", "--phone", "13700001111", "--name", "平台",
                                 "--password", "a-long-password"])
    assert result.exit_code == 0, result.output
    client = app.test_client()
    assert client.post("/login", data={"login": "13700001111", "password": "a-long-password"}).status_code == 303
    body = client.get("/admin/").get_data(as_text=True)
    assert two_companies[0].company.name in body and two_companies[1].company.name in body


def test_create_platform_admin_refuses_bad_input(app):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["create-platform-admin", "--phone", "123", "--name", "x",
                               "--password", "a-long-password"]).exit_code != 0
    assert runner.invoke(args=["create-platform-admin", "--phone", "13700001111", "--name", "x",
                               "--password", "short"]).exit_code != 0
    with app.app_context():
        assert db.session.execute(select(User)).first() is None


def test_create_company_and_seed_demo_are_idempotent(app):
    runner = app.test_cli_runner()
    args = ["create-company", "--slug", "hongshan", "--name", "红山", "--admin-phone", "13700002222",
            "--admin-name", "王", "--admin-password", "a-long-password"]
    assert runner.invoke(args=args).exit_code == 0
    assert runner.invoke(args=args).exit_code != 0  # slug taken
    assert "Demo data loaded" in runner.invoke(args=["seed-demo"]).output
    assert "already present" in runner.invoke(args=["seed-demo"]).output
    with app.app_context():
        assert {c.slug for c in db.session.execute(select(Company)).scalars()} == {
            "hongshan", "hongshan-wuye", "tianshan-wuye"}
    client = app.test_client()
    client.post("/login", data={"login": "13800000001", "password": "guanjia-demo"})
    assert "红山小区" in client.get("/c/hongshan-wuye/communities").get_data(as_text=True)


@requires_postgres
def test_create_app_role_makes_a_restricted_role(app, owner_engine):
    result = app.test_cli_runner().invoke(args=["create-app-role", "guanjia_app_cli_test", "--password", "pw'1"])
    assert result.exit_code == 0, result.output
    with owner_engine.connect() as conn:
        row = conn.execute(text("SELECT rolsuper, rolbypassrls, rolcanlogin FROM pg_roles "
                                "WHERE rolname = 'guanjia_app_cli_test'")).one()
        assert row == (False, False, True)
        can_delete = conn.execute(text("SELECT has_table_privilege('guanjia_app_cli_test', 'households', 'DELETE')")).scalar()
        can_update = conn.execute(text("SELECT has_table_privilege('guanjia_app_cli_test', 'households', 'UPDATE')")).scalar()
    assert ON_POSTGRES and not can_delete and can_update
