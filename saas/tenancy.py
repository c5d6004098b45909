"""Company isolation: the one place that knows which company a query belongs to.

Three locks, each enough on its own to stop most mistakes:

1. Composite keys. Every company-owned table has primary key (company_id, id) and its foreign keys
   carry company_id, so the database refuses a row that points into another company.
2. The ORM. A ``do_orm_execute`` listener adds ``company_id = <current company>`` to every query of a
   ``CompanyScoped`` model and raises when no company is set; a ``before_flush`` listener stamps
   ``company_id`` on new rows and refuses to change it afterwards.
3. PostgreSQL row-level security. ``app.company_id`` is set per transaction; the app connects as a role
   that is neither superuser nor table owner, so the policies apply even to raw SQL.

Cross-company work goes through ``all_companies(reason)`` and nowhere else; every use is logged.
"""

from __future__ import annotations

import contextvars
import functools
import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from flask import abort
from sqlalchemy import ForeignKey, Text, Uuid, bindparam, cast, event, func, inspect, select, text
from sqlalchemy.orm import Mapped, Session, declared_attr, mapped_column, relationship, with_loader_criteria
from sqlalchemy.sql.util import find_tables
from uuid6 import uuid7

from saas.clock import AwareDateTime, utcnow  # noqa: F401  (utcnow: re-exported for the modules that use it)

audit_log = logging.getLogger("saas.audit")

_current_company_id: contextvars.ContextVar[uuid.UUID | None] = contextvars.ContextVar(
    "current_company_id", default=None
)
_all_companies: contextvars.ContextVar[bool] = contextvars.ContextVar("all_companies", default=False)


class NoCompanyContext(RuntimeError):
    """A company-scoped model was queried or written with no company set."""


class CompanyMismatch(RuntimeError):
    """A row was written for a company other than the current one, or its company_id was changed."""


def new_id() -> uuid.UUID:
    # UUID v7 is time-ordered, so B-tree inserts stay at the right edge of the index.
    return uuid.UUID(str(uuid7()))


class CompanyScoped:
    """Mixin for every table that belongs to one company: primary key (company_id, id)."""

    # company_id leads the primary key (and so its index), as Citus distribution and per-company scans want.
    @declared_attr
    def company_id(cls) -> Mapped[uuid.UUID]:  # noqa: N805
        return mapped_column(Uuid, ForeignKey("companies.id"), primary_key=True, sort_order=-20)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id, sort_order=-10)
    created_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)


def company_relationship(owner: str, column: str, target: str, **kw):
    """The many-to-one along the composite foreign key (company_id, <column>) → target(company_id, id). The company
    is part of the join, so ``select(Bill).join(Bill.household)`` can never reach another company's row.
    View-only: code writes the ids, never the related objects (several keys share company_id)."""
    return relationship(
        target, primaryjoin=f"and_({owner}.company_id == {target}.company_id, {owner}.{column} == {target}.id)",
        foreign_keys=f"[{owner}.company_id, {owner}.{column}]", viewonly=True, **kw,
    )


# --- the current company ------------------------------------------------------------------------


def current_company_id() -> uuid.UUID | None:
    return _current_company_id.get()


def require_company_id() -> uuid.UUID:
    company_id = _current_company_id.get()
    if company_id is None:
        raise NoCompanyContext("no company is set for this request or job")
    return company_id


def set_current_company(company_id: uuid.UUID | None, *, database_set: bool = False) -> contextvars.Token:
    """Set the company for the rest of this request (the URL resolver calls this once). ``database_set``: the
    open transaction already has the setting (``select_setting_company`` made it in the statement that found
    the company), so no statement is sent for it."""
    token = _current_company_id.set(company_id)
    if not database_set:
        _sync_database_settings()
    return token


def select_setting_company(stmt, company_id_column, *, generic_plans: bool = False):
    """``stmt`` (a select that finds at most one company) which, on PostgreSQL, also makes that company the
    transaction's row-level-security setting in the same statement: one round trip less on every company
    request. The caller then calls ``set_current_company(id, database_set=True)`` with the row's id; when no row
    is found nothing was set. The settings are extra columns after the selected ones. ``generic_plans``: the
    transaction's prepared statements are also planned generically (``tenants.access.generic_plans``)."""
    from saas.extensions import on_postgresql

    if not on_postgresql():
        return stmt
    stmt = stmt.add_columns(func.set_config("app.company_id", cast(company_id_column, Text), True))
    if generic_plans:
        stmt = stmt.add_columns(func.set_config("plan_cache_mode", "force_generic_plan", True))
    return stmt


