"""Telling people: one call leaves the in-app notice (the bell) and queues the outbox copy (SMS) together.

Modules decide who hears what (tenants/work_orders/notify.py for jobs); ``notify`` writes it. It adds rows to the
caller's session and returns the outbox messages, which the caller hands to ``deliver_after_commit`` once it has
committed (a message must not be delivered for a change that was rolled back).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import select

from saas.extensions import db
from saas.models import User
from saas.notifications.models import Channel, OutboxMessage
from saas.notifications.services import queue_message
from saas.tenancy import require_company_id
from tenants.inbox.models import Notification

BODY_MAX = 300  # Notification.body


def notify(recipients: Iterable[User | uuid.UUID | None], text: str | None, *, subject_type: str,
           subject_id: uuid.UUID | None = None, actor: User | None = None, sms: str | None = None,
           phone: str | None = None, kind: str = "", once: bool = False) -> list[OutboxMessage]:
    """Tell ``recipients`` (users or user ids; None and repeats are skipped, and so is ``actor``, who knows
    already) about a subject, e.g. ("work_order", job id).

    ``text`` is the in-app notice (None: none). ``sms``, when given, is also texted: to ``phone`` if one is given
    (someone who may have no account, such as the reporter of a QR report; sent even when that is the actor),
    otherwise to each recipient's own phone (those without one get the notice only). ``kind`` names the message
    in the outbox, whose related_id is ``subject_id``. With ``once`` a phone that was already sent this kind
    about this subject is not sent it again (e.g. each admin hears once per job).
    """
    if sms and not kind:
        raise ValueError("an SMS needs a kind")
    company_id = require_company_id()
    user_ids: dict[uuid.UUID, None] = {}  # in the order given, once each
    phones: dict[uuid.UUID, str | None] = {}
    for recipient in recipients:
        user_id = recipient.id if isinstance(recipient, User) else recipient
        if user_id is None or user_id in user_ids or (actor is not None and user_id == actor.id):
            continue
        user_ids[user_id] = None
        if isinstance(recipient, User):
            phones[user_id] = recipient.phone
    if text:
        for user_id in user_ids:
            db.session.add(Notification(company_id=company_id, user_id=user_id, body=text[:BODY_MAX],
                                        subject_type=subject_type, subject_id=subject_id))
    if not sms:
        return []
    if phone is not None:
        targets = [phone]
    else:
        missing = [user_id for user_id in user_ids if user_id not in phones]
        if missing:
            phones.update(db.session.execute(select(User.id, User.phone).where(User.id.in_(missing))).all())
        targets = [phones[user_id] for user_id in user_ids]
    told: set[str] = set()
    if once:
        told = set(db.session.execute(select(OutboxMessage.recipient).where(
            OutboxMessage.kind == kind, OutboxMessage.related_id == subject_id)).scalars())
    messages = []
    for number in targets:
        if not number or number in told:
            continue
        if once:
            told.add(number)
        messages.append(queue_message(channel=Channel.SMS, recipient=number, body=sms, kind=kind,
                                      related_id=subject_id))
    return messages
