"""The app as a server process runs it (saas.app_for_serving): start-up's objects frozen out of the collector."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

from tests.conftest import app_config


@pytest.fixture
def unfrozen():
    gc.unfreeze()
    yield
    gc.unfreeze()  # the test process goes on making and dropping apps


def test_app_for_serving_freezes_what_start_up_made(db_urls, unfrozen):
    from saas import app_for_serving

    assert gc.get_freeze_count() == 0
    app = app_for_serving(app_config(db_urls))
    # Everything start-up made is out of the collector's walks, the app and its URL map among it.
    assert gc.get_freeze_count() > 10_000
    old = {id(o) for o in gc.get_objects(generation=2)}
    assert id(app) not in old and id(app.url_map) not in old
    assert app.test_client().get("/healthz").status_code == 200


def test_wsgi_entry_point_serves_the_frozen_app():
    source = (Path(__file__).resolve().parent.parent / "wsgi.py").read_text()
    assert "app = app_for_serving()" in source
