"""Pages marked @generic_plans (tenants/access.py) run their transaction with PostgreSQL's plan_cache_mode set to
force_generic_plan, set in the resolver's company statement; every other page, and a write, keeps the default."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from tests.conftest import requires_postgres

pytestmark = requires_postgres


def _mode_seen_by(monkeypatch, module, name: str) -> list:
    """Wrap ``module.name`` (a function a view calls) so that each call records the transaction's plan cache mode."""
    from saas.extensions import db

    seen = []
    original = getattr(module, name)

    def recording(*args, **kwargs):
        seen.append(db.session.execute(text("SELECT current_setting('plan_cache_mode')")).scalar())
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, recording)
    return seen


def test_a_marked_page_plans_generically_and_an_unmarked_one_does_not(app, two_companies, login_as, monkeypatch):
    from tenants.roster import routes as roster_routes
    from tenants.work_orders import figures

    world, _ = two_companies
    client = login_as(world.admin)
    board = _mode_seen_by(monkeypatch, figures, "status_counts")
    households = _mode_seen_by(monkeypatch, roster_routes, "_live_communities")
    assert client.get(f"/c/{world.company.slug}/work-orders/board").status_code == 200
    assert client.get(f"/c/{world.company.slug}/households").status_code == 200
    assert board == ["force_generic_plan"]
    assert households == ["auto"]
    # Transaction-local: the next request on the same connection is back to the default.
    assert client.get(f"/c/{world.company.slug}/households").status_code == 200
    assert households == ["auto", "auto"]


@pytest.mark.parametrize("endpoint", ["company.work_orders.board", "company.work_orders.index",
                                      "company.dashboard.index", "company.fees.arrears_index",
                                      "company.fees.payments", "company.fees.household_ledger",
                                      "company.work_orders.owner_index",
                                      "company.work_orders.show"])
def test_the_pages_measured_to_gain_are_marked(app, endpoint):
    assert getattr(app.view_functions[endpoint], "generic_plans", False), endpoint


def test_the_technicians_list_is_not_marked(app):
    # Its generic plan reads every open job of the technician and sorts them; the custom one walks the deadline
    # index and stops at the page's 25 (ix_work_orders_open_due). Planned afresh it costs what the page shows.
    assert not getattr(app.view_functions["company.work_orders.mine"], "generic_plans", False)
