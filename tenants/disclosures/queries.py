"""Reads shared by the editor, the public pages, the reminder job and the on-time figures. Only published (or
superseded) versions ever reach a public page: every public read goes through ``public_*``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import bindparam, select

from saas.clock import local_today
from saas.extensions import db
from saas.tenancy import built_once
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
from tenants.roster.queries import live_communities

PUBLIC = (Status.PUBLISHED, Status.SUPERSEDED)


def communities() -> list[Community]:
    return live_communities()


# The disclosure pages' reads, built once and run with parameters (building each per request cost about what
# running it did).
_PROFILE_OF = built_once(select(DisclosureProfile).where(DisclosureProfile.community_id == bindparam("community_id")))
_PROFILES = built_once(select(DisclosureProfile))
_PUBLICATIONS_OF = built_once(select(Publication).where(Publication.community_id == bindparam("community_id"))
                              .order_by(Publication.version))
_FIRST_PUBLISHED = built_once(select(Publication).where(
    Publication.community_id.in_(bindparam("community_ids", expanding=True)), Publication.status.in_(PUBLIC),
    Publication.kind.not_in((Kind.BOARD, Kind.RATE_CHANGE))).order_by(Publication.version))


def profile_of(community_id) -> DisclosureProfile | None:
    return db.session.execute(_PROFILE_OF, {"community_id": community_id}).scalar_one_or_none()


def profiles_by_community() -> dict:
    return {p.community_id: p for p in db.session.execute(_PROFILES).scalars()}


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


@dataclass
class CommunityPublications:
    """Every version of a community's disclosures read once, sorted out as the editor's page uses them."""

    board: Publication | None  # the current published board
    current: list  # current published versions but the board, newest period first (current_publications)
    drafts: list  # newest first (drafts)
    published: dict  # first_published_by_period for the community
    board_published: bool  # a board was ever published (services.board_published)


def community_publications(community_id) -> CommunityPublications:
    """One statement for what current_board, current_publications, drafts, first_published_by_period and
    services.board_published would read in five: a community's publications (a few dozen a year, not the
    company's size)."""
    rows = list(db.session.execute(_PUBLICATIONS_OF, {"community_id": community_id}).scalars())
    board = next((p for p in rows if p.kind == Kind.BOARD and p.status == Status.PUBLISHED), None)
    current = sorted((p for p in rows if p.kind != Kind.BOARD and p.status == Status.PUBLISHED),
                     key=lambda p: (p.period_start, p.published_at), reverse=True)
    drafts = sorted((p for p in rows if p.status == Status.DRAFT), key=lambda p: p.created_at, reverse=True)
    return CommunityPublications(
        board=board, current=current, drafts=drafts,
        published=_first_published(p for p in rows if p.status in PUBLIC
                                   and p.kind not in (Kind.BOARD, Kind.RATE_CHANGE)),
        board_published=any(p.kind == Kind.BOARD and p.status != Status.DRAFT for p in rows))


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
    rows = db.session.execute(_FIRST_PUBLISHED, {"community_ids": list(community_ids)}).scalars()
    return _first_published(rows)


def _first_published(rows) -> dict:
    """``rows`` public statements in version order → (community, kind, period_start) → [first day, current]."""
    out: dict = {}
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
