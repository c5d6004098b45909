"""Platform admin: the red/black list's moderation queue (flags, fake-review signals), folding, restoring and
excluding reviews, appeals with their deadlines, serious violations, and computing a company's score on demand.
Every step goes through saas.ratings.services, which writes the platform audit log."""

from __future__ import annotations

from flask import abort, flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from saas.admin import bp
from saas.admin.routes import _company_or_404, platform_admin_required
from saas.clock import local_today
from saas.errors import ServiceError
from saas.extensions import db
from saas.htmx import redirect_to, render
from saas.models import Company, PlatformAuditEvent
from saas.ratings import job, services
from saas.ratings.models import (
    DIMENSION_LABELS,
    DIMENSIONS,
    FLAG_REASON_LABELS,
    Appeal,
    AppealStatus,
    ListEntry,
    OwnerRating,
    RatingFlag,
)
from saas.ratings.signals import SIGNAL_LABELS, signals_for
from saas.tenancy import parse_uuid_or_404

QUEUE_SIZE = 50


def _queue_context():
    flagged_ids = select(RatingFlag.rating_id).where(RatingFlag.resolved_at.is_(None))
    flagged = db.session.execute(select(OwnerRating).where(OwnerRating.id.in_(flagged_ids))
                                 .order_by(OwnerRating.updated_at.desc()).limit(QUEUE_SIZE)).scalars().all()
    recent = db.session.execute(select(OwnerRating).where(OwnerRating.excluded_at.is_(None))
                                .order_by(OwnerRating.created_at.desc()).limit(200)).scalars().all()
    signals = signals_for([*flagged, *recent])
    suspicious = [r for r in recent if signals.get(r.id) and r not in flagged][:QUEUE_SIZE]
    shown = [*flagged, *suspicious]
    flags: dict = {}
    if shown:
        for item in db.session.execute(select(RatingFlag).where(RatingFlag.rating_id.in_([r.id for r in shown]),
                                                                RatingFlag.resolved_at.is_(None))).scalars():
            flags.setdefault(item.rating_id, []).append(item)
    appeals = db.session.execute(select(Appeal).where(Appeal.status == AppealStatus.OPEN)
                                 .order_by(Appeal.due_on).limit(QUEUE_SIZE)).scalars().all()
    ids = {r.company_id for r in shown} | {a.company_id for a in appeals}
    names = dict(db.session.execute(select(Company.id, Company.name).where(Company.id.in_(ids))).all()) if ids else {}
    violations = db.session.execute(select(ListEntry).where(ListEntry.reason != "", ListEntry.ended_at.is_(None))
                                    .order_by(ListEntry.listed_at.desc()).limit(QUEUE_SIZE)).scalars().all()
    return dict(flagged=flagged, suspicious=suspicious, flags=flags, signals=signals, appeals=appeals, names=names,
                violations=violations, signal_labels=SIGNAL_LABELS, flag_labels=FLAG_REASON_LABELS,
                today=local_today(), dimensions=[(d, DIMENSION_LABELS[d]) for d in DIMENSIONS])


@bp.get("/ratings/")
@platform_admin_required
def ratings_queue():
    return render("saas/admin/ratings/queue.html", **_queue_context())


def _rating_or_404(rating_id) -> OwnerRating:
    rating = db.session.get(OwnerRating, parse_uuid_or_404(rating_id))
    if rating is None:
        abort(404)
    return rating


def _review_page(rating: OwnerRating, *, status=200, error=None):
    company = db.session.get(Company, rating.company_id)
    flags = db.session.execute(select(RatingFlag).where(RatingFlag.rating_id == rating.id)
                               .order_by(RatingFlag.created_at.desc())).scalars().all()
    events = db.session.execute(select(PlatformAuditEvent).where(
        PlatformAuditEvent.company_id == rating.company_id, PlatformAuditEvent.action.like("rating.%"))
        .order_by(PlatformAuditEvent.created_at.desc()).limit(200)).scalars().all()
    events = [e for e in events if (e.details or {}).get("rating") == str(rating.id)][:20]
    return render("saas/admin/ratings/review.html", status=status, rating=rating, company=company, flags=flags,
                  signals=signals_for([rating]).get(rating.id, []), signal_labels=SIGNAL_LABELS,
                  flag_labels=FLAG_REASON_LABELS, events=events, error=error,
                  dimensions=[(d, DIMENSION_LABELS[d]) for d in DIMENSIONS])


@bp.get("/ratings/reviews/<rating_id>")
@platform_admin_required
def rating_review(rating_id):
    return _review_page(_rating_or_404(rating_id))


