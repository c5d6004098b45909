"""The periodic SLA job: warn before a deadline, escalate at a breach, close jobs left done for REOPEN_DAYS.

Run every few minutes (``flask --app wsgi check-work-order-slas`` from cron, or ``rq cron`` through
saas.jobs.PERIODIC_JOBS). Each step is recorded on the job itself (response_warned_at, …, closed_at) and
re-checked under the job's row lock before anything is written, so running the job twice, or two runs
overlapping, warns and escalates each deadline once. Each job is committed on its own: a run that dies half-way
leaves finished jobs finished, and the next run picks up the rest.

The warning goes out when the deadline is at most ``warn_minutes`` away on the wall clock, which is the same
"time left" the staff see on the job's badge. With business hours that means a job reported after closing and due
at 09:00 is warned at 08:30, not the evening before. A deadline that passes before any run saw it inside the
window (the scheduler was down, or the window is shorter than the run interval) is escalated without a warning.

A paused job (waiting for the owner) is neither warned nor escalated; resuming pushes its deadlines back, and the
next run measures against the new ones. The response clock stops when the job is accepted, the resolution clock
when it is done.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Literal

from flask import current_app
from flask_babel import force_locale, gettext
from sqlalchemy import select

from saas.clock import SHANGHAI
from saas.extensions import db
from saas.models import Company
from saas.notifications.services import deliver_after_commit
from saas.tenancy import company_context, utcnow
from tenants.work_orders import notify, services
from tenants.work_orders.models import EventKind, WorkOrder
from tenants.work_orders.states import OPEN, REOPEN_DAYS, Action, Status

log = logging.getLogger(__name__)

# Jobs handled per company, kind and run: bounds one run's work; the next run carries on where this one stopped.
BATCH = 500

Which = Literal["response", "resolution"]
WHICH: tuple[Which, ...] = ("response", "resolution")
COUNTS = ("response_warned", "response_breached", "resolution_warned", "resolution_breached", "closed", "failed")


# --- what is due ------------------------------------------------------------------------------------------


def _due_column(which: Which):
    return WorkOrder.response_due_at if which == "response" else WorkOrder.resolution_due_at


def _running(which: Which):
    """SQL: the clock is running (open, not paused, not yet accepted / done)."""
    met = WorkOrder.accepted_at if which == "response" else WorkOrder.completed_at
    return WorkOrder.status.in_(OPEN), WorkOrder.paused_at.is_(None), met.is_(None)


def _is_running(order: WorkOrder, which: Which) -> bool:
    met = order.accepted_at if which == "response" else order.completed_at
    return order.status in OPEN and order.paused_at is None and met is None


def _due(order: WorkOrder, which: Which) -> datetime:
    return order.response_due_at if which == "response" else order.resolution_due_at


def _warned(order: WorkOrder, which: Which) -> datetime | None:
    return getattr(order, f"{which}_warned_at")


def _breached(order: WorkOrder, which: Which) -> datetime | None:
    return getattr(order, f"{which}_breached_at")


def _should_warn(order: WorkOrder, which: Which, now: datetime, window: timedelta) -> bool:
    return (_is_running(order, which) and _warned(order, which) is None
            and now < _due(order, which) <= now + window)


def _should_breach(order: WorkOrder, which: Which, now: datetime) -> bool:
    return _is_running(order, which) and _breached(order, which) is None and _due(order, which) <= now


def _close_before(now: datetime) -> datetime:
    # Strictly older than REOPEN_DAYS: until then the owner may still reopen (services.can_reopen).
    return now - timedelta(days=REOPEN_DAYS)


def _should_close(order: WorkOrder, now: datetime) -> bool:
    return order.status == Status.DONE and order.completed_at is not None and order.completed_at < _close_before(now)


def _warn_candidates(which: Which, now: datetime, window: timedelta):
    due = _due_column(which)
    return (select(WorkOrder)
            .where(*_running(which), getattr(WorkOrder, f"{which}_warned_at").is_(None), due > now,
                   due <= now + window)
            .order_by(due, WorkOrder.id).limit(BATCH))


def _breach_candidates(which: Which, now: datetime):
    due = _due_column(which)
    return (select(WorkOrder)
            .where(*_running(which), getattr(WorkOrder, f"{which}_breached_at").is_(None), due <= now)
            .order_by(due, WorkOrder.id).limit(BATCH))


def _close_candidates(now: datetime):
    return (select(WorkOrder)
            .where(WorkOrder.status == Status.DONE, WorkOrder.completed_at < _close_before(now))
            .order_by(WorkOrder.completed_at, WorkOrder.id).limit(BATCH))


# --- the steps --------------------------------------------------------------------------------------------


def _company_language():
    # Timeline notes are stored text, read later by anyone: written in the company's language like the notices.
    return force_locale(current_app.config["BABEL_DEFAULT_LOCALE"])


def _when(value: datetime) -> str:
    return value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def _warn(order: WorkOrder, which: Which, now: datetime) -> list:
    setattr(order, f"{which}_warned_at", now)
    with _company_language():
        note = (gettext("Reminder sent: to be accepted by %(due)s.", due=_when(order.response_due_at))
                if which == "response" else
                gettext("Reminder sent: to be finished by %(due)s.", due=_when(order.resolution_due_at)))
    services._append(order, EventKind.SLA_WARNING, actor=None, now=now, note=note, internal=True)
    return notify.sla_warning(order, which)


def _breach(order: WorkOrder, which: Which, now: datetime) -> list:
    # Mark it warned too: a warning after the deadline would only be noise next to the escalation.
    if _warned(order, which) is None:
        setattr(order, f"{which}_warned_at", now)
    setattr(order, f"{which}_breached_at", now)
    with _company_language():
        note = (gettext("Not accepted by %(due)s: escalated to the admins.", due=_when(order.response_due_at))
                if which == "response" else
                gettext("Not finished by %(due)s: escalated to the admins.", due=_when(order.resolution_due_at)))
    services._append(order, EventKind.SLA_BREACH, actor=None, now=now, note=note, internal=True)
    return notify.sla_breach(order, which)


def _close(order: WorkOrder, now: datetime) -> list:
    with _company_language():
        note = gettext("Closed automatically %(n)d days after it was done.", n=REOPEN_DAYS)
    # The system closing it: the state machine still applies, and perform records, notifies and commits.
    services.perform(order, Action.CLOSE, actor=None, membership=None, note=note, now=now)
    return []


def _each(candidates, still_due, act, counts: Counter, key: str) -> None:
    """Lock each candidate, check it is still due (another run may have handled it meanwhile), act, commit."""
    orders = db.session.execute(candidates).unique().scalars().all()
    for order, order_id in [(order, order.id) for order in orders]:
        try:
            order = services.lock(order)
            if not still_due(order):
                db.session.rollback()  # releases the lock
                continue
            messages = act(order)
            db.session.commit()
        except Exception:  # one bad job must not stop the others; it stays due and the next run retries it
            db.session.rollback()
            log.exception("SLA job: %s failed on work order %s", key, order_id)
            counts["failed"] += 1
            continue
        deliver_after_commit(messages)
        counts[key] += 1


# --- runs ---------------------------------------------------------------------------------------------------


def check_company(now: datetime | None = None) -> dict[str, int]:
    """Warn, escalate and auto-close the current company's jobs that are due at ``now``. Returns counts by step."""
    # In UTC: SQLite stores and compares timestamps as UTC wall-clock text, whatever zone a value carries.
    now = (now or utcnow()).astimezone(UTC)
    window = timedelta(minutes=max(services.settings().warn_minutes or 0, 0))
    counts: Counter = Counter()
    for which in WHICH:
        # The warning query leaves out overdue jobs: those are escalated only.
        _each(_breach_candidates(which, now), partial(_should_breach, which=which, now=now),
              partial(_breach, which=which, now=now), counts, f"{which}_breached")
        if window:
            _each(_warn_candidates(which, now, window), partial(_should_warn, which=which, now=now, window=window),
                  partial(_warn, which=which, now=now), counts, f"{which}_warned")
    _each(_close_candidates(now), partial(_should_close, now=now), partial(_close, now=now), counts, "closed")
    db.session.rollback()  # nothing is pending; ends the read transaction before the next company
    return {key: counts[key] for key in COUNTS}


