"""Security headers (the CSP allows only the app's own scripts and styles: no inline JavaScript), and the one
check of raw input that no view could do for itself: NUL characters."""

from __future__ import annotations

from flask import Flask, abort, request
from flask_babel import gettext as _

CSP = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "base-uri 'self'",
    "object-src 'none'",
])


def _has_nul(values) -> bool:
    return any("\x00" in str(value) for value in values)


def register(app: Flask) -> None:
    @app.url_value_preprocessor
    def refuse_nul(endpoint, values) -> None:
        """PostgreSQL text cannot hold a NUL byte: a query with one fails in the driver, so an address or form
        carrying "%00" would end in a 500 wherever it reaches the database. Refused here, before any resolver
        or view runs: in the address it names nothing (404), in a query or form it is unreadable input (400)."""
        if values and _has_nul(values.values()):
            abort(404)
        if _has_nul(request.args.values()) or (request.method not in ("GET", "HEAD") and
                                                _has_nul(request.form.values())):
            abort(400, description=_("What you sent contains a character that cannot be stored (NUL). "
                                     "Remove it and try again."))

    @app.after_request
    def set_headers(response):
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CSP)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("Permissions-Policy", "geolocation=(), microphone=(), camera=(self)")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if not app.debug and not app.testing:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        # Pages carry personal data: keep them out of shared caches.
        if response.mimetype == "text/html":
            headers.setdefault("Cache-Control", "no-store")
        return response
