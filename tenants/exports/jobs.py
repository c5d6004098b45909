"""The export job: runs in the export's company (saas.jobs.run_in_company); a repeated run changes nothing."""

from __future__ import annotations

from tenants.exports import services


def run_export(export_id: str, locale: str) -> str | None:
    status = services.run(export_id, locale)
    return status.value if status else None
