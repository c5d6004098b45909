"""One way to page a list: Flask-SQLAlchemy's paginate, with the ?page= number clamped.

Flask-SQLAlchemy reads ?page= itself but puts no upper bound on it: ?page=99999999999999999999 overflows the
database's integer and becomes a 500. Clamped, it is simply an empty page past the end.

Long lists (work orders: 200,000 rows in a busy company) page by keyset instead: ``keyset_paginate`` reads the
rows after the last one shown, so page 500 is the same index walk as page 1 (an OFFSET reads and throws away every
row before it). The pagination component then links Previous / Next by cursor.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from flask import request
from flask_sqlalchemy.pagination import SelectPagination
from sqlalchemy import bindparam, func, select, tuple_

from saas.extensions import db

MAX_PAGE = 100_000


def page_number() -> int:
    return min(max(request.args.get("page", 1, type=int) or 1, 1), MAX_PAGE)


class _ReadPagination(SelectPagination):
    """A page whose rows the caller reads from the limited select (``read``): e.g. as a few columns into small
    classes instead of ORM objects with their relationships."""

    def _query_items(self) -> list:
        stmt = self._query_args["select"].limit(self.per_page).offset(self._query_offset)
        return self._query_args["read"](stmt)


def paginate(stmt, *, per_page: int, max_per_page: int | None = None, total: int | None = None, read=None):
    """One page of ``stmt``; ``total``, when the caller already knows how many rows the list has (a figure kept
    by the writes, a tab's count), replaces the COUNT statement; ``read`` (the limited select → the page's rows)
    replaces reading the rows as ``stmt``'s entities."""
    args = dict(page=page_number(), per_page=per_page, max_per_page=max_per_page, error_out=False,
                count=total is None)
    if read is None:
        page = db.paginate(stmt, **args)
    else:
        page = _ReadPagination(select=stmt, session=db.session(), read=read, **args)
    if total is not None:
        page.total = total
    return page


# --- keyset pagination: deep pages cost what the first one costs ----------------------------------------------

COUNT_CAP = 10_000  # a keyset list counts up to this many rows; beyond, it says "more than 10,000"


def keyset_token(values) -> str:
    """A URL-safe cursor for a row's sort key (a datetime and a UUID; or any values with an ``isoformat``/str)."""
    parts = [v.isoformat() if hasattr(v, "isoformat") else str(v) for v in values]
    return base64.urlsafe_b64encode("|".join(parts).encode()).decode().rstrip("=")


def _read_token(token: str, columns) -> tuple | None:
    """The sort key a cursor names, typed like ``columns``; None for a malformed one (the list starts over)."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        parts = raw.split("|")
        if len(parts) != len(columns):
            return None
        out = []
        for part, column in zip(parts, columns, strict=True):
            python_type = getattr(column.type, "impl", column.type).python_type  # TypeDecorators: their impl's
            if python_type is datetime:
                value = datetime.fromisoformat(part)
                out.append(value if value.tzinfo else value.replace(tzinfo=UTC))
            elif python_type is uuid.UUID:
                out.append(uuid.UUID(part))
            else:
                out.append(python_type(part))
        return tuple(out)
    except (ValueError, TypeError, UnicodeDecodeError, binascii.Error):
        return None


@dataclass
class KeysetPage:
    """One page of a list in descending (key…) order, read after (or before) a cursor rather than at an
    OFFSET: an index walk of one page whatever the page number. Quacks like Flask-SQLAlchemy's Pagination for
    components/_pagination.html, which shows Previous / Next by cursor and the count (capped at COUNT_CAP)."""

    items: list
    page: int
    per_page: int
    total: int | None  # counted: capped, COUNT_CAP + 1 means "more than COUNT_CAP"; given (exact): the true number;
    # None: not counted (keyset_paginate(counted=False))
    has_prev: bool
    has_next: bool
    prev_token: str | None  # None with has_prev: the previous page is the first one (no cursor)
    next_token: str | None
    keyset: bool = True
    exact: bool = False  # the total was given by the caller, never capped

    @property
    def total_capped(self) -> bool:
        return not self.exact and self.total is not None and self.total > COUNT_CAP

    @property
    def pages(self) -> int:
        shown = self.total if self.exact else min(self.total, COUNT_CAP)
        return max(1, -(-shown // self.per_page)) + (1 if self.total_capped else 0)

    @property
    def prev_num(self) -> int:
        return max(self.page - 1, 1)

    @property
    def next_num(self) -> int:
        return self.page + 1


def _entities(stmt) -> list:
    return db.session.execute(stmt).unique().scalars().all()


def keyset_paginate(stmt, columns, *, per_page: int, total: int | None = None, counted: bool = True,
                    read=_entities) -> KeysetPage:
    """Page ``stmt`` (an ORM select, not yet ordered) by ``columns`` descending, the last of them unique (an id).

    ?after=<cursor> reads the page after a row, ?before=<cursor> the page before one, neither the first page;
    ?page= is only the number shown. The count is one index-only walk of at most COUNT_CAP + 1 rows, or none when
    the caller gives the exact ``total`` (a figure kept by the writes), or none at all with ``counted=False`` (the
    page's total is then None: Previous / Next only). ``read(statement)`` gives the page's items from its statement
    (default: the entities; say, small rows instead); each item has the ``columns``' keys as attributes."""
    after = _read_token(request.args.get("after", ""), columns) if request.args.get("after") else None
    before = _read_token(request.args.get("before", ""), columns) if request.args.get("before") else None
    key = tuple_(*columns)
    if before is not None:
        bound = tuple_(*(bindparam(None, v, type_=c.type) for v, c in zip(before, columns, strict=True)))
        rows = read(stmt.where(key > bound).order_by(*(c.asc() for c in columns)).limit(per_page + 1))
        has_prev, has_next = len(rows) > per_page, True
        items = list(reversed(rows[:per_page]))
    else:
        if after is not None:
            bound = tuple_(*(bindparam(None, v, type_=c.type) for v, c in zip(after, columns, strict=True)))
            stmt_page = stmt.where(key < bound)
        else:
            stmt_page = stmt
        rows = read(stmt_page.order_by(*(c.desc() for c in columns)).limit(per_page + 1))
        has_prev, has_next = after is not None, len(rows) > per_page
        items = rows[:per_page]
    page = page_number() if (after or before) else 1
    if before is not None and not has_prev:
        page = 1
    exact = total is not None
    if not exact and counted:
        total = db.session.execute(
            select(func.count()).select_from(stmt.with_only_columns(columns[-1]).order_by(None)
                                             .limit(COUNT_CAP + 1).subquery())).scalar_one()

    def token(row):
        return keyset_token(tuple(getattr(row, c.key) for c in columns))

    return KeysetPage(
        items=items, page=page, per_page=per_page, total=total, has_prev=has_prev, has_next=has_next, exact=exact,
        prev_token=token(items[0]) if items and has_prev and page > 2 else None,
        next_token=token(items[-1]) if items and has_next else None)
