"""Reads of the red/black list for pages. Every public read is of the precomputed platform tables, by index, in a
fixed number of statements however many companies there are (tests/test_ratings_pages.py counts them)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date
from functools import cache

from sqlalchemy import bindparam, func, select

from saas.extensions import db
from saas.pagination import KeysetPage, keyset_paginate
from saas.ratings.job import week_start
from saas.ratings.models import (
    Appeal,
    CompanyRatingProfile,
    ListEntry,
    ListKind,
    OwnerRating,
    QuarterFigures,
    RatingReply,
    WeeklyRank,
)
from saas.tenancy import built_once, utcnow

LIST_LIMIT = 50
SEARCH_LIMIT = 20
RECENT_REVIEWS = 20
REVIEWS_PER_PAGE = 20  # the company's own reviews page


def cities() -> list[str]:
    return db.session.execute(select(CompanyRatingProfile.city).where(CompanyRatingProfile.published.is_(True))
                              .distinct().order_by(CompanyRatingProfile.city)).scalars().all()


def current_entries(kind: ListKind, city: str | None) -> list[ListEntry]:
    # A suspended or ended company's public pages are gone (profile unpublished): its entries are not listed.
    hidden = select(CompanyRatingProfile.company_id).where(CompanyRatingProfile.published.is_(False))
    stmt = select(ListEntry).where(ListEntry.kind == kind, ListEntry.ended_at.is_(None),
                                   ListEntry.expires_at > utcnow(), ListEntry.company_id.not_in(hidden))
    if city is not None:
        stmt = stmt.where(ListEntry.city == city)
    order = (ListEntry.score.desc(),) if kind is ListKind.RED else (ListEntry.reason.desc(), ListEntry.score)
    return db.session.execute(stmt.order_by(*order, ListEntry.company_name).limit(LIST_LIMIT)).scalars().all()


def latest_week() -> date | None:
    return db.session.execute(select(func.max(WeeklyRank.week_start))).scalar()


def weeks(limit: int = 12) -> list[date]:
    """The weeks with a published ranking, newest first (the ranking's history)."""
    return db.session.execute(select(WeeklyRank.week_start).distinct().order_by(WeeklyRank.week_start.desc())
                              .limit(limit)).scalars().all()


def weekly_ranking(city: str | None, week: date | None = None) -> list[WeeklyRank]:
    week = week or latest_week()
    if week is None:
        return []
    stmt = select(WeeklyRank).where(WeeklyRank.week_start == week, WeeklyRank.rank > 0)
    if city is not None:
        order = (WeeklyRank.rank,)
        stmt = stmt.where(WeeklyRank.city == city)
    else:  # every city: the best scores of the platform, each with its rank in its own city
        order = (WeeklyRank.score.desc(), WeeklyRank.company_name)
    return db.session.execute(stmt.order_by(*order).limit(LIST_LIMIT)).scalars().all()


def search(q: str) -> list[CompanyRatingProfile]:
    q = (q or "").strip()[:50]
    if not q:
        return []
    escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return db.session.execute(
        select(CompanyRatingProfile).where(CompanyRatingProfile.published.is_(True),
                                           CompanyRatingProfile.name.ilike(f"%{escaped}%", escape="\\"))
        .order_by(CompanyRatingProfile.score.desc()).limit(SEARCH_LIMIT)).scalars().all()


# The statements of a company's ratings pages (public and its admin's), built once and run with parameters:
# building one per request cost about what running it did.
_PROFILE_BY_SLUG = built_once(select(CompanyRatingProfile).where(
    CompanyRatingProfile.slug == bindparam("slug"), CompanyRatingProfile.published.is_(True)))


def profile_by_slug(slug: str) -> CompanyRatingProfile | None:
    return db.session.execute(_PROFILE_BY_SLUG, {"slug": slug}).scalar_one_or_none()


@dataclass
class Review:
    rating: OwnerRating
    reply: RatingReply | None = None
    appeals: list = field(default_factory=list)


def reviews(company_id: uuid.UUID, limit: int = RECENT_REVIEWS) -> list[Review]:
    """The newest reviews of a company, each with the company's newest reply: two statements."""
    # Newest change first, ties by id: ix_owner_ratings_company_updated read backwards, stopping at the limit.
    ratings = db.session.execute(select(OwnerRating).where(OwnerRating.company_id == company_id)
                                 .order_by(OwnerRating.updated_at.desc(), OwnerRating.id.desc())
                                 .limit(limit)).scalars().all()
    return with_replies(ratings)


def reviews_page(company_id: uuid.UUID, per_page: int = REVIEWS_PER_PAGE) -> KeysetPage:
    """One page of a company's reviews for its admin, newest change first, each with the newest reply: two
    statements. By keyset on (updated_at, id) along ix_owner_ratings_company_updated, so every page costs what the
    first does; not counted (counting a company's 6,000 ratings took longer than the page): Previous / Next."""
    page = keyset_paginate(select(OwnerRating).where(OwnerRating.company_id == company_id),
                           (OwnerRating.updated_at, OwnerRating.id), per_page=per_page, counted=False)
    page.items = with_replies(page.items)
    return page


def with_replies(ratings) -> list[Review]:
    """Each rating with the company's newest reply to it (one statement)."""
    ids = [r.id for r in ratings]
    replies: dict = {}
    if ids:
        for reply in db.session.execute(_NEWEST_REPLIES, {"ids": ids}).scalars():
            replies[reply.rating_id] = reply
    return [Review(r, replies.get(r.id)) for r in ratings]


_newest = (select(RatingReply.rating_id, func.max(RatingReply.version).label("v"))
           .where(RatingReply.rating_id.in_(bindparam("ids", expanding=True))).group_by(RatingReply.rating_id)
           .subquery())
_NEWEST_REPLIES = built_once(select(RatingReply).join(
    _newest, (RatingReply.rating_id == _newest.c.rating_id) & (RatingReply.version == _newest.c.v)))


def newest_reply(rating_id: uuid.UUID) -> RatingReply | None:
    """The company's current reply to one rating (its newest version), if any."""
    return db.session.execute(select(RatingReply).where(RatingReply.rating_id == rating_id)
                              .order_by(RatingReply.version.desc()).limit(1)).scalar_one_or_none()


def trend(company_id: uuid.UUID, quarters: int = 8) -> list[QuarterFigures]:
    # Quarters without a single owner rating are left out: their score would be the platform prior alone.
    rows = db.session.execute(select(QuarterFigures).where(QuarterFigures.company_id == company_id,
                                                           QuarterFigures.sample_size > 0)
                              .order_by(QuarterFigures.quarter_start.desc()).limit(quarters)).scalars().all()
    return list(reversed(rows))


@cache
def _appeals_statement(limit: int):
    return built_once(select(Appeal).where(Appeal.company_id == bindparam("company_id"))
                      .order_by(Appeal.created_at.desc()).limit(limit))


def appeals(company_id: uuid.UUID, limit: int = 20) -> list[Appeal]:
    return db.session.execute(_appeals_statement(limit), {"company_id": company_id}).scalars().all()


@cache
def _entries_statement(limit: int):
    return built_once(select(ListEntry).where(ListEntry.company_id == bindparam("company_id"))
                      .order_by(ListEntry.ended_at.is_not(None), ListEntry.listed_at.desc()).limit(limit))


def company_entries(company_id: uuid.UUID, limit: int = 10) -> list[ListEntry]:
    """The company's list entries, current first, then history."""
    return db.session.execute(_entries_statement(limit), {"company_id": company_id}).scalars().all()


def this_week(today: date) -> date:
    return week_start(today)


def profile_by_slug_for(company_id: uuid.UUID) -> CompanyRatingProfile | None:
    profile = db.session.execute(select(CompanyRatingProfile).where(
        CompanyRatingProfile.company_id == company_id)).scalar_one_or_none()
    return profile if profile is not None and profile.published else None