def companies_to_check(now: datetime) -> list:
    """Ids of the companies whose jobs the SLA job looks after: not suspended, not read-only (an expired trial or
    plan): nobody there can act on a warning, and closing a job is a write the company may not make."""
    # `companies` is a platform table: reading it needs no all_companies() (which is for rows of several companies,
    # and would log a meaningless line every 5 minutes).
    companies = db.session.execute(
        select(Company).where(Company.suspended_at.is_(None)).order_by(Company.created_at, Company.id)
    ).scalars().all()
    ids = [company.id for company in companies if not company.is_read_only(now)]
    db.session.rollback()  # each company's transaction starts in that company's context
    return ids


def check_all_companies(now: datetime | None = None) -> dict[str, int]:
    """Job: ``check_company`` in each company's own context. Returns the totals (and "companies" checked)."""
    now = (now or utcnow()).astimezone(UTC)
    totals: Counter = Counter({key: 0 for key in COUNTS})
    checked = 0
    for company_id in companies_to_check(now):
        with company_context(company_id):
            try:
                totals.update(check_company(now))
            except Exception:  # one company's failure must not stop the others' escalations
                db.session.rollback()
                log.exception("SLA job failed for company %s", company_id)
                totals["failed"] += 1
                continue
        checked += 1
    result = {"companies": checked, **{key: totals[key] for key in COUNTS}}
    log.info("%s", summary(result))
    return result


def summary(totals: dict[str, int]) -> str:
    """One line for the log and the CLI."""
    return ("Work-order SLAs: {companies} companies checked; warned {response_warned} to accept and "
            "{resolution_warned} to finish; escalated {response_breached} not accepted and {resolution_breached} "
            "not finished; closed {closed} done jobs; {failed} failed.").format(**totals)
