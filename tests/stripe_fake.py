"""A small fake of the Stripe API for tests: a werkzeug app on 127.0.0.1:<free port> in a thread.

It implements only what the app calls (customers, Checkout Sessions, customer portal sessions), records every request with its Idempotency-Key, replays the stored answer for a repeated key
(as Stripe does), and can be told to fail. The app talks to it through the real `stripe` client
(STRIPE_API_BASE), so the requests tested are the ones production sends. Webhook helpers sign events with
stripe.WebhookSignature.generate_signature_header, as Stripe would.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from dataclasses import dataclass, field

import pytest
import stripe
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

SECRET_KEY = "sk_test_fake_key"
WEBHOOK_SECRET = "whsec_test_fake_secret"
PRICES = {"basic": "price_basic_m", "standard": "price_standard_m", "professional": "price_professional_m"}


@dataclass
class Recorded:
    method: str
    path: str
    form: dict
    headers: dict

    @property
    def idempotency_key(self) -> str | None:
        return self.headers.get("Idempotency-Key")


@dataclass
class Failure:
    status: int
    path: str | None
    times: int
    retry: bool


@dataclass
class FakeStripe:
    requests: list[Recorded] = field(default_factory=list)
    _failures: list[Failure] = field(default_factory=list)
    _stored: dict = field(default_factory=dict)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)
    base_url: str = ""

    # --- test controls --------------------------------------------------------------------------

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self._failures.clear()
            self._stored.clear()

    def fail(self, status: int = 500, *, path: str | None = None, times: int = 1, retry: bool = False) -> None:
        """The next ``times`` requests (to ``path``, if given) fail with ``status``. ``retry`` sets
        Stripe-Should-Retry: true (the client then retries with the same idempotency key); otherwise false,
        so a failing test does not sleep through the client's retries."""
        self._failures.append(Failure(status, path, times, retry))

    def calls(self, path: str | None = None, method: str = "POST") -> list[Recorded]:
        return [r for r in self.requests if r.method == method and (path is None or r.path == path)]

    # --- the server -----------------------------------------------------------------------------

    def __call__(self, environ, start_response):
        request = Request(environ)
        recorded = Recorded(request.method, request.path, request.form.to_dict(), dict(request.headers))
        with self._lock:
            self.requests.append(recorded)
            response = self._respond(request, recorded)
        return response(environ, start_response)

    def _respond(self, request: Request, recorded: Recorded) -> Response:
        if request.headers.get("Authorization") != f"Bearer {SECRET_KEY}":
            return _error(401, "invalid_request_error", "Invalid API Key provided.")
        for failure in self._failures:
            if failure.times > 0 and failure.path in (None, request.path):
                failure.times -= 1
                if failure.status == 402:
                    response = _error(402, "card_error", "Your card was declined.", code="card_declined")
                else:
                    response = _error(failure.status, "api_error", "Something went wrong on Stripe's end.")
                response.headers["Stripe-Should-Retry"] = "true" if failure.retry else "false"
                return response
        key = recorded.idempotency_key
        if request.method == "POST" and key and key in self._stored:
            stored_path, body = self._stored[key]
            if stored_path != request.path:
                return _error(400, "idempotency_error", "Keys for idempotent requests can only be used once.")
            response = _json(body)
            response.headers["Idempotent-Replayed"] = "true"
            return response
        body = self._route(request, recorded)
        if body is None:
            return _error(404, "invalid_request_error", f"Unrecognized request URL ({request.method}: "
                                                        f"{request.path}).")
        if request.method == "POST" and key:
            self._stored[key] = (request.path, body)
        return _json(body)

    def _route(self, request: Request, recorded: Recorded):
        n = next(self._ids)
        form = recorded.form
        if request.method == "POST" and request.path == "/v1/customers":
            return {"id": f"cus_fake{n}", "object": "customer", "name": form.get("name"),
                    "metadata": _nested(form, "metadata")}
        if request.method == "POST" and request.path == "/v1/checkout/sessions":
            return {"id": f"cs_test_fake{n}", "object": "checkout.session", "mode": form.get("mode"),
                    "customer": form.get("customer"), "client_reference_id": form.get("client_reference_id"),
                    "metadata": _nested(form, "metadata"), "url": f"{self.base_url}/pay/cs_test_fake{n}"}
        if request.method == "POST" and request.path == "/v1/billing_portal/sessions":
            return {"id": f"bps_fake{n}", "object": "billing_portal.session", "customer": form.get("customer"),
                    "return_url": form.get("return_url"), "url": f"{self.base_url}/portal/bps_fake{n}"}
        return None


