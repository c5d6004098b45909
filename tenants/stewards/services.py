"""Writes for stewards: assigning households, handovers, auto-assign, profiles and the contact log.

Every change of a household's steward goes through ``_reassign``: it locks the households' rows (so two admins
assigning the same homes at once queue up and the second sees the first's result), ends the current periods
and starts the new ones. The partial unique index on steward_assignments is the last word: if anything slips
past the locks the database refuses a second current steward and the admin is asked to try again.
"""

from __future__ import annotations

import io
import math
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from saas.audit import diff, record
from saas.errors import ServiceError
from saas.extensions import db
from saas.i18n import _l
from saas.models import Company, Membership, Role, User
from saas.notifications.models import Channel
from saas.notifications.services import deliver_after_commit, queue_message
from saas.tenancy import built_once, new_id, require_company_id, utcnow
from tenants.roster import figures
from tenants.roster.models import Building, Household, HouseholdOwner, Occupancy
from tenants.stewards import planner
from tenants.stewards.models import (
    DEFAULT_CAPACITY,
    MAX_CAPACITY,
    AssignmentReason,
    ContactKind,
    StewardAssignment,
    StewardContact,
    StewardProfile,
)

CHUNK = 500  # ids per IN (...) list: well under SQLite's and PostgreSQL's parameter limits
PHOTO_MAX_BYTES = 5 * 1024 * 1024
PHOTO_SIZE = 320  # pixels on the longer side; owners see a small portrait
CONTACT_MAX_AGE_DAYS = 366


class StewardError(ServiceError):
    """A stewards rule refused the change (assigning, handover, capacity, profile, contact log)."""


def _chunks(items: list, size: int = CHUNK):
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _company() -> Company:
    return db.session.get(Company, require_company_id())


# --- who is a steward, and how many households they hold --------------------------------------------------


def current_stewards() -> list[Membership]:
    """Current steward memberships, by name. The order is the auto-assign planner's tie-breaker."""
    return list(db.session.execute(
        select(Membership).join(Membership.user)
        .where(Membership.role == Role.STEWARD, Membership.ended_at.is_(None))
        .order_by(User.name, Membership.id)
    ).scalars())


def get_steward_or_none(membership_id) -> Membership | None:
    try:
        membership_id = uuid.UUID(str(membership_id))
    except ValueError:
        return None
    return db.session.execute(
        select(Membership).where(Membership.id == membership_id, Membership.role == Role.STEWARD,
                                 Membership.ended_at.is_(None))
    ).scalar_one_or_none()


def profiles_by_membership(membership_ids=None) -> dict:
    if membership_ids is None:
        rows = db.session.execute(_PROFILES)
    else:
        ids = list(membership_ids)
        if not ids:
            return {}
        rows = db.session.execute(_PROFILES_OF, {"ids": ids})
    return {p.membership_id: p for p in rows.scalars()}


# Built once, run with parameters: every steward profile of the company, or those of some members.
_PROFILES = built_once(select(StewardProfile))
_PROFILES_OF = built_once(select(StewardProfile).where(
    StewardProfile.membership_id.in_(bindparam("ids", expanding=True))))


def capacity_of(profile: StewardProfile | None, company: Company) -> int:
    if profile is not None and profile.capacity is not None:
        return profile.capacity
    return company.steward_capacity or DEFAULT_CAPACITY


def _current_periods():
    """Current periods of live households: the base of every count."""
    return (
        select(StewardAssignment.steward_id, StewardAssignment.household_id)
        .join(StewardAssignment.household)
        .where(StewardAssignment.ended_at.is_(None), Household.live())
    )


def loads(*, community_id=None, building_id=None) -> dict:
    """{steward membership id: households currently assigned}, optionally only within a community or building.
    The company-wide loads are the roster's figures (kept by the writes); a scope's are counted."""
    if community_id is None and building_id is None:
        return figures.steward_loads()
    stmt = _current_periods()
    if community_id is not None or building_id is not None:
        stmt = stmt.join(Household.building)
        if community_id is not None:
            stmt = stmt.where(Building.community_id == community_id)
        if building_id is not None:
            stmt = stmt.where(Building.id == building_id)
    sub = stmt.subquery()
    return dict(db.session.execute(select(sub.c.steward_id, func.count()).group_by(sub.c.steward_id)).all())


def current_steward_of(household_ids) -> dict:
    """{household id: current StewardAssignment} for the given households (a page's worth)."""
    ids = list(household_ids)
    out = {}
    for chunk in _chunks(ids):
        for period in db.session.execute(
            select(StewardAssignment).where(StewardAssignment.household_id.in_(chunk),
                                            StewardAssignment.ended_at.is_(None))
        ).scalars():
            out[period.household_id] = period
    return out


