"""The bell: a member's in-app notices, newest first, with the unread count in the menu bar."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from flask import Blueprint, g, url_for
from flask_login import current_user
from sqlalchemy import func, select, update

from saas.extensions import db
from saas.htmx import redirect_to, render
from saas.models import Role
from saas.pagination import paginate
from saas.tenancy import utcnow
from tenants import MEMBER_FIGURES, member_figure
from tenants.access import current_company, current_membership, require_role
from tenants.inbox.models import Notification

bp = Blueprint("inbox", __name__)
ALL_ROLES = (Role.ADMIN, Role.STEWARD, Role.TECHNICIAN, Role.OWNER, Role.CASHIER)
PER_PAGE = 30


def _mine():
    return Notification.user_id == current_user.id


def _unread_count(user_id=None):
    """``user_id``: the signed-in user's id, or a column naming it (the statement that loads the user)."""
    mine = _mine() if user_id is None else Notification.user_id == user_id
    return select(func.count()).select_from(Notification).where(mine, Notification.read_at.is_(None))


# Read with the membership on company pages (tenants.MEMBER_FIGURES): no statement of its own on a read request.
MEMBER_FIGURES["inbox_unread"] = lambda user_id: _unread_count(user_id).scalar_subquery()


@bp.app_template_global()
def inbox_unread() -> int:
    """The menu bar's unread count: one indexed count, only on company pages."""
    if g.get("membership") is None:
        return 0
    unread = member_figure("inbox_unread")
    if unread is None:  # a write request: counted now, after what it changed
        unread = db.session.execute(_unread_count()).scalar_one()
    return unread


# Where a notice leads, per subject type: each module that sends notices registers its own (work orders today,
# fees next), so the inbox never needs to know the modules that use it. fn(subject_id, role) → URL or None.
SUBJECT_LINKS: dict[str, Callable[[uuid.UUID | None, Role], str | None]] = {}


def links_subject(subject_type: str):
    def decorate(fn):
        SUBJECT_LINKS[subject_type] = fn
        return fn
    return decorate


def subject_url(notification: Notification) -> str | None:
    """Where a notice leads, as the reader's role sees the subject (None: a notice without a page)."""
    link = SUBJECT_LINKS.get(notification.subject_type)
    return link(notification.subject_id, current_membership.role) if link else None


@bp.get("/notifications")
@require_role(*ALL_ROLES)
def index():
    page = paginate(select(Notification).where(_mine()).order_by(Notification.created_at.desc(),
                                                                  Notification.id.desc()), per_page=PER_PAGE)
    unread = [n.id for n in page.items if n.read_at is None]
    body = render("tenants/inbox/index.html", page=page, subject_url=subject_url)
    # Seen now: shown once as new, then as read (idempotent, so a GET may do it; not in a read-only company).
    if unread and not current_company.is_read_only():
        db.session.execute(update(Notification).where(_mine(), Notification.id.in_(unread))
                           .values(read_at=utcnow()), execution_options={"synchronize_session": False})
        db.session.commit()
    return body


@bp.post("/notifications/read")
@require_role(*ALL_ROLES)
def read_all():
    db.session.execute(update(Notification).where(_mine(), Notification.read_at.is_(None))
                       .values(read_at=utcnow()), execution_options={"synchronize_session": False})
    db.session.commit()
    return redirect_to(url_for(".index"))
