"""One way to page a list: Flask-SQLAlchemy's paginate, with the ?page= number clamped.

Flask-SQLAlchemy reads ?page= itself but puts no upper bound on it: ?page=99999999999999999999 overflows the
database's integer and becomes a 500. Clamped, it is simply an empty page past the end.
"""

from __future__ import annotations

from flask import request

from saas.extensions import db

MAX_PAGE = 100_000


def page_number() -> int:
    return min(max(request.args.get("page", 1, type=int) or 1, 1), MAX_PAGE)


def paginate(stmt, *, per_page: int, max_per_page: int | None = None):
    return db.paginate(stmt, page=page_number(), per_page=per_page, max_per_page=max_per_page, error_out=False)
