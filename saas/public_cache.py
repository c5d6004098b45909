"""A response cache for the public no-login pages, in this process, with EXACT invalidation.

What a public page shows is drawn from rows that change rarely (a company's card, its disclosures, the red/black
list), and the pages are read by anyone, often. So a rendered page is kept, keyed by a **version token** that every
write to those rows moves in the same transaction:

- ``companies.public_version``: one company's public pages (the card, /p/<slug>/disclosures/…). Moved by any
  write — flushed object or bulk ``update()``/``delete()``/``insert()`` through the session — to a row of a table
  registered with ``watch_company_tables`` (the company modules register what their public pages read), and to
  the companies row itself.
- ``public_versions`` row ``ratings``: the platform-wide red/black list pages (/ratings/…). Moved by any write to
  a table registered with ``watch_platform_tables("ratings", …)``.

A token is a new random number at each move. The key is (page group, company, token, scheme and host, path, the
query arguments the view reads, language, the day in Shanghai), the token read in the very statement that
resolves the company (or the one statement that reads the platform row) before anything else: a request that sees
the new token never finds a page rendered before the write, and a page rendered from newer rows under an older
token is only ever served to requests that read that older token before the write committed. A page may also say
it is only good until a moment (``valid_until``: a list entry's expiry) and is then dropped at that moment.

Writes outside the session (raw SQL, COPY, another program) are not seen: call ``bump_company`` / ``bump_all``
after them. Nothing is shared between processes (a restart, e.g. a deploy after a migration, starts empty).

The response carries a strong ETag (a hash of the key), ``Last-Modified`` (the token's last move, or today's
midnight if later: the pages change with the day), ``Cache-Control: public, no-cache`` (a browser or proxy keeps
it but asks each time, so nobody sees a page older than the last write) and ``Vary: Cookie`` (the language lives
in the session). A matching If-None-Match is a 304 without rendering. If-Modified-Since alone is not honoured:
HTTP dates have one-second resolution, so two changes in one second could not be told apart.

Compressed bodies are kept with the page (one per algorithm, saas/static_files.py asks here), so a hit is not
compressed again. Bounded: at most ``MAX_ENTRIES`` pages and ``MAX_BYTES`` of bodies, least recently used first out.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime
from functools import wraps
from urllib.parse import urlencode

from flask import g, make_response, request
from sqlalchemy import BigInteger, String, event, insert, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column
from werkzeug.datastructures import ImmutableMultiDict

from saas.clock import AwareDateTime, local_midnight, local_today, utcnow
from saas.extensions import db
from saas.tenancy import current_company_id, in_all_companies

MAX_ENTRIES = 512
MAX_BYTES = 16 * 1024 * 1024
RATINGS = "ratings"


class PublicVersion(db.Model):
    """A platform-wide version token of public pages (one row per group, e.g. ``ratings``)."""

    __tablename__ = "public_versions"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    changed_at: Mapped[datetime | None] = mapped_column(AwareDateTime())


# --- what moves the tokens ---------------------------------------------------------------------------------------

_company_tables: dict[str, object] = {"companies": None}  # table name → None or when(session, obj) -> bool
_platform_tables: dict[str, str] = {}  # table name → group


def watch_company_tables(*models, when=None) -> None:
    """Company-scoped models (with company_id) whose rows a company's public pages show. ``when(session, obj)``:
    whether a flushed row's change can show on a public page (e.g. not a draft's); it must answer True whenever
    unsure. Bulk statements on the tables always move the token."""
    _company_tables.update({m.__table__.name: when for m in models})


def watch_platform_tables(group: str, *models) -> None:
    """Platform models whose rows the public pages of ``group`` show."""
    _platform_tables.update({m.__table__.name: group for m in models})


def _company_of(obj) -> uuid.UUID | None:
    if obj.__table__.name == "companies":
        return obj.id
    return getattr(obj, "company_id", None)


@event.listens_for(Session, "after_flush")
def _bump_after_flush(session: Session, flush_context) -> None:
    companies: set[uuid.UUID] = set()
    groups: set[str] = set()
    for obj in (*session.new, *session.deleted, *(o for o in session.dirty if session.is_modified(o))):
        table = getattr(getattr(obj, "__table__", None), "name", None)
        if table in _company_tables:
            company_id = _company_of(obj)
            when = _company_tables[table]
            if company_id is not None and (when is None or when(session, obj)):
                companies.add(company_id)
        elif table in _platform_tables:
            groups.add(_platform_tables[table])
    _bump(session, companies, groups)


@event.listens_for(Session, "do_orm_execute")
def _bump_on_bulk(execute_state) -> None:
    """``session.execute(update(...)/delete(...)/insert(...))``: the rows are not known, so the whole scope moves —
    the current company's token (the company filter confines the statement to it), or every company's when none
    is set or in ``all_companies``."""
    if not (execute_state.is_update or execute_state.is_delete or execute_state.is_insert):
        return
    table = getattr(getattr(execute_state.statement, "table", None), "name", None)
    if table in _company_tables:
        company_id = current_company_id()
        if table == "companies" or company_id is None or in_all_companies():
            _bump(execute_state.session, None, set())
        else:
            _bump(execute_state.session, {company_id}, set())
    elif table in _platform_tables:
        _bump(execute_state.session, set(), {_platform_tables[table]})


def _bump(session: Session, companies: set | None, groups: set[str]) -> None:
    """Move the tokens on the session's connection, in its transaction (a rollback undoes the move too). Core
    statements on the connection: they do not pass through the session's events again. ``companies`` None: all."""
    from saas.models import Company

    if companies is None or companies:
        now = utcnow()
        connection = session.connection()
        stmt = update(Company.__table__).values(public_version=new_token(), public_changed_at=now)
        if companies is not None:
            stmt = stmt.where(Company.__table__.c.id.in_(sorted(companies)))  # one order: no deadlock between two
        connection.execute(stmt)
    for group in sorted(groups):
        connection = session.connection()
        table = PublicVersion.__table__
        now = utcnow()
        token = new_token()
        moved = connection.execute(update(table).where(table.c.name == group)
                                   .values(version=token, changed_at=now)).rowcount
        if not moved:
            connection.execute(insert(table).values(name=group, version=token, changed_at=now))


