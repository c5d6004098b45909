"""Template filters: times in Asia/Shanghai, areas in m², masked phone numbers."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from flask import Flask, current_app, request, url_for
from flask_babel import format_datetime
from markupsafe import Markup, escape

from saas.money import format_yuan
from saas.validators import MIN_PASSWORD

# The patterns the templates use, as str.format of the local time: all digits, nothing a locale words, so the
# output is what Babel's format_datetime gives (tests/test_speed.py compares them) at a tenth of its cost, which a
# list pays once per row. Any other pattern goes to Babel.
_PATTERNS = {
    "yyyy-MM-dd HH:mm": "{0.year:04d}-{0.month:02d}-{0.day:02d} {0.hour:02d}:{0.minute:02d}",
    "yyyy-MM-dd HH:mm:ss": "{0.year:04d}-{0.month:02d}-{0.day:02d} {0.hour:02d}:{0.minute:02d}:{0.second:02d}",
    "yyyy-MM-dd": "{0.year:04d}-{0.month:02d}-{0.day:02d}",
    "MM-dd HH:mm": "{0.month:02d}-{0.day:02d} {0.hour:02d}:{0.minute:02d}",
    "HH:mm": "{0.hour:02d}:{0.minute:02d}",
    "M/d": "{0.month}/{0.day}",
}
_ZONES: dict[str, ZoneInfo] = {}


def localtime(value: datetime | None, fmt: str = "yyyy-MM-dd HH:mm") -> str:
    """A stored (UTC) time in the app's time zone (BABEL_DEFAULT_TIMEZONE, Asia/Shanghai)."""
    if value is None:
        return ""
    if value.tzinfo is None:  # SQLite hands back naive UTC
        value = value.replace(tzinfo=UTC)
    pattern = _PATTERNS.get(fmt)
    if pattern is None:
        return format_datetime(value, fmt)
    name = current_app.config["BABEL_DEFAULT_TIMEZONE"]
    zone = _ZONES.get(name)
    if zone is None:
        zone = _ZONES[name] = ZoneInfo(name)
    return pattern.format(value.astimezone(zone))




def _mask_phone(phone: str | None) -> str:
    if not phone or len(phone) < 7:
        return phone or ""
    return f"{phone[:3]}****{phone[-4:]}"


# A row's link built once per page and filled in per row (url_for is some 20 µs; a list has up to a hundred rows):
# url_for(endpoint, some_id=ROW_ID) then .replace(ROW_ID, str(row_id)). A UUID, so routes with UUID converters
# build it.
ROW_ID = "00000000-0000-0000-0000-000000000000"


def _url_with(**changes) -> str:
    """The current URL with some query arguments changed (for pagination and filters)."""
    args = request.args.to_dict()
    args.update({k: v for k, v in changes.items() if v is not None})
    args = {k: v for k, v in args.items() if v not in ("", None)}
    return url_for(request.endpoint, **(request.view_args or {}), **args)


def option_tags(choices, selected=None) -> Markup:
    """The <option>s of a long select (``choices``: (value, label) pairs; ``selected``: the chosen value, compared
    as text), joined in Python and escaped as the template would: a Jinja loop over 150 buildings or 400 people
    was a tenth of some pages' time."""
    chosen = "" if selected is None else str(selected)
    return Markup("".join(
        f'<option value="{escape(value)}"{" selected" if str(value) == chosen else ""}>{escape(label)}</option>'
        for value, label in choices))


def lazy_panel_body(url: str, label: str) -> Markup:
    """The body of a closed ``<details>`` panel whose form is drawn only when it is first opened: htmx asks ``url``
    for it on the panel's first toggle and puts it in place; without JavaScript the link (``label``) opens ``url``
    as a page with the form drawn. A function, not a macro: a page of reviews has a hundred such panels (and an
    f-string of escaped parts, not Markup.format, whose escaping formatter cost five times as much)."""
    url = escape(url)
    return Markup(f'<div hx-get="{url}" hx-trigger="toggle from:closest details once" hx-swap="outerHTML">'
                  f'<a class="d-inline-block py-2" href="{url}">{escape(label)}</a></div>')


def register(app: Flask) -> None:
    app.jinja_env.filters["localtime"] = localtime
    app.jinja_env.filters["mask_phone"] = _mask_phone
    app.jinja_env.filters["yuan"] = format_yuan
    app.jinja_env.globals["url_with"] = _url_with
    app.jinja_env.globals["option_tags"] = option_tags
    app.jinja_env.globals["lazy_panel_body"] = lazy_panel_body
    app.jinja_env.globals["MIN_PASSWORD"] = MIN_PASSWORD  # printed notices state the password rule too
    app.jinja_env.add_extension("jinja2.ext.do")
