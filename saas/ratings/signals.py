"""Fake-review signals for the moderation queue, platform-only: a burst of ratings for one company in a day, several
ratings from one address or one device, several raters whose accounts were created the same day, a rater who used
to work for the company. Grouped queries over the ratings shown, a fixed number however many there are."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import func, select

from saas.extensions import db
from saas.i18n import _l
from saas.ratings.models import OwnerRating

BURST = 5        # ratings of one company on one day
SAME_SOURCE = 2  # ratings of one company from one address or one device
SAME_DAY_ACCOUNTS = 3

SIGNAL_LABELS = {
    "burst": _l("Burst: many ratings of this company on one day"),
    "same_ip": _l("Several ratings from one network address"),
    "same_device": _l("Several ratings from one device"),
    "new_accounts": _l("Several raters whose accounts were created the same day"),
    "former_staff": _l("Rated by a former staff member"),
}


def signals_for(ratings: list[OwnerRating]) -> dict:
    """{rating id: [signal code, ...]} for ``ratings``."""
    out: dict = defaultdict(list)
    if not ratings:
        return out
    companies = {r.company_id for r in ratings}
    day = func.date(OwnerRating.created_at)

    def groups(column, minimum):
        rows = db.session.execute(
            select(OwnerRating.company_id, column, func.count()).where(OwnerRating.company_id.in_(companies))
            .group_by(OwnerRating.company_id, column).having(func.count() >= minimum)).all()
        return {(c, str(v)) for c, v, _n in rows if v not in (None, "")}

    bursts = groups(day, BURST)
    ips = groups(OwnerRating.ip, SAME_SOURCE)
    devices = groups(OwnerRating.device, SAME_SOURCE)
    accounts = groups(OwnerRating.account_created_on, SAME_DAY_ACCOUNTS)
    for r in ratings:
        if (r.company_id, str(r.created_at.date())) in bursts:
            out[r.id].append("burst")
        if r.ip and (r.company_id, r.ip) in ips:
            out[r.id].append("same_ip")
        if r.device and (r.company_id, r.device) in devices:
            out[r.id].append("same_device")
        if r.account_created_on and (r.company_id, str(r.account_created_on)) in accounts:
            out[r.id].append("new_accounts")
        if r.former_staff:
            out[r.id].append("former_staff")
    return out
