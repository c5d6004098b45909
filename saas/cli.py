"""Command-line tasks: `flask --app wsgi <command>`."""

from __future__ import annotations

import click
from flask import Flask, current_app
from sqlalchemy import create_engine, select, text

from saas.extensions import db
from saas.models import Company, User
from saas.validators import normalise_mobile


def register_cli(app: Flask) -> None:
    @app.cli.command("seed-demo")
    def seed_demo_command():
        """Load the demo companies, roster and logins (once)."""
        from saas.demo import DEMO_LOGINS, DEMO_PASSWORD, seed_demo

        created = seed_demo()
        click.echo("Demo data loaded." if created else "Demo data already present.")
        for phone, name, role, slug in DEMO_LOGINS:
            click.echo(f"  {phone} / {DEMO_PASSWORD}  {name}  {role.value if role else 'platform admin'}"
                       f"{'  /c/' + slug + '/' if slug else '  /admin/'}")

    @app.cli.command("create-platform-admin")
    @click.option("--phone", default=None, help="Mainland mobile number")
    @click.option("--email", default=None)
    @click.option("--name", required=True)
    @click.password_option()
    def create_platform_admin(phone, email, name, password):
        """Create a platform admin account (or promote an existing one)."""
        if not phone and not email:
            raise click.UsageError("give --phone or --email")
        if phone:
            phone = normalise_mobile(phone)
            if not phone:
                raise click.UsageError("--phone must be a mainland mobile number")
        if len(password) < 10:
            raise click.UsageError("the password needs at least 10 characters")
        stmt = select(User).where(User.phone == phone) if phone else select(User).where(User.email == email)
        user = db.session.execute(stmt).scalar_one_or_none()
        if user is None:
            user = User(name=name, phone=phone, email=email)
            db.session.add(user)
        user.set_password(password)
        user.is_platform_admin = True
        db.session.commit()
        click.echo(f"Platform admin ready: {user.login_name}")

    @app.cli.command("create-company")
    @click.option("--slug", required=True)
    @click.option("--name", required=True)
    @click.option("--admin-phone", required=True)
    @click.option("--admin-name", required=True)
    @click.password_option("--admin-password")
    def create_company(slug, name, admin_phone, admin_name, admin_password):
        """Create a company with its first admin (self-serve signup replaces this for customers)."""
        from saas.models import Membership, Role
        from saas.tenancy import company_context

        phone = normalise_mobile(admin_phone)
        if not phone:
            raise click.UsageError("--admin-phone must be a mainland mobile number")
        if db.session.execute(select(Company).where(Company.slug == slug)).scalar_one_or_none():
            raise click.UsageError(f"a company with slug {slug!r} exists")
        company = Company(slug=slug, name=name)
        db.session.add(company)
        user = db.session.execute(select(User).where(User.phone == phone)).scalar_one_or_none()
        if user is None:
            user = User(name=admin_name, phone=phone)
            user.set_password(admin_password)
            db.session.add(user)
        db.session.flush()
        with company_context(company.id):
            db.session.add(Membership(user_id=user.id, role=Role.ADMIN))
            db.session.commit()
        click.echo(f"Company {name} at /c/{slug}/")

    @app.cli.command("create-app-role")
    @click.argument("role")
    @click.option("--password", default=None, help="LOGIN password for the role")
    def create_app_role(role, password):
        """PostgreSQL: create the app's runtime role (not superuser, not owner, no BYPASSRLS) and grant it
        SELECT/INSERT/UPDATE only: the app never hard-deletes business records."""
        url = current_app.config["MIGRATION_DATABASE_URL"]
        engine = create_engine(url)
        if engine.dialect.name != "postgresql":
            raise click.UsageError("create-app-role is for PostgreSQL")
        ident = engine.dialect.identifier_preparer.quote(role)
        with engine.begin() as conn:
            exists = conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).first()
            if not exists:
                conn.execute(text(f"CREATE ROLE {ident} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE"))
            conn.execute(text(f"ALTER ROLE {ident} NOSUPERUSER NOBYPASSRLS"))
            if password:
                literal = "'" + password.replace("'", "''") + "'"  # DDL takes no bind parameters
                conn.execute(text(f"ALTER ROLE {ident} PASSWORD {literal}"))
            grant_app_role(conn, ident)
        click.echo(f"Role {role} ready.")


def grant_app_role(conn, quoted_role: str) -> None:
    conn.execute(text(f"GRANT USAGE ON SCHEMA public TO {quoted_role}"))
    conn.execute(text(f"GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA public TO {quoted_role}"))
    if conn.execute(text("SELECT to_regclass('public.alembic_version')")).scalar():
        conn.execute(text(f"REVOKE ALL ON alembic_version FROM {quoted_role}"))
    conn.execute(text(f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE ON TABLES "
                      f"TO {quoted_role}"))
