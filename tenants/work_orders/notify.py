"""Who hears about each step of a job, and what they are told.

In-app notices (the bell) go to the owner(s), the assignee and the home's steward at each step, never to the
person who did it. SMS copies go through the outbox for the steps someone must not miss: the owner when the job
is accepted, quoted, done or cancelled by staff; the assignee when a job is given to them; the admins when an
SLA is breached, and once per job when a job reaches nobody. Texts are written in the company's default language
(a job or a worker has no request). Each function adds rows to the caller's session and returns the outbox
messages to deliver after commit. Every notice and text is written by tenants.inbox.services.notify.
"""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import force_locale, gettext, ngettext
from sqlalchemy import select

from saas.extensions import db
from saas.models import Company, Membership, Role, User
from saas.notifications.models import OutboxMessage
from tenants.inbox.services import notify
from tenants.work_orders import queries
from tenants.work_orders.models import CategoryTechnician, WorkOrder
from tenants.work_orders.states import Action

SUBJECT = "work_order"


def person_label(membership: Membership) -> str:
    return membership.user.name


def _locale():
    return force_locale(current_app.config["BABEL_DEFAULT_LOCALE"])


def _tell(order: WorkOrder, users, body: str | None, *, actor: User | None = None, sms: str | None = None,
          phone: str | None = None, kind: str = "", once: bool = False) -> list[OutboxMessage]:
    """notify() about this job: the notice links to it, and the texts name it (related_id)."""
    return notify(users, body, subject_type=SUBJECT, subject_id=order.id, actor=actor, sms=sms, phone=phone,
                  kind=kind, once=once)


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
        # The QR form (no actor): the reporter has no account; the SMS is their receipt.
        receipt = gettext("Your repair report %(number)s was received. We will contact you at this number.",
                          number=order.number) if actor is None else None
        return _tell(order, _owner_users(order) + _steward_user(order), body, actor=actor,
                     sms=receipt, phone=order.reporter_phone, kind="work_order_received")


def assigned(order: WorkOrder, assignee: Membership, *, actor: User | None) -> list[OutboxMessage]:
    with _locale():
        body = gettext("%(number)s assigned to you: %(category)s, %(location)s.", number=order.number,
                       category=order.category.name, location=order.location)
        # Texted to their phone even when they gave it to themselves (only the notice skips the actor).
        return _tell(order, [assignee.user_id], body, actor=actor, sms=body, phone=assignee.user.phone or "",
                     kind="work_order_assigned")


def pool_user_ids(category_id: uuid.UUID) -> list[uuid.UUID]:
    """The people who may take a pool job of this category: its current qualified technicians and stewards."""
    return list(db.session.execute(
        select(Membership.user_id).select_from(CategoryTechnician).join(CategoryTechnician.membership)
        .where(CategoryTechnician.category_id == category_id, CategoryTechnician.ended_at.is_(None),
               Membership.ended_at.is_(None), Membership.role.in_((Role.TECHNICIAN, Role.STEWARD)))
    ).scalars())


def pooled(order: WorkOrder) -> list[OutboxMessage]:
    with _locale():
        return _tell(order, pool_user_ids(order.category_id),
                     gettext("%(number)s is open to take: %(category)s, %(location)s.", number=order.number,
                             category=order.category.name, location=order.location))


def reaches_nobody(order: WorkOrder) -> bool:
    """Nobody has the job and nobody will see it to take it: no assignee, and not in a pool with someone
    qualified for it. Only an admin assigning it by hand gets it moving."""
    return order.assignee_id is None and not (order.in_pool and pool_user_ids(order.category_id))


# The admins' SMS about a job that reaches nobody; with related_id = the job, it is also the "already told"
# record: each admin gets it once per job, however often the job comes back to dispatch.
NOBODY_KIND = "work_order_unassigned"


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
        notice_text = gettext("%(number)s needs someone: nobody could be assigned automatically.",
                              number=order.number) if notice else None
        # A space before the link: a phone glues a link to the full-width punctuation before it.
        body = gettext("%(number)s (%(location)s) reaches nobody: no one could be assigned automatically. "
                       "Assign it: %(link)s", number=order.number, location=order.location, link=job_link(order))
        return _tell(order, queries.admin_users(), notice_text, actor=skip, sms=body, kind=NOBODY_KIND, once=True)


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
    notify(queries.admin_user_ids(), body, subject_type=TECHNICIAN_JOINED, subject_id=membership.id)


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
            return messages + _tell(order, _owner_users(order) + _steward_user(order), body, actor=actor)
        if action in (Action.DECLINE, Action.RELEASE):
            text = (gettext("%(number)s was declined and needs someone else.", number=order.number)
                    if action == Action.DECLINE else
                    gettext("%(number)s needs someone else: the person it was with has left.", number=order.number))
            return messages + _tell(order, queries.admin_user_ids() + _steward_user(order), text, actor=actor)
        staff_cancelled = action == Action.CANCEL and (actor is None or actor.id != order.reporter_user_id)
        return messages + _tell(order, _owner_users(order) + _assignee_user(order) + _steward_user(order), body,
                                actor=actor, sms=body if action in _OWNER_SMS or staff_cancelled else None,
                                phone=order.reporter_phone, kind=f"work_order_{action.value}")


def commented(order: WorkOrder, *, actor: User, membership: Membership) -> list[OutboxMessage]:
    with _locale():
        body = gettext("%(name)s commented on %(number)s.", name=actor.name, number=order.number)
        audience = _assignee_user(order) + _steward_user(order)
        if membership.role != Role.OWNER:
            audience += _owner_users(order)
        else:
            audience += [] if order.assignee_id else queries.admin_user_ids()
        return _tell(order, audience, body, actor=actor)


def urged(order: WorkOrder) -> list[OutboxMessage]:
    with _locale():
        body = gettext("The owner urged %(number)s, which is overdue.", number=order.number)
        return _tell(order, _assignee_user(order) + _steward_user(order) + queries.admin_user_ids(), body)


def sla_warning(order: WorkOrder, which: str) -> list[OutboxMessage]:
    with _locale():
        body = (gettext("%(number)s must be accepted soon.", number=order.number) if which == "response"
                else gettext("%(number)s must be finished soon.", number=order.number))
        return _tell(order, _assignee_user(order) or queries.admin_user_ids(), body)


def sla_breach(order: WorkOrder, which: str) -> list[OutboxMessage]:
    """Escalation: the admins hear about a breach in the app and by SMS; the assignee in the app."""
    with _locale():
        body = (gettext("%(number)s missed its response deadline.", number=order.number) if which == "response"
                else gettext("%(number)s missed its resolution deadline.", number=order.number))
        admins = queries.admin_users()
        return (_tell(order, admins + _assignee_user(order), body)
                + _tell(order, admins, None, sms=body, kind=f"work_order_breach_{which}"))
