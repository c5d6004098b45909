"""url_for with its answers kept (saas/kept_urls.py): the same URL as building it, for each company and host."""

from __future__ import annotations

import pytest
from flask import Flask, g, url_for


def _built(app, endpoint: str, **values) -> str:
    """What werkzeug's builder gives, bypassing the kept answers."""
    return Flask.url_for(app, endpoint, **values)


def test_a_kept_url_is_the_built_one_and_each_company_gets_its_own_slug(app, two_companies):
    world, other = two_companies
    for company in (world.company, other.company, world.company):
        with app.test_request_context(f"/c/{company.slug}/"):
            g.company = company
            for endpoint in ("company.dashboard.index", "company.work_orders.board", "static"):
                values = {"filename": "css/app.css"} if endpoint == "static" else {}
                assert url_for(endpoint, **values) == _built(app, endpoint, **values)
            assert url_for("company.dashboard.index") == f"/c/{company.slug}/"
            assert app.jinja_env.globals["url_for"]("company.dashboard.index") == f"/c/{company.slug}/"


def test_hosts_schemes_and_script_roots_are_part_of_the_key(app):
    for base, expected in (("http://a.example/", "http://a.example/login"),
                           ("https://b.example/", "https://b.example/login"),
                           ("http://a.example/app/", "http://a.example/app/login")):
        with app.test_request_context("/", base_url=base):
            assert url_for("auth.login", _external=True) == expected


def test_relative_endpoints_follow_the_requests_blueprint(app, two_companies):
    world, _ = two_companies
    with app.test_request_context(f"/c/{world.company.slug}/work-orders/board"):
        g.company = world.company
        assert url_for(".board") == f"/c/{world.company.slug}/work-orders/board"
    with app.test_request_context(f"/c/{world.company.slug}/households"):
        g.company = world.company
        assert url_for(".households") == f"/c/{world.company.slug}/households"


def test_values_that_cannot_be_a_key_are_built_each_time(app):
    # The app is shared by the session's tests, whose keys may hold any word: look for this test's own values only.
    with app.test_request_context("/"):
        kept = app.extensions["kept_urls"]
        before = len(kept)
        assert url_for("public.index", tag=["unkeyable-a", "unkeyable-b"]) == "/?tag=unkeyable-a&tag=unkeyable-b"
        assert not any("unkeyable" in repr(key) for key in kept)
        assert len(kept) == before


def test_a_url_defaults_hook_the_key_does_not_know_stops_the_app(app):
    from saas import kept_urls

    def add_region(endpoint, values):
        values.setdefault("region", "sh")

    extra = Flask("extra")
    extra.url_defaults(add_region)
    with pytest.raises(RuntimeError, match="add_region"):
        kept_urls.install(extra)
