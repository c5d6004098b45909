"""Per-company on-time figures for the red/black list (saas/ratings calls this; the lead wires it at merge).

A plain function of the company and a date range, reading that company's rows in its own context."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import select

from saas.clock import local_today
from saas.extensions import db
from saas.tenancy import company_context
from tenants.disclosures import queries
from tenants.disclosures.models import DisclosureProfile, Objection


def quarter_figures(company_id: uuid.UUID | int | str, start: date, end: date) -> dict:
    """Statements and objection replies that fell due in [start, end] (inclusive), and how many of each were on
    time. A statement counts once its due day has passed (still unpublished then: due and not on time); an
    objection counts once its reply deadline has passed or it was answered.

    Keys: disclosures_due, disclosures_on_time, objections_due, objections_answered_on_time."""
    if not isinstance(company_id, uuid.UUID):
        company_id = uuid.UUID(str(company_id))
    today = local_today()
    until = min(end, today)
    with company_context(company_id):
        profiles = list(db.session.execute(select(DisclosureProfile)).scalars())
        published = queries.first_published_by_period([p.community_id for p in profiles])
        due = on_time = 0
        for profile in profiles:
            for s in queries.calendar(profile, until, published, ahead=False):
                if start <= s.due.due_on <= until:
                    due += 1
                    on_time += s.state == "on_time"
        # Due in the range and settled: its deadline has passed, or it was answered already (on time or not).
        objections = [o for o in db.session.execute(select(Objection).where(
            Objection.reply_due_on >= start, Objection.reply_due_on <= end)).scalars()
            if o.reply_due_on <= today or o.replied_on is not None]
        answered = sum(1 for o in objections if o.replied_on is not None and o.replied_on <= o.reply_due_on)
    return {"disclosures_due": due, "disclosures_on_time": on_time, "objections_due": len(objections),
            "objections_answered_on_time": answered}
