"""The platform admin area (/admin/): companies, one company's plan and usage, the platform audit log.

The blueprint is defined here; its views are in routes.py. With the app factory, this is the one place under
saas/ that may read company modules (tenants.*): it shows usage across companies."""

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")
