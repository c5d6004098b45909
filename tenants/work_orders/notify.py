"""Who hears about each step of a job, and what they are told.

In-app notices (the bell) go to the owner(s), the assignee and the home's steward at each step, never to the
person who did it. SMS copies go through the outbox for the steps someone must not miss: the owner when the job
is accepted, quoted, done or cancelled by staff; the assignee when a job is given to them; the admins when an
SLA is breached, and once per job when a job reaches nobody. Texts are written in the company's default language
(a job or a worker has no request). Each function adds rows to the caller's session and returns the outbox
messages to deliver after commit.
"""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import force_locale, gettext, ngettext
from sqlalchemy import select

from saas.extensions import db
from saas.models import Company, Membership, Role, User
from saas.notifications.models import Channel, OutboxMessage
from saas.notifications.services import queue_message
from tenants.inbox.models import Notification
from tenants.work_orders import queries
from tenants.work_orders.models import CategoryTechnician, WorkOrder
from tenants.work_orders.states import Action

SUBJECT = "work_order"


def person_label(membership: Membership) -> str:
    return membership.user.name


def _locale():
    return force_locale(current_app.config["BABEL_DEFAULT_LOCALE"])


def _notice(order: WorkOrder, user_ids, body: str, *, skip: User | None = None) -> None:
    seen = set()
    for user_id in user_ids:
        if user_id is None or user_id in seen or (skip is not None and user_id == skip.id):
            continue
        seen.add(user_id)
        db.session.add(Notification(company_id=order.company_id, user_id=user_id, body=body[:300],
                                    subject_type=SUBJECT, subject_id=order.id))


def _sms(order: WorkOrder, phone: str, body: str, kind: str) -> list[OutboxMessage]:
    if not phone:
        return []
    return [queue_message(channel=Channel.SMS, recipient=phone, body=body, kind=kind, related_id=order.id)]


def _owner_users(order: WorkOrder) -> list[uuid.UUID]:
    return [order.reporter_user_id, *queries.household_owner_user_ids(order.household_id)]


def _steward_user(order: WorkOrder) -> list[uuid.UUID]:
    steward = queries.household_steward(order.household_id)
    return [steward.user_id] if steward else []


def _assignee_user(order: WorkOrder) -> list[uuid.UUID]:
    if order.assignee_id is None:
        return []
    assignee = db.session.get(Membership, (order.company_id, order.assignee_id))
    return [assignee.user_id] if assignee else []


def created(order: WorkOrder, actor: User | None) -> list[OutboxMessage]:
    with _locale():
        body = gettext("%(number)s received: %(category)s, %(location)s.", number=order.number,
                       category=order.category.name, location=order.location)
        _notice(order, _owner_users(order) + _steward_user(order), body, skip=actor)
        if actor is None:  # the QR form: the reporter has no account; the SMS is their receipt
            return _sms(order, order.reporter_phone, gettext(
                "Your repair report %(number)s was received. We will contact you at this number.",
                number=order.number), "work_order_received")
    return []


def assigned(order: WorkOrder, assignee: Membership, *, actor: User | None) -> list[OutboxMessage]:
    with _locale():
        body = gettext("%(number)s assigned to you: %(category)s, %(location)s.", number=order.number,
                       category=order.category.name, location=order.location)
        _notice(order, [assignee.user_id], body, skip=actor)
        return _sms(order, assignee.user.phone or "", body, "work_order_assigned")


def pool_user_ids(category_id: uuid.UUID) -> list[uuid.UUID]:
    """The people who may take a pool job of this category: its current qualified technicians and stewards."""
    return list(db.session.execute(
        select(Membership.user_id).join(CategoryTechnician, (CategoryTechnician.company_id == Membership.company_id)
                                        & (CategoryTechnician.membership_id == Membership.id))
        .where(CategoryTechnician.category_id == category_id, CategoryTechnician.ended_at.is_(None),
               Membership.ended_at.is_(None), Membership.role.in_((Role.TECHNICIAN, Role.STEWARD)))
    ).scalars())


def pooled(order: WorkOrder) -> list[OutboxMessage]:
    with _locale():
        _notice(order, pool_user_ids(order.category_id),
                gettext("%(number)s is open to take: %(category)s, %(location)s.", number=order.number,
                        category=order.category.name, location=order.location))
    return []


def reaches_nobody(order: WorkOrder) -> bool:
    """Nobody has the job and nobody will see it to take it: no assignee, and not in a pool with someone
    qualified for it. Only an admin assigning it by hand gets it moving."""
    return order.assignee_id is None and not (order.in_pool and pool_user_ids(order.category_id))


# The admins' SMS about a job that reaches nobody; with related_id = the job, it is also the "already told"
# record: each admin gets it once per job, however often the job comes back to dispatch.
NOBODY_KIND = "work_order_unassigned"


def _admin_phones() -> list[tuple[uuid.UUID, str]]:
    return list(db.session.execute(
        select(User.id, User.phone).join(Membership, Membership.user_id == User.id)
        .where(Membership.role == Role.ADMIN, Membership.ended_at.is_(None), User.phone.is_not(None))
        .order_by(User.id)
    ).tuples())


def job_link(order: WorkOrder) -> str:
    """The job's staff page as an absolute link for a text message (built without a request: jobs and the CLI
    create work orders too)."""
    company = db.session.get(Company, order.company_id)
    base = urlsplit(current_app.config.get("PUBLIC_BASE_URL") or "http://127.0.0.1:5000")
    adapter = current_app.url_map.bind(base.netloc, script_name=base.path or "/", url_scheme=base.scheme or "https")
    return adapter.build("company.work_orders.show", {"company_slug": company.slug, "order_id": order.id},
                         force_external=True)