def _json(body: dict, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json",
                    headers={"Request-Id": "req_fake"})


def _error(status: int, kind: str, message: str, code: str | None = None) -> Response:
    error = {"type": kind, "message": message}
    if code:
        error["code"] = code
    return _json({"error": error}, status)


def _nested(form: dict, prefix: str) -> dict:
    """{'metadata[plan]': 'basic'} → {'plan': 'basic'}"""
    start = f"{prefix}["
    return {k[len(start):-1]: v for k, v in form.items() if k.startswith(start) and k.endswith("]")
            and "][" not in k}


_server = None
_fake: FakeStripe | None = None


def _start() -> FakeStripe:
    global _server, _fake
    if _fake is None:
        _fake = FakeStripe()
        _server = make_server("127.0.0.1", 0, _fake, threaded=True)
        _fake.base_url = f"http://127.0.0.1:{_server.server_port}"
        threading.Thread(target=_server.serve_forever, daemon=True, name="fake-stripe").start()
    return _fake


@pytest.fixture
def fake_stripe(app, monkeypatch):
    """The fake server, emptied, with the app configured to use it (keys, prices, webhook secret)."""
    fake = _start()
    fake.reset()
    monkeypatch.setitem(app.config, "STRIPE_SECRET_KEY", SECRET_KEY)
    monkeypatch.setitem(app.config, "STRIPE_API_BASE", fake.base_url)
    monkeypatch.setitem(app.config, "STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET)
    monkeypatch.setitem(app.config, "STRIPE_PRICES", dict(PRICES))
    yield fake
    fake.reset()


# --- webhook events ---------------------------------------------------------------------------------

_event_ids = itertools.count(1)


def event(type_: str, obj: dict, *, created: int | None = None, event_id: str | None = None) -> dict:
    return {"id": event_id or f"evt_fake{next(_event_ids)}_{time.time_ns()}", "object": "event",
            "api_version": stripe.api_version, "created": created or int(time.time()), "livemode": False,
            "type": type_, "data": {"object": obj}, "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None}}


def subscription(sub_id: str, customer: str, status: str = "active", *, plan: str = "standard",
                 period_end: int | None = None, company_id=None) -> dict:
    """A subscription in the current API shape: the period is on the items (since 2025-03-31)."""
    period_end = period_end or int(time.time()) + 30 * 86400
    return {"id": sub_id, "object": "subscription", "customer": customer, "status": status,
            "metadata": {"company_id": str(company_id)} if company_id else {},
            "items": {"object": "list", "data": [{
                "id": f"si_{sub_id}", "object": "subscription_item", "price": {"id": PRICES[plan], "object": "price"},
                "current_period_start": period_end - 30 * 86400, "current_period_end": period_end, "quantity": 1}]}}


def invoice(sub_id: str, customer: str, *, period_end: int | None = None) -> dict:
    period_end = period_end or int(time.time()) + 30 * 86400
    return {"id": f"in_{sub_id}_{period_end}", "object": "invoice", "customer": customer,
            "parent": {"type": "subscription_details", "subscription_details": {"subscription": sub_id,
                                                                                "metadata": {}}},
            "lines": {"object": "list", "data": [{"object": "line_item",
                                                  "period": {"start": period_end - 30 * 86400, "end": period_end}}]}}


def checkout_session(company_id, customer: str, sub_id: str, *, plan: str = "standard",
                     payment_status: str = "paid") -> dict:
    return {"id": f"cs_test_{sub_id}", "object": "checkout.session", "mode": "subscription",
            "client_reference_id": str(company_id), "customer": customer, "subscription": sub_id,
            "payment_status": payment_status, "status": "complete",
            "metadata": {"company_id": str(company_id), "plan": plan}}


def post_event(client, evt: dict, *, secret: str = WEBHOOK_SECRET, timestamp: int | None = None,
               signature: str | None = None):
    payload = json.dumps(evt)
    header = signature if signature is not None else stripe.WebhookSignature.generate_signature_header(
        payload, secret, timestamp)
    return client.post("/stripe/webhook", data=payload, content_type="application/json",
                       headers={"Stripe-Signature": header})
