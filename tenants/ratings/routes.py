"""The owner's rating form and the company admin's reviews page (replies, appeals)."""

from __future__ import annotations

from flask import abort, flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from saas.errors import ServiceError
from saas.extensions import db, htmx
from saas.htmx import redirect_to, render, render_partial
from saas.models import Role
from saas.ratings import queries
from saas.ratings import services as ratings
from saas.ratings.models import DIMENSION_LABELS, DIMENSIONS, ListEntry, OwnerRating
from saas.ratings.rules import current_params
from saas.tenancy import parse_uuid_or_404
from tenants.access import current_company, current_membership, require_role
from tenants.ratings import bp
from tenants.ratings.eligibility import homes_of, is_staff, was_staff


def _rate_page(homes, home, *, status=200, error=None, values=None):
    existing = ratings.rating_of(current_company.id, home.household_id) if home else None
    return render("tenants/ratings/rate.html", status=status, homes=homes, home=home, existing=existing,
                  dimensions=[(d, DIMENSION_LABELS[d]) for d in DIMENSIONS], error=error,
                  values=values or ({d: getattr(existing, d) for d in DIMENSIONS} | {"comment": existing.comment}
                                    if existing else {}),
                  min_days=current_params()[1]["min_owner_days"])


@bp.route("/rate", methods=["GET", "POST"])
@require_role(Role.OWNER)
def rate():
    homes = homes_of(current_membership)
    wanted = request.values.get("household_id", "")
    home = next((h for h in homes if str(h.household_id) == wanted), homes[0] if homes else None)
    if request.method == "GET" or home is None:
        return _rate_page(homes, home)
    values = {d: request.form.get(d, "") for d in (*DIMENSIONS, "comment")}
    try:
        ratings.submit_rating(
            company_id=current_company.id, household_id=home.household_id, user=current_user,
            owner_since=home.owner_since, community_name=home.community_name,
            is_staff=is_staff(current_membership), former_staff=was_staff(current_user.id),
            scores=values, comment=values["comment"], ip=request.remote_addr or "",
            user_agent=request.headers.get("User-Agent", ""))
        db.session.commit()
    except ServiceError as exc:
        db.session.rollback()
        return _rate_page(homes, home, status=422, error=exc, values=values)
    flash(_("Thank you: your rating is saved. You can change it until the end of the quarter."), "success")
    return redirect_to(url_for(".rate", household_id=home.household_id))


def _reviews_page(*, status=200, error=None, opened=None, values=None):
    """The reviews, each with its reply and appeal panels. A panel's form is drawn only when it is ``opened``
    ((kind, rating), with the ``values`` typed or stored); the others load theirs when first opened, so the page
    does not draw a hundred forms nobody opens (?form=…, see reviews()). The opened review is shown first when it
    is not on the page (a refused reply to a review of page 2 comes back on page 1, with what was typed)."""
    page = queries.reviews_page(current_company.id)
    if opened is not None:
        kind, rating = opened
        if all(review.rating.id != rating.id for review in page.items):
            page.items = queries.with_replies([rating]) + page.items
        opened = (kind, str(rating.id))
    # The panels' form addresses keep the page's place (a panel opened without JavaScript draws this page again).
    place = {k: request.args[k] for k in ("page", "after", "before") if request.args.get(k)}
    return render("tenants/ratings/reviews.html", status=status, page=page, reviews=page.items,
                  appeals=queries.appeals(current_company.id), entries=queries.company_entries(current_company.id),
                  profile=queries.profile_by_slug(current_company.slug), error=error,
                  opened=opened, values=values or {},
                  # The addresses built once, the review's id put in per row (url_for costs ~20 µs a call).
                  reply_url=url_for(".reply", rating_id="RATING"),
                  appeal_url=url_for(".appeal_rating", rating_id="RATING"),
                  form_url=url_for(".reviews", form="KIND", rating="RATING", **place))


FORMS = ("reply", "appeal")


@bp.get("/reviews")
@require_role(Role.ADMIN)
def reviews():
    kind = request.args.get("form", "")
    if kind not in FORMS or not request.args.get("rating"):
        return _reviews_page()
    rating = _rating_or_404(request.args["rating"])
    values = {}
    if kind == "reply":
        reply = queries.newest_reply(rating.id)
        values["body"] = reply.body if reply else ""
    if htmx:  # the panel asking for its form
        return render_partial("tenants/ratings/_review_form_partial.html", kind=kind, rid=str(rating.id),
                              url=url_for(".reply" if kind == "reply" else ".appeal_rating", rating_id=rating.id),
                              values=values)
    return _reviews_page(opened=(kind, rating), values=values)  # without JavaScript: the page, form open


def _rating_or_404(rating_id) -> OwnerRating:
    rating = db.session.get(OwnerRating, parse_uuid_or_404(rating_id))
    if rating is None or rating.company_id != current_company.id:  # a platform table: no RLS to rely on
        abort(404)
    return rating


@bp.post("/reviews/<rating_id>/reply")
@require_role(Role.ADMIN)
def reply(rating_id):
    rating = _rating_or_404(rating_id)
    try:
        ratings.reply(rating, company_id=current_company.id, body=request.form.get("body", ""), actor=current_user)
        db.session.commit()
    except ServiceError as exc:
        db.session.rollback()
        return _reviews_page(status=422, error=exc, opened=("reply", rating),
                             values={"body": request.form.get("body", "")})
    flash(_("Your reply is published."), "success")
    return redirect_to(url_for(".reviews"))


@bp.post("/reviews/<rating_id>/appeal")
@require_role(Role.ADMIN)
def appeal_rating(rating_id):
    rating = _rating_or_404(rating_id)
    return _appeal(rating=rating)


@bp.post("/listing/appeal")
@require_role(Role.ADMIN)
def appeal_listing():
    entry = None
    raw = request.form.get("entry_id", "")
    try:
        import uuid

        entry = db.session.get(ListEntry, uuid.UUID(raw))
    except (ValueError, TypeError):
        entry = None
    if entry is None or entry.company_id != current_company.id or entry.ended_at is not None:
        return _reviews_page(status=422, error=ratings.RatingError(_("Choose what you are appealing.")))
    return _appeal(entry=entry)


def _appeal(**target):
    typed = {"statement": request.form.get("statement", ""), "evidence": request.form.get("evidence", "")}
    try:
        ratings.file_appeal(company_id=current_company.id, statement=typed["statement"],
                            evidence=typed["evidence"], actor=current_user, **target)
        db.session.commit()
    except ServiceError as exc:
        db.session.rollback()
        rating = target.get("rating")  # a review's appeal comes back open with what was typed
        return _reviews_page(status=422, error=exc, values=typed,
                             opened=("appeal", rating) if rating is not None else None)
    flash(_("Your appeal is filed. The platform decides within 15 working days and publishes the decision."),
          "success")
    return redirect_to(url_for(".reviews"))
