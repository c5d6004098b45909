"""Public fee disclosure (费用与账目公示): the 明码标价 board, periodic statements, their versions, objections.

It reads from fees (items and rates, for the board); fees never imports it. The one thing fees needs from here,
the 30-day notice before a rate change, reaches fees through the rate-checker hook in tenants/fees/items.py,
which ``install_rate_rule`` fills in when the app starts.

The editor (``bp``, endpoints ``company.disclosures.*``) is under /c/<company_slug>/disclosures/; the public
pages (``public.public_bp``) are under /p/<company_slug>/disclosures/.
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("disclosures", __name__, url_prefix="/disclosures")
