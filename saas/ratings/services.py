"""Every write of the red/black list: ratings, flags, moderation, replies, appeals and violations. Each refusal is
a RatingError (nothing written); each moderation, reply and appeal step is in the platform audit log, and a
company's own steps (reply, appeal) in its audit log too — never who rated, which the company must not learn."""

from __future__ import annotations

import hashlib
import uuid
from datetime import date, datetime, timedelta

from sqlalchemy import func, select

from saas import workdays
from saas.audit import record
from saas.clock import local_today, utcnow
from saas.errors import ServiceError
from saas.extensions import db
from saas.i18n import _l
from saas.models import Company, PlatformAuditEvent, User
from saas.ratings.figures import quarter_of
from saas.ratings.models import (
    DIMENSIONS,
    Appeal,
    AppealStatus,
    FlagReason,
    ListEntry,
    ListKind,
    OwnerRating,
    RatingFlag,
    RatingReply,
)
from saas.ratings.rules import current_params

COMMENT_MAX = 1000
REASON_MAX = 300


class RatingError(ServiceError):
    """A rule of the red/black list refused the change."""


def platform_audit(action: str, *, actor: User | None, company_id: uuid.UUID | None, details: dict) -> None:
    db.session.add(PlatformAuditEvent(actor_id=actor.id if actor else None, actor_name=actor.name if actor else "",
                                      action=action, company_id=company_id, details=details))


# --- the owner's rating ----------------------------------------------------------------------------------------


def device_hash(user_agent: str) -> str:
    return hashlib.sha256((user_agent or "").encode("utf-8")).hexdigest()[:64] if user_agent else ""


def _score_value(scores: dict, name: str) -> int:
    raw = scores.get(name)
    try:
        value = int(raw)
    except (TypeError, ValueError):
        value = 0
    if not 1 <= value <= 5:
        raise RatingError(_l("Choose 1 to 5 stars."), field=name)
    return value


def submit_rating(*, company_id: uuid.UUID, household_id: uuid.UUID, user: User, owner_since: date,
                  community_name: str, is_staff: bool, former_staff: bool, scores: dict, comment: str = "",
                  ip: str = "", user_agent: str = "", today: date | None = None) -> OwnerRating:
    """Rate (or re-rate, within the quarter) the company for the household. The caller — the owner's page in the
    company's context — says since when the user owns the household and whether they work for the company."""
    today = today or local_today()
    params = current_params()[1]
    if is_staff:
        raise RatingError(_l("Staff of a company cannot rate it."))
    if owner_since > today - timedelta(days=params["min_owner_days"]):
        raise RatingError(_l("You can rate your property company once you have been a verified owner of your home "
                             "for %(days)s days.", days=params["min_owner_days"]))
    values = {name: _score_value(scores, name) for name in DIMENSIONS}
    comment = (comment or "").strip()
    if len(comment) > COMMENT_MAX:
        raise RatingError(_l("A comment is at most %(n)s characters.", n=COMMENT_MAX), field="comment")
    quarter_start, _end = quarter_of(today)
    rating = db.session.execute(select(OwnerRating).where(
        OwnerRating.company_id == company_id, OwnerRating.household_id == household_id,
        OwnerRating.quarter_start == quarter_start)).scalar_one_or_none()
    now = utcnow()
    if rating is None:
        user_created = user.created_at.date() if user.created_at else None
        rating = OwnerRating(company_id=company_id, household_id=household_id, user_id=user.id,
                             quarter_start=quarter_start, owner_since=owner_since,
                             community_name=(community_name or "")[:64], account_created_on=user_created,
                             created_at=now)
        db.session.add(rating)
    elif rating.user_id != user.id:
        raise RatingError(_l("Your household has already rated the company this quarter."))
    for name, value in values.items():
        setattr(rating, name, value)
    rating.comment = comment
    rating.former_staff = former_staff
    rating.ip = (ip or "")[:45]
    rating.device = device_hash(user_agent)
    rating.updated_at = now
    db.session.flush()
    return rating


def rating_of(company_id: uuid.UUID, household_id: uuid.UUID, today: date | None = None) -> OwnerRating | None:
    quarter_start, _ = quarter_of(today or local_today())
    return db.session.execute(select(OwnerRating).where(
        OwnerRating.company_id == company_id, OwnerRating.household_id == household_id,
        OwnerRating.quarter_start == quarter_start)).scalar_one_or_none()