# --- changing who looks after a household --------------------------------------------------------------


@dataclass
class ReassignResult:
    changed: list = field(default_factory=list)  # household ids whose steward changed
    unchanged: int = 0
    skipped: int = 0  # deleted or unknown households
    new_periods: list = field(default_factory=list)  # ids of the periods started


def _reassign(targets: dict, *, reason: AssignmentReason, actor: User | None, note: str = "") -> ReassignResult:
    """Give each household in ``targets`` ({household id: steward membership id or None}) that steward.

    The caller commits. Households are locked in id order first, so concurrent reassignments of overlapping
    households serialise instead of deadlocking, and each one reads the periods the previous one committed.
    """
    result = ReassignResult()
    if not targets:
        return result
    company_id = require_company_id()
    ids = sorted(targets)
    live = set()
    for chunk in _chunks(ids):
        live.update(db.session.execute(
            select(Household.id).where(Household.id.in_(chunk), Household.live())
            .order_by(Household.id).with_for_update()
        ).scalars())
    current = {}
    for chunk in _chunks(ids):
        current.update(db.session.execute(
            select(StewardAssignment.household_id, StewardAssignment.steward_id)
            .where(StewardAssignment.household_id.in_(chunk), StewardAssignment.ended_at.is_(None))
        ).all())
    now = utcnow()
    to_end, to_start = [], []
    for household_id in ids:
        if household_id not in live:
            result.skipped += 1
            continue
        new = targets[household_id]
        if current.get(household_id) == new:
            result.unchanged += 1
            continue
        result.changed.append(household_id)
        if household_id in current:
            to_end.append(household_id)
        if new is not None:
            # company_id is given explicitly: a bulk INSERT does not pass through the before_flush stamp.
            to_start.append({"company_id": company_id, "id": new_id(), "household_id": household_id,
                             "steward_id": new, "started_at": now, "started_by_id": actor.id if actor else None,
                             "start_reason": reason, "note": note[:200], "end_note": "", "created_at": now})
    try:
        for chunk in _chunks(to_end):
            db.session.execute(
                update(StewardAssignment)
                .where(StewardAssignment.household_id.in_(chunk), StewardAssignment.ended_at.is_(None))
                .values(ended_at=now, ended_by_id=actor.id if actor else None, end_reason=reason,
                        end_note=note[:200])
                .execution_options(synchronize_session=False)
            )
        for chunk in _chunks(to_start):
            db.session.execute(insert(StewardAssignment), chunk)
            result.new_periods.extend(row["id"] for row in chunk)
        # Bulk SQL bypasses the ORM listener: the roster's counts (buildings' homes with a steward, loads) of
        # these homes and of their former and new stewards are recounted before the commit.
        figures.touch(households=result.changed, stewards={current[h] for h in to_end} | {
            row["steward_id"] for row in to_start}, company_id=company_id)
    except IntegrityError as exc:
        db.session.rollback()
        raise StewardError(_l("Someone else changed the stewards of these households at the same moment. "
                              "Reload the page and try again.")) from exc
    return result


def _steward_label(membership: Membership | None) -> str:
    return membership.user.name if membership is not None else "—"


def assign(household_ids, steward: Membership | None, *, actor: User, notify: bool = False,
           reason: AssignmentReason = AssignmentReason.MANUAL, note: str = "") -> ReassignResult:
    """Assign households to ``steward`` (or take them off their steward when None) and commit."""
    if steward is not None and (steward.role != Role.STEWARD or steward.ended_at is not None):
        raise StewardError(_l("Choose a current steward."), "steward_id")
    ids = list(dict.fromkeys(household_ids))
    if not ids:
        raise StewardError(_l("Pick at least one household."), "household_ids")
    result = _reassign({h: steward.id if steward else None for h in ids}, reason=reason, actor=actor, note=note)
    if result.changed:
        record("steward.assign" if steward else "steward.unassign", actor=actor, object_type="steward",
               object_id=steward.id if steward else None, object_label=_steward_label(steward),
               changes={"households": [None, len(result.changed)], "reason": [None, reason.value]})
    db.session.commit()
    if notify and result.new_periods:
        _notify_later(result.new_periods)
    return result


