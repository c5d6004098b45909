"""The per-company job: each company's figures for the quarter (its registered figure sources, run in its own
context, and its owner ratings), written to the platform tables; then every company's score, the red and black
lists and the weekly ranking, from those tables only. Nightly (saas.jobs.PERIODIC_JOBS), from the CLI
(``flask --app wsgi compute-ratings``) and on demand from the platform admin. Rerunning it rewrites the same rows.

Company rows are read from the platform's companies table; the sources run one company at a time in
``company_context``, so no company module's rows are read across companies here."""

from __future__ import annotations

import logging
import re
import uuid
from datetime import date, timedelta

from sqlalchemy import func, select

from saas.clock import local_today, utcnow
from saas.extensions import db
from saas.models import Company, SubscriptionStatus
from saas.ratings import figures as figure_sources
from saas.ratings.figures import previous_quarter, quarter_of
from saas.ratings.models import (
    CompanyRatingProfile,
    ListEntry,
    ListKind,
    OwnerRating,
    QuarterFigures,
    WeeklyRank,
)
from saas.ratings.rules import OWNER, compute, ensure_rules, list_for, platform_means, sum_figures
from saas.ratings.services import add_months
from saas.tenancy import company_context, new_id

log = logging.getLogger(__name__)

_CITY = re.compile(r"^(?:.{2,8}?省|.{2,8}?自治区)?(.{2,8}?市)")


def city_of(company: Company) -> str:
    """The city from the company's address ("浙江省杭州市…" → "杭州市"); "" when the address does not start with one."""
    match = _CITY.match((company.address or "").strip())
    return match.group(1) if match else ""


def owner_figures(company_id: uuid.UUID, quarter_start: date) -> dict:
    """The counted owner ratings of the quarter: how many, and the sum of their averages (1–5)."""
    rows = db.session.execute(select(OwnerRating).where(
        OwnerRating.company_id == company_id, OwnerRating.quarter_start == quarter_start,
        OwnerRating.excluded_at.is_(None))).scalars().all()
    return {"ratings": len(rows), "rating_sum": round(sum(r.average() for r in rows), 4)}


def collect(company_id: uuid.UUID, quarter_start: date, version: int) -> QuarterFigures:
    """Write (or rewrite) one company's figures for one quarter."""
    _start, end = quarter_of(quarter_start)
    figures = {OWNER: owner_figures(company_id, quarter_start)}
    for name, fn in sorted(figure_sources.sources().items()):
        with company_context(company_id):
            figures[name] = fn(company_id, quarter_start, end)
    row = db.session.execute(select(QuarterFigures).where(
        QuarterFigures.company_id == company_id, QuarterFigures.quarter_start == quarter_start)).scalar_one_or_none()
    if row is None:
        row = QuarterFigures(company_id=company_id, quarter_start=quarter_start, rules_version=version)
        db.session.add(row)
    row.figures = figures
    row.sample_size = figures[OWNER]["ratings"]
    row.computed_at = utcnow()
    return row


def window(today: date, quarters: int) -> list[date]:
    start, _ = quarter_of(today)
    out = [start]
    while len(out) < quarters:
        out.append(previous_quarter(out[-1]))
    return out


def means_for(quarter_starts: list[date], params: dict) -> dict:
    rows = db.session.execute(select(QuarterFigures.figures).where(
        QuarterFigures.quarter_start.in_(quarter_starts))).scalars().all()
    return platform_means(rows, params)


def is_published(company: Company) -> bool:
    return company.suspended_at is None and company.subscription_status != SubscriptionStatus.CANCELED


def score_company(company: Company, today: date, version: int, params: dict, means: dict) -> CompanyRatingProfile:
    """Score the window's figures (and each quarter's own, for the trend) and write the company's public profile."""
    quarters = window(today, params["window_quarters"])
    rows = db.session.execute(select(QuarterFigures).where(
        QuarterFigures.company_id == company.id, QuarterFigures.quarter_start.in_(quarters))).scalars().all()
    for row in rows:
        own = compute(row.figures, means, params)
        row.score, row.grade, row.parts, row.rules_version = own.score, own.grade, own.parts, version
    result = compute(sum_figures([r.figures for r in rows]) or {OWNER: {}}, means, params)
    profile = db.session.execute(select(CompanyRatingProfile).where(
        CompanyRatingProfile.company_id == company.id)).scalar_one_or_none()
    if profile is None:
        profile = CompanyRatingProfile(company_id=company.id)
        db.session.add(profile)
    profile.slug, profile.name, profile.city = company.slug, company.name, city_of(company)
    profile.score, profile.grade, profile.sample_size = result.score, result.grade, result.sample_size
    profile.quarter_start = quarters[0]
    profile.rules_version = version
    profile.published = is_published(company)
    profile.updated_at = utcnow()
    profile._list = list_for(result, params)  # for publish_lists, in this run only
    return profile


