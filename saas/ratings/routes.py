"""The public pages of the red/black list (/ratings/): no login, phone first, cacheable. They read only the
precomputed platform tables (queries.py), never a company's own tables. The flag form is the one page with a
session (its CSRF token); everything else sets no cookie and is cached in the process (saas/public_cache.py) under
the platform's "ratings" version token, which every write to those tables moves (see saas/ratings/__init__.py):
a cached page costs one statement, and browsers revalidate it with its ETag."""

from __future__ import annotations

from flask import abort, flash, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from saas import public_cache
from saas.clock import local_today
from saas.errors import ServiceError
from saas.extensions import db, limiter
from saas.htmx import redirect_to, render
from saas.ratings import bp, figures, queries, services
from saas.ratings.models import DIMENSION_LABELS, DIMENSIONS, FLAG_REASON_LABELS, ListKind, OwnerRating
from saas.ratings.rules import COMPONENT_LABELS, default_params
from saas.tenancy import parse_uuid_or_404


# Cache-Control: public, no-cache with the ETag (public_cache): these pages hold nothing personal, and a browser
# asks again each time, so nobody sees a list older than the last write.
def cached(*args: str):
    return public_cache.cached(public_cache.RATINGS, lambda: public_cache.platform_token(public_cache.RATINGS), args)


def _city_arg(cities: list[str]) -> str | None:
    city = request.args.get("city")
    return city if city in cities else None


@bp.get("/")
@cached("city", "q", "week")
def index():
    cities = queries.cities()
    city = _city_arg(cities)
    q = (request.args.get("q") or "").strip()[:50]
    weeks = queries.weeks()
    # ?week= one of the published weeks (the ranking's history); anything else is the latest.
    week = next((w for w in weeks if w.isoformat() == request.args.get("week")), weeks[0] if weeks else None)
    red, black = queries.current_entries(ListKind.RED, city), queries.current_entries(ListKind.BLACK, city)
    # An entry leaves the lists when it expires (queries.current_entries): the page is good until the first does.
    public_cache.valid_until(min((e.expires_at for e in (*red, *black)), default=None))
    return render(
        "ratings/index.html", cities=cities, city=city, q=q, results=queries.search(q) if q else None,
        red=red, black=black, ranking=queries.weekly_ranking(city, week) if week else [], week=week, weeks=weeks)


@bp.get("/rules")
@cached()
def rules():
    from saas.ratings.models import RatingRules

    # The versions, newest first: the first is the one in force (one statement for the page).
    history = db.session.execute(select(RatingRules).order_by(RatingRules.version.desc()).limit(10)).scalars().all()
    rules = history[0] if history else None
    params = rules.params if rules else default_params()
    connected = set(figures.sources()) | {"owner_ratings"}
    return render("ratings/rules.html", rules=rules, history=history,
                          version=rules.version if rules else 1, params=params, labels=COMPONENT_LABELS,
                          connected=connected)


@bp.get("/c/<company_slug>")
@cached()
def company(company_slug):
    profile = queries.profile_by_slug(company_slug)
    if profile is None:
        abort(404)
    reviews = queries.reviews(profile.company_id)
    trend = queries.trend(profile.company_id)
    latest = trend[-1] if trend else None
    return render(
        "ratings/company.html", profile=profile, reviews=reviews, trend=trend, latest=latest,
        appeals=queries.appeals(profile.company_id), entries=queries.company_entries(profile.company_id),
        labels=COMPONENT_LABELS, dimensions=[(d, DIMENSION_LABELS[d]) for d in DIMENSIONS],
        today=local_today())


def _rating_or_404(rating_id) -> OwnerRating:
    rating = db.session.get(OwnerRating, parse_uuid_or_404(rating_id))
    if rating is None:
        abort(404)
    return rating


@bp.route("/reviews/<rating_id>/flag", methods=["GET", "POST"])
@limiter.limit("20/hour", methods=["POST"])
def flag(rating_id):
    rating = _rating_or_404(rating_id)
    profile = queries.profile_by_slug_for(rating.company_id)
    if profile is None:
        abort(404)
    if request.method == "POST":
        try:
            services.flag(rating, request.form.get("reason", ""), ip=request.remote_addr or "")
            db.session.commit()
        except ServiceError as exc:
            db.session.rollback()
            return render("ratings/flag.html", status=422, rating=rating, profile=profile, error=exc,
                          reasons=FLAG_REASON_LABELS)
        flash(_("Thank you: the platform will check this review."), "success")
        return redirect_to(url_for(".company", company_slug=profile.slug))
    return render("ratings/flag.html", rating=rating, profile=profile, error=None, reasons=FLAG_REASON_LABELS)


@bp.app_template_global("review_texts")
def _review_texts():
    from saas.ratings.texts import review_texts

    return review_texts()


@bp.app_template_filter("local_day")
def _local_day(value) -> str:
    """A moment's day in Shanghai as YYYY-MM-DD: what ``localtime('yyyy-MM-dd')`` shows, without Babel's pattern
    formatting (about 25 µs a call, once per review on a page of 50)."""
    return local_today(value).isoformat() if value is not None else ""
