"""Writing audit events. Services call record() in the same transaction as the change it describes."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import Enum

from flask import has_request_context, request

from saas.extensions import db
from saas.models import AuditEvent, User
from saas.tenancy import require_company_id


def _plain(value):
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (uuid.UUID, Decimal)):
        return str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


def diff(before: dict, after: dict) -> dict:
    """{field: [old, new]} for the fields that changed."""
    return {
        key: [_plain(before.get(key)), _plain(after.get(key))]
        for key in sorted(set(before) | set(after))
        if _plain(before.get(key)) != _plain(after.get(key))
    }


def record(
    action: str,
    *,
    actor: User | None,
    object_type: str,
    object_id: uuid.UUID | None = None,
    object_label: str = "",
    changes: dict | None = None,
    company_id: uuid.UUID | None = None,
) -> AuditEvent:
    """Add an audit event to the session (the caller's commit makes it permanent with the change)."""
    event = AuditEvent(
        actor_id=actor.id if actor else None,
        actor_name=actor.name if actor else "",
        action=action,
        object_type=object_type,
        object_id=object_id,
        object_label=object_label[:200],
        changes={k: [_plain(v) for v in pair] if isinstance(pair, (list, tuple)) else _plain(pair)
                 for k, pair in (changes or {}).items()},
        ip=(request.remote_addr or "")[:45] if has_request_context() else "",
    )
    # Stamped now, not at flush: the caller may leave this company's context before committing.
    event.company_id = company_id or require_company_id()
    db.session.add(event)
    return event
