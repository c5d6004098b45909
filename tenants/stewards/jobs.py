"""Steward jobs. They run in the company that enqueued them (saas.jobs.run_in_company) and are idempotent."""

from __future__ import annotations

from tenants.stewards import services


def notify_new_steward(period_ids: list[str]) -> int:
    """Queue an SMS to the owners of each household telling them who their steward now is."""
    return services.notify_owners_of_new_steward(period_ids)
