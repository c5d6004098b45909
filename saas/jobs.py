"""Background jobs: RQ when REDIS_URL is set, inline after commit otherwise.

Jobs receive the company id and re-enter that company's context themselves (``run_in_company``);
they never rely on whatever company happened to be set when they were enqueued.

Periodic jobs (PERIODIC_JOBS) are each also a CLI command, so the embedded default needs no scheduler: production
runs them from the system cron (e.g. ``0 2 * * * flask --app wsgi send-trial-reminders``), or with RQ's own
scheduler (rq ≥ 2.5 has ``rq cron``): a config module calling ``register_periodic_jobs()`` at import, started as
``rq cron <that.module>`` next to the workers. The jobs are idempotent, so running both is harmless.
"""

from __future__ import annotations

import uuid
from functools import lru_cache

from flask import current_app
from redis import Redis
from rq import Queue, Retry

from saas.tenancy import company_context


@lru_cache(maxsize=4)
def _redis(url: str) -> Redis:
    return Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)


def redis_connection() -> Redis:
    return _redis(current_app.config["REDIS_URL"])


def queue(name: str | None = None) -> Queue:
    return Queue(name or current_app.config["JOB_QUEUE_NAME"], connection=redis_connection())


def enqueue(func, *args, company_id: uuid.UUID | None = None, queue_name: str | None = None,
            retries: int = 2, timeout: int = 600, **kwargs):
    """Run ``func(*args, **kwargs)`` in the background (RQ) or, with no Redis, right now and inline.

    The caller commits its own transaction first, so the job sees the rows it needs. Inline errors surface.
    """
    if current_app.config.get("REDIS_URL"):
        return queue(queue_name).enqueue(
            run_in_company, func, company_id, *args, retry=Retry(max=retries, interval=[10, 60]),
            job_timeout=timeout, **kwargs,
        )
    return run_in_company(func, company_id, *args, **kwargs)


def run_in_company(func, company_id: uuid.UUID | None, *args, **kwargs):
    """Job entry point: an app context (a worker has none of its own) and the job's own company."""
    from flask import has_app_context

    if not has_app_context():
        from saas import create_app

        # Leaving the app context also removes the job's database session.
        with create_app().app_context():
            return run_in_company(func, company_id, *args, **kwargs)
    if company_id is None:
        return func(*args, **kwargs)
    with company_context(company_id):
        return func(*args, **kwargs)


# (name, "module:function", cron schedule in UTC). 02:00 UTC is 10:00 in China: reminders arrive in office hours.
PERIODIC_JOBS: tuple[tuple[str, str, str], ...] = (
    ("send-trial-reminders", "saas.trial:send_trial_reminders", "0 2 * * *"),
    ("check-work-order-slas", "tenants.work_orders.sla_jobs:check_all_companies", "*/5 * * * *"),
    ("issue-late-fees", "tenants.fees.late_fees:issue_all_companies", "30 2 * * *"),
    ("check-fee-payments", "tenants.fees.reconcile:check_all_companies", "*/5 * * * *"),
    # 02:00 UTC is 10:00 in Beijing: a reminder arrives in the morning, never at night.
    ("send-fee-reminders", "tenants.fees.collection:remind_all_companies", "0 2 * * *"),
    ("remind-disclosures", "tenants.disclosures.jobs:remind_all_companies", "15 2 * * *"),
    # 16:01 UTC is 00:01 in China: the arrears figures count the new day before anyone looks.
    ("count-fee-arrears", "tenants.fees.figures:recount_all_companies", "1 16 * * *"),
    # 19:00 UTC is 03:00 in China: the red/black list is computed while nobody rates.
    ("compute-ratings", "saas.ratings.job:run_all", "0 19 * * *"),
)


def run_periodic(target: str):
    """RQ entry point of a periodic job: import "module:function" and run it with an app context."""
    import importlib

    module, _, name = target.partition(":")
    return run_in_company(getattr(importlib.import_module(module), name), None)


def register_periodic_jobs(queue_name: str = "default") -> None:
    """Register PERIODIC_JOBS with ``rq cron`` (call it from the module that ``rq cron`` loads)."""
    from rq import cron

    for name, target, schedule in PERIODIC_JOBS:
        cron.register(run_periodic, queue_name, args=(target,), cron=schedule, name=name, job_timeout=1800)