# --- flags and moderation --------------------------------------------------------------------------------------


def flag(rating: OwnerRating, reason: str, *, ip: str = "") -> RatingFlag:
    """Anyone's flag. The rating stays visible while it is checked, unless it may hold personal data: hidden at once."""
    try:
        reason = FlagReason(reason)
    except ValueError:
        raise RatingError(_l("Choose why you are flagging this review."), field="reason") from None
    item = RatingFlag(rating_id=rating.id, reason=reason, ip=(ip or "")[:45])
    db.session.add(item)
    details = {"rating": str(rating.id), "flag_reason": reason.value}
    if reason is FlagReason.PERSONAL_DATA and rating.hidden_at is None:
        rating.hidden_at = utcnow()
        details["hidden"] = True
    platform_audit("rating.flagged", actor=None, company_id=rating.company_id, details=details)
    return item


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise RatingError(_l("Give the reason: it is shown with the review."), field="reason")
    if len(reason) > REASON_MAX:
        raise RatingError(_l("A reason is at most %(n)s characters.", n=REASON_MAX), field="reason")
    return reason


def _resolve_flags(rating: OwnerRating, actor: User) -> None:
    for item in db.session.execute(select(RatingFlag).where(RatingFlag.rating_id == rating.id,
                                                            RatingFlag.resolved_at.is_(None))).scalars():
        item.resolved_at = utcnow()
        item.resolved_by_id = actor.id


def fold(rating: OwnerRating, *, reason: str, actor: User) -> OwnerRating:
    """Collapse a review with its reason: it stays listed, never deleted (电子商务法 第三十九条)."""
    reason = _reason(reason)
    rating.folded_at = utcnow()
    rating.fold_reason = reason
    _resolve_flags(rating, actor)
    platform_audit("rating.folded", actor=actor, company_id=rating.company_id,
                   details={"rating": str(rating.id), "reason": reason})
    return rating


def restore(rating: OwnerRating, *, reason: str, actor: User) -> OwnerRating:
    """Unfold (and unhide) a review after checking it; its flags are closed."""
    reason = _reason(reason)
    rating.folded_at = None
    rating.fold_reason = ""
    rating.hidden_at = None
    _resolve_flags(rating, actor)
    platform_audit("rating.restored", actor=actor, company_id=rating.company_id,
                   details={"rating": str(rating.id), "reason": reason})
    return rating


def exclude(rating: OwnerRating, *, reason: str, actor: User) -> OwnerRating:
    """Leave a (suspected fake) rating out of the score; it stays visible, marked, with the reason."""
    reason = _reason(reason)
    rating.excluded_at = utcnow()
    rating.exclude_reason = reason
    platform_audit("rating.excluded", actor=actor, company_id=rating.company_id,
                   details={"rating": str(rating.id), "reason": reason})
    return rating


def include(rating: OwnerRating, *, reason: str, actor: User) -> OwnerRating:
    reason = _reason(reason)
    rating.excluded_at = None
    rating.exclude_reason = ""
    platform_audit("rating.included", actor=actor, company_id=rating.company_id,
                   details={"rating": str(rating.id), "reason": reason})
    return rating


# --- the company's reply and appeals ---------------------------------------------------------------------------


def reply(rating: OwnerRating, *, company_id: uuid.UUID, body: str, actor: User) -> RatingReply:
    """The company's one public reply to a review; editing it adds a version (the newest is shown)."""
    if rating.company_id != company_id:
        raise RatingError(_l("This review is not about your company."))
    body = (body or "").strip()
    if not body:
        raise RatingError(_l("Write the reply."), field="body")
    if len(body) > COMMENT_MAX:
        raise RatingError(_l("A reply is at most %(n)s characters.", n=COMMENT_MAX), field="body")
    last = db.session.execute(select(func.max(RatingReply.version)).where(
        RatingReply.rating_id == rating.id)).scalar() or 0
    item = RatingReply(rating_id=rating.id, company_id=company_id, version=last + 1, body=body, author_id=actor.id)
    db.session.add(item)
    details = {"rating": str(rating.id), "version": last + 1}
    platform_audit("rating.replied", actor=actor, company_id=company_id, details=details)
    record("rating.replied", actor=actor, object_type="rating", object_id=rating.id,
           changes={"version": last + 1}, company_id=company_id)
    return item


