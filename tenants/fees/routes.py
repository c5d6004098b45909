"""The fee pages' blueprint (tenants/fees/__init__.py) with every view module imported, so their routes join it.
Each area of the module has its own view file; add yours to the import below."""

from __future__ import annotations

from tenants.fees import (  # noqa: F401  (models: the ledger's tables load with the pages)
    arrears_views,  # arrears by age, collection rate, reminders
    bp,
    import_views,  # Excel imports of readings and opening balances
    invoice_views,  # owners' invoice requests, their handling
    item_views,  # fee items, rates, parking spaces, settings, a household's fees
    ledger_views,  # a household's ledger, the written demand
    models,
    owner_views,  # the owner's bills and WeChat Pay
    payment_views,  # offline payments, refunds, the payments list
    receipt_views,  # receipts: page and PDF
    run_views,  # bill runs
    staff_refund_views,  # WeChat Pay refunds
)
