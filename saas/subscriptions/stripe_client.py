"""The Stripe API client, built from configuration.

STRIPE_SECRET_KEY switches online payment on; STRIPE_API_BASE (tests only) points the client at a local fake
server instead of api.stripe.com. Every call the app makes passes an idempotency key (see services.py).
"""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import urlsplit

import stripe
from flask import current_app

# Where the browser is sent after a form post (Checkout, the customer portal). The page holding those forms
# must allow them in its CSP form-action, or the browser refuses to follow the 303.
STRIPE_REDIRECT_ORIGINS = ("https://checkout.stripe.com", "https://billing.stripe.com")


class StripeNotConfigured(RuntimeError):
    """No STRIPE_SECRET_KEY: online payment is off, bank transfer with manual activation is the path."""


def is_configured() -> bool:
    return bool(current_app.config.get("STRIPE_SECRET_KEY"))


def client() -> stripe.StripeClient:
    key = current_app.config.get("STRIPE_SECRET_KEY") or ""
    if not key:
        raise StripeNotConfigured("STRIPE_SECRET_KEY is not set")
    return _client(
        key,
        current_app.config.get("STRIPE_API_BASE") or "",
        int(current_app.config.get("STRIPE_MAX_NETWORK_RETRIES", 2)),
        float(current_app.config.get("STRIPE_TIMEOUT_SECONDS", 20)),
    )


@lru_cache(maxsize=4)
def _client(key: str, api_base: str, retries: int, timeout: float) -> stripe.StripeClient:
    # One client per configuration: its HTTP client keeps a connection pool per thread.
    # Retries are safe because every call carries an idempotency key; a web request should not hang for
    # Stripe's default 80 s, so the timeout is shorter.
    kwargs = {"base_addresses": {"api": api_base}} if api_base else {}
    return stripe.StripeClient(key, max_network_retries=retries, http_client=stripe.RequestsClient(timeout=timeout),
                               **kwargs)


def redirect_origins() -> tuple[str, ...]:
    """Origins the browser may be redirected to after posting a billing form (for the CSP form-action)."""
    origins = list(STRIPE_REDIRECT_ORIGINS)
    api_base = current_app.config.get("STRIPE_API_BASE") or ""
    if api_base:
        parts = urlsplit(api_base)
        origins.append(f"{parts.scheme}://{parts.netloc}")
    return tuple(origins)