def reset_current_company(token: contextvars.Token) -> None:
    _current_company_id.reset(token)
    _sync_database_settings()


@contextmanager
def company_context(company_id: uuid.UUID) -> Iterator[None]:
    """Run a block (a job, a CLI command, a test) as one company."""
    token = set_current_company(company_id)
    try:
        yield
    finally:
        reset_current_company(token)


@contextmanager
def all_companies(reason: str, actor: str | None = None) -> Iterator[None]:
    """The one escape hatch from company scoping. Every use is logged with its reason."""
    if not reason:
        raise ValueError("all_companies() needs a reason")
    audit_log.info("all_companies reason=%r actor=%r", reason, actor)
    token = _all_companies.set(True)
    _sync_database_settings()
    try:
        yield
    finally:
        _all_companies.reset(token)
        _sync_database_settings()


def in_all_companies() -> bool:
    return _all_companies.get()


# --- lock 2: the ORM ----------------------------------------------------------------------------


_scoped_cache: tuple[int, frozenset[str]] = (-1, frozenset())


def _scoped_tables() -> frozenset[str]:
    """The company-scoped tables' names, computed once per set of mapped classes (asked on every query made with no
    company set, e.g. by the public pages, so not rebuilt each time; a model mapped later makes it anew)."""
    global _scoped_cache
    from saas.extensions import db

    registry = db.Model.registry
    # registry.mappers builds a new set on each call; its private dict of classes only counts them.
    count = len(getattr(registry, "_managers", None) or registry.mappers)
    if _scoped_cache[0] != count:
        _scoped_cache = (count, frozenset(
            mapper.local_table.name for mapper in registry.mappers if issubclass(mapper.class_, CompanyScoped)))
    return _scoped_cache[1]


def _touches_scoped_table(statement) -> bool:
    # Joined and subquery tables count too, not only the selected entities.
    tables = find_tables(statement, check_columns=True, include_joins=True, include_crud=True)
    scoped = _scoped_tables()
    return any(getattr(t, "name", None) in scoped for t in tables)


def _scoped_company_id() -> uuid.UUID:
    company_id = _current_company_id.get()
    if company_id is None:  # a relationship of an object read under a company, loaded after it was unset
        raise NoCompanyContext("a company-scoped relationship was loaded with no company set")
    return company_id


# One option for every query, built once: its parameter takes the current company when the statement runs (a
# callable bound parameter), not when the option is made. A lambda with the company in its closure, made per
# query, cost some 80 µs a statement (the lambda's analysis and a new cache key); the SQL is the same and stays
# cached. Relationship loads of objects read under a company carry this option too, so they run with the company
# current when they load (tests/test_tenancy.py).
_COMPANY_PARAM = bindparam("scoped_company_id", callable_=_scoped_company_id, type_=Uuid())
_COMPANY_CRITERIA = with_loader_criteria(CompanyScoped, lambda cls: cls.company_id == _COMPANY_PARAM,
                                         include_aliases=True)


@event.listens_for(Session, "do_orm_execute")
def _filter_by_company(execute_state) -> None:
    if not (execute_state.is_select or execute_state.is_update or execute_state.is_delete):
        return
    if execute_state.is_column_load or execute_state.is_relationship_load:
        # Criteria added to the parent query propagate to these loads already.
        return
    if _all_companies.get():
        return
    company_id = _current_company_id.get()
    if company_id is None:
        statement = execute_state.statement
        if statement in _BUILT_ONCE:  # the resolver's company statement, on every company page: checked once
            touches = _UNSCOPED_CHECKED.get(statement)
            if touches is None:
                touches = _UNSCOPED_CHECKED[statement] = _touches_scoped_table(statement)
        else:
            touches = _touches_scoped_table(statement)
        if touches:
            raise NoCompanyContext("a company-scoped table was queried with no company set")
        return
    # Added to every ORM query: it only acts on CompanyScoped entities wherever they appear
    # (FROM, joins, subqueries). A statement built once (built_once) gets it once, with its cache key.
    statement = execute_state.statement
    scoped = _BUILT_ONCE.get(statement)
    if scoped is None:
        scoped = statement.options(_COMPANY_CRITERIA)
        if statement in _BUILT_ONCE:
            _BUILT_ONCE[statement] = scoped
    execute_state.statement = scoped


