"""Collection (收缴): the collection rate, the steward's figures, and reminders of what a household owes (催缴).

Collection rate of a period = paid ÷ billed for the bills of that period (by ``period_start``), where billed is
what was charged less what was credited (a waived or corrected amount was never owed), and late fees are left out
(they are not the service's price). The running rate adds the periods up from the first one shown.

Reminders are polite: an SMS and an in-app notice to the home's owners saying what is owed and where to pay, at
most one per household per FeeSettings.reminder_interval_days (CollectionReminder rows). Nothing here offers or
mentions cutting any service (民法典 944), and nothing here is ever shown outside the company app.
"""

from __future__ import annotations

import functools
import logging
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import and_, bindparam, case, func, literal, select

from saas.audit import record
from saas.clock import local, local_today, utcnow
from saas.errors import ServiceError
from saas.extensions import db
from saas.i18n import _l
from saas.models import Company, Membership, Role, User
from saas.money import format_yuan
from saas.tenancy import built_once, company_context, require_company_id
from tenants.fees import arrears, ledger
from tenants.fees.models import Bill, BillKind, CollectionReminder, FeeMonthFigure
from tenants.inbox.services import notify
from tenants.roster.models import Household, HouseholdOwner
from tenants.stewards.models import StewardAssignment

SUBJECT = "fee_arrears"  # in-app notices about a home's arrears (subject_id: the household)
SMS_KIND = "fee_reminder"
CHART_MONTHS = 12


class CollectionError(ServiceError):
    """A reminder was refused (sent too recently, nothing owed, nobody to tell)."""


# --- months -----------------------------------------------------------------------------------------------------


def month_start(day: date) -> date:
    return day.replace(day=1)