def update_listing(profile: CompanyRatingProfile, kind: str | None, version: int, params: dict, now) -> None:
    """Renew, start or end the company's grade entry. Violations (entries with a reason) are left alone."""
    current = db.session.execute(select(ListEntry).where(
        ListEntry.company_id == profile.company_id, ListEntry.ended_at.is_(None), ListEntry.reason == "")
    ).scalars().all()
    for entry in current:
        if entry.kind.value != kind and kind is not None:
            entry.ended_at, entry.end_reason = now, "moved"
    if kind is None or not profile.published:
        return
    entry = next((e for e in current if e.kind.value == kind), None)
    if entry is None:
        entry = ListEntry(company_id=profile.company_id, kind=ListKind(kind), listed_at=now)
        db.session.add(entry)
    entry.city, entry.company_name, entry.slug = profile.city, profile.name, profile.slug
    entry.grade, entry.score, entry.rules_version = profile.grade, profile.score, version
    entry.renewed_at = now
    entry.expires_at = add_months(now, params["expiry_months"])


def expire_entries(now) -> int:
    expired = db.session.execute(select(ListEntry).where(
        ListEntry.ended_at.is_(None), ListEntry.expires_at <= now)).scalars().all()
    for entry in expired:
        entry.ended_at, entry.end_reason = entry.expires_at, "expired"
    return len(expired)


def week_start(today: date) -> date:
    return today - timedelta(days=today.weekday())


def publish_ranking(today: date, version: int) -> int:
    """This week's ranking per city from the profiles: each company's row of the week is updated in place (the app's
    database role may not delete), a company no longer ranked keeps its row with rank 0 (not shown)."""
    monday = week_start(today)
    existing = {r.company_id: r for r in db.session.execute(
        select(WeeklyRank).where(WeeklyRank.week_start == monday)).scalars()}
    profiles = db.session.execute(select(CompanyRatingProfile).where(
        CompanyRatingProfile.published.is_(True), CompanyRatingProfile.sample_size > 0)
        .order_by(CompanyRatingProfile.city, CompanyRatingProfile.score.desc(), CompanyRatingProfile.name)
    ).scalars().all()
    rank, city, new = 0, None, []
    for p in profiles:
        rank = 1 if p.city != city else rank + 1
        city = p.city
        values = {"city": p.city, "rank": rank, "company_name": p.name, "slug": p.slug, "score": p.score,
                  "grade": p.grade, "rules_version": version}
        row = existing.pop(p.company_id, None)
        if row is None:
            new.append({"id": new_id(), "week_start": monday, "company_id": p.company_id, **values})
        else:
            for key, value in values.items():
                setattr(row, key, value)
    for row in existing.values():
        row.rank = 0
    if new:
        db.session.execute(WeeklyRank.__table__.insert(), new)
    return len(profiles)


def collect_company(company_id: uuid.UUID, today: date, version: int) -> None:
    start, _ = quarter_of(today)
    collect(company_id, start, version)
    previous = previous_quarter(start)
    # The quarter just ended is finished off during the first weeks of the next (late ratings, closed jobs).
    if (today - start).days < 15 or db.session.execute(select(func.count()).select_from(QuarterFigures).where(
            QuarterFigures.company_id == company_id, QuarterFigures.quarter_start == previous)).scalar() == 0:
        collect(company_id, previous, version)


def run_company(company: Company, today: date | None = None) -> CompanyRatingProfile:
    """On demand (platform admin): one company's figures and score, against the stored platform means. Its list
    entry is updated too; the weekly ranking waits for the nightly run."""
    today = today or local_today()
    rules = ensure_rules()
    collect_company(company.id, today, rules.version)
    db.session.flush()
    means = means_for(window(today, rules.params["window_quarters"]), rules.params)
    profile = score_company(company, today, rules.version, rules.params, means)
    update_listing(profile, profile._list, rules.version, rules.params, utcnow())
    db.session.commit()
    return profile


def run_all(today: date | None = None) -> dict:
    """The nightly run over every company. One company's failing source does not stop the others."""
    today = today or local_today()
    rules = ensure_rules()
    version, params = rules.version, rules.params
    db.session.commit()
    ids = db.session.execute(select(Company.id).order_by(Company.created_at)).scalars().all()
    failed = 0
    for company_id in ids:
        try:
            collect_company(company_id, today, version)
            db.session.commit()
        except Exception:
            db.session.rollback()
            log.exception("ratings: figures failed for company %s", company_id)
            failed += 1
    means = means_for(window(today, params["window_quarters"]), params)
    now = utcnow()
    for company in db.session.execute(select(Company).order_by(Company.created_at)).scalars():
        profile = score_company(company, today, version, params, means)
        update_listing(profile, profile._list, version, params, now)
    db.session.flush()
    expired = expire_entries(now)
    ranked = publish_ranking(today, version)
    db.session.commit()
    result = {"companies": len(ids), "failed": failed, "ranked": ranked, "expired": expired}
    log.info("ratings: %s", result)
    return result
