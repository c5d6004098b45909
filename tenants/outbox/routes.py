"""The notifications outbox: every message the company's users were sent, newest first. With no SMS or
e-mail provider configured it shows exactly what would have been sent, so an admin can forward it by hand."""

from __future__ import annotations

from flask import current_app, request
from sqlalchemy import select

from saas.extensions import htmx
from saas.htmx import render
from saas.i18n import _l
from saas.models import Role
from saas.notifications.models import Channel, DeliveryStatus, OutboxMessage
from saas.pagination import paginate
from tenants.access import require_role
from tenants.outbox import bp
from tenants.outbox.links import find_links, linkify

CHANNEL_LABELS = {Channel.SMS: _l("SMS"), Channel.EMAIL: _l("E-mail")}
STATUS_LABELS = {
    DeliveryStatus.PENDING: _l("Waiting to be sent"),
    DeliveryStatus.SENT: _l("Sent"),
    DeliveryStatus.OUTBOX_ONLY: _l("Not sent (no provider): outbox only"),
    DeliveryStatus.FAILED: _l("Failed"),
}
STATUS_BADGES = {
    DeliveryStatus.PENDING: "text-bg-secondary",
    DeliveryStatus.SENT: "text-bg-success",
    DeliveryStatus.OUTBOX_ONLY: "text-bg-warning",
    DeliveryStatus.FAILED: "text-bg-danger",
}


@bp.get("/outbox")
@require_role(Role.ADMIN)
def index():
    stmt = select(OutboxMessage)
    channel = request.args.get("channel", "")
    if channel in {c.value for c in Channel}:
        stmt = stmt.where(OutboxMessage.channel == Channel(channel))
    else:
        channel = ""
    page = paginate(stmt.order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc()),
                    per_page=current_app.config["PAGE_SIZE"])
    block = "messages" if htmx and htmx.target == "messages" else None
    return render("tenants/outbox/index.html", block, page=page, channel=channel, channels=list(Channel),
                  channel_labels=CHANNEL_LABELS, status_labels=STATUS_LABELS, status_badges=STATUS_BADGES,
                  linkify=linkify, find_links=find_links)
