"""Import jobs. They run in the batch's company (saas.jobs.run_in_company) and are idempotent: each acts only
on a batch in the state it expects, so a retried or repeated job changes nothing."""

from __future__ import annotations

from tenants.imports import services


def validate_import(batch_id: str) -> str | None:
    status = services.validate(batch_id)
    return status.value if status else None


def commit_import(batch_id: str, actor_id: str) -> str | None:
    status = services.commit(batch_id, actor_id)
    return status.value if status else None
