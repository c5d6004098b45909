"""Work orders (报修): jobs reported by owners, staff or a QR poster, dispatched, worked and rated.

The company pages share one blueprint, ``bp`` (endpoints ``company.work_orders.*``), mounted under
/c/<company_slug>/ by tenants.register through routes.py, which imports every view module so their routes join it.
The no-login QR report form (/r/<token>) is not under a company's URL; it has its own blueprint in intake.py,
registered by the app factory. Who may see what is in permissions.py.
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("work_orders", __name__)
