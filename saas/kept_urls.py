"""``url_for`` with its answers kept: the same endpoint and values, in the same place, build the same URL.

A page builds 20 to 40 URLs (the layout alone some 15: the stylesheets and scripts, the menu, the language link,
the bell), each a walk through werkzeug's rule builder and the url_defaults hooks, about 25 µs: half a millisecond
to a millisecond of every page. The URL depends only on

- the endpoint (a relative ``.name`` also on the request's blueprint) and the values passed (``_external``,
  ``_scheme``, ``_anchor`` and ``_method`` among them);
- where the app is reached: host, script root and scheme (the request's URL adapter);
- what the url_defaults hooks add: the current company's slug (``tenants``: company and public pages) and a static
  file's content hash (``saas.static_files``).

So the key is exactly those. A static file's hash can change while a development server runs, so in debug mode
nothing is kept for ``static``. ``KNOWN_DEFAULTS`` names the url_defaults hooks the key accounts for: the app refuses
to start with another (a new hook must add what it reads to the key, or nothing would see its changes).

Unhashable values (a list for a repeated query argument) are built each time. Bounded: at most ``MAX_KEPT`` URLs,
all dropped at once when full (a URL carrying ``next=<this page>`` is one per page visited).
"""

from __future__ import annotations

from flask import Flask, g, has_request_context, request

MAX_KEPT = 8192

# "<module>.<function>" of every url_defaults hook whose input is in the key.
KNOWN_DEFAULTS = frozenset({
    "saas.static_files._version_static_urls",
    "tenants.add_company_slug",
    "tenants.add_public_company_slug",
})


def _check_defaults(app: Flask) -> None:
    found = {f"{f.__module__}.{f.__name__}" for funcs in app.url_default_functions.values() for f in funcs}
    unknown = found - KNOWN_DEFAULTS
    if unknown:
        raise RuntimeError(f"url_defaults hooks not accounted for by saas.kept_urls: {sorted(unknown)}")


def install(app: Flask) -> None:
    """Call once every blueprint is registered: replaces ``app.url_for`` (what ``flask.url_for`` calls) and the
    templates' ``url_for``."""
    _check_defaults(app)
    build = app.url_for
    kept: dict = {}
    debug = app.debug

    def url_for(endpoint: str, **values) -> str:
        if not has_request_context():  # an app context's own adapter (SERVER_NAME): built each time
            return build(endpoint, **values)
        if debug and endpoint == "static":
            return build(endpoint, **values)
        environ = request.environ
        company = g.get("company")
        try:
            key = (endpoint, request.blueprint if endpoint[:1] == "." else None,
                   environ.get("HTTP_HOST"), environ.get("SERVER_NAME"), environ.get("SCRIPT_NAME"),
                   environ.get("wsgi.url_scheme"), company.slug if company is not None else None,
                   tuple(sorted(values.items())))
            url = kept.get(key)
        except TypeError:  # an unhashable value
            return build(endpoint, **values)
        if url is None:
            url = build(endpoint, **values)
            if len(kept) >= MAX_KEPT:
                kept.clear()
            kept[key] = url
        return url

    app.url_for = url_for
    app.jinja_env.globals["url_for"] = url_for
    app.extensions["kept_urls"] = kept