def new_token() -> int:
    """A new random token, never the next number: a restored backup or a wiped table can then never bring back a
    token that pages were cached under (63 random bits: a repeat is not a practical concern)."""
    return secrets.randbits(62) + 1


def bump_company(company_id: uuid.UUID) -> None:
    """After a write the session did not see (raw SQL, COPY): the company's public pages are drawn again."""
    _bump(db.session(), {company_id}, set())


def bump_all() -> None:
    """Every company's and every group's pages drawn again."""
    _bump(db.session(), None, set(_platform_tables.values()) | {RATINGS})


def platform_token(group: str) -> tuple[int, datetime | None]:
    """(version, changed_at) of a platform group: one statement."""
    row = db.session.execute(select(PublicVersion.version, PublicVersion.changed_at)
                             .where(PublicVersion.name == group)).first()
    return (row[0], row[1]) if row else (0, None)


# --- the cache ---------------------------------------------------------------------------------------------------


@dataclass
class _Entry:
    body: bytes
    etag: str
    mimetype: str
    last_modified: datetime | None
    valid_until: datetime | None = None
    compressed: dict[str, bytes] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return len(self.body) + sum(len(v) for v in self.compressed.values())


class PageCache:
    def __init__(self, max_entries: int = MAX_ENTRIES, max_bytes: int = MAX_BYTES):
        self.max_entries, self.max_bytes = max_entries, max_bytes
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()  # gthread/threaded servers: the dict and the byte count move together

    def get(self, etag: str) -> _Entry | None:
        with self._lock:
            entry = self._entries.get(etag)
            if entry is None:
                return None
            if entry.valid_until is not None and utcnow() >= entry.valid_until:
                self._drop(etag)
                return None
            self._entries.move_to_end(etag)
            return entry

    def put(self, entry: _Entry) -> None:
        if entry.size > self.max_bytes:
            return
        with self._lock:
            if entry.etag in self._entries:
                self._drop(entry.etag)
            self._entries[entry.etag] = entry
            self._bytes += entry.size
            self._trim()

    def add_compressed(self, etag: str, algorithm: str, data: bytes) -> None:
        with self._lock:
            entry = self._entries.get(etag)
            if entry is None or algorithm in entry.compressed:
                return
            entry.compressed[algorithm] = data
            self._bytes += len(data)
            self._trim()

    def _drop(self, etag: str) -> None:
        entry = self._entries.pop(etag)
        self._bytes -= entry.size

    def _trim(self) -> None:
        while self._entries and (len(self._entries) > self.max_entries or self._bytes > self.max_bytes):
            self._drop(next(iter(self._entries)))

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def bytes(self) -> int:
        return self._bytes


pages = PageCache()


def valid_until(moment: datetime | None) -> None:
    """Called while a cached page renders: the page must not be served from the cache at or after ``moment``
    (e.g. the first list entry shown that expires). The earliest of several calls wins."""
    if moment is None:
        return
    current = g.get("_public_valid_until")
    if current is None or moment < current:
        g._public_valid_until = moment