def handover(from_steward: Membership, to_steward: Membership, *, actor: User, household_ids=None,
             note: str = "") -> ReassignResult:
    """Move all (or the given) households of one steward to another; the owners are told who their new one is."""
    if to_steward.id == from_steward.id:
        raise StewardError(_l("Choose a different steward to hand over to."), "to_steward_id")
    if to_steward.role != Role.STEWARD or to_steward.ended_at is not None:
        raise StewardError(_l("Choose a current steward."), "to_steward_id")
    held = set(db.session.execute(
        select(StewardAssignment.household_id)
        .where(StewardAssignment.steward_id == from_steward.id, StewardAssignment.ended_at.is_(None))
    ).scalars())
    ids = held if household_ids is None else held & set(household_ids)
    if not ids:
        raise StewardError(_l("%(name)s has no households to hand over.", name=from_steward.user.name))
    result = _reassign(dict.fromkeys(ids, to_steward.id), reason=AssignmentReason.HANDOVER, actor=actor,
                       note=note)
    record("steward.handover", actor=actor, object_type="steward", object_id=from_steward.id,
           object_label=from_steward.user.name,
           changes={"to": [None, to_steward.user.name], "households": [None, len(result.changed)],
                    "note": [None, note[:200]]})
    db.session.commit()
    _notify_later(result.new_periods)
    return result


def release_households(membership: Membership, *, actor: User | None, reason=AssignmentReason.MEMBERSHIP_ENDED):
    """End every current period of a steward who left (or is no longer a steward). The caller commits.

    The households become visibly unassigned: nobody is silently attached to a former employee."""
    held = list(db.session.execute(
        select(StewardAssignment.household_id)
        .where(StewardAssignment.steward_id == membership.id, StewardAssignment.ended_at.is_(None))
    ).scalars())
    result = _reassign(dict.fromkeys(held), reason=reason, actor=actor)
    if result.changed:
        record("steward.release", actor=actor, object_type="steward", object_id=membership.id,
               object_label=membership.user.name, changes={"households": [len(result.changed), 0]})
    return result


def end_household_period(household: Household, *, actor: User | None) -> None:
    """A deleted household no longer has a steward (restoring it leaves it unassigned). The caller commits."""
    _reassign({household.id: None}, reason=AssignmentReason.HOUSEHOLD_DELETED, actor=actor)


# --- owner notifications -----------------------------------------------------------------------------------


def _notify_later(period_ids: list) -> None:
    if not period_ids:
        return
    from saas.jobs import enqueue
    from tenants.stewards.jobs import notify_new_steward

    enqueue(notify_new_steward, [str(i) for i in period_ids], company_id=require_company_id())


def notify_owners_of_new_steward(period_ids) -> int:
    """Tell the owners of each household who their steward now is. Idempotent: a period's message to a
    recipient is queued once however often this runs. Returns the number of messages queued."""
    from saas.notifications.models import OutboxMessage

    ids = [uuid.UUID(str(i)) for i in period_ids]
    company = _company()
    queued = []
    for chunk in _chunks(ids):
        periods = db.session.execute(
            select(StewardAssignment).where(StewardAssignment.id.in_(chunk), StewardAssignment.ended_at.is_(None))
        ).scalars().all()
        if not periods:
            continue
        households = {h.id: h for h in db.session.execute(
            select(Household).where(Household.id.in_([p.household_id for p in periods]),
                                    Household.live())
        ).scalars()}
        owner_phones = defaultdict(set)
        for household_id, phone in db.session.execute(
            select(HouseholdOwner.household_id, User.phone)
            .join(HouseholdOwner.membership)
            .join(Membership.user)
            .where(HouseholdOwner.household_id.in_(list(households)), HouseholdOwner.ended_at.is_(None),
                   Membership.ended_at.is_(None))
        ).all():
            if phone:
                owner_phones[household_id].add(phone)
        already = set(db.session.execute(
            select(OutboxMessage.related_id, OutboxMessage.recipient)
            .where(OutboxMessage.kind == "steward_changed", OutboxMessage.related_id.in_([p.id for p in periods]))
        ).all())
        profiles = profiles_by_membership({p.steward_id for p in periods})
        for period in periods:
            household = households.get(period.household_id)
            if household is None:
                continue
            recipients = set(owner_phones[household.id])
            if household.owner_phone:
                recipients.add(household.owner_phone)
            body = _new_steward_message(company, household, period.steward, profiles.get(period.steward_id))
            for phone in sorted(recipients):
                if (period.id, phone) in already:
                    continue
                queued.append(queue_message(channel=Channel.SMS, recipient=phone, body=body,
                                            kind="steward_changed", related_id=period.id))
    db.session.commit()
    deliver_after_commit(queued)
    return len(queued)


