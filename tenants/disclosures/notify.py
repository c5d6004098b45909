"""Who hears about objections and due statements (in-app notices through tenants/inbox)."""

from __future__ import annotations

from flask import current_app
from flask_babel import force_locale, gettext
from sqlalchemy import select

from saas.extensions import db
from saas.models import Membership, Role
from tenants.inbox.services import notify


def _admins() -> list:
    return list(db.session.execute(select(Membership.user_id).where(
        Membership.role == Role.ADMIN, Membership.ended_at.is_(None))).scalars())


def _company_language():
    # Stored notices are read later by anyone: written in the company's language.
    return force_locale(current_app.config["BABEL_DEFAULT_LOCALE"])


def objection_raised(objection, pub, line, *, actor) -> None:
    with _company_language():
        text = gettext("An owner raised an objection on “%(line)s” of %(title)s; reply by %(day)s.",
                       line=line.label, title=pub.title, day=objection.reply_due_on.isoformat())
    notify(_admins(), text, subject_type="disclosure", subject_id=pub.id, actor=actor)


def objection_answered(objection, *, actor) -> None:
    with _company_language():
        text = gettext("The company replied to your objection: %(reply)s", reply=objection.reply[:200])
    notify([objection.raised_by_id], text, subject_type="disclosure", subject_id=objection.publication_id,
           actor=actor)


def statement_due(community, due) -> None:
    with _company_language():
        text = gettext("%(community)s: the %(kind)s for %(start)s – %(end)s is due by %(day)s.",
                       community=community.name, kind=due.kind.label, start=due.period_start.isoformat(),
                       end=due.period_end.isoformat(), day=due.due_on.isoformat())
    notify(_admins(), text, subject_type="disclosure", subject_id=community.id)
