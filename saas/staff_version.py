"""A company's staff version token, and lists of its staff kept under it.

Every work-order list and job page offers every staff member (admins, stewards, technicians: 420 in a company
of 20,000 homes) as an assignee. Reading and drawing them was a fifth of the list page's time, and they change
rarely (someone joins, leaves or changes role). So the drawn list is kept in this process, keyed by
``companies.staff_version``, which the resolver reads with the company anyway: a page that finds the list makes
no statement for it.

The token moves (a new random number, as ``public_cache.new_token``) in the writing transaction whenever:
- a membership other than an owner's is added, changed (role, end) or deleted, or any membership's role changes
  (an owner made staff or back): flushed objects, after the flush;
- a bulk ``update()``/``delete()``/``insert()`` on memberships runs through the session: the current company's
  token (the company filter confines the statement to it), or every company's when none is set;
- a user's name changes: every company's token. Nothing in the app renames a user today (the name is given when
  the account is made); a rename is rare enough that finding the user's companies is not worth it.

A list drawn from rows newer than the token it is filed under is harmless (the next request reads the new token
and draws again); one older than its token cannot happen, as the token is read before the rows. A request that
itself moved the token does not use the cache (its company row was read before its own write).

Writes outside the session (raw SQL, another program) are not seen: call ``bump()`` after them.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable

from flask import g
from sqlalchemy import event, update
from sqlalchemy.orm import Session, attributes

from saas.extensions import db
from saas.tenancy import current_company_id, in_all_companies

MAX_ENTRIES = 256  # lists (kind × company × language); one is tens of kilobytes at most
_MOVED = "staff_version_moved"


def _staff_change(obj) -> bool:
    from saas.models import Role

    role_history = attributes.get_history(obj, "role")
    return obj.role != Role.OWNER or bool(role_history.deleted)


@event.listens_for(Session, "after_flush")
def _bump_after_flush(session: Session, flush_context) -> None:
    from saas.models import Membership, User

    companies: set = set()
    everyone = False
    dirty = [o for o in session.dirty if session.is_modified(o)]
    for obj in (*session.new, *session.deleted, *dirty):
        if isinstance(obj, Membership) and _staff_change(obj):
            companies.add(obj.company_id)
        elif isinstance(obj, User) and obj in dirty and attributes.get_history(obj, "name").deleted:
            everyone = True
    if everyone:
        _bump(session, None)
    elif companies:
        _bump(session, companies)


@event.listens_for(Session, "do_orm_execute")
def _bump_on_bulk(execute_state) -> None:
    if not (execute_state.is_update or execute_state.is_delete or execute_state.is_insert):
        return
    table = getattr(getattr(execute_state.statement, "table", None), "name", None)
    if table == "memberships":
        company_id = current_company_id()
        _bump(execute_state.session, None if company_id is None or in_all_companies() else {company_id})
    elif table == "users" and execute_state.is_update:
        _bump(execute_state.session, None)


def _bump(session: Session, companies: set | None) -> None:
    """On the session's connection, in its transaction: a rollback undoes the move too. ``companies`` None: all."""
    from saas.models import Company
    from saas.public_cache import new_token

    table = Company.__table__
    stmt = update(table).values(staff_version=new_token())
    if companies is not None:
        stmt = stmt.where(table.c.id.in_(sorted(companies)))  # one order: no deadlock between two
    session.connection().execute(stmt)
    session.info[_MOVED] = True


def bump() -> None:
    """After a write to memberships or users the session did not see: every company's staff lists drawn again."""
    _bump(db.session(), None)


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _forget_move(session: Session) -> None:
    session.info.pop(_MOVED, None)


class _Lists:
    def __init__(self, max_entries: int = MAX_ENTRIES):
        self.max_entries = max_entries
        self._entries: OrderedDict = OrderedDict()
        self._lock = threading.Lock()  # threaded servers: one dict

    def get_or_make(self, key: tuple, make: Callable):
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                return self._entries[key]
        value = make()
        with self._lock:
            self._entries[key] = value
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


lists = _Lists()


def cached(kind: str, make: Callable, *, language: str = ""):
    """``make()``'s value for the current company's staff as they are now: kept under (kind, company, token,
    language) and made again once the token moves. Outside a company page, or after this request's own change to
    the staff, made every time."""
    company = g.get("company")
    if company is None or db.session().info.get(_MOVED):
        return make()
    return lists.get_or_make((kind, company.id, company.staff_version, language), make)