def needs_dispatch(order: WorkOrder, *, notice: bool = True, skip: User | None = None) -> list[OutboxMessage]:
    """The job reaches nobody: the admins are told in the app (unless the caller's notice already did) and by SMS,
    each admin once per job (the one who caused it, ``skip``, knows already)."""
    with _locale():
        if notice:
            _notice(order, queries.admin_user_ids(), gettext(
                "%(number)s needs someone: nobody could be assigned automatically.", number=order.number), skip=skip)
        told = set(db.session.execute(select(OutboxMessage.recipient).where(
            OutboxMessage.kind == NOBODY_KIND, OutboxMessage.related_id == order.id)).scalars())
        # A space before the link: a phone glues a link to the full-width punctuation before it.
        body = gettext("%(number)s (%(location)s) reaches nobody: no one could be assigned automatically. "
                       "Assign it: %(link)s", number=order.number, location=order.location, link=job_link(order))
        messages = []
        for user_id, phone in _admin_phones():
            if phone and phone not in told and (skip is None or user_id != skip.id):
                told.add(phone)
                messages += _sms(order, phone, body, NOBODY_KIND)
    return messages


# The in-app notice left for the admins when the first technician joins. It is also the offer's marker (it needs
# no table of its own): the newest such notice names the technician offered as the default.
TECHNICIAN_JOINED = "technician_joined"


def first_technician(membership: Membership, unreached: int) -> None:
    """The company's first technician has joined: the admins hear it in the app. The notice is also the marker of
    the offer to make them the default technician (settings_services.technician_offer)."""
    with _locale():
        name = membership.user.name
        body = (ngettext("%(name)s has joined as a technician. %(num)d category reaches nobody: make them its "
                         "default technician in the work-order settings.",
                         "%(name)s has joined as a technician. %(num)d categories reach nobody: make them their "
                         "default technician in the work-order settings.", unreached, name=name)
                if unreached else gettext("%(name)s has joined as a technician.", name=name))
    for user_id in queries.admin_user_ids():
        db.session.add(Notification(company_id=membership.company_id, user_id=user_id, body=body[:300],
                                    subject_type=TECHNICIAN_JOINED, subject_id=membership.id))


# The owner hears about these by SMS as well as in the app.
_OWNER_SMS = {Action.ACCEPT, Action.GRAB, Action.QUOTE, Action.COMPLETE}


def transition(order: WorkOrder, action: Action, *, actor: User | None,
               assignee: Membership | None = None) -> list[OutboxMessage]:
    messages: list[OutboxMessage] = []
    with _locale():
        status = order.status.label
        body = gettext("%(number)s: %(status)s.", number=order.number, status=status)
        if action == Action.QUOTE:
            body = gettext("%(number)s needs your answer: the repair costs ¥%(price)s.", number=order.number,
                           price=f"{order.quote_fen / 100:.2f}")
        if action == Action.ASSIGN and assignee is not None:
            messages += assigned(order, assignee, actor=actor)
            _notice(order, _owner_users(order) + _steward_user(order), body, skip=actor)
            return messages
        if action in (Action.DECLINE, Action.RELEASE):
            text = (gettext("%(number)s was declined and needs someone else.", number=order.number)
                    if action == Action.DECLINE else
                    gettext("%(number)s needs someone else: the person it was with has left.", number=order.number))
            _notice(order, queries.admin_user_ids() + _steward_user(order), text, skip=actor)
            return messages
        _notice(order, _owner_users(order) + _assignee_user(order) + _steward_user(order), body, skip=actor)
        staff_cancelled = action == Action.CANCEL and (actor is None or actor.id != order.reporter_user_id)
        if action in _OWNER_SMS or staff_cancelled:
            messages += _sms(order, order.reporter_phone, body, f"work_order_{action.value}")
    return messages


def commented(order: WorkOrder, *, actor: User, membership: Membership) -> list[OutboxMessage]:
    with _locale():
        body = gettext("%(name)s commented on %(number)s.", name=actor.name, number=order.number)
        audience = _assignee_user(order) + _steward_user(order)
        if membership.role != Role.OWNER:
            audience += _owner_users(order)
        else:
            audience += [] if order.assignee_id else queries.admin_user_ids()
        _notice(order, audience, body, skip=actor)
    return []


def urged(order: WorkOrder) -> list[OutboxMessage]:
    with _locale():
        body = gettext("The owner urged %(number)s, which is overdue.", number=order.number)
        _notice(order, _assignee_user(order) + _steward_user(order) + queries.admin_user_ids(), body)
    return []


def sla_warning(order: WorkOrder, which: str) -> list[OutboxMessage]:
    with _locale():
        body = (gettext("%(number)s must be accepted soon.", number=order.number) if which == "response"
                else gettext("%(number)s must be finished soon.", number=order.number))
        audience = _assignee_user(order) or queries.admin_user_ids()
        _notice(order, audience, body)
    return []


def sla_breach(order: WorkOrder, which: str) -> list[OutboxMessage]:
    """Escalation: the admins hear about a breach in the app and by SMS; the assignee in the app."""
    with _locale():
        body = (gettext("%(number)s missed its response deadline.", number=order.number) if which == "response"
                else gettext("%(number)s missed its resolution deadline.", number=order.number))
        _notice(order, queries.admin_user_ids() + _assignee_user(order), body)
        phones = db.session.execute(
            select(User.phone).join(Membership, Membership.user_id == User.id)
            .where(Membership.role == Role.ADMIN, Membership.ended_at.is_(None))
        ).scalars().all()
        messages = []
        for phone in phones:
            messages += _sms(order, phone or "", body, f"work_order_breach_{which}")
    return messages