def _new_steward_message(company: Company, household: Household, steward: Membership,
                         profile: StewardProfile | None) -> str:
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        phone = (profile.work_phone if profile and profile.work_phone else steward.user.phone) or ""
        hours = profile.working_hours if profile and profile.working_hours else ""
        body = _("%(company)s: the steward for %(home)s is now %(name)s, phone %(phone)s.",
                 company=company.name, home=household.label, name=steward.user.name, phone=phone or "—")
        if hours:
            body += " " + _("Working hours: %(hours)s.", hours=hours)
        return body


# --- auto-assign -------------------------------------------------------------------------------------------


@dataclass
class Proposal:
    plan: planner.Plan
    stewards: list  # Membership, in planner order
    households: dict  # household id -> Household (the planned, occupied ones)
    capacities: dict  # steward id -> capacity

    def digest(self) -> str:
        """The outcome and the moves that reach it: confirming applies only if both are still what the admin saw
        (the same outcome reached from a state someone changed meanwhile would show different moves)."""
        import hashlib

        moves = sorted(f"{m.household}\t{m.from_steward}\t{m.to_steward}" for m in self.plan.moves)
        return hashlib.sha256("\n".join([self.plan.digest(), *moves]).encode()).hexdigest()

    @property
    def moves_by_steward(self) -> dict:
        out = defaultdict(list)
        for move in self.plan.moves:
            out[move.to_steward].append(self.households[move.household])
        return out


def propose(community_id, *, rebalance: bool) -> Proposal:
    """Plan the occupied households of one community over the company's current stewards (no writes)."""
    company = _company()
    households = db.session.execute(
        select(Household).join(Household.building)
        .where(Building.community_id == community_id, Building.live(),
               Household.live(), Household.occupancy == Occupancy.OCCUPIED)
    ).scalars().all()
    current = {}
    for chunk in _chunks([h.id for h in households]):
        current.update(db.session.execute(
            select(StewardAssignment.household_id, StewardAssignment.steward_id)
            .where(StewardAssignment.household_id.in_(chunk), StewardAssignment.ended_at.is_(None))
        ).all())
    stewards = current_stewards()
    profiles = profiles_by_membership()
    totals = loads()
    planned_load = defaultdict(int)
    for steward_id in current.values():
        planned_load[steward_id] += 1
    capacities = {s.id: capacity_of(profiles.get(s.id), company) for s in stewards}
    plan = planner.plan(
        [planner.PlanHousehold(id=h.id, building=h.building_id, unit=h.unit, current=current.get(h.id),
                               sort_key=(len(h.building.name), h.building.name, h.unit, len(h.room), h.room))
         for h in households],
        [planner.PlanSteward(id=s.id, capacity=capacities[s.id],
                             fixed_load=totals.get(s.id, 0) - planned_load.get(s.id, 0)) for s in stewards],
        rebalance=rebalance, default_capacity=company.steward_capacity or DEFAULT_CAPACITY,
    )
    return Proposal(plan=plan, stewards=stewards, households={h.id: h for h in households},
                    capacities=capacities)


def apply_proposal(community_id, *, rebalance: bool, digest: str, actor: User, notify: bool,
                   community_name: str = "") -> Proposal:
    """Apply the auto-assign proposal the admin saw, and commit. The plan is recomputed from the current state;
    if it differs from the preview (someone changed assignments meanwhile) nothing is applied."""
    proposal = propose(community_id, rebalance=rebalance)
    if proposal.digest() != digest:
        raise StewardError(_l("Assignments changed since this proposal was made. Review the new proposal "
                              "and confirm again."))
    targets = {m.household: m.to_steward for m in proposal.plan.moves}
    result = _reassign(targets, reason=AssignmentReason.AUTO, actor=actor)
    record("steward.auto_assign", actor=actor, object_type="community", object_id=community_id,
           object_label=community_name, changes={"moves": [None, len(result.changed)], "rebalance": [None, rebalance]})
    db.session.commit()
    if notify:
        _notify_later(result.new_periods)
    return proposal


def stewards_missing(unassigned: int, company: Company) -> int:
    return math.ceil(unassigned / (company.steward_capacity or DEFAULT_CAPACITY)) if unassigned > 0 else 0


# --- settings and profiles ---------------------------------------------------------------------------------


def _check_capacity(value, field_name: str) -> int:
    if value is None or not (1 <= int(value) <= MAX_CAPACITY):
        raise StewardError(_l("Capacity must be a whole number from 1 to %(max)s.", max=MAX_CAPACITY), field_name)
    return int(value)


