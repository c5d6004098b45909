"""The one payment state machine, for offline and WeChat Pay payments alike.

    created → pending → paid → partly_refunded → refunded
        ↘        ↘ failed / closed ↗ paid (WeChat's word wins: money taken just before we closed the order)

Every change goes through ``move`` and appends a PaymentEvent. Callbacks and the reconciliation job come late
and out of order: a move to a state the payment has already passed (pending after paid, closed after paid) is
stale and ignored, never an overwrite; a move that is simply wrong (refunded before paid) is refused.
"""

from __future__ import annotations

from saas.errors import ServiceError
from saas.extensions import db
from saas.i18n import _l
from tenants.fees.models import Payment, PaymentEvent, PaymentStatus

S = PaymentStatus

ALLOWED: dict[PaymentStatus, frozenset[PaymentStatus]] = {
    S.CREATED: frozenset({S.PENDING, S.PAID, S.FAILED, S.CLOSED}),
    S.PENDING: frozenset({S.PAID, S.FAILED, S.CLOSED}),
    S.FAILED: frozenset({S.PAID}),
    S.CLOSED: frozenset({S.PAID}),
    S.PAID: frozenset({S.PARTLY_REFUNDED, S.REFUNDED}),
    S.PARTLY_REFUNDED: frozenset({S.PARTLY_REFUNDED, S.REFUNDED}),
    S.REFUNDED: frozenset(),
}

# How far along a payment is: a report of an earlier stage than the current one is stale.
RANK = {S.CREATED: 0, S.PENDING: 1, S.FAILED: 2, S.CLOSED: 2, S.PAID: 3, S.PARTLY_REFUNDED: 4, S.REFUNDED: 5}

SETTLED = frozenset({S.PAID, S.PARTLY_REFUNDED, S.REFUNDED})  # money was received


class IllegalPaymentMove(ServiceError):
    """A payment cannot go from its status to the one asked (e.g. a refund of a payment never paid)."""


def move(payment: Payment, to: PaymentStatus, *, source: str, actor=None, details: dict | None = None) -> bool:
    """Move ``payment`` to ``to``, recording the event. Returns False (and records nothing) for a repeat of the
    current state or a stale report; raises IllegalPaymentMove for a move the machine does not allow."""
    current = payment.status
    if current == to and to != S.PARTLY_REFUNDED:
        return False
    if to not in ALLOWED[current]:
        if RANK[to] <= RANK[current]:
            return False  # late news of an earlier stage: what we know is newer
        raise IllegalPaymentMove(_l("This payment is %(status)s; it cannot become %(target)s.",
                                    status=current.label, target=to.label))
    payment.status = to
    db.session.add(PaymentEvent(payment_id=payment.id, from_status=current.value if current else None,
                                to_status=to.value, source=source, actor_id=actor.id if actor else None,
                                details=details or {}))
    return True


def start(payment: Payment, status: PaymentStatus, *, source: str, actor=None, details: dict | None = None) -> None:
    """A new payment's first state (created for an online order, paid for money counted at the counter)."""
    payment.status = status
    db.session.add(PaymentEvent(payment_id=payment.id, from_status=None, to_status=status.value, source=source,
                                actor_id=actor.id if actor else None, details=details or {}))