# Statements built once per process (on first use) and run with bound parameters for their values: the company
# filter is added to each once, and SQLAlchemy works out their cache keys once (an object keeps its key; a
# statement built per request pays for building it and for its key each time, some 150 µs for the resolver's two).
# Keys are the statements themselves (compared by identity), values their filtered forms once made.
_BUILT_ONCE: dict = {}
_UNSCOPED_CHECKED: dict = {}  # built-once statement → whether it touches a company-scoped table


def built_once(statement):
    """Mark a module-level statement, executed with parameters, as one whose filtered form may be kept."""
    _BUILT_ONCE.setdefault(statement, None)
    return statement


@event.listens_for(Session, "before_flush")
def _stamp_and_guard_company(session: Session, flush_context, instances) -> None:
    company_id = _current_company_id.get()
    for obj in session.new:
        if not isinstance(obj, CompanyScoped):
            continue
        if obj.company_id is None:
            if company_id is None:
                raise NoCompanyContext(f"cannot insert {type(obj).__name__} with no company set")
            obj.company_id = company_id
        elif company_id is not None and obj.company_id != company_id and not _all_companies.get():
            raise CompanyMismatch(f"{type(obj).__name__} belongs to another company")
    for obj in session.dirty:
        if not isinstance(obj, CompanyScoped):
            continue
        history = inspect(obj).attrs.company_id.history
        if history.deleted and history.deleted[0] is not None:
            raise CompanyMismatch(f"company_id of {type(obj).__name__} is immutable")


# --- lock 3: PostgreSQL row-level security ------------------------------------------------------

_SET_SETTINGS = text(
    "SELECT set_config('app.company_id', :company_id, true), set_config('app.all_companies', :all, true)"
)


def _settings() -> dict:
    company_id = _current_company_id.get()
    return {
        "company_id": str(company_id) if company_id else "",
        "all": "on" if _all_companies.get() else "off",
    }


@event.listens_for(Session, "after_begin")
def _set_rls_settings(session: Session, transaction, connection) -> None:
    if connection.dialect.name != "postgresql":
        return
    settings = _settings()
    # Nothing to send when no company is set: the settings are transaction-local (set_config(..., true) is the
    # only way they are ever set), so a new transaction starts with them empty, which row-level security reads
    # as "no company" (every request begins this way, before its URL's company is known).
    if settings["company_id"] or settings["all"] == "on":
        connection.execute(_SET_SETTINGS, settings)


def _sync_database_settings() -> None:
    """A transaction may already be open when the company changes (the resolver loads the company first)."""
    from saas.extensions import db

    try:
        session = db.session()
    except RuntimeError:  # outside an app context: nothing open to update
        return
    if not session.in_transaction():
        return
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.execute(_SET_SETTINGS, _settings())


# --- lookups ------------------------------------------------------------------------------------


def parse_uuid_or_404(value: str | uuid.UUID) -> uuid.UUID:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        abort(404)


def get_or_404(model, object_id, *, include_deleted: bool = False):
    """Load one object of the current company by id; anything else, including bad ids, is a 404."""
    obj = get_or_none(model, parse_uuid_or_404(object_id), include_deleted=include_deleted)
    if obj is None:
        abort(404)
    return obj


def get_or_none(model, object_id: uuid.UUID, *, include_deleted: bool = False):
    """One object of the current company by id (a UUID), or None."""
    from saas.extensions import db

    return db.session.execute(_get_statement(model, include_deleted), {"object_id": object_id}).scalar_one_or_none()


@functools.cache
def _get_statement(model, include_deleted: bool):
    """get_or_404's statement for a model, built once (on most pages that show one thing)."""
    stmt = select(model).where(model.id == bindparam("object_id"))
    if not include_deleted and hasattr(model, "deleted_at"):
        stmt = stmt.where(model.live())
    return built_once(stmt)