def set_company_capacity(company: Company, capacity: int, *, actor: User) -> None:
    capacity = _check_capacity(capacity, "capacity")
    if company.steward_capacity == capacity:
        return
    record("company.steward_capacity", actor=actor, object_type="company", object_id=company.id,
           object_label=company.name, changes={"steward_capacity": [company.steward_capacity, capacity]})
    company.steward_capacity = capacity
    db.session.commit()


def profile_for(membership: Membership) -> StewardProfile:
    profile = db.session.execute(
        select(StewardProfile).where(StewardProfile.membership_id == membership.id)
    ).scalar_one_or_none()
    if profile is None:
        profile = StewardProfile(membership_id=membership.id, work_phone="", working_hours="")
        db.session.add(profile)
        db.session.flush()
    return profile


def update_profile(membership: Membership, *, work_phone: str, working_hours: str, actor: User,
                   capacity: int | None = None, set_capacity: bool = False, photo: bytes | None = None,
                   remove_photo: bool = False) -> StewardProfile:
    """Owner-facing details (by the steward or an admin), the photo, and for admins the capacity override."""
    if set_capacity and capacity not in (None, ""):
        capacity = _check_capacity(capacity, "capacity")
    profile = profile_for(membership)
    before = {"work_phone": profile.work_phone, "working_hours": profile.working_hours,
              "capacity": profile.capacity, "photo": profile.photo_updated_at is not None}
    profile.work_phone = (work_phone or "").strip()
    profile.working_hours = (working_hours or "").strip()
    if set_capacity:
        profile.capacity = capacity or None
    if photo is not None:
        profile.photo, profile.photo_updated_at = photo, utcnow()
    elif remove_photo:
        profile.photo, profile.photo_updated_at = None, None
    after = {"work_phone": profile.work_phone, "working_hours": profile.working_hours,
             "capacity": profile.capacity, "photo": profile.photo_updated_at is not None}
    changes = diff(before, after)
    if photo is not None:
        changes["photo"] = [before["photo"], "new"]
    if changes:
        record("steward.profile", actor=actor, object_type="steward", object_id=membership.id,
               object_label=membership.user.name, changes=changes)
    db.session.commit()
    return profile


def prepare_photo(upload) -> bytes:
    """Check the upload is a real image and return a small JPEG copy without EXIF (location, camera...)."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    data = upload.read(PHOTO_MAX_BYTES + 1) if upload else b""
    if not data:
        raise StewardError(_l("Choose a photo to upload."), "photo")
    if len(data) > PHOTO_MAX_BYTES:
        raise StewardError(_l("The photo is larger than 5 MB."), "photo")
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format not in {"JPEG", "PNG", "WEBP"}:
                raise StewardError(_l("The photo must be a JPEG, PNG or WebP image."), "photo")
            if image.width * image.height > 40_000_000:
                raise StewardError(_l("The photo has too many pixels."), "photo")
            image = ImageOps.exif_transpose(image)  # keep the orientation the camera meant, then drop EXIF
            image = image.convert("RGB")
            image.thumbnail((PHOTO_SIZE, PHOTO_SIZE))
            out = io.BytesIO()
            image.save(out, format="JPEG", quality=85)  # no exif= argument: none of the original's metadata
    except StewardError:
        raise
    # SyntaxError: what Pillow raises for some broken PNG chunks.
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise StewardError(_l("This file is not an image we can read."), "photo") from exc
    return out.getvalue()


# --- the contact log ---------------------------------------------------------------------------------------


def log_contact(household: Household, steward: Membership, *, kind: str, contacted_on: date, note: str,
                actor: User, today: date) -> StewardContact:
    """Record a call, visit or WeChat exchange with a household. ``today`` is the date in Asia/Shanghai."""
    try:
        kind = ContactKind(kind)
    except ValueError as exc:
        raise StewardError(_l("Choose call, visit or WeChat."), "kind") from exc
    note = (note or "").strip()
    if not note:
        raise StewardError(_l("Write what was said or done."), "note")
    if contacted_on is None or contacted_on > today:
        raise StewardError(_l("The date cannot be in the future."), "contacted_on")
    if contacted_on < today - timedelta(days=CONTACT_MAX_AGE_DAYS):
        raise StewardError(_l("The date is more than a year ago."), "contacted_on")
    contact = StewardContact(household_id=household.id, steward_id=steward.id, author_id=actor.id, kind=kind,
                             contacted_on=contacted_on, note=note[:2000])
    db.session.add(contact)
    db.session.commit()
    return contact
