"""Reads of the roster shared by many pages, built once and run as they are: a statement built per request cost
about what running it did (its construction, the company filter added to it, its cache key)."""

from __future__ import annotations

from sqlalchemy import select

from saas.extensions import db
from saas.tenancy import built_once
from tenants.roster.models import Community

_LIVE_COMMUNITIES = built_once(select(Community).where(Community.live()).order_by(Community.name))
_LIVE_COMMUNITY_NAMES = built_once(select(Community.id, Community.name).where(Community.live())
                                   .order_by(Community.name))


def live_communities() -> list[Community]:
    """The company's communities not deleted, by name (the filters' and forms' choices)."""
    return list(db.session.execute(_LIVE_COMMUNITIES).scalars())


def live_community_names() -> list:
    """(id, name) rows of the live communities, by name: a filter's choices, where objects are not needed."""
    return db.session.execute(_LIVE_COMMUNITY_NAMES).all()