def file_appeal(*, company_id: uuid.UUID, statement: str, evidence: str, actor: User,
                rating: OwnerRating | None = None, entry: ListEntry | None = None,
                today: date | None = None) -> Appeal:
    """A company's appeal (申诉) against a review about it or its listing, with its evidence."""
    if (rating is None) == (entry is None):
        raise RatingError(_l("Choose what you are appealing."))
    target = rating or entry
    if target.company_id != company_id:
        raise RatingError(_l("This is not about your company."))
    statement = (statement or "").strip()
    evidence = (evidence or "").strip()
    if not statement:
        raise RatingError(_l("Say why the review or listing is wrong."), field="statement")
    if len(statement) > COMMENT_MAX:
        raise RatingError(_l("A statement is at most %(n)s characters.", n=COMMENT_MAX), field="statement")
    if not evidence:
        raise RatingError(_l("Describe your evidence (documents, photos, dates)."), field="evidence")
    if len(evidence) > 500:
        raise RatingError(_l("The evidence description is at most %(n)s characters.", n=500), field="evidence")
    open_one = db.session.execute(select(Appeal.id).where(
        Appeal.company_id == company_id, Appeal.status == AppealStatus.OPEN,
        (Appeal.rating_id == rating.id) if rating else (Appeal.entry_id == entry.id))).first()
    if open_one:
        raise RatingError(_l("An appeal about this is already under review."))
    params = current_params()[1]
    appeal = Appeal(company_id=company_id, rating_id=rating.id if rating else None,
                    entry_id=entry.id if entry else None, statement=statement, evidence=evidence,
                    filed_by_id=actor.id,
                    due_on=workdays.add_working_days(today or local_today(), params["appeal_working_days"]))
    db.session.add(appeal)
    db.session.flush()
    details = {"appeal": str(appeal.id), "due_on": appeal.due_on.isoformat()}
    details["rating" if rating else "entry"] = str(target.id)
    platform_audit("rating.appeal_filed", actor=actor, company_id=company_id, details=details)
    record("rating.appeal_filed", actor=actor, object_type="rating_appeal", object_id=appeal.id,
           changes={"due_on": appeal.due_on}, company_id=company_id)
    return appeal


def decide_appeal(appeal: Appeal, *, upheld: bool, reason: str, actor: User) -> Appeal:
    """A platform admin's decision, public with its reason. Upheld: the review is folded and left out of the score,
    or the listing ends."""
    if appeal.status is not AppealStatus.OPEN:
        raise RatingError(_l("This appeal has already been decided."))
    reason = _reason(reason)
    appeal.status = AppealStatus.UPHELD if upheld else AppealStatus.REJECTED
    appeal.decided_at = utcnow()
    appeal.decided_by_id = actor.id
    appeal.decision_reason = reason
    if upheld and appeal.rating_id:
        rating = db.session.get(OwnerRating, appeal.rating_id)
        rating.folded_at = rating.folded_at or utcnow()
        rating.fold_reason = rating.fold_reason or reason
        rating.excluded_at = rating.excluded_at or utcnow()
        rating.exclude_reason = rating.exclude_reason or reason
    if upheld and appeal.entry_id:
        entry = db.session.get(ListEntry, appeal.entry_id)
        if entry.ended_at is None:
            entry.ended_at = utcnow()
            entry.end_reason = reason
    platform_audit("rating.appeal_decided", actor=actor, company_id=appeal.company_id,
                   details={"appeal": str(appeal.id), "decision": appeal.status.value, "reason": reason,
                            **({"rating": str(appeal.rating_id)} if appeal.rating_id else {})})
    return appeal


# --- serious violations ----------------------------------------------------------------------------------------


def add_months(moment: datetime, months: int) -> datetime:
    month = moment.month - 1 + months
    year, month = moment.year + month // 12, month % 12 + 1
    day = min(moment.day, 28)
    return moment.replace(year=year, month=month, day=day)