def add_months(day: date, months: int) -> date:
    total = day.year * 12 + day.month - 1 + months
    return date(total // 12, total % 12 + 1, 1)


# --- the collection rate ----------------------------------------------------------------------------------------


def _billed():
    return Bill.amount_fen - Bill.credited_fen


def rate(paid: int, billed: int) -> float | None:
    """paid ÷ billed as a fraction, None when nothing was billed (the page shows a dash, not 0 %)."""
    return paid / billed if billed > 0 else None


@dataclass
class PeriodRate:
    period_start: date
    billed: int
    paid: int
    running_billed: int
    running_paid: int

    @property
    def rate(self):
        return rate(self.paid, self.billed)

    @property
    def running_rate(self):
        return rate(self.running_paid, self.running_billed)


def by_period(today: date, *, months: int = CHART_MONTHS, community_id=None) -> list[PeriodRate]:
    """The last ``months`` months up to this one: each period's billed, paid and running totals (one statement over
    fee_month_figures, kept by the bills' triggers: tenants/fees/figures.py). Months without bills are shown too
    (billed 0)."""
    f = FeeMonthFigure.__table__
    first = add_months(month_start(today), -(months - 1))
    end = add_months(month_start(today), 1)
    stmt = (select(f.c.month, func.sum(f.c.billed_fen), func.sum(f.c.paid_fen))
            .where(f.c.company_id == require_company_id(), f.c.month >= first, f.c.month < end)
            .group_by(f.c.month))
    if community_id is not None:
        stmt = stmt.where(f.c.community_id == community_id)
    sums = {month: (int(billed or 0), int(paid or 0)) for month, billed, paid in db.session.execute(stmt)}
    out, running_billed, running_paid = [], 0, 0
    for i in range(months):
        month = add_months(first, i)
        billed, paid = sums.get(month, (0, 0))
        running_billed += billed
        running_paid += paid
        out.append(PeriodRate(month, billed, paid, running_billed, running_paid))
    return out


def direct_by_period(today: date, *, months: int = CHART_MONTHS, community_id=None) -> dict[date, tuple[int, int]]:
    """{month: (billed, paid)} counted over the bills themselves (what the figures must equal; tests compare)."""
    first = add_months(month_start(today), -(months - 1))
    end = add_months(month_start(today), 1)
    stmt = (select(Bill.period_start, func.sum(_billed()), func.sum(Bill.paid_fen))
            .where(Bill.period_start >= first, Bill.period_start < end, Bill.kind != BillKind.LATE_FEE)
            .group_by(Bill.period_start))
    if community_id is not None:
        stmt = stmt.where(Bill.community_id == community_id)
    sums: dict[date, tuple[int, int]] = {}
    for start, billed, paid in db.session.execute(stmt):
        b, p = sums.get(month_start(start), (0, 0))
        sums[month_start(start)] = (b + int(billed or 0), p + int(paid or 0))
    return sums


@dataclass
class CommunityRate:
    id: uuid.UUID
    name: str
    billed: int
    paid: int
    running_billed: int
    running_paid: int

    @property
    def rate(self):
        return rate(self.paid, self.billed)

    @property
    def running_rate(self):
        return rate(self.running_paid, self.running_billed)


def by_community(today: date, *, months: int = CHART_MONTHS) -> list[CommunityRate]:
    """Each community's rate this month and its running rate over the months shown (one statement over
    fee_month_figures)."""
    from tenants.roster.models import Community

    f = FeeMonthFigure.__table__
    first = add_months(month_start(today), -(months - 1))
    this, end = month_start(today), add_months(month_start(today), 1)
    now = f.c.month == this
    rows = db.session.execute(
        select(Community.id, Community.name,
               func.coalesce(func.sum(case((now, f.c.billed_fen), else_=literal(0))), 0),
               func.coalesce(func.sum(case((now, f.c.paid_fen), else_=literal(0))), 0),
               func.coalesce(func.sum(f.c.billed_fen), 0), func.coalesce(func.sum(f.c.paid_fen), 0))
        .select_from(f)
        .join(Community, (Community.company_id == f.c.company_id) & (Community.id == f.c.community_id))
        .where(f.c.company_id == require_company_id(), f.c.month >= first, f.c.month < end)
        .group_by(Community.id, Community.name)
        .having(func.count() > 0).order_by(Community.name)
    ).all()
    return [CommunityRate(r[0], r[1], *(int(v) for v in r[2:])) for r in rows]


# --- the steward's figures --------------------------------------------------------------------------------------


@dataclass
class StewardFigures:
    arrears_fen: int = 0
    owing_households: int = 0
    billed_this_month: int = 0
    paid_this_month: int = 0
    owed: dict = field(default_factory=dict)  # {household id: owed past due}

    @property
    def rate(self):
        return rate(self.paid_this_month, self.billed_this_month)


def steward_figures(membership_id: uuid.UUID, today: date) -> StewardFigures:
    """The arrears of the homes a steward looks after now, each home's, and their collection rate this month
    (one statement over the bills of those homes that are this month's or overdue)."""
    this = month_start(today)
    billed = paid = 0
    owed = {}
    for household_id, billed_now, paid_now, owed_now in db.session.execute(_steward_figures_statement(), {
            "steward_id": membership_id, "month_start": this, "month_end": add_months(this, 1), "today": today}):
        billed, paid = billed + int(billed_now or 0), paid + int(paid_now or 0)
        if owed_now:  # an overdue bill always owes something (arrears._overdue), so > 0 here means "in arrears"
            owed[household_id] = int(owed_now)
    return StewardFigures(sum(owed.values()), len(owed), billed, paid, owed)


@functools.cache
def _steward_figures_statement():
    """steward_figures' statement, built once (parameters ``steward_id``, ``month_start``, ``month_end`` and
    ``today``): building and keying it on every view of the steward's home cost about what running it does."""
    day = Bill.period_start.type
    steward = bindparam("steward_id", type_=StewardAssignment.steward_id.type)
    mine = select(StewardAssignment.household_id).where(StewardAssignment.steward_id == steward,
                                                        StewardAssignment.ended_at.is_(None))
    now = ((Bill.period_start >= bindparam("month_start", type_=day))
           & (Bill.period_start < bindparam("month_end", type_=day)) & (Bill.kind != BillKind.LATE_FEE))
    overdue = and_(*arrears._overdue(bindparam("today", type_=Bill.due_on.type)))
    return built_once(
        select(Bill.household_id, func.sum(case((now, _billed()), else_=literal(0))),
               func.sum(case((now, Bill.paid_fen), else_=literal(0))),
               func.sum(case((overdue, Bill.amount_fen - Bill.paid_fen - Bill.credited_fen), else_=literal(0))))
        .where(Bill.household_id.in_(mine), now | overdue).group_by(Bill.household_id))


# --- reminders (催缴) --------------------------------------------------------------------------------------------


def owners_of(household_ids) -> dict[uuid.UUID, list[User]]:
    """The owner accounts bound to each home now (one statement)."""
    household_ids = list(household_ids)
    out: dict[uuid.UUID, list[User]] = {}
    if not household_ids:
        return out
    rows = db.session.execute(
        select(HouseholdOwner.household_id, User)
        .join(HouseholdOwner.membership).join(Membership.user)
        .where(HouseholdOwner.household_id.in_(household_ids), HouseholdOwner.ended_at.is_(None),
               Membership.ended_at.is_(None), Membership.role == Role.OWNER)
        .order_by(HouseholdOwner.created_at)).all()
    for household_id, user in rows:
        out.setdefault(household_id, []).append(user)
    return out


def last_reminders(household_ids) -> dict[uuid.UUID, datetime]:
    """When each home was last sent a reminder by SMS (one statement)."""
    household_ids = list(household_ids)
    if not household_ids:
        return {}
    return dict(db.session.execute(_LAST_REMINDED, {"ids": list(household_ids)}).all())


_LAST_REMINDED = built_once(
    select(CollectionReminder.household_id, func.max(CollectionReminder.created_at))
    .where(CollectionReminder.household_id.in_(bindparam("ids", expanding=True)), CollectionReminder.channel == "sms")
    .group_by(CollectionReminder.household_id))


def next_allowed(last: datetime | None, interval_days: int) -> datetime | None:
    return None if last is None else last + timedelta(days=interval_days)


def service_phone(company: Company) -> str:
    return company.service_phone or company.complaint_phone or ""


def reminder_text(company: Company, household: Household, owed_fen: int) -> str:
    """The reminder's words, in Chinese whatever the sender's language: what is owed and where to pay. Polite,
    no threat, nothing about any service."""
    phone = service_phone(company)
    with force_locale("zh_CN"):
        text = _("%(company)s: the home %(home)s has %(amount)s of fees past their due date. You can pay under "
                 "My bills in the app, or at our service office.", company=company.name, home=household.label,
                 amount=format_yuan(owed_fen))
        if phone:
            text += " " + _("Questions: %(phone)s.", phone=phone)
        text += " " + _("If you have paid already, please ignore this message. Thank you.")
    return text


def _send(company: Company, household: Household, owed_fen: int, owners: list[User], actor) -> bool:
    """The notice and SMS to the home's owners (or, without any account, an SMS to the roster's owner phone).
    False when there is nobody to tell."""
    if not owners and not household.owner_phone:
        return False
    text = reminder_text(company, household, owed_fen)
    if owners:
        notify(owners, text, subject_type=SUBJECT, subject_id=household.id, sms=text, kind=SMS_KIND)
    else:
        notify([], None, subject_type=SUBJECT, subject_id=household.id, sms=text, kind=SMS_KIND,
               phone=household.owner_phone)
    db.session.add(CollectionReminder(household_id=household.id, channel="sms", owed_fen=owed_fen,
                                      sent_by_id=actor.id if actor else None))
    record("fee.reminder_sent", actor=actor, object_type="household", object_id=household.id,
           object_label=household.label, changes={"owed_fen": [None, owed_fen]})
    return True


def remind_household(household: Household, *, actor, now: datetime | None = None) -> int:
    """Remind one home of what it owes past due; returns the amount. Refused when nothing is owed, when the home
    was reminded within the interval, or when there is nobody to tell."""
    now = now or utcnow()
    today = local_today(now)
    owed = arrears.owed_by_household(today, [household.id]).get(household.id, 0)
    if owed <= 0:
        raise CollectionError(_l("This home owes nothing past due: there is nothing to remind it of."))
    interval = ledger.settings().reminder_interval_days
    allowed = next_allowed(last_reminders([household.id]).get(household.id), interval)
    if allowed is not None and allowed > now:
        raise CollectionError(_l("This home was reminded on %(last)s. The next reminder can go on %(next)s: at "
                                 "most one every %(n)s days.",
                                 last=local(allowed - timedelta(days=interval)).strftime("%Y-%m-%d"),
                                 next=local(allowed).strftime("%Y-%m-%d"), n=interval))
    company = db.session.get(Company, require_company_id())
    if not _send(company, household, owed, owners_of([household.id]).get(household.id, []), actor):
        raise CollectionError(_l("Nobody to send it to: this home has no owner account and no owner phone. Print "
                                 "the written demand instead."))
    db.session.commit()
    return owed


log = logging.getLogger(__name__)


@dataclass
class RemindResult:
    sent: int = 0
    total_fen: int = 0
    recent: int = 0  # reminded within the interval: skipped
    unreachable: int = 0  # no owner account, no phone: skipped


MAX_BATCH = 5000


def remind_many(*, actor, min_owed_fen: int, community_id=None, building_id=None,
                now: datetime | None = None) -> RemindResult:
    """Remind every home of the scope owing more than ``min_owed_fen`` past due, skipping those reminded within
    the interval and those with nobody to tell."""
    if not isinstance(min_owed_fen, int) or min_owed_fen < 0:
        raise CollectionError(_l("Enter an amount of zero or more."), "min_owed")
    now = now or utcnow()
    today = local_today(now)
    owing = arrears.households_owing_more_than(today, min_owed_fen, community_id=community_id,
                                               building_id=building_id)
    if not owing:
        raise CollectionError(_l("No home here owes more than %(amount)s past due.",
                                 amount=format_yuan(min_owed_fen)), "min_owed")
    if len(owing) > MAX_BATCH:
        raise CollectionError(_l("That is more than %(n)s homes at once: choose a community or a building, or a "
                                 "higher amount.", n=MAX_BATCH), "min_owed")
    return _remind(owing, now=now, actor=actor)


def _remind(owing: dict[uuid.UUID, int], *, now: datetime, actor) -> RemindResult:
    """Remind the homes in ``owing`` ({id: owed}), skipping those reminded within the interval and those with
    nobody to tell. Commits."""
    interval = ledger.settings().reminder_interval_days
    last = last_reminders(owing)
    owners = owners_of(owing)
    homes = db.session.execute(select(Household).where(Household.id.in_(list(owing)))).scalars().all()
    company = db.session.get(Company, require_company_id())
    result = RemindResult()
    for household in homes:
        allowed = next_allowed(last.get(household.id), interval)
        if allowed is not None and allowed > now:
            result.recent += 1
        elif _send(company, household, owing[household.id], owners.get(household.id, []), actor):
            result.sent += 1
            result.total_fen += owing[household.id]
        else:
            result.unreachable += 1
    db.session.commit()
    return result


AUTO_CHUNK = 500  # homes per transaction in the daily job: a big company's reminders never hold one long lock


def send_due_reminders(now: datetime | None = None) -> RemindResult:
    """The daily job's work in this company: when its settings switch automatic reminders on, remind every home
    owing more than the chosen amount past due (the interval rule still applies: a home reminded by staff
    yesterday is not reminded again today). Nothing happens for a company that left them off."""
    now = now or utcnow()
    minimum = ledger.settings().auto_remind_min_fen
    total = RemindResult()
    if minimum is None:
        return total
    owing = arrears.households_owing_more_than(local_today(now), minimum)
    ids = sorted(owing, key=str)  # a stable order, so a re-run after a failure goes the same way
    for start in range(0, len(ids), AUTO_CHUNK):
        chunk = {household_id: owing[household_id] for household_id in ids[start:start + AUTO_CHUNK]}
        result = _remind(chunk, now=now, actor=None)
        total.sent += result.sent
        total.total_fen += result.total_fen
        total.recent += result.recent
        total.unreachable += result.unreachable
    return total


def remind_all_companies(now: datetime | None = None) -> dict[str, int]:
    """Job: ``send_due_reminders`` in each active company's own context (daily at 10:00 Beijing time;
    idempotent within the reminder interval)."""
    from tenants.work_orders.sla_jobs import companies_to_check

    now = now or utcnow()
    totals = {"companies": 0, "sent": 0, "total_fen": 0, "failed": 0}
    for company_id in companies_to_check(now):
        with company_context(company_id):
            try:
                result = send_due_reminders(now)
            except Exception:  # one company's failure must not stop the others
                db.session.rollback()
                log.exception("fee reminders failed for company %s", company_id)
                totals["failed"] += 1
                continue
        totals["companies"] += 1
        totals["sent"] += result.sent
        totals["total_fen"] += result.total_fen
    return totals


def reminders_summary(totals: dict[str, int]) -> str:
    return ("Fee reminders: {companies} companies checked; {sent} homes reminded, {total_fen} fen owed in all; "
            "{failed} failed.").format(**totals)