def _moderate(rating_id, service, message: str):
    rating = _rating_or_404(rating_id)
    try:
        service(rating, reason=request.form.get("reason", ""), actor=current_user)
        db.session.commit()
    except ServiceError as exc:
        db.session.rollback()
        return _review_page(rating, status=422, error=exc)
    flash(message, "success")
    return redirect_to(url_for(".rating_review", rating_id=rating.id))


@bp.post("/ratings/reviews/<rating_id>/fold")
@platform_admin_required
def fold_rating(rating_id):
    return _moderate(rating_id, services.fold, _("The review is folded: it stays listed, collapsed with your reason."))


@bp.post("/ratings/reviews/<rating_id>/restore")
@platform_admin_required
def restore_rating(rating_id):
    return _moderate(rating_id, services.restore, _("The review is shown again."))


@bp.post("/ratings/reviews/<rating_id>/exclude")
@platform_admin_required
def exclude_rating(rating_id):
    return _moderate(rating_id, services.exclude,
                     _("The rating no longer counts in the score; it stays visible, marked."))


@bp.post("/ratings/reviews/<rating_id>/include")
@platform_admin_required
def include_rating(rating_id):
    return _moderate(rating_id, services.include, _("The rating counts in the score again."))


@bp.post("/ratings/appeals/<appeal_id>/decide")
@platform_admin_required
def decide_appeal(appeal_id):
    appeal = db.session.get(Appeal, parse_uuid_or_404(appeal_id))
    if appeal is None:
        abort(404)
    decision = request.form.get("decision", "")
    try:
        if decision not in ("upheld", "rejected"):
            raise services.RatingError(_("Choose whether the appeal is upheld or rejected."), field="decision")
        services.decide_appeal(appeal, upheld=decision == "upheld", reason=request.form.get("reason", ""),
                               actor=current_user)
        db.session.commit()
    except ServiceError as exc:
        db.session.rollback()
        flash(str(exc.message), "danger")
        return render("saas/admin/ratings/queue.html", status=422, **_queue_context())
    flash(_("The decision is published on the company's profile."), "success")
    return redirect_to(url_for(".ratings_queue"))


@bp.post("/companies/<company_id>/ratings/violation")
@platform_admin_required
def record_violation(company_id):
    company = _company_or_404(company_id)
    try:
        services.record_violation(company, description=request.form.get("description", ""),
                                  evidence=request.form.get("evidence", ""), actor=current_user,
                                  city=job.city_of(company))
        db.session.commit()
    except ServiceError as exc:
        db.session.rollback()
        flash(str(exc.message), "danger")
        return redirect_to(url_for(".company", company_id=company.id))
    flash(_("%(name)s is on the black list for this violation.", name=company.name), "success")
    return redirect_to(url_for(".company", company_id=company.id))


@bp.post("/companies/<company_id>/ratings/compute")
@platform_admin_required
def compute_rating(company_id):
    company = _company_or_404(company_id)
    profile = job.run_company(company)
    services.platform_audit("rating.computed", actor=current_user, company_id=company.id,
                            details={"score": profile.score, "grade": profile.grade})
    db.session.commit()
    flash(_("Score of %(name)s computed: %(grade)s, %(score)s points.", name=company.name, grade=profile.grade,
            score=profile.score), "success")
    return redirect_to(url_for(".company", company_id=company.id))


def _rules_page(*, status=200, error=None, values=None):
    from saas.ratings.models import RatingRules
    from saas.ratings.rules import COMPONENT_LABELS, current_params

    version, params = current_params()
    history = db.session.execute(select(RatingRules).order_by(RatingRules.version.desc()).limit(20)).scalars().all()
    return render("saas/admin/ratings/rules.html", status=status, version=version, params=params, history=history,
                  values=values or services.rule_values(params), labels=COMPONENT_LABELS, error=error,
                  numbers=services.RULE_NUMBERS)


@bp.get("/ratings/rules")
@platform_admin_required
def ratings_rules():
    return _rules_page()


@bp.post("/ratings/rules")
@platform_admin_required
def publish_ratings_rules():
    try:
        rules = services.publish_rules(request.form, note=request.form.get("note", ""), actor=current_user)
        db.session.commit()
    except ServiceError as exc:
        db.session.rollback()
        return _rules_page(status=422, error=exc, values=dict(request.form))
    flash(_("Rules version %(v)s is published; the next computation uses it.", v=rules.version), "success")
    return redirect_to(url_for(".ratings_rules"))