def record_violation(company: Company, *, description: str, evidence: str, actor: User,
                     city: str = "") -> ListEntry:
    """A serious violation (e.g. cutting utilities to collect fees) recorded with its evidence: on the black list
    whatever the score, until it expires or an appeal is upheld."""
    description = _reason(description)
    evidence = (evidence or "").strip()
    if not evidence:
        raise RatingError(_l("Describe the evidence of the violation."), field="evidence")
    if len(evidence) > 500:
        raise RatingError(_l("The evidence description is at most %(n)s characters.", n=500), field="evidence")
    version, params = current_params()
    now = utcnow()
    entry = ListEntry(company_id=company.id, kind=ListKind.BLACK, city=city, company_name=company.name,
                      slug=company.slug, reason=description, evidence=evidence, rules_version=version,
                      listed_at=now, renewed_at=now, expires_at=add_months(now, params["expiry_months"]),
                      recorded_by_id=actor.id)
    db.session.add(entry)
    db.session.flush()
    platform_audit("rating.violation_recorded", actor=actor, company_id=company.id,
                   details={"entry": str(entry.id), "description": description, "evidence": evidence})
    return entry


# --- the rules ---------------------------------------------------------------------------------------------------

# (field, low, high): the numbers a platform admin may change in a new version of the rules.
RULE_NUMBERS = (("prior_stars", 0, 1000), ("prior_rate", 0, 1000), ("min_sample", 1, 10000),
                ("expiry_months", 1, 60), ("window_quarters", 1, 8), ("min_owner_days", 0, 365),
                ("appeal_working_days", 1, 60), ("floor_AAA", 1, 100), ("floor_AA", 1, 100), ("floor_A", 1, 100),
                ("floor_B", 1, 100))


def rule_values(params: dict) -> dict:
    """The editable numbers of ``params``, by form field (weights as weight_<component>)."""
    values = {f"weight_{name}": comp["weight"] for name, comp in params["components"].items()}
    values.update(prior_stars=params["prior_weight"]["stars"], prior_rate=params["prior_weight"]["rate"],
                  min_sample=params["min_sample"], expiry_months=params["expiry_months"],
                  window_quarters=params["window_quarters"], min_owner_days=params["min_owner_days"],
                  appeal_working_days=params["appeal_working_days"])
    values.update({f"floor_{grade}": floor for grade, floor in params["grades"] if floor})
    return values


def publish_rules(form: dict, *, note: str, actor: User):
    """A new version of the rules from the admin's numbers, announced with ``note``; the old versions stay."""
    import copy

    from saas.ratings.models import RatingRules
    from saas.ratings.rules import ensure_rules

    current = ensure_rules()
    params = copy.deepcopy(current.params)

    def number(name, low, high):
        try:
            value = int(str(form.get(name, "")).strip())
        except ValueError:
            value = None
        if value is None or not low <= value <= high:
            raise RatingError(_l("A whole number from %(low)s to %(high)s.", low=low, high=high), field=name)
        return value

    for name, comp in params["components"].items():
        comp["weight"] = number(f"weight_{name}", 0, 100)
    if sum(c["weight"] for c in params["components"].values()) != 100:
        raise RatingError(_l("The weights must add up to 100."), field="weight_owner")
    if params["components"]["owner"]["weight"] == 0:
        raise RatingError(_l("Owner ratings must keep a weight."), field="weight_owner")
    values = {name: number(name, low, high) for name, low, high in RULE_NUMBERS}
    floors = [values["floor_AAA"], values["floor_AA"], values["floor_A"], values["floor_B"]]
    if floors != sorted(floors, reverse=True) or len(set(floors)) != 4:
        raise RatingError(_l("Each grade needs a higher floor than the grade below it."), field="floor_AAA")
    params["prior_weight"] = {"stars": values["prior_stars"], "rate": values["prior_rate"]}
    for key in ("min_sample", "expiry_months", "window_quarters", "min_owner_days", "appeal_working_days"):
        params[key] = values[key]
    params["grades"] = [["AAA", floors[0]], ["AA", floors[1]], ["A", floors[2]], ["B", floors[3]], ["C", 0]]
    note = (note or "").strip()
    if not note:
        raise RatingError(_l("Say what changes and why: it is announced on the rules page."), field="note")
    if len(note) > 500:
        raise RatingError(_l("An announcement is at most %(n)s characters.", n=500), field="note")
    if params == current.params:
        raise RatingError(_l("Nothing changed."))
    rules = RatingRules(version=current.version + 1, params=params, note=note, published_by_id=actor.id)
    db.session.add(rules)
    platform_audit("rating.rules_published", actor=actor, company_id=None,
                   details={"version": rules.version, "note": note})
    return rules
