"""Reads shared by the editor, the public pages, the reminder job and the on-time figures. Only published (or
superseded) versions ever reach a public page: every public read goes through ``public_*``."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select

from saas.clock import local_today
from saas.extensions import db
from tenants.disclosures import schedule
from tenants.disclosures.models import (
    Attachment,
    DisclosureProfile,
    Kind,
    Objection,
    Publication,
    PublicationLine,
    Status,
)
from tenants.roster.models import Community

PUBLIC = (Status.PUBLISHED, Status.SUPERSEDED)


def communities() -> list[Community]:
    return list(db.session.execute(select(Community).where(Community.live()).order_by(Community.name)).scalars())


def profiles_by_community() -> dict:
    return {p.community_id: p for p in db.session.execute(select(DisclosureProfile)).scalars()}


def current_board(community_id) -> Publication | None:
    return db.session.execute(select(Publication).where(
        Publication.community_id == community_id, Publication.kind == Kind.BOARD,
        Publication.status == Status.PUBLISHED)).scalar_one_or_none()


def current_publications(community_id, *, limit: int | None = None) -> list[Publication]:
    """The current published version of every disclosure of the community but the board, newest period first."""
    stmt = (select(Publication).where(Publication.community_id == community_id, Publication.kind != Kind.BOARD,
                                      Publication.status == Status.PUBLISHED)
            .order_by(Publication.period_start.desc(), Publication.published_at.desc()))
    if limit:
        stmt = stmt.limit(limit)
    return list(db.session.execute(stmt).scalars())


def drafts(community_id) -> list[Publication]:
    return list(db.session.execute(select(Publication).where(
        Publication.community_id == community_id, Publication.status == Status.DRAFT)
        .order_by(Publication.created_at.desc())).scalars())


def versions(series_id) -> list[Publication]:
    """Every public version of a disclosure, newest first (drafts never)."""
    return list(db.session.execute(select(Publication).where(
        Publication.series_id == series_id, Publication.status.in_(PUBLIC))
        .order_by(Publication.version.desc())).scalars())


def lines_by_publication(pub_ids) -> dict:
    out: dict = {pid: [] for pid in pub_ids}
    if pub_ids:
        for line in db.session.execute(select(PublicationLine).where(PublicationLine.publication_id.in_(pub_ids),
                                                                     PublicationLine.removed_at.is_(None))
                                       .order_by(PublicationLine.position, PublicationLine.id)).scalars():
            out[line.publication_id].append(line)
    return out


def attachments_by_publication(pub_ids) -> dict:
    out: dict = {pid: [] for pid in pub_ids}
    if pub_ids:
        for att in db.session.execute(select(Attachment).where(Attachment.publication_id.in_(pub_ids),
                                                               Attachment.removed_at.is_(None))
                                      .order_by(Attachment.position, Attachment.id)).scalars():
            out[att.publication_id].append(att)
    return out


def objections_by_line(pub_ids) -> dict:
    out: dict = {}
    if pub_ids:
        for o in db.session.execute(select(Objection).where(Objection.publication_id.in_(pub_ids))
                                    .order_by(Objection.created_at)).scalars():
            out.setdefault(o.line_id, []).append(o)
    return out


def _concat(column, dialect: str):
    """Every value of a column in one text (sorted on PostgreSQL; in SQLite's stable scan order)."""
    from sqlalchemy import String, cast, literal_column
    from sqlalchemy.dialects.postgresql import aggregate_order_by

    text = cast(column, String)
    if dialect == "postgresql":
        return func.string_agg(text, aggregate_order_by(literal_column("','"), text))
    return func.group_concat(text)


@functools.cache
def _fingerprint_statement(dialect: str):
    """Built once per dialect, on the tables' columns, with the company as a bound parameter: every subquery names
    the company itself (the ORM's company filter does not see a text statement); row-level security applies on
    PostgreSQL as to any statement."""
    from sqlalchemy import Integer, String, Uuid, bindparam, column, literal_column, text
    from sqlalchemy.dialects import postgresql, sqlite

    from saas.clock import AwareDateTime

    # A literal placeholder, not a bind of the composed statement: that would carry the column's type and render
    # as ":company_id::UUID" on PostgreSQL, which text() does not take for a parameter.
    company = literal_column(":company_id")
    pubs, objs = Publication.__table__, Objection.__table__
    places, profiles = Community.__table__, DisclosureProfile.__table__
    public = (pubs.c.company_id == company) & (pubs.c.status != literal_column(f"'{Status.DRAFT.value}'"))
    mine = objs.c.company_id == company
    statement = select(
        select(func.count()).select_from(pubs).where(public).scalar_subquery(),
        select(func.max(pubs.c.published_at)).where(public).scalar_subquery(),
        select(func.max(pubs.c.superseded_at)).where(public).scalar_subquery(),
        select(func.count()).select_from(objs).where(mine).scalar_subquery(),
        select(func.max(objs.c.created_at)).where(mine).scalar_subquery(),
        select(func.max(objs.c.replied_at)).where(mine).scalar_subquery(),
        select(func.max(objs.c.closed_at)).where(mine).scalar_subquery(),
        # A community renamed, added or removed; a calendar start moved: the pages change with them.
        select(_concat(places.c.name, dialect)).where(places.c.company_id == company,
                                                      places.c.deleted_at.is_(None)).scalar_subquery(),
        select(_concat(profiles.c.calendar_from, dialect)).where(profiles.c.company_id == company)
        .scalar_subquery(),
    )
    # As text with one named parameter: SQLAlchemy works out a cache key for a composed statement on every run,
    # which for this one cost more than the query; a text statement's key is its string.
    target = (postgresql if dialect == "postgresql" else sqlite).dialect(paramstyle="named")
    when = AwareDateTime()
    types = (Integer(), when, when, Integer(), when, when, when, String(), String())
    return (text(str(statement.compile(dialect=target))).bindparams(bindparam("company_id", type_=Uuid()))
            .columns(*(column(f"c{n}", t) for n, t in enumerate(types))))


def public_fingerprint() -> tuple:
    """What the public pages are drawn from, in one statement: counts and times of the public rows (drafts don't
    count), the communities' names and calendar starts. The ETag changes exactly when one of them does."""
    from saas.tenancy import require_company_id

    statement = _fingerprint_statement(db.engine.dialect.name)
    return tuple(db.session.execute(statement, {"company_id": require_company_id()}).one())


def last_change(fingerprint: tuple) -> datetime | None:
    """When a public row last changed (Last-Modified): the newest publish, supersede, objection, reply or close."""
    from saas.clock import aware

    times = [aware(v) for v in (fingerprint[1], fingerprint[2], fingerprint[4], fingerprint[5], fingerprint[6])
             if v is not None]
    return max(times) if times else None


# --- the calendar ------------------------------------------------------------------------------------------------


@dataclass
class DueState:
    due: schedule.Due
    publication: Publication | None  # the first published version for that period
    published_on: date | None
    state: str  # on_time | late | overdue | soon | upcoming

    @property
    def kind(self):
        return self.due.kind


def first_published_by_period(community_ids) -> dict:
    """(community, kind, period_start) → (first published day, the current version)."""
    out: dict = {}
    if not community_ids:
        return out
    rows = db.session.execute(select(Publication).where(
        Publication.community_id.in_(community_ids), Publication.status.in_(PUBLIC),
        Publication.kind.not_in((Kind.BOARD, Kind.RATE_CHANGE)))
        .order_by(Publication.version)).scalars()
    for pub in rows:
        key = (pub.community_id, pub.kind, pub.period_start)
        if key not in out:
            out[key] = [local_today(pub.published_at), pub]
        elif pub.status == Status.PUBLISHED:
            out[key][1] = pub
    return out


def calendar(profile: DisclosureProfile, today: date, published: dict, *, ahead: bool = True) -> list[DueState]:
    """What was due up to today and how it went, plus (with ``ahead``) what is due next of each kind."""
    entries = schedule.dues(profile.calendar_from, today)
    if ahead:
        entries += [schedule.next_due(profile.calendar_from, today, kind) for kind in schedule.MONTHS]
    seen = set()
    states = []
    for due in entries:
        if (due.kind, due.period_start) in seen:
            continue
        seen.add((due.kind, due.period_start))
        hit = published.get((profile.community_id, due.kind, due.period_start))
        day, pub = (hit or (None, None))
        if day is not None:
            state = "on_time" if day <= due.due_on else "late"
        elif due.due_on < today:
            state = "overdue"
        elif (due.due_on - today).days <= schedule.SOON_DAYS:
            state = "soon"
        else:
            state = "upcoming"
        states.append(DueState(due, pub, day, state))
    return sorted(states, key=lambda s: (s.due.due_on, s.due.kind))


def record(profiles, today: date) -> dict:
    """The company's disclosure record: statements due so far, on time, late, still overdue."""
    published = first_published_by_period([p.community_id for p in profiles])
    counts = {"due": 0, "on_time": 0, "late": 0, "overdue": 0}
    for profile in profiles:
        for s in calendar(profile, today, published, ahead=False):
            counts["due"] += 1
            counts[s.state] = counts.get(s.state, 0) + 1
    return counts
