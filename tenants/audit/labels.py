"""What the audit logs say to a person: every action, object type, changed field and value as a phrase.

The one place that knows the phrases of both logs (the company's, at /c/<slug>/audit, on the dashboard and on a
household's page, and the platform's, at /admin/audit): services record codes (``work_order.start``,
``status: [accepted, in_progress]``) because codes are stable and filterable; people read ``开始维修`` and
``状态：已接单 → 维修中``. A code without a phrase is shown as words (``repair point new code`` → "Repair point new
code"), never bare; tests/test_audit_labels.py finds every action code recorded in the code base and fails on one
without a phrase here.

It lives under tenants/ because its values come from the company modules' enums (statuses, roles, occupancy);
the platform admin, which may import company modules, uses it for the platform log.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

from babel.lists import format_list
from flask import g
from flask_babel import format_datetime, get_locale, gettext, ngettext
from sqlalchemy import select

from saas.extensions import db
from saas.i18n import _l
from saas.models import ROLE_LABELS, AuditEvent, Membership, PlatformAuditEvent, SubscriptionStatus, User
from saas.money import format_yuan
from saas.ratings.models import FLAG_REASON_LABELS
from saas.subscriptions.plans import plan_label
from saas.tenancy import current_company_id
from tenants.fees.models import FeeKind, PaymentMethod
from tenants.roster.models import OCCUPANCY_LABELS
from tenants.stewards.models import REASON_LABELS
from tenants.work_orders.models import DispatchMode, Priority
from tenants.work_orders.states import STATUS_LABELS, Action

# --- actions ----------------------------------------------------------------------------------------------------

WORK_ORDER_ACTIONS = {
    Action.ASSIGN: _l("Job assigned"),
    Action.GRAB: _l("Job taken from the pool"),
    Action.ACCEPT: _l("Job accepted by the technician"),
    Action.DECLINE: _l("Job declined"),
    Action.ON_THE_WAY: _l("Technician on the way"),
    Action.START: _l("Repair started"),
    Action.WAIT: _l("Waiting for the owner"),
    Action.RESUME: _l("Repair resumed"),
    Action.QUOTE: _l("Quote sent"),
    Action.ACCEPT_QUOTE: _l("Quote accepted"),
    Action.DECLINE_QUOTE: _l("Quote declined"),
    Action.COMPLETE: _l("Repair finished"),
    Action.RATE: _l("Job rated"),
    Action.CLOSE: _l("Job closed"),
    Action.REOPEN: _l("Job reopened"),
    Action.CANCEL: _l("Job cancelled"),
    Action.RELEASE: _l("Job back to dispatch"),
}

ACTIONS = {
    # signing in
    "auth.login": _l("Signed in"),
    "auth.logout": _l("Signed out"),
    "auth.login_failed": _l("Failed sign-in (wrong password)"),
    "auth.locked": _l("Account locked after failed sign-ins"),
    "auth.login_refused_locked": _l("Sign-in refused: account locked"),
    "auth.password_change": _l("Password changed"),
    "auth.password_change_failed": _l("Password change refused: wrong current password"),
    "auth.password_change_refused_locked": _l("Password change refused: account locked"),
    # the company, its plan and the platform's actions on it
    "company.signup": _l("Company signed up"),
    "company.profile_update": _l("Company details changed"),
    "company.steward_capacity": _l("Default steward capacity changed"),
    "company.plan_activated": _l("Plan activated (bank transfer)"),
    "company.trial_extended": _l("Trial extended"),
    "company.suspended": _l("Company suspended"),
    "company.unsuspended": _l("Suspension lifted"),
    "company.wechat_sub_mchid_set": _l("WeChat Pay sub-merchant number set"),
    "platform.plan_activated": _l("Platform activated a plan (bank transfer)"),
    "platform.trial_extended": _l("Platform extended the trial"),
    "platform.suspended": _l("Platform suspended the company"),
    "platform.unsuspended": _l("Platform lifted the suspension"),
    "platform.wechat_sub_mchid_set": _l("Platform set the WeChat Pay sub-merchant number"),
    "trial.reminder": _l("Trial reminder sent"),
    "subscription.customer_linked": _l("Linked to the card payment service"),
    "subscription.checkout_started": _l("Card payment started"),
    "subscription.checkout_completed": _l("Card payment completed"),
    "subscription.activated": _l("Subscription active"),
    "subscription.updated": _l("Subscription changed"),
    "subscription.renewed": _l("Subscription renewed"),
    "subscription.past_due": _l("Subscription payment overdue"),
    "subscription.canceled": _l("Subscription cancelled"),
    # the roster
    "community.create": _l("Community added"),
    "community.update": _l("Community changed"),
    "community.delete": _l("Community deleted"),
    "building.create": _l("Building added"),
    "building.update": _l("Building changed"),
    "building.delete": _l("Building deleted"),
    "household.create": _l("Household added"),
    "household.update": _l("Household changed"),
    "household.delete": _l("Household removed"),
    "household.restore": _l("Household restored"),
    "household.code_assign": _l("Household codes issued"),
    "household.code_regenerate": _l("Household code replaced"),
    "import.commit": _l("Roster imported"),
    "fee_import.readings": _l("Meter readings imported"),
    "fee_import.opening": _l("Opening balances imported"),
    "export.create": _l("Roster export started"),
    "export.download": _l("Roster export downloaded"),
    # people
    "invitation.create": _l("Invitation sent"),
    "invitation.resend": _l("Invitation sent again"),
    "invitation.revoke": _l("Invitation withdrawn"),
    "invitation.accept": _l("Invitation accepted"),
    "membership.create": _l("Joined the company"),
    "membership.role_change": _l("Role changed"),
    "membership.end": _l("Left the company"),
    "owner.join": _l("Owner joined their home"),
    # stewards
    "steward.assign": _l("Households assigned to a steward"),
    "steward.unassign": _l("Households taken off their steward"),
    "steward.handover": _l("Steward handover"),
    "steward.release": _l("Steward's households released"),
    "steward.auto_assign": _l("Stewards auto-assigned"),
    "steward.profile": _l("Steward details changed"),
    # work orders and their settings
    **{f"work_order.{action.value}": phrase for action, phrase in WORK_ORDER_ACTIONS.items()},
    "work_order_category.create": _l("Repair category added"),
    "work_order_category.update": _l("Repair category changed"),
    "work_order_category.move": _l("Repair categories reordered"),
    "work_order_category.archive": _l("Repair category archived"),
    "work_order_category.restore": _l("Repair category restored"),
    "work_order_sla.update": _l("Repair deadlines changed"),
    "work_order_settings.update": _l("Deadline clock changed"),
    "repair_point.create": _l("QR poster made"),
    "repair_point.archive": _l("QR poster archived"),
    "repair_point.new_code": _l("QR poster given a new code"),
    # fees: setup and bill runs
    "fee_settings.update": _l("Fee settings changed"),
    "fee_item.create": _l("Fee item added"),
    "fee_item.update": _l("Fee item changed"),
    "fee_item.archive": _l("Fee item archived"),
    "fee_rate.create": _l("New rate of a fee item"),
    "parking_space.create": _l("Parking space added"),
    "parking_space.update": _l("Parking space changed"),
    "parking_space.delete": _l("Parking space deleted"),
    "household.inner_area": _l("Inner floor area changed"),
    "meter_reading.create": _l("Meter reading recorded"),
    "bill_run.preview": _l("Bill run previewed"),
    "bill_run.issue": _l("Bills issued"),
    "bill.one_off": _l("One-off charge added"),
    "bill.repair": _l("Paid repair billed"),
    # fees: every money movement
    "fee.payment_recorded": _l("Payment recorded"),
    "fee.payment_paid": _l("Online payment received"),
    "fee.payment_refunded": _l("Payment refunded"),
    "fee.wechat_order_created": _l("WeChat Pay order made"),
    "fee.wechat_refund_requested": _l("WeChat Pay refund requested"),
    "fee.wechat_refund_failed": _l("WeChat Pay refund failed"),
    "fee.bill_credited": _l("Bill credited"),
    "fee.bill_reissued": _l("Bill reissued"),
    "fee.reminder_sent": _l("Payment reminder sent"),
    "fee.late_fee_issued": _l("Late fee issued"),
    "fee.invoice_requested": _l("Invoice requested"),
    "fee.invoice_issued": _l("Invoice issued"),
    "fee.invoice_declined": _l("Invoice request declined"),
    "disclosure.profile": _l("Price board details changed"),
    "disclosure.draft": _l("Disclosure drafted"),
    "disclosure.publish": _l("Disclosure published"),
    "disclosure.correct": _l("Disclosure correction drafted"),
    "disclosure.attach": _l("File attached to a disclosure"),
    "disclosure.detach": _l("File removed from a disclosure draft"),
    "disclosure.objection": _l("Objection raised on a disclosure"),
    "disclosure.reply": _l("Objection answered publicly"),
    "disclosure.objection_close": _l("Objection closed"),
    "rating.flagged": _l("Review reported"),
    "rating.folded": _l("Review folded"),
    "rating.restored": _l("Review shown again"),
    "rating.excluded": _l("Rating left out of the score"),
    "rating.included": _l("Rating counted in the score again"),
    "rating.replied": _l("Public reply to a review"),
    "rating.appeal_filed": _l("Appeal filed"),
    "rating.appeal_decided": _l("Appeal decided"),
    "rating.violation_recorded": _l("Serious violation recorded (black list)"),
    "rating.computed": _l("Red/black list score computed"),
    "rating.rules_published": _l("New version of the red/black list rules"),
}

# The platform log's actions (PlatformAuditEvent.action), in the order its filter lists them.
PLATFORM_ACTIONS = ("company.signup", "company.plan_activated", "company.trial_extended", "company.suspended",
                    "company.unsuspended", "company.wechat_sub_mchid_set", "rating.flagged", "rating.folded",
                    "rating.restored", "rating.excluded", "rating.included", "rating.replied", "rating.appeal_filed",
                    "rating.appeal_decided", "rating.violation_recorded", "rating.computed",
                    "rating.rules_published")

# --- objects ----------------------------------------------------------------------------------------------------

OBJECT_TYPES = {
    "company": _l("Company"),
    "user": _l("Account"),
    "membership": _l("Member"),
    "invitation": _l("Invitation"),
    "community": _l("Community"),
    "building": _l("Building"),
    "household": _l("Household"),
    "steward": _l("Steward"),
    "import": _l("Import"),
    "export": _l("Export"),
    "work_order": _l("Repair job"),
    "work_order_category": _l("Repair category"),
    "work_order_settings": _l("Repair settings"),
    "repair_point": _l("QR poster"),
    "fee_settings": _l("Fee settings"),
    "fee_item": _l("Fee item"),
    "parking_space": _l("Parking space"),
    "bill_run": _l("Bill run"),
    "bill": _l("Bill"),
    "payment": _l("Payment"),
    "invoice_request": _l("Invoice request"),
    "disclosure": _l("Public disclosure"),
    "rating": _l("Review"),
    "rating_appeal": _l("Appeal"),
}

# --- fields -----------------------------------------------------------------------------------------------------

FIELDS = {
    "amount_fen": _l("Amount"),
    "settled_fen": _l("Settled bills"),
    "credit_fen": _l("Kept as credit"),
    "owed_fen": _l("Owed past due"),
    "method": _l("Payment method"),
    "invoice_number": _l("Invoice number"),
    "reject_reason": _l("Reason for declining"),
    "name": _l("Name"),
    "address": _l("Address"),
    "slug": _l("Web address"),
    "admin": _l("Administrator"),
    "source": _l("Signed up through"),
    "new_account": _l("New account"),
    "licence_number": _l("Unified social credit code"),
    "complaint_phone": _l("Complaint phone"),
    "service_phone": _l("Service phone"),
    "status": _l("Status"),
    "plan": _l("Plan"),
    "trial_ends_at": _l("Trial ends"),
    "current_period_end": _l("Paid until"),
    "period_end": _l("Paid until"),
    "months": _l("Months"),
    "days": _l("Days added"),
    "days_before": _l("Days before the end"),
    "messages": _l("Messages sent"),
    "reference": _l("Transfer reference"),
    "reason": _l("Reason"),
    "wechat_sub_mchid": _l("WeChat Pay sub-merchant number"),
    "suspended_at": _l("Suspended since"),
    "stripe_customer_id": _l("Card payment customer"),
    "stripe_subscription_id": _l("Card payment subscription"),
    "stripe_event": _l("Card payment event"),
    "households": _l("Number of households"),
    "building": _l("Building"),
    "unit": _l("Unit"),
    "room": _l("Room"),
    "floor_area": _l("Floor area"),
    "occupancy": _l("Occupancy"),
    "owner_name": _l("Owner name"),
    "owner_phone": _l("Owner phone"),
    "owner": _l("Owner"),
    "role": _l("Role"),
    "to": _l("Handed over to"),
    "note": _l("Note"),
    "moves": _l("Households moved"),
    "rebalance": _l("Full rebalance"),
    "steward_capacity": _l("Default capacity"),
    "capacity": _l("Capacity"),
    "work_phone": _l("Work phone"),
    "working_hours": _l("Working hours"),
    "photo": _l("Photo"),
    "files": _l("Files"),
    "batch_id": _l("Import batch"),
    "rows": _l("Rows"),
    "created": _l("Households added"),
    "updated": _l("Households updated"),
    "unchanged": _l("Unchanged"),
    "communities_created": _l("Communities created"),
    "buildings_created": _l("Buildings created"),
    "readings_added": _l("Readings added"),
    "opening_balances_added": _l("Opening balances added"),
    "total_yuan": _l("Total (yuan)"),
    "dispatch_mode": _l("Dispatch"),
    "default_assignee_id": _l("Default technician"),
    "technicians": _l("Qualified technicians"),
    "position": _l("Position"),
    "archived_at": _l("Archived"),
    "archived": _l("Archived"),
    "open_jobs": _l("Open jobs"),
    "business_hours": _l("Clocks run in working hours only"),
    "day_start": _l("Working day starts"),
    "day_end": _l("Working day ends"),
    "observe_holidays": _l("Public holidays observed"),
    "warn_minutes": _l("Warning before a deadline (minutes)"),
    "category": _l("Category"),
    "code": _l("QR code"),
    # fees
    "due_days": _l("Bills are due after (days)"),
    "prepay_cap_months": _l("Prepayment up to (months)"),
    "contract_ends_on": _l("Service contract ends on"),
    "reminder_interval_days": _l("At most one reminder every (days)"),
    "offline_instructions": _l("How to pay offline"),
    "late_fees_enabled": _l("Late fees"),
    "late_fee_clause": _l("Late-fee clause"),
    "late_fee_daily_permyriad": _l("Daily rate (‱ of the bill)"),
    "late_fee_grace_days": _l("Grace days"),
    "late_fee_cap_percent": _l("Cap (percent of the bill)"),
    "kind": _l("Charged"),
    "vacant_percent": _l("Vacant homes pay (%)"),
    "unit_price": _l("Unit price (yuan)"),
    "effective_from": _l("Takes effect on"),
    "holder": _l("Held by"),
    "inner_area": _l("Inner floor area"),
    "meter": _l("Meter"),
    "reading": _l("Reading"),
    "read_on": _l("Read on"),
    "new_meter": _l("New meter"),
    "title": _l("What for"),
    "amount": _l("Amount"),
    "bills": _l("Bills"),
    "charged_party": _l("Who is charged"),
    "service_grade": _l("Service content and standard"),
    "price_form": _l("Price form"),
    "basis_document": _l("Basis of the charge"),
    "billing_start": _l("Billing start date"),
    "calendar_from": _l("Statements due from"),
    "version": _l("Version"),
    "late": _l("Answered late"),
    "due_on": _l("Decision due by"),
    "rating": _l("Review"),
    "appeal": _l("Appeal"),
    "entry": _l("List entry"),
    "hidden": _l("Hidden at once"),
    "flag_reason": _l("Reported as"),
    "decision": _l("Decision"),
    "description": _l("Violation"),
    "evidence": _l("Evidence"),
    "score": _l("Score"),
    "grade": _l("Grade"),
    **{f"sla_{p.value}": phrase for p, phrase in (
        (Priority.URGENT, _l("Deadlines for urgent jobs")),
        (Priority.NORMAL, _l("Deadlines for normal jobs")),
        (Priority.LOW, _l("Deadlines for low-priority jobs")),
    )},
}
# A field whose meaning depends on what changed.
OBJECT_FIELDS = {
    ("invoice_request", "title"): _l("Invoice title (抬头)"),
    ("company", "name"): _l("Company name"),
    ("community", "name"): _l("Community name"),
    ("community", "complaint_phone"): _l("Price complaint phone"),
    ("disclosure", "kind"): _l("What is published"),
    ("building", "name"): _l("Building name"),
    ("work_order_category", "name"): _l("Category name"),
    ("repair_point", "name"): _l("Poster name"),
    ("company", "status"): _l("Subscription"),
}

SUBSCRIPTION_STATUSES = {
    SubscriptionStatus.TRIALING: _l("Free trial"),
    SubscriptionStatus.ACTIVE: _l("Active"),
    SubscriptionStatus.PAST_DUE: _l("Payment overdue"),
    SubscriptionStatus.CANCELED: _l("Subscription cancelled"),
}
SIGNUP_SOURCES = {"signup": _l("Sign-up page"), "cli": _l("Command line")}
QR_CODES = {"old": _l("Old QR code"), "new": _l("New QR code")}
PHOTOS = {True: _l("A photo"), False: _l("No photo"), "new": _l("New photo")}

# Values of these fields are codes of an enum (or a fixed set): shown by their label.
VALUE_LABELS = {
    ("work_order", "status"): STATUS_LABELS,
    ("company", "status"): SUBSCRIPTION_STATUSES,
    (None, "role"): ROLE_LABELS,
    (None, "occupancy"): OCCUPANCY_LABELS,
    ("steward", "reason"): REASON_LABELS,
    (None, "source"): SIGNUP_SOURCES,
    ("repair_point", "code"): QR_CODES,
    ("steward", "photo"): PHOTOS,
    ("fee_item", "kind"): {k.value: k.label for k in FeeKind},
    (None, "decision"): {"upheld": _l("Upheld"), "rejected": _l("Rejected")},
    (None, "flag_reason"): FLAG_REASON_LABELS,
}
MEMBER_FIELDS = {"default_assignee_id", "technicians"}  # membership ids: shown as the people's names
SLA_FIELD = re.compile(r"sla_\w+$")
_ISO_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d")


def readable(code: str) -> str:
    """A code nobody gave a phrase, as words: "work_order.new_thing" → "Work order new thing"."""
    words = re.sub(r"[._]+", " ", code or "").strip()
    return words[:1].upper() + words[1:] if words else gettext("Unknown")


def action_phrase(code: str) -> str:
    phrase = ACTIONS.get(code)
    return str(phrase) if phrase is not None else readable(code)


def object_phrase(object_type: str) -> str:
    phrase = OBJECT_TYPES.get(object_type)
    return str(phrase) if phrase is not None else readable(object_type)


def field_phrase(name: str, object_type: str | None = None) -> str:
    phrase = OBJECT_FIELDS.get((object_type, name)) or FIELDS.get(name)
    return str(phrase) if phrase is not None else readable(name)


def _member_names() -> dict[str, str]:
    """{membership id: person's name} of the current company, once per request (ids in category changes)."""
    company_id = current_company_id()
    if company_id is None:
        return {}
    cache = g.setdefault("_audit_member_names", {})
    if company_id not in cache:
        rows = db.session.execute(select(Membership.id, User.name).join(User, User.id == Membership.user_id)).all()
        cache[company_id] = {str(m): name for m, name in rows}
    return cache[company_id]


def _minutes(value) -> str:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        return str(value)
    days, rest = divmod(value, 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = []
    if days:
        parts.append(ngettext("%(num)d day", "%(num)d days", days))
    if hours:
        parts.append(gettext("%(num)d h", num=hours))
    if mins:
        parts.append(gettext("%(num)d min", num=mins))
    return " ".join(parts)


def _join(items: list[str]) -> str:
    return format_list(items, locale=get_locale()) if items else gettext("nobody")


def value_text(name: str, value, object_type: str | None = None) -> str:
    """One recorded value, as a person reads it."""
    if value is None or value == "":
        return gettext("none")
    labels = VALUE_LABELS.get((object_type, name)) or VALUE_LABELS.get((None, name))
    if labels is not None and not isinstance(value, (list, dict)):
        label = labels.get(value)
        if label is not None:
            return str(label)
    if isinstance(value, bool):
        return gettext("yes") if value else gettext("no")
    if name.endswith("_fen") and isinstance(value, int):
        return format_yuan(value)
    if name == "method" and value in {m.value for m in PaymentMethod}:
        return PaymentMethod(value).label
    if name in MEMBER_FIELDS:
        names = _member_names()
        ids = value if isinstance(value, list) else [value]
        return _join([names.get(str(i), gettext("a former member")) for i in ids])
    if SLA_FIELD.match(name) and isinstance(value, list) and len(value) == 2:
        return gettext("accept within %(response)s, finish within %(resolution)s",
                       response=_minutes(value[0]), resolution=_minutes(value[1]))
    if name == "plan" and isinstance(value, str):
        return plan_label(value)
    if name == "dispatch_mode" and value in {m.value for m in DispatchMode}:
        return DispatchMode(value).label
    if isinstance(value, str) and _ISO_TIME.match(value):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
        return format_datetime(moment if moment.tzinfo else moment.replace(tzinfo=UTC), "yyyy-MM-dd HH:mm")
    if isinstance(value, list):
        return _join([value_text(name, v, object_type) for v in value])
    if isinstance(value, dict):
        return "; ".join(change_line(k, v, object_type) for k, v in value.items())
    if isinstance(value, uuid.UUID):
        return str(value)
    return str(value)


def _is_pair(name: str, recorded) -> bool:
    """Whether a recorded value is [before, after]. An SLA value is itself two numbers (accept, finish)."""
    if not isinstance(recorded, (list, tuple)) or len(recorded) != 2:
        return False
    return not (SLA_FIELD.match(name) and all(isinstance(v, int) for v in recorded))


def change_line(name: str, recorded, object_type: str | None = None) -> str:
    """"状态：已接单 → 维修中" for a [before, after] pair; "名称：红山小区" for one value (or a new one)."""
    label = field_phrase(name, object_type)
    if _is_pair(name, recorded):
        before, after = recorded
        if before is None:
            return gettext("%(field)s: %(value)s", field=label, value=value_text(name, after, object_type))
        return gettext("%(field)s: %(before)s → %(after)s", field=label,
                       before=value_text(name, before, object_type), after=value_text(name, after, object_type))
    return gettext("%(field)s: %(value)s", field=label, value=value_text(name, recorded, object_type))


# --- entries: what the shared template (components/_audit_events.html) shows ------------------------------------


@dataclass
class Entry:
    action: str  # the phrase
    code: str  # the recorded code, for data attributes and tests, never shown
    created_at: datetime
    actor_name: str
    object: str = ""  # "房屋 · 1号楼 1-0101"
    lines: list[str] = field(default_factory=list)
    company_id: uuid.UUID | None = None


# Fields recorded for machines, not people (an id already shown by the entry itself).
HIDDEN_FIELDS = {"batch_id"}


def _lines(changes: dict | None, object_type: str | None) -> list[str]:
    return [change_line(k, v, object_type) for k, v in (changes or {}).items() if k not in HIDDEN_FIELDS]


def company_entry(event: AuditEvent) -> Entry:
    label = event.object_label
    if event.object_type in ("export", "work_order_settings"):
        label = ""  # an export's label is its id; the clock settings have one fixed English label
    what = object_phrase(event.object_type)
    return Entry(action=action_phrase(event.action), code=event.action, created_at=event.created_at,
                 actor_name=event.actor_name, object=f"{what} · {label}" if label else what,
                 lines=_lines(event.changes, event.object_type), company_id=event.company_id)


def platform_entry(event: PlatformAuditEvent) -> Entry:
    details = dict(event.details or {})
    changes = details.pop("changes", None) or {}
    lines = [change_line(k, v, "company") for k, v in details.items() if v is not None]
    lines += _lines(changes, "company")
    return Entry(action=action_phrase(event.action), code=event.action, created_at=event.created_at,
                 actor_name=event.actor_name, lines=lines, company_id=event.company_id)


def entries(events) -> list[Entry]:
    """Template filter ``audit_entries``: company or platform events, as entries."""
    return [platform_entry(e) if isinstance(e, PlatformAuditEvent) else company_entry(e) for e in events or []]


# The group an action is listed under in a filter, by the code's first part (the rest are object types).
ACTION_GROUPS = {
    "auth": _l("Signing in"),
    "platform": _l("Platform"),
    "subscription": _l("Plan and payment"),
    "trial": _l("Plan and payment"),
    "owner": _l("Owner"),
    "work_order_sla": _l("Repair category"),
}


def company_log_actions() -> list[str]:
    """Codes the company's own log can hold (the platform-only ones appear there as platform.*)."""
    platform_only = set(PLATFORM_ACTIONS) - {"company.signup"}
    return [code for code in ACTIONS if code not in platform_only]


def action_groups(codes) -> list[tuple[str, list[tuple[str, str]]]]:
    """[(group phrase, [(code, phrase), ...]), ...] for a filter's <optgroup>s, in a stable order."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for code in codes:
        prefix = code.split(".", 1)[0]
        group = str(ACTION_GROUPS.get(prefix) or object_phrase(prefix))
        groups.setdefault(group, []).append((code, action_phrase(code)))
    return list(groups.items())


def object_choices() -> list[tuple[str, str]]:
    return [(code, str(phrase)) for code, phrase in OBJECT_TYPES.items()]
