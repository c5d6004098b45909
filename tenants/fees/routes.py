"""The fee pages' blueprint (tenants/fees/__init__.py) with every view module imported, so their routes join it.
Each area of the module has its own view file; add yours to the import below."""

from __future__ import annotations

from tenants.fees import bp, models  # noqa: F401  (models: the ledger's tables load with the pages)

from . import owner_views, staff_refund_views  # noqa: F401  (WeChat Pay: owners, refunds)
