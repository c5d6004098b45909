"""The fee pages' blueprint (tenants/fees/__init__.py) with every view module imported, so their routes join it.
Each area of the module has its own view file; add yours to the import below."""

from __future__ import annotations

import tenants.fees.invoice_views  # noqa: F401  (owners' invoice requests, their handling)
import tenants.fees.payment_views  # noqa: F401  (offline payments, refunds, the payments list)
import tenants.fees.receipt_views  # noqa: F401  (receipts: page and PDF)
from tenants.fees import bp, models  # noqa: F401  (models: the ledger's tables load with the pages)
