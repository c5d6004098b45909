"""Stripe's webhook endpoint: no login, no CSRF token (Stripe signs each request instead)."""

from __future__ import annotations

import logging

from flask import jsonify, request

from saas.extensions import csrf
from saas.subscriptions import bp, services

log = logging.getLogger(__name__)


@bp.post("/stripe/webhook")
@csrf.exempt
def stripe_webhook():
    try:
        event = services.verify_webhook(request.get_data(cache=False), request.headers.get("Stripe-Signature"))
    except services.WebhookRejected as exc:
        log.warning("Stripe webhook refused: %s", exc)
        return jsonify(error="invalid signature or payload"), 400
    outcome = services.apply_webhook_event(event)
    return jsonify(received=True, outcome=outcome), 200
