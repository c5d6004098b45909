"""Queue a message to someone. Every message lands in the company's outbox; e-mail is also delivered
through SMTP when SMTP_HOST is configured. No SMS provider is configured by default: SMS stay in the
outbox page, which shows exactly what would have been sent."""

from __future__ import annotations

import smtplib
import uuid
from email.message import EmailMessage

from flask import current_app
from sqlalchemy import select

from saas.extensions import db
from saas.notifications.models import Channel, DeliveryStatus, OutboxMessage
from saas.tenancy import require_company_id, utcnow


def queue_message(*, channel: Channel, recipient: str, body: str, kind: str, subject: str = "",
                  related_id: uuid.UUID | None = None) -> OutboxMessage:
    """Add a message to the current company's outbox (the caller commits). Deliver with deliver_pending()."""
    smtp = bool(current_app.config.get("SMTP_HOST"))
    message = OutboxMessage(
        company_id=require_company_id(), channel=channel, recipient=recipient, subject=subject[:200], body=body,
        kind=kind, related_id=related_id,
        status=DeliveryStatus.PENDING if (channel == Channel.EMAIL and smtp) else DeliveryStatus.OUTBOX_ONLY,
    )
    db.session.add(message)
    db.session.flush()
    return message


def deliver(message_id: uuid.UUID) -> DeliveryStatus:
    """Job: send one pending e-mail through SMTP. Idempotent: anything not pending is left alone."""
    message = db.session.execute(
        select(OutboxMessage).where(OutboxMessage.id == message_id).with_for_update()
    ).scalar_one_or_none()
    if message is None or message.status != DeliveryStatus.PENDING:
        return message.status if message else DeliveryStatus.FAILED
    config = current_app.config
    email = EmailMessage()
    email["From"] = config.get("SMTP_FROM", "noreply@guanjia.local")
    email["To"] = message.recipient
    email["Subject"] = message.subject
    email.set_content(message.body)
    try:
        with smtplib.SMTP(config["SMTP_HOST"], int(config.get("SMTP_PORT", 25)), timeout=10) as smtp:
            if config.get("SMTP_STARTTLS"):
                smtp.starttls()
            if config.get("SMTP_USERNAME"):
                smtp.login(config["SMTP_USERNAME"], config.get("SMTP_PASSWORD", ""))
            smtp.send_message(email)
    except (OSError, smtplib.SMTPException) as exc:
        message.status = DeliveryStatus.FAILED
        message.error = f"{type(exc).__name__}: {exc}"[:500]
    else:
        message.status = DeliveryStatus.SENT
        message.sent_at = utcnow()
    db.session.commit()
    return message.status


def deliver_after_commit(messages: list[OutboxMessage]) -> None:
    """Call after the commit that saved ``messages``: enqueue a delivery job for each pending one."""
    from saas.jobs import enqueue

    for message in messages:
        if message.status == DeliveryStatus.PENDING:
            enqueue(deliver, message.id, company_id=message.company_id)
