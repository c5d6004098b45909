"""The periodic reminder: tell a company's admins about each statement due within ``schedule.SOON_DAYS`` (or
already overdue) that is not published yet, once per community, kind and period (``DisclosureReminder`` rows make
a second run change nothing)."""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime

from sqlalchemy import select

from saas.clock import local_today, utcnow
from saas.extensions import db
from saas.models import Company
from saas.tenancy import company_context
from tenants.disclosures import notify, queries
from tenants.disclosures.models import DisclosureProfile, DisclosureReminder
from tenants.roster.models import Community

log = logging.getLogger(__name__)


def remind_company(now: datetime | None = None) -> int:
    """Remind the current company's admins; returns how many reminders were sent."""
    today = local_today(now)
    profiles = list(db.session.execute(select(DisclosureProfile)).scalars())
    published = queries.first_published_by_period([p.community_id for p in profiles])
    done = {(r.community_id, r.kind, r.period_start) for r in db.session.execute(select(DisclosureReminder)).scalars()}
    sent = 0
    for profile in profiles:
        community = db.session.get(Community, (profile.company_id, profile.community_id))
        if community is None or community.deleted_at is not None:
            continue
        for s in queries.calendar(profile, today, published):
            key = (profile.community_id, s.kind, s.due.period_start)
            if s.state not in ("soon", "overdue") or key in done:
                continue
            db.session.add(DisclosureReminder(community_id=profile.community_id, kind=s.kind,
                                              period_start=s.due.period_start))
            notify.statement_due(community, s.due)
            sent += 1
    db.session.commit()
    return sent


def remind_all_companies(now: datetime | None = None) -> dict[str, int]:
    now = now or utcnow()
    ids = [c.id for c in db.session.execute(select(Company).where(Company.suspended_at.is_(None))
                                            .order_by(Company.created_at, Company.id)).scalars()
           if not c.is_read_only(now)]
    db.session.rollback()
    totals: Counter = Counter(companies=0, reminders=0, failed=0)
    for company_id in ids:
        with company_context(company_id):
            try:
                totals["reminders"] += remind_company(now)
                totals["companies"] += 1
            except Exception:  # one company's failure must not stop the others' reminders
                db.session.rollback()
                log.exception("disclosure reminders failed for company %s", company_id)
                totals["failed"] += 1
    return dict(totals)


def summary(totals: dict[str, int]) -> str:
    return ("Disclosure reminders: {companies} companies checked; {reminders} reminders sent; {failed} failed."
            .format(**totals))