def _key(group: str, token) -> str:
    from flask_babel import get_locale

    # The company too: a slug given up by one company and taken by another must not find the first one's pages.
    # The scheme and host: a page may link to itself in full (the print view's address).
    raw = repr((group, str(current_company_id()), str(token), request.host_url, request.path,
                request.query_string.decode("latin-1"), str(get_locale()), local_today().isoformat()))
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


def _narrow_query(names: tuple[str, ...]) -> None:
    """Make the request's query only the arguments the view reads (first value each, in ``names``' order), before
    the key is taken and the page drawn. Anything else (WeChat's ``from=…&isappinstalled=0`` on a shared link, a
    tracking tag, junk) then finds the same page instead of filling the cache with copies, and the page drawn does
    not carry it either (the language link repeats the page's own address)."""
    # Present but empty is kept: ``?city=`` is a city of its own on the list (companies with no city), not "all".
    kept = [(name, request.args[name]) for name in names if name in request.args]
    query = urlencode(kept).encode()
    if query != request.query_string:
        request.query_string = query
        request.args = ImmutableMultiDict(kept)


def client_has(etag: str) -> bool:
    """Whether If-None-Match names this page or file. Flask-Compress sends the ETag of a compressed body as "<tag>:zstd"
    (or :br, :gzip…); the part before the colon is ours."""
    tags = request.if_none_match
    return bool(tags) and (tags.star_tag or any(t.split(":", 1)[0] == etag for t in tags.as_set()))


def _last_modified(changed_at: datetime | None) -> datetime:
    midnight = local_midnight(local_today())
    return max(changed_at, midnight) if changed_at is not None else midnight


def _stamp(response, etag: str, last_modified: datetime | None):
    response.set_etag(etag)
    if last_modified is not None:
        response.last_modified = last_modified
    response.headers["Cache-Control"] = "public, no-cache"
    vary = response.headers.get("Vary")
    response.headers["Vary"] = f"{vary}, Cookie" if vary and "cookie" not in vary.lower() else (vary or "Cookie")
    return response


def cached(group: str, token, args: tuple[str, ...] = ()):
    """Decorate a public view: ``token()`` → (version, changed_at) of what the page is drawn from, read by the time
    the view would run (the company resolver's one statement, or ``platform_token``). ``args``: the query arguments
    the view reads; the view sees no others (``_narrow_query``)."""

    def decorate(view):
        @wraps(view)
        def wrapped(*args_, **kwargs):
            _narrow_query(args)
            version, changed_at = token()
            etag = _key(group, version)
            last = _last_modified(changed_at)
            if client_has(etag):
                return _stamp(make_response("", 304), etag, last)
            entry = pages.get(etag)
            if entry is not None:
                g._public_cache_etag = etag  # Flask-Compress finds the compressed bodies by it
                response = make_response(entry.body)
                response.mimetype = entry.mimetype
                return _stamp(response, etag, entry.last_modified)
            g.pop("_public_valid_until", None)
            response = make_response(view(*args_, **kwargs))
            if response.status_code == 200 and not response.is_streamed:
                pages.put(_Entry(response.get_data(), etag, response.mimetype, last,
                                 g.pop("_public_valid_until", None)))
                g._public_cache_etag = etag
                return _stamp(response, etag, last)
            return response

        return wrapped

    return decorate


def company_token() -> tuple[int, datetime | None]:
    """The current public company's token, loaded with it by the resolver (tenants/__init__.py)."""
    company = g.company
    return company.public_version, company.public_changed_at


# --- Flask-Compress's cache (saas/static_files.py): compressed bodies kept with the page ------------------------


def compress_key() -> str | None:
    etag = g.get("_public_cache_etag")
    return f"public:{etag}" if etag else None


def compressed_get(key: str) -> bytes | None:
    """``key``: "<algorithm>;public:<etag>" as Flask-Compress builds it from ``compress_key``."""
    algorithm, _, etag = key.partition(";public:")
    entry = pages._entries.get(etag)
    return entry.compressed.get(algorithm) if entry is not None else None


def compressed_set(key: str, data: bytes) -> None:
    algorithm, _, etag = key.partition(";public:")
    pages.add_compressed(etag, algorithm, data)


__all__ = ["PageCache", "PublicVersion", "bump_all", "bump_company", "cached", "company_token", "pages",
           "platform_token", "valid_until", "watch_company_tables", "watch_platform_tables"]
