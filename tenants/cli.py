"""Command-line tasks of the company modules (`flask --app wsgi <command>`); the app factory registers them
beside the platform's own (saas/cli.py), which imports no company module."""

from __future__ import annotations

import click
from flask import Flask


def register_cli(app: Flask) -> None:
    @app.cli.command("seed-demo")
    def seed_demo_command():
        """Load the demo companies, roster and logins (once)."""
        from tenants.demo import DEMO_LOGINS, DEMO_PASSWORD, seed_demo

        created = seed_demo()
        click.echo("Demo data loaded." if created else "Demo data already present.")
        for phone, name, role, slug in DEMO_LOGINS:
            click.echo(f"  {phone} / {DEMO_PASSWORD}  {name}  {role.value if role else 'platform admin'}"
                       f"{'  /c/' + slug + '/' if slug else '  /admin/'}")

    @app.cli.command("check-work-order-slas")
    def check_work_order_slas_command():
        """Warn before work-order deadlines, escalate breaches, close jobs done 7 days ago. Idempotent: every 5 min."""
        from tenants.work_orders.sla_jobs import check_all_companies, summary

        click.echo(summary(check_all_companies()))

    @app.cli.command("issue-late-fees")
    def issue_late_fees_command():
        """Issue late fees (违约金) under each company's contract clause, up to last month. Idempotent: daily."""
        from tenants.fees.late_fees import issue_all_companies, summary

        click.echo(summary(issue_all_companies()))

    @app.cli.command("send-fee-reminders")
    def send_fee_reminders_command():
        """Remind homes owing past due, in each company that switched automatic reminders on (fee settings);
        at most one per home per interval. Idempotent: daily."""
        from tenants.fees.collection import remind_all_companies, reminders_summary

        click.echo(reminders_summary(remind_all_companies()))

    @app.cli.command("remind-disclosures")
    def remind_disclosures_command():
        """Remind each company's admins of disclosure statements due within 14 days or overdue. Idempotent: daily."""
        from tenants.disclosures.jobs import remind_all_companies, summary

        click.echo(summary(remind_all_companies()))

    @app.cli.command("check-fee-payments")
    def check_fee_payments_command():
        """Query WeChat Pay about orders still open after N minutes: apply payments, close expired orders, settle
        pending refunds. Idempotent: every 5 min."""
        from tenants.fees.reconcile import check_all_companies, summary

        click.echo(summary(check_all_companies()))
