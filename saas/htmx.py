"""Render a whole page, or only the block an htmx request asked for (same template, no duplication); and end a
POST with a redirect that works for plain forms, boosted forms and hx-post forms alike."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import make_response, redirect, render_template, request
from jinja2_fragments.flask import render_block

from saas.extensions import htmx


def wants_fragment() -> bool:
    """True for an htmx request that swaps a part of the page (hx-get/hx-post with its own target). A boosted link
    or form (``hx-boost`` on <body>) is an htmx request too, but htmx puts its answer in place of the whole body:
    it needs the whole page, never a fragment. So does a history restore (the back button after a cache miss)."""
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request


def render(template: str, block: str | None = None, *, status: int = 200, **context):
    """The full page for a normal or boosted request; ``block`` alone when htmx asks for a part (and one is named)."""
    if block and wants_fragment():
        body = render_block(template, block, **context)
    else:
        body = render_template(template, **context)
    return make_response(body, status)


def render_partial(template: str, *, status: int = 200, headers: dict | None = None, **context):
    response = make_response(render_template(template, **context), status)
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def redirect_to(url: str, *, code: int = 303):
    """The end of a POST (or of a check that sends the visitor elsewhere): ``code`` for a plain request, and for
    any htmx request 200 with ``HX-Redirect``, so that htmx loads ``url`` as a page of its own.

    Never a 3xx to htmx: XMLHttpRequest follows a redirect by itself, with the htmx headers still on the request,
    and htmx swaps whatever comes back into the target. For an hx-post form that is the whole next page, navbar
    and trial banner included, inside the form. A boosted form would survive it (htmx swaps the body), but keeps
    the old <body> and its attributes, among them the CSRF header of a session that sign-in or sign-up has just
    replaced, and the followed GET still says HX-Request, so a view that answers htmx with a fragment would put
    that fragment in place of the page. A real navigation has none of these problems.
    """
    if htmx:
        response = make_response("", 200)
        response.headers["HX-Redirect"] = url
        return response
    return redirect(url, code=code)


def page_path() -> str:
    """The path and query of the page the person is on, for a ``next=`` link: an htmx request's own URL may be a
    fragment or a POST that nobody can open, so for htmx it is the page the request came from."""
    if htmx and htmx.current_url:
        parts = urlsplit(htmx.current_url)
        if parts.path.startswith("/"):
            return parts.path + (f"?{parts.query}" if parts.query else "")
    return request.full_path.rstrip("?")
