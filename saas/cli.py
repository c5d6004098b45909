"""Command-line tasks of the platform: `flask --app wsgi <command>`. The company modules' own commands
(seed-demo, check-work-order-slas) are in tenants/cli.py."""

from __future__ import annotations

import click
from flask import Flask, current_app
from sqlalchemy import create_engine, select, text

from saas.extensions import db
from saas.models import User
from saas.validators import normalise_mobile, password_problem


def register_cli(app: Flask) -> None:
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
        if (problem := password_problem(password)) is not None:
            raise click.UsageError(str(problem))
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
    @click.option("--slug", required=True, help="Web address: /c/<slug>/ (lowercase letters, digits, hyphens)")
    @click.option("--name", required=True)
    @click.option("--admin-phone", default=None, help="Mainland mobile number of the first admin")
    @click.option("--admin-email", default=None, help="E-mail of the first admin (instead of a phone)")
    @click.option("--admin-name", required=True)
    @click.password_option("--admin-password", help="Used when the admin has no account yet")
    def create_company(slug, name, admin_phone, admin_email, admin_name, admin_password):
        """Create a company on a free trial with its first admin (customers use the signup page instead).
        An existing account with that phone or e-mail becomes the admin and keeps its password."""
        from saas.signup.services import SignupError, create_company_with_admin

        if not admin_phone and not admin_email:
            raise click.UsageError("give --admin-phone or --admin-email")
        phone = normalise_mobile(admin_phone) if admin_phone else None
        if admin_phone and not phone:
            raise click.UsageError("--admin-phone must be a mainland mobile number")
        email = None
        if admin_email and not phone:
            from email_validator import EmailNotValidError, validate_email

            try:
                email = validate_email(admin_email.strip(), check_deliverability=False).normalized
            except EmailNotValidError as exc:
                raise click.UsageError(f"--admin-email: {exc}") from None
        try:
            result = create_company_with_admin(
                name=name, slug=slug, admin_name=admin_name, phone=phone, email=email, password=admin_password,
                attach_existing_account=True, source="cli",
            )
        except SignupError as exc:
            raise click.UsageError(f"{exc.field or 'error'}: {exc.message}") from None
        company = result.company
        click.echo(f"Company {company.name} at /c/{company.slug}/ (trial until {company.trial_ends_at:%Y-%m-%d}, "
                   f"admin {result.user.login_name}{', new account' if result.new_user else ''})")

    @app.cli.command("send-trial-reminders")
    def send_trial_reminders_command():
        """Send the trial reminders that are due (7, 3 and 1 days before the end). Idempotent: run it daily."""
        from saas.trial import send_trial_reminders

        run = send_trial_reminders()
        click.echo(f"Trial reminders: {run.messages} messages to the admins of {run.companies} companies.")

    @app.cli.command("compute-ratings")
    @click.option("--company", "slug", default=None, help="Only this company (its slug); default: every company")
    def compute_ratings_command(slug):
        """The red/black list: figures, scores, lists and the weekly ranking. Idempotent: run it nightly."""
        from saas.models import Company
        from saas.ratings import job

        if slug:
            company = db.session.execute(select(Company).where(Company.slug == slug)).scalar_one_or_none()
            if company is None:
                raise click.UsageError(f"no company {slug}")
            profile = job.run_company(company)
            click.echo(f"Ratings: {company.name} {profile.grade} {profile.score} ({profile.sample_size} ratings).")
            return
        result = job.run_all()
        click.echo("Ratings: {companies} companies, {failed} failed, {ranked} ranked, {expired} entries expired."
                   .format(**result))

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
