"""The guard of QR intake (扫码报修), the no-login report form behind a repair point's poster (intake.py).

No CAPTCHA: a scripted flood is slowed down by what a person does anyway, and capped where it would hurt.

- A form ticket: the GET hands out a signed ticket (the poster's token and a random nonce). A POST needs one
  that is at least a few seconds old (bots post at once; people type), at most two hours old, for this
  poster, and not used before (used nonces are remembered in the limiter storage past the ticket's lifetime).
- A honeypot field that people never see: filled in, the request is told "received" and nothing is created.
- Counters in Flask-Limiter's storage (memory, or Redis when REDIS_URL is set, shared by every process):
  attempts per client address (per company: neighbours share a carrier's address) and per poster (a flood
  from many addresses and phones at one poster; only attempts with a valid ticket count there, so junk posts
  that never loaded the form cannot pause a poster); reports made per phone, and identical reports (same phone,
  same words). Phone counters count reports actually made, so a typo does not use up anyone's quota, and they
  count across all companies: the SMS receipt goes to the number typed in, and the form must not become a way
  to flood someone's phone with texts from many property companies.

The numbers are config (INTAKE_LIMITS in saas/config.py) so tests and the benchmark can change them.
"""

from __future__ import annotations

import enum
import hashlib
import secrets
import time
import unicodedata

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer
from limits import RateLimitItemPerSecond, parse

from saas.extensions import limiter

NAMESPACE = "intake"
RECEIPT_MAX_AGE = 24 * 3600  # the receipt page's link; the SMS keeps the number for good
NONCE_GRACE = 600  # used nonces are remembered this much longer than a ticket lives


def config() -> dict:
    return current_app.config["INTAKE_LIMITS"]


def _serializer(salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=salt)


# --- form tickets -----------------------------------------------------------------------------------------


class TicketProblem(enum.StrEnum):
    INVALID = "invalid"  # forged, for another poster, or expired
    TOO_FRESH = "too_fresh"
    USED = "used"


class TicketRefused(Exception):
    def __init__(self, problem: TicketProblem):
        super().__init__(problem.value)
        self.problem = problem


def issue_ticket(token: str) -> str:
    # "i" is the issue time in milliseconds (signed with the rest): itsdangerous's own timestamp has whole
    # seconds only, too coarse for a minimum age of a few seconds.
    return _serializer("intake").dumps({"t": token, "n": secrets.token_urlsafe(12), "i": int(time.time() * 1000)})


def read_ticket(raw: str | None, token: str) -> str:
    """The ticket's nonce if it may be used now for this poster; raises TicketRefused otherwise."""
    limits = config()
    try:
        payload = _serializer("intake").loads(raw or "", max_age=limits["max_seconds"])
    except BadSignature as exc:  # SignatureExpired included
        raise TicketRefused(TicketProblem.INVALID) from exc
    if (not isinstance(payload, dict) or payload.get("t") != token or not isinstance(payload.get("n"), str)
            or not isinstance(payload.get("i"), int)):
        raise TicketRefused(TicketProblem.INVALID)
    if time.time() * 1000 - payload["i"] < limits["min_seconds"] * 1000:
        raise TicketRefused(TicketProblem.TOO_FRESH)
    if not limiter.limiter.test(_nonce_item(), NAMESPACE, "nonce", payload["n"]):
        raise TicketRefused(TicketProblem.USED)
    return payload["n"]


def _nonce_item():
    return RateLimitItemPerSecond(1, int(config()["max_seconds"]) + NONCE_GRACE)


def use_ticket(nonce: str) -> bool:
    """Spend the ticket; False when another request spent it first (an atomic increment, also on Redis)."""
    return limiter.limiter.hit(_nonce_item(), NAMESPACE, "nonce", nonce)


def release_ticket(nonce: str) -> None:
    """Give a spent ticket back: the report was refused (a bad photo), so the person may correct and resend."""
    limiter.limiter.clear(_nonce_item(), NAMESPACE, "nonce", nonce)


# --- counters ---------------------------------------------------------------------------------------------


def count_attempt(kind: str, key: str) -> bool:
    """Count one attempt ("ip" or "point"); False once over the limit."""
    return limiter.limiter.hit(parse(config()[kind]), NAMESPACE, kind, key)


def normalise_description(text: str) -> str:
    """What makes two descriptions "the same": letters and digits only, full-width folded, case ignored."""
    return "".join(ch for ch in unicodedata.normalize("NFKC", text or "").casefold() if ch.isalnum())


def _identical_key(phone: str, description: str) -> str:
    digest = hashlib.sha256(normalise_description(description).encode()).hexdigest()[:32]
    return f"{phone}:{digest}"


def report_refusal(phone: str, description: str) -> str | None:
    """"phone" or "identical" when this report would pass a limit, else None (counts nothing)."""
    limits = config()
    if not limiter.limiter.test(parse(limits["phone"]), NAMESPACE, "phone", phone):
        return "phone"
    if not limiter.limiter.test(parse(limits["identical"]), NAMESPACE, "identical",
                                _identical_key(phone, description)):
        return "identical"
    return None


def count_report(phone: str, description: str) -> None:
    limits = config()
    limiter.limiter.hit(parse(limits["phone"]), NAMESPACE, "phone", phone)
    limiter.limiter.hit(parse(limits["identical"]), NAMESPACE, "identical", _identical_key(phone, description))


# --- the receipt link -------------------------------------------------------------------------------------


def receipt_for(token: str, order_id) -> str:
    """A signed, expiring reference to the job just reported ("" for a honeypot catch: nothing was made)."""
    return _serializer("intake-receipt").dumps({"t": token, "o": str(order_id) if order_id else ""})


def read_receipt(raw: str, token: str) -> str | None:
    """The job id in a receipt link of this poster ("" for none); None when forged, foreign or expired."""
    try:
        payload = _serializer("intake-receipt").loads(raw, max_age=RECEIPT_MAX_AGE)
    except BadSignature:
        return None
    if not isinstance(payload, dict) or payload.get("t") != token or not isinstance(payload.get("o"), str):
        return None
    return payload["o"]
