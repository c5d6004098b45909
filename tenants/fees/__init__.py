"""Owner fees (物业费): fee items and rates, bill runs, payments (offline and WeChat Pay), receipts, arrears.

Owners paying the company. The company paying the platform for its plan is tenants/plan, never this.
The company pages share one blueprint, ``bp`` (endpoints ``company.fees.*``), mounted under /c/<company_slug>/.
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("fees", __name__)
