"""Template filters: times in Asia/Shanghai, areas in m², masked phone numbers."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Flask, request, url_for
from flask_babel import format_datetime

from saas.money import format_yuan
from saas.validators import MIN_PASSWORD


def _localtime(value: datetime | None, fmt: str = "yyyy-MM-dd HH:mm") -> str:
    if value is None:
        return ""
    if value.tzinfo is None:  # SQLite hands back naive UTC
        value = value.replace(tzinfo=UTC)
    return format_datetime(value, fmt)


def _mask_phone(phone: str | None) -> str:
    if not phone or len(phone) < 7:
        return phone or ""
    return f"{phone[:3]}****{phone[-4:]}"


def _url_with(**changes) -> str:
    """The current URL with some query arguments changed (for pagination and filters)."""
    args = request.args.to_dict()
    args.update({k: v for k, v in changes.items() if v is not None})
    args = {k: v for k, v in args.items() if v not in ("", None)}
    return url_for(request.endpoint, **(request.view_args or {}), **args)


def register(app: Flask) -> None:
    app.jinja_env.filters["localtime"] = _localtime
    app.jinja_env.filters["mask_phone"] = _mask_phone
    app.jinja_env.filters["yuan"] = format_yuan
    app.jinja_env.globals["url_with"] = _url_with
    app.jinja_env.globals["MIN_PASSWORD"] = MIN_PASSWORD  # printed notices state the password rule too
    app.jinja_env.add_extension("jinja2.ext.do")
