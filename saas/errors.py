"""Errors: the one base class for a service's refusal (``ServiceError``), and the error pages in both languages
(htmx requests get a message in the flash area instead of a silent no-op)."""

from __future__ import annotations

import logging

from flask import Flask, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from saas.extensions import db, htmx

log = logging.getLogger(__name__)


class ServiceError(Exception):
    """A business rule refused the change; nothing was written. ``message`` is shown to the person (a translated
    phrase, possibly lazy), ``field`` names the form field it belongs next to (None: above the form).

    Each module subclasses it (``RosterError``, ``WorkOrderError``…) only so callers can tell whose rule it was;
    views catch ``ServiceError`` through ``saas.forms.submit``/``attempt`` and never spell the sequence out."""

    def __init__(self, message, field: str | None = None):
        super().__init__(str(message))
        self.message = message
        self.field = field


def _messages() -> dict:
    return {
        400: _("The request could not be understood. Check what you entered and try again."),
        403: _("You do not have permission to do this. Ask your company admin if you need it."),
        404: _("This page does not exist, or you do not have access to it."),
        405: _("This action is not allowed here."),
        409: _("This could not be done because the data changed. Reload the page and try again."),
        413: _("The upload is too large."),
        422: _("Some of what you entered is not valid."),
        429: _("Too many attempts. Wait a minute and try again."),
        500: _("Something went wrong on our side. Nothing you entered was lost; please try again."),
    }


def _respond(code: int, message: str):
    if htmx:
        body = render_template("components/_flash_message.html", category="danger", message=message)
        return body, code, {"HX-Retarget": "#flash", "HX-Reswap": "afterbegin"}
    return render_template("errors/error.html", code=code, message=message), code


def register(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(exc):
        return _respond(400, _("Your form expired or came from elsewhere. Reload the page and try again."))

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if exc.code is None or exc.code < 400:
            return exc
        messages = _messages()
        message = messages.get(exc.code, messages[400] if exc.code < 500 else messages[500])
        # A view may abort with a specific, user-facing description (e.g. 409 with the reason).
        if exc.code in (409, 400) and exc.description and exc.description != type(exc).description:
            message = exc.description
        return _respond(exc.code, message)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        if isinstance(exc, HTTPException):
            return http_error(exc)
        log.exception("unhandled error on %s %s", request.method, request.path)
        db.session.rollback()
        return _respond(500, _messages()[500])

    app.register_error_handler(InternalServerError, lambda exc: _respond(500, _messages()[500]))
