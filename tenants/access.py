"""Role checks for company views, as decorators so every view states who may use it."""

from __future__ import annotations

from functools import wraps

from flask import abort, g
from werkzeug.local import LocalProxy

from saas.models import Role

current_company = LocalProxy(lambda: g.company)
current_membership = LocalProxy(lambda: g.membership)

STAFF = (Role.ADMIN, Role.STEWARD, Role.TECHNICIAN)
MANAGERS = (Role.ADMIN, Role.STEWARD)


def require_role(*roles: Role):
    """Allow the view only to members holding one of ``roles``; others get 403 (they are members)."""
    if not roles:
        raise ValueError("require_role needs at least one role")

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if g.membership.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        wrapped.allowed_roles = tuple(roles)
        return wrapped

    return decorator


def has_role(*roles: Role) -> bool:
    return g.get("membership") is not None and g.membership.role in roles


def allowed_when_read_only(view):
    """Mark a state-changing company view that must keep working when the company is read-only
    (an expired trial): exporting data and paying for a plan. Apply it outside @require_role."""
    view.allowed_when_read_only = True
    return view


def generic_plans(view):
    """Mark a company page whose statements PostgreSQL should plan once per connection, not on every request.

    psycopg prepares a page's statements (saas/read_transactions.py), and PostgreSQL then chooses for each between
    a plan made once (generic) and one made anew for each run's values (custom), by comparing their estimated
    costs. For some statements it keeps choosing custom although the generic plan runs as fast: the board's seven
    per-status walks were planned afresh on every view, 2.5 ms of planning for 0.8 ms of running. For a page marked
    here, the company resolver makes its transaction plan generically (``plan_cache_mode``, transaction-local, in
    the statement that finds the company: no extra round trip). Mark only pages measured to gain, side by side
    (a search, whose plan rightly depends on what is searched, can lose). Apply it outside @require_role."""
    view.generic_plans = True
    return view
