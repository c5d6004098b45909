"""Configuration module for RQ's scheduler: `rq cron saas.cron --url $REDIS_URL`, beside the workers.

Importing it registers every periodic job (saas.jobs.PERIODIC_JOBS). Each is also a CLI command
(`flask --app wsgi send-trial-reminders`), so the embedded default or a system cron can run them instead.
"""

from saas.jobs import register_periodic_jobs

register_periodic_jobs()
