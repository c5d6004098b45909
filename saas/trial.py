"""Trial reminders: 7, 3 and 1 days before a free trial ends, a message to each of the company's admins.

Run daily (``flask --app wsgi send-trial-reminders`` from cron, or the RQ cron registration in saas/jobs.py).
Idempotent: each (company, threshold) is sent once, recorded in TrialReminder, so running it twice, or
twice at once, sends nothing more. A run that was missed catches up with one message, for the most urgent
threshold that is due, never a burst of stale ones. A trial extended by the platform admin gets its
reminders again for the new end date.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import format_date
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from werkzeug.routing import BuildError

from saas.audit import record
from saas.clock import aware
from saas.extensions import db
from saas.models import Company, Membership, Role, SubscriptionStatus, TrialReminder
from saas.notifications.models import Channel, OutboxMessage
from saas.notifications.services import deliver_after_commit, queue_message
from saas.tenancy import company_context, utcnow

log = logging.getLogger(__name__)

THRESHOLDS = (7, 3, 1)  # days before the trial ends


@dataclass
class ReminderRun:
    companies: int = 0
    messages: int = 0


def due_threshold(trial_ends_at: datetime, now: datetime) -> int | None:
    """The most urgent threshold the trial has reached (7, 3 or 1 days left), or None (too early, or ended)."""
    left = aware(trial_ends_at) - now
    if left <= timedelta(0):
        return None
    reached = [d for d in THRESHOLDS if left <= timedelta(days=d)]
    return min(reached) if reached else None


def send_trial_reminders(now: datetime | None = None) -> ReminderRun:
    """Job: queue the reminders that are due for every company on a trial. Safe to run any number of times."""
    now = now or utcnow()
    horizon = now + timedelta(days=max(THRESHOLDS))
    # The global companies table: listing trialing companies needs no company context.
    company_ids = db.session.execute(
        select(Company.id).where(
            Company.subscription_status == SubscriptionStatus.TRIALING,
            Company.suspended_at.is_(None),
            Company.trial_ends_at.is_not(None),
            Company.trial_ends_at > now,
            Company.trial_ends_at <= horizon,
        ).order_by(Company.trial_ends_at)
    ).scalars().all()
    db.session.rollback()
    run = ReminderRun()
    for company_id in company_ids:
        try:
            sent = _remind(company_id, now)
        except Exception:  # one company's failure must not stop the others' reminders
            db.session.rollback()
            log.exception("trial reminder failed for company %s", company_id)
            continue
        if sent:
            run.companies += 1
            run.messages += sent
    return run


def _remind(company_id: uuid.UUID, now: datetime) -> int:
    # Locks the company row on PostgreSQL, so two runs at once remind each company once.
    company = db.session.execute(
        select(Company).where(Company.id == company_id).with_for_update()
    ).scalar_one_or_none()
    if company is None or company.subscription_status != SubscriptionStatus.TRIALING or company.trial_ends_at is None:
        db.session.rollback()
        return 0
    ends_at = aware(company.trial_ends_at)
    days = due_threshold(ends_at, now)
    if days is None:
        db.session.rollback()
        return 0
    reminders = db.session.execute(
        select(TrialReminder).where(TrialReminder.company_id == company.id)).scalars().all()
    current = [r for r in reminders if aware(r.trial_ends_at) == ends_at]
    # Sent already for this threshold or a more urgent one: nothing to do.
    if any(r.days_before <= days for r in current):
        db.session.rollback()
        return 0
    row = next((r for r in reminders if r.days_before == days), None)
    if row is None:
        row = TrialReminder(company_id=company.id, days_before=days, trial_ends_at=ends_at, sent_at=now)
        db.session.add(row)
    else:  # a reminder for an earlier trial end (before an extension): reuse its row for this one
        row.trial_ends_at, row.sent_at = ends_at, now
    try:
        db.session.flush()
    except IntegrityError:  # another run inserted it first
        db.session.rollback()
        return 0
    messages: list[OutboxMessage] = []
    with company_context(company.id):
        admins = db.session.execute(
            select(Membership).where(Membership.role == Role.ADMIN, Membership.ended_at.is_(None))
        ).scalars().all()
        for membership in admins:
            user = membership.user
            if not user.is_active_account:
                continue
            if user.phone:
                messages.append(queue_message(channel=Channel.SMS, recipient=user.phone, kind="trial_reminder",
                                              body=_sms_text(company, days, ends_at), related_id=row.id))
            if user.email:
                messages.append(queue_message(channel=Channel.EMAIL, recipient=user.email, kind="trial_reminder",
                                              subject=_subject(company, days),
                                              body=_email_text(company, user.name, days, ends_at),
                                              related_id=row.id))
        record("trial.reminder", actor=None, object_type="company", object_id=company.id,
               object_label=company.name,
               changes={"days_before": days, "trial_ends_at": ends_at, "messages": len(messages)})
        db.session.flush()
    db.session.commit()
    with company_context(company.id):  # reloading the committed messages needs their company (row-level security)
        deliver_after_commit(messages)
    return len(messages)


def _days_text(days: int) -> str:
    return _("in 1 day") if days == 1 else _("in %(n)s days", n=days)


def _subject(company: Company, days: int) -> str:
    return _("%(company)s: your Guanjia free trial ends %(when)s", company=company.name, when=_days_text(days))


def _sms_text(company: Company, days: int, ends_at: datetime) -> str:
    return _("[Guanjia] %(company)s: your free trial ends %(when)s (%(date)s). After that the company becomes "
             "read-only; nothing is deleted. Choose a plan: %(url)s",
             company=company.name, when=_days_text(days), date=format_date(ends_at, "medium"),
             url=upgrade_link(company))


def _email_text(company: Company, name: str, days: int, ends_at: datetime) -> str:
    return _("Hello %(name)s,\n\n"
             "the free trial of %(company)s on Guanjia ends %(when)s, on %(date)s.\n\n"
             "After that the company becomes read-only: everyone can still sign in, read and export everything, "
             "and nothing is deleted, but nothing can be changed until you choose a plan.\n\n"
             "Choose a plan here: %(url)s\n",
             name=name, company=company.name, when=_days_text(days), date=format_date(ends_at, "long"),
             url=upgrade_link(company))


def upgrade_link(company: Company) -> str:
    """The company's plan page as an absolute link for messages (the overview until it exists)."""
    base = urlsplit(current_app.config.get("PUBLIC_BASE_URL") or "http://127.0.0.1:5000")
    adapter = current_app.url_map.bind(base.netloc, script_name=base.path or "/", url_scheme=base.scheme or "https")
    for endpoint in ("company.plan.index", "company.dashboard.index"):
        try:
            return adapter.build(endpoint, {"company_slug": company.slug}, force_external=True)
        except BuildError:
            continue
    return f"{base.scheme}://{base.netloc}/c/{company.slug}/"
