"""The company's work-order settings, written by its admin: the category list (names, order, who gets the jobs,
who is qualified), the SLA deadlines per category and priority, and the SLA calendar.

Every function validates all of its input before changing anything, writes one audit event and commits, so a
refused request leaves no trace. Refusals raise ``SettingsError(message, field)``.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import time
from decimal import Decimal, InvalidOperation

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from saas.audit import diff, record
from saas.errors import ServiceError
from saas.extensions import db
from saas.i18n import _l
from saas.models import Membership, Role, User
from saas.tenancy import new_id, require_company_id, utcnow
from tenants.work_orders import notify, queries
from tenants.work_orders.models import (
    DEFAULT_SLA_MINUTES,
    CategoryTechnician,
    DispatchMode,
    Priority,
    SlaPolicy,
    WorkOrder,
    WorkOrderCategory,
    WorkOrderSettings,
)
from tenants.work_orders.states import OPEN

NAME_MAX = 40
MAX_SLA_MINUTES = 90 * 24 * 60  # beyond 90 days a deadline stops meaning anything
WARN_MIN, WARN_MAX = 5, 240
# Who may be qualified for a category: the people who go out and fix things.
QUALIFIED_ROLES = (Role.TECHNICIAN, Role.STEWARD)
SLA_KINDS = ("response", "resolution")


class SettingsError(ServiceError):
    """A work-order setting we refuse (a duplicate category name, a deadline out of range…)."""


def sla_field(priority: Priority, kind: str) -> str:
    """The form field (and error field) of one SLA cell, e.g. sla_urgent_response."""
    return f"sla_{Priority(priority).value}_{kind}"


# --- durations as people write them: 30m, 4h, 3d, 1d 4h, 1.5h, 30分钟, 4小时, 3天 -----------------------------

_UNITS = {"m": 1, "min": 1, "mins": 1, "分": 1, "分钟": 1,
          "h": 60, "hr": 60, "hrs": 60, "小时": 60, "时": 60, "个小时": 60,
          "d": 24 * 60, "day": 24 * 60, "days": 24 * 60, "天": 24 * 60}
_PART = re.compile(r"\s*(\d{1,6}(?:\.\d{1,2})?)\s*([a-z\u4e00-\u9fff]+)\s*")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def parse_duration(text: str | None) -> int | None:
    """Minutes from "30m", "4h", "3d", "1d 4h", "1.5h" (or 分钟/小时/天); None for a blank. A bare number is
    refused rather than guessed: "4" could be minutes or hours. Raises SettingsError (no field) otherwise."""
    raw = unicodedata.normalize("NFKC", text or "").strip().lower()  # full-width ４ｈ → 4h
    if not raw:
        return None
    if _NUMBER.fullmatch(raw):
        raise SettingsError(_l("Add a unit: m for minutes, h for hours, d for days (e.g. 30m, 4h, 3d)."))
    total, position = Decimal(0), 0
    while position < len(raw):
        match = _PART.match(raw, position)
        if match is None or match.group(2) not in _UNITS:
            raise SettingsError(_l("Write a time like 30m, 4h, 3d or 1d 4h."))
        try:
            total += Decimal(match.group(1)) * _UNITS[match.group(2)]
        except InvalidOperation:  # pragma: no cover - the pattern only lets numbers through
            raise SettingsError(_l("Write a time like 30m, 4h, 3d or 1d 4h.")) from None
        position = match.end()
    if total != total.to_integral_value():
        raise SettingsError(_l("Use whole minutes."))
    return int(total)


def format_duration(minutes: int | None) -> str:
    """The input form of a duration: 30 → "30m", 240 → "4h", 1710 → "1d 4h 30m" (parse_duration reads it back)."""
    if not minutes:
        return ""
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    return " ".join(f"{n}{unit}" for n, unit in ((days, "d"), (hours, "h"), (mins, "m")) if n)


# --- reading ----------------------------------------------------------------------------------------------


def get_category(category_id: uuid.UUID) -> WorkOrderCategory | None:
    return db.session.execute(select(WorkOrderCategory).where(WorkOrderCategory.id == category_id)).scalar_one_or_none()


def archived_categories() -> list[WorkOrderCategory]:
    return list(db.session.execute(
        select(WorkOrderCategory).where(WorkOrderCategory.archived_at.is_not(None))
        .order_by(WorkOrderCategory.archived_at.desc())
    ).scalars())


def technician_candidates() -> list[Membership]:
    """Current technicians and stewards, technicians first, by name."""
    return list(db.session.execute(
        select(Membership).join(Membership.user)
        .where(Membership.ended_at.is_(None), Membership.role.in_(QUALIFIED_ROLES))
        .order_by(Membership.role.desc(), User.name, Membership.id)
    ).scalars())


def qualified_ids(category_id: uuid.UUID) -> set[uuid.UUID]:
    return set(db.session.execute(
        select(CategoryTechnician.membership_id).where(CategoryTechnician.category_id == category_id,
                                                       CategoryTechnician.ended_at.is_(None))
    ).scalars())


def technician_counts() -> dict[uuid.UUID, int]:
    """Qualified people per category, counting only current members."""
    return dict(db.session.execute(
        select(CategoryTechnician.category_id, func.count())
        .join(CategoryTechnician.membership)
        .where(Membership.ended_at.is_(None), Membership.role.in_(QUALIFIED_ROLES),
               CategoryTechnician.ended_at.is_(None))
        .group_by(CategoryTechnician.category_id)
    ).all())


def open_job_count(category_id: uuid.UUID) -> int:
    return db.session.execute(
        select(func.count()).select_from(WorkOrder)
        .where(WorkOrder.category_id == category_id, WorkOrder.status.in_(OPEN))
    ).scalar_one()


def sla_table() -> dict[uuid.UUID, dict[Priority, tuple[int, int]]]:
    """The company's own deadlines by category and priority; a priority missing (no row, or a row that holds
    just the defaults) follows the defaults."""
    table: dict[uuid.UUID, dict[Priority, tuple[int, int]]] = {}
    for policy in db.session.execute(select(SlaPolicy)).scalars():
        pair = (policy.response_minutes, policy.resolution_minutes)
        if pair != DEFAULT_SLA_MINUTES[policy.priority]:
            table.setdefault(policy.category_id, {})[policy.priority] = pair
    return table


def effective_sla(own: dict[Priority, tuple[int, int]] | None) -> dict[Priority, tuple[int, int, bool]]:
    """(response, resolution, is_custom) for every priority, the defaults filled in."""
    own = own or {}
    return {p: (*own[p], True) if p in own else (*DEFAULT_SLA_MINUTES[p], False) for p in Priority}


# --- categories -------------------------------------------------------------------------------------------


def _clean_name(name) -> str:
    name = " ".join(str(name or "").split())
    if not name:
        raise SettingsError(_l("Enter a name for the category."), "name")
    if len(name) > NAME_MAX:
        raise SettingsError(_l("Keep the name under %(n)d characters.", n=NAME_MAX), "name")
    return name


def _name_taken(name: str, except_id: uuid.UUID | None = None) -> bool:
    stmt = select(func.count()).select_from(WorkOrderCategory).where(
        WorkOrderCategory.archived_at.is_(None), func.lower(WorkOrderCategory.name) == name.lower())
    if except_id is not None:
        stmt = stmt.where(WorkOrderCategory.id != except_id)
    return db.session.execute(stmt).scalar_one() > 0


def _name_clash(name: str) -> SettingsError:
    return SettingsError(_l("There is already a category called %(name)s.", name=name), "name")


def _check_name_free(name: str, except_id: uuid.UUID | None = None) -> None:
    if _name_taken(name, except_id):
        raise _name_clash(name)


def _dispatch_mode(value) -> DispatchMode:
    try:
        return DispatchMode(value)
    except ValueError:
        raise SettingsError(_l("Choose how jobs are handed out."), "dispatch_mode") from None


def _uuid(value) -> uuid.UUID | None:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def _default_assignee(value) -> uuid.UUID | None:
    if value in (None, ""):
        return None
    wanted = _uuid(value)
    if wanted is None or wanted not in {m.id for m in queries.staff_members()}:
        raise SettingsError(_l("Choose a current staff member, or nobody."), "default_assignee_id")
    return wanted


def _technicians(values, allowed: set[uuid.UUID]) -> set[uuid.UUID]:
    chosen = {_uuid(v) for v in values or ()}
    if None in chosen or not chosen <= allowed:
        raise SettingsError(_l("Choose current technicians or stewards only."), "technician_ids")
    return chosen


@contextmanager
def _writing_name(name: str, category_id: uuid.UUID):
    """Write the block's changes and commit. Another admin may have taken the same name between our check and
    the commit: the partial unique index then refuses it, here (no autoflush halfway through the block)."""
    try:
        with db.session.no_autoflush:
            yield
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        if _name_taken(name, except_id=category_id):
            raise _name_clash(name) from None
        raise  # not the name: a bug to see, not to word as a clash


def create_category(*, name, dispatch_mode=DispatchMode.ASSIGN, default_assignee_id=None, technician_ids=(),
                    sla: dict | None = None, actor: User | None) -> WorkOrderCategory:
    """A new live category at the end of the list, with its technicians and (optionally) its own SLA."""
    name = _clean_name(name)
    _check_name_free(name)
    mode = _dispatch_mode(dispatch_mode)
    assignee = _default_assignee(default_assignee_id)
    people = _technicians(technician_ids, {m.id for m in technician_candidates()})
    policies = _check_sla(sla) if sla is not None else {}
    last = db.session.execute(select(func.max(WorkOrderCategory.position))).scalar_one()
    category = WorkOrderCategory(company_id=require_company_id(), id=new_id(), name=name, dispatch_mode=mode,
                                 default_assignee_id=assignee, position=0 if last is None else last + 1)
    with _writing_name(name, category.id):
        db.session.add(category)
        db.session.flush()  # before the rows that refer to it (they have no relationship to order them by)
        for person in people:
            db.session.add(CategoryTechnician(category_id=category.id, membership_id=person))
        _write_sla(category, policies, {})
        record("work_order_category.create", actor=actor, object_type="work_order_category",
               object_id=category.id, object_label=name,
               changes={"name": [None, name], "dispatch_mode": [None, mode], "default_assignee_id": [None, assignee],
                        "technicians": [None, sorted(map(str, people))], **_sla_changes({}, policies)})
    return category


def update_category(category: WorkOrderCategory, *, name, dispatch_mode, default_assignee_id=None,
                    technician_ids=(), sla: dict | None = None, actor: User | None) -> WorkOrderCategory:
    """Rename, change how jobs are handed out, and replace the qualified people exactly with ``technician_ids``.
    With ``sla`` its deadlines are saved in the same commit (see save_sla_policies)."""
    name = _clean_name(name)
    if category.archived_at is None:
        _check_name_free(name, except_id=category.id)
    mode = _dispatch_mode(dispatch_mode)
    assignee = _default_assignee(default_assignee_id)
    candidates = {m.id for m in technician_candidates()}
    people = _technicians(technician_ids, candidates)
    policies = _check_sla(sla) if sla is not None else None
    before = {"name": category.name, "dispatch_mode": category.dispatch_mode,
              "default_assignee_id": category.default_assignee_id}
    # Only the people the form offers are replaced: the rows of former members stay untouched (dispatch skips
    # them anyway), so editing a category never has to remove someone the admin cannot see.
    current = qualified_ids(category.id) & candidates
    own_sla = sla_table().get(category.id, {})
    rows = _sla_rows(category) if policies is not None else {}
    changes = diff(before, {"name": name, "dispatch_mode": mode, "default_assignee_id": assignee})
    with _writing_name(name, category.id):
        category.name, category.dispatch_mode, category.default_assignee_id = name, mode, assignee
        if people != current:
            _replace_technicians(category, current, people)
            changes["technicians"] = [sorted(map(str, current)), sorted(map(str, people))]
        if policies is not None:
            changes.update(_sla_changes(own_sla, policies))
            _write_sla(category, policies, rows)
        if changes:
            record("work_order_category.update", actor=actor, object_type="work_order_category",
                   object_id=category.id, object_label=name, changes=changes)
    return category


def _replace_technicians(category: WorkOrderCategory, current: set[uuid.UUID], wanted: set[uuid.UUID]) -> None:
    # Taking someone off ends their row: nothing is deleted (the app's database role may not), and the partial
    # unique index lets them be qualified again later.
    gone = current - wanted
    if gone:
        db.session.execute(update(CategoryTechnician).where(CategoryTechnician.category_id == category.id,
                                                            CategoryTechnician.membership_id.in_(gone),
                                                            CategoryTechnician.ended_at.is_(None))
                           .values(ended_at=utcnow()), execution_options={"synchronize_session": False})
    for person in wanted - current:
        db.session.add(CategoryTechnician(category_id=category.id, membership_id=person))


def move_category(category: WorkOrderCategory, direction: str, *, actor: User | None) -> bool:
    """Swap a live category with its neighbour above ("up") or below ("down"). False when it is already at
    that end (nothing to do). Positions are renumbered 0…n-1 so gaps and ties from old data disappear."""
    if direction not in ("up", "down"):
        raise SettingsError(_l("Move a category up or down."), "direction")
    if category.archived_at is not None:
        raise SettingsError(_l("Restore the category before moving it."), "direction")
    live = queries.live_categories()
    index = next(i for i, c in enumerate(live) if c.id == category.id)
    other = index - 1 if direction == "up" else index + 1
    if not 0 <= other < len(live):
        return False
    live[index], live[other] = live[other], live[index]
    for position, item in enumerate(live):
        item.position = position
    record("work_order_category.move", actor=actor, object_type="work_order_category", object_id=category.id,
           object_label=category.name, changes={"position": [index, other]})
    db.session.commit()
    return True


def archive_category(category: WorkOrderCategory, *, actor: User | None, now=None) -> int:
    """Take a category off the report forms. Its jobs, open or not, keep running; returns how many are open.
    The last live category cannot go: a report always needs one."""
    if category.archived_at is not None:
        return open_job_count(category.id)
    live = db.session.execute(select(func.count()).select_from(WorkOrderCategory)
                              .where(WorkOrderCategory.archived_at.is_(None))).scalar_one()
    if live <= 1:
        raise SettingsError(_l("This is the last category: add another before archiving it."))
    still_open = open_job_count(category.id)
    category.archived_at = now or utcnow()
    record("work_order_category.archive", actor=actor, object_type="work_order_category", object_id=category.id,
           object_label=category.name, changes={"archived_at": [None, category.archived_at],
                                                "open_jobs": still_open})
    db.session.commit()
    return still_open


def restore_category(category: WorkOrderCategory, *, actor: User | None) -> None:
    """Put an archived category back at the end of the list (unless a live one has taken its name)."""
    if category.archived_at is None:
        return
    _check_name_free(category.name, except_id=category.id)
    last = db.session.execute(select(func.max(WorkOrderCategory.position))
                              .where(WorkOrderCategory.archived_at.is_(None))).scalar_one()
    before = category.archived_at
    with _writing_name(category.name, category.id):
        category.archived_at = None
        category.position = 0 if last is None else last + 1
        record("work_order_category.restore", actor=actor, object_type="work_order_category",
               object_id=category.id, object_label=category.name, changes={"archived_at": [before, None]})


# --- SLA deadlines ----------------------------------------------------------------------------------------


def _check_sla(sla: dict) -> dict[Priority, tuple[int, int] | None]:
    """{priority: (response, resolution)} → the rows to keep; None for a priority left wholly blank (it then
    follows the defaults). One blank side takes the default for that side."""
    if not isinstance(sla, dict):
        raise SettingsError(_l("Enter the deadlines."))
    out: dict[Priority, tuple[int, int] | None] = {}
    for key, pair in sla.items():
        try:
            priority = Priority(key)
        except ValueError:
            raise SettingsError(_l("Unknown priority.")) from None
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise SettingsError(_l("Enter a response and a resolution time."), sla_field(priority, "response"))
        if pair[0] is None and pair[1] is None:
            out[priority] = None
            continue
        values = []
        for kind, value, default in zip(SLA_KINDS, pair, DEFAULT_SLA_MINUTES[priority], strict=True):
            field = sla_field(priority, kind)
            if value is None:
                value = default
            if isinstance(value, bool) or not isinstance(value, int):
                raise SettingsError(_l("Write a time like 30m, 4h, 3d or 1d 4h."), field)
            if value <= 0:
                raise SettingsError(_l("Give at least one minute."), field)
            if value > MAX_SLA_MINUTES:
                raise SettingsError(_l("Keep it within 90 days."), field)
            values.append(value)
        response, resolution = values
        if response > resolution:
            raise SettingsError(_l("The job cannot be due to be done before it is due to be accepted: make this "
                                   "at least the response time."), sla_field(priority, "resolution"))
        out[priority] = (response, resolution)
    return out


def _sla_rows(category: WorkOrderCategory) -> dict[Priority, SlaPolicy]:
    return {p.priority: p for p in db.session.execute(
        select(SlaPolicy).where(SlaPolicy.category_id == category.id)).scalars()}


def _write_sla(category: WorkOrderCategory, policies: dict[Priority, tuple[int, int] | None],
               rows: dict[Priority, SlaPolicy]) -> None:
    for priority, pair in policies.items():
        row = rows.get(priority)
        if pair is None:
            if row is not None:
                # Blank means "the defaults". The row stays (the app's database role may not delete), holding them.
                row.response_minutes, row.resolution_minutes = DEFAULT_SLA_MINUTES[priority]
        elif row is None:
            db.session.add(SlaPolicy(category_id=category.id, priority=priority, response_minutes=pair[0],
                                     resolution_minutes=pair[1]))
        else:
            row.response_minutes, row.resolution_minutes = pair


def _sla_changes(before: dict, policies: dict) -> dict:
    changes = {}
    for priority, pair in policies.items():
        old = before.get(priority)
        if (tuple(old) if old else None) != pair:
            changes[f"sla_{priority.value}"] = [list(old) if old else None, list(pair) if pair else None]
    return changes


def save_sla_policies(category: WorkOrderCategory, sla: dict, *, actor: User | None) -> None:
    """Set a category's deadlines: {priority: (response_minutes, resolution_minutes)}. Both positive, the
    response no later than the resolution, neither over 90 days; None on a side means the default, (None, None)
    goes back to the defaults. Priorities not in ``sla`` stay as they are."""
    policies = _check_sla(sla)
    changes = _sla_changes(sla_table().get(category.id, {}), policies)
    _write_sla(category, policies, _sla_rows(category))
    if changes:
        record("work_order_sla.update", actor=actor, object_type="work_order_category", object_id=category.id,
               object_label=category.name, changes=changes)
    db.session.commit()


# --- the SLA calendar ---------------------------------------------------------------------------------------


def save_calendar(*, business_hours: bool, day_start: time, day_end: time, observe_holidays: bool,
                  warn_minutes: int, actor: User | None) -> WorkOrderSettings:
    """Whether the SLA clocks run 24/7 or only in working hours, and how early assignees are warned."""
    if not isinstance(day_start, time) or day_start.tzinfo is not None:
        raise SettingsError(_l("Enter a time like 08:30."), "day_start")
    if not isinstance(day_end, time) or day_end.tzinfo is not None:
        raise SettingsError(_l("Enter a time like 17:30."), "day_end")
    day_start, day_end = day_start.replace(second=0, microsecond=0), day_end.replace(second=0, microsecond=0)
    if not day_start < day_end:
        raise SettingsError(_l("The working day must end after it starts."), "day_end")
    if isinstance(warn_minutes, bool) or not isinstance(warn_minutes, int) \
            or not WARN_MIN <= warn_minutes <= WARN_MAX:
        raise SettingsError(_l("Warn between %(low)d and %(high)d minutes before a deadline.",
                               low=WARN_MIN, high=WARN_MAX), "warn_minutes")
    row = db.session.execute(select(WorkOrderSettings)).scalar_one_or_none()
    before = {}
    if row is None:
        row = WorkOrderSettings(company_id=require_company_id())
        db.session.add(row)
    else:
        before = {"business_hours": row.business_hours, "day_start": row.day_start, "day_end": row.day_end,
                  "observe_holidays": row.observe_holidays, "warn_minutes": row.warn_minutes}
    after = {"business_hours": bool(business_hours), "day_start": day_start, "day_end": day_end,
             "observe_holidays": bool(observe_holidays), "warn_minutes": warn_minutes}
    for key, value in after.items():
        setattr(row, key, value)
    db.session.flush()  # the new row's id, for the audit event
    record("work_order_settings.update", actor=actor, object_type="work_order_settings", object_id=row.id,
           object_label="SLA calendar", changes=diff(_clock_text(before), _clock_text(after)))
    db.session.commit()
    return row


def _clock_text(values: dict) -> dict:
    # The audit log stores JSON: times as "08:30".
    return {k: v.strftime("%H:%M") if isinstance(v, time) else v for k, v in values.items()}


# --- who fixes what: categories whose jobs reach nobody ------------------------------------------------------

def _reaches_nobody(category: WorkOrderCategory, staff: set[uuid.UUID], counts: dict[uuid.UUID, int]) -> bool:
    """The dispatcher's own rules (services._dispatch): a pool reaches whoever is qualified for it; an assign-mode
    category its default assignee if that person is still staff, else the least busy qualified person."""
    if counts.get(category.id, 0):
        return False
    return not (category.dispatch_mode == DispatchMode.ASSIGN and category.default_assignee_id in staff)


def unreached_categories() -> list[WorkOrderCategory]:
    """The live categories whose new common-area jobs would go to nobody, in list order. (An in-home job still
    goes to the home's steward first, if it has one.)"""
    staff = {m.id for m in queries.staff_members()}
    counts = technician_counts()
    return [c for c in queries.live_categories() if _reaches_nobody(c, staff, counts)]


def has_technicians() -> bool:
    """Whether the company has anyone who goes out to fix things (a technician or a steward)."""
    return db.session.execute(select(func.count()).select_from(Membership).where(
        Membership.ended_at.is_(None), Membership.role.in_(QUALIFIED_ROLES))).scalar_one() > 0


def dispatch_choice(category: WorkOrderCategory) -> str:
    """The "who fixes what" value of a category: "pool", a default assignee's id, or "" (nobody chosen)."""
    if category.dispatch_mode == DispatchMode.POOL:
        return "pool"
    return str(category.default_assignee_id or "")


def set_dispatch(choices: dict, *, actor: User | None) -> int:
    """Save the "who fixes what" form: per category id, "pool", a staff member's id (their default assignee, in
    assign mode) or "" (assign mode, no default: the least busy qualified person). Choosing the pool for a
    category nobody is qualified for qualifies every current technician, so the pool reaches someone. Every value
    is checked before anything changes; one audit event per changed category. Returns how many changed."""
    live = {c.id: c for c in queries.live_categories()}
    staff = {m.id for m in queries.staff_members()}
    wanted: dict[uuid.UUID, tuple[DispatchMode, uuid.UUID | None]] = {}
    for key, value in (choices or {}).items():
        category_id = _uuid(key)
        if category_id not in live:
            raise SettingsError(_l("This category no longer exists: reload the page."))
        value = str(value or "").strip()
        if value == "pool":
            wanted[category_id] = (DispatchMode.POOL, live[category_id].default_assignee_id)
            continue
        person = _uuid(value) if value else None
        if value and person not in staff:
            raise SettingsError(_l("Choose a current staff member, or the grab pool."), f"who_{category_id}")
        wanted[category_id] = (DispatchMode.ASSIGN, person)
    counts = technician_counts()
    technicians = [m.id for m in technician_candidates() if m.role == Role.TECHNICIAN]
    changed = 0
    for category_id, (mode, person) in wanted.items():
        category = live[category_id]
        before = {"dispatch_mode": category.dispatch_mode, "default_assignee_id": category.default_assignee_id}
        changes = diff(before, {"dispatch_mode": mode, "default_assignee_id": person})
        category.dispatch_mode, category.default_assignee_id = mode, person
        if mode == DispatchMode.POOL and not counts.get(category_id) and technicians:
            # A pool nobody current may take from reaches nobody: qualify the technicians there are.
            current = qualified_ids(category_id)
            _replace_technicians(category, current, current | set(technicians))
            changes["technicians"] = [[], sorted(map(str, technicians))]
        if changes:
            changed += 1
            record("work_order_category.update", actor=actor, object_type="work_order_category",
                   object_id=category.id, object_label=category.name, changes=changes)
    db.session.commit()
    return changed


# --- the first technician, offered as the default --------------------------------------------------------------


def technician_joined(membership: Membership) -> bool:
    """Called when someone joins as a technician (an invitation accepted, a role changed), before the caller
    commits. The first current technician of the company is offered to the admins as the default for every
    category that reaches nobody: they hear it in the app now, and the offer waits on the checklist and the
    settings page until they apply it (nothing is changed for them). True when this was the first."""
    others = db.session.execute(select(func.count()).select_from(Membership).where(
        Membership.role == Role.TECHNICIAN, Membership.ended_at.is_(None), Membership.id != membership.id)
    ).scalar_one()
    if others:
        return False
    notify.first_technician(membership, len(unreached_categories()))
    return True


@dataclass(frozen=True)
class TechnicianOffer:
    membership: Membership
    categories: list[WorkOrderCategory]

    @property
    def name(self) -> str:
        return self.membership.user.name


def technician_offer() -> TechnicianOffer | None:
    """The standing offer, if any: the first technician (from the newest "joined" notice) while still a current
    technician, and the categories that reach nobody, while there are some."""
    from tenants.inbox.models import Notification

    membership_id = db.session.execute(
        select(Notification.subject_id).where(Notification.subject_type == notify.TECHNICIAN_JOINED)
        .order_by(Notification.created_at.desc()).limit(1)
    ).scalar_one_or_none()
    if membership_id is None:
        return None
    membership = db.session.execute(select(Membership).where(
        Membership.id == membership_id, Membership.ended_at.is_(None), Membership.role == Role.TECHNICIAN)
    ).scalar_one_or_none()
    if membership is None:
        return None
    categories = unreached_categories()
    return TechnicianOffer(membership, categories) if categories else None


def apply_technician_offer(membership_id, *, actor: User | None) -> tuple[Membership, int]:
    """Make the offered technician the default for every category that reaches nobody, and only those: an
    assign-mode category gets them as its default assignee, a pool gets them as a qualified person. Existing
    defaults are untouched. One audit event per category; returns the person and how many categories changed."""
    person = _uuid(membership_id)
    membership = None
    if person is not None:
        membership = db.session.execute(select(Membership).where(
            Membership.id == person, Membership.ended_at.is_(None), Membership.role.in_(QUALIFIED_ROLES))
        ).scalar_one_or_none()
    if membership is None:
        raise SettingsError(_l("This person is no longer a technician here: choose who fixes what below."))
    categories = unreached_categories()
    for category in categories:
        if category.dispatch_mode == DispatchMode.POOL:
            # Nobody current is qualified (that is why it reaches nobody), so this person is not either.
            db.session.add(CategoryTechnician(category_id=category.id, membership_id=membership.id))
            changes = {"technicians": [[], [str(membership.id)]]}
        else:
            changes = {"default_assignee_id": [category.default_assignee_id, membership.id]}
            category.default_assignee_id = membership.id
        record("work_order_category.update", actor=actor, object_type="work_order_category",
               object_id=category.id, object_label=category.name, changes=changes)
    db.session.commit()
    return membership, len(categories)
