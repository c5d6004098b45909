"""The company card: the first page on the public resolver (tenants/__init__.py, public_company_bp)."""

from __future__ import annotations

from flask import Blueprint
from sqlalchemy import select

from saas import public_cache
from saas.extensions import db
from saas.htmx import render
from tenants.access import current_company
from tenants.roster.models import Community

public_bp = Blueprint("card", __name__)

# The card shows the company's row (always watched) and its communities' names: cached until either changes.
public_cache.watch_company_tables(Community)


@public_bp.get("/")
@public_cache.cached("company", public_cache.company_token)
def index():
    # Names only: a community's buildings, households and people are not published here.
    communities = db.session.execute(
        select(Community.name).where(Community.live()).order_by(Community.name)).scalars().all()
    return render("tenants/public_card/index.html", company=current_company._get_current_object(),
                  communities=communities)
