"""Render a whole page, or only the block an htmx request asked for (same template, no duplication)."""

from __future__ import annotations

from flask import make_response, render_template
from jinja2_fragments.flask import render_block

from saas.extensions import htmx


def render(template: str, block: str | None = None, *, status: int = 200, **context):
    """The full page for a normal request; ``block`` alone when htmx asks (and a block is named)."""
    if block and htmx:
        body = render_block(template, block, **context)
    else:
        body = render_template(template, **context)
    return make_response(body, status)


def render_partial(template: str, *, status: int = 200, headers: dict | None = None, **context):
    response = make_response(render_template(template, **context), status)
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response
