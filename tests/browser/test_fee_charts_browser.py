"""The collection-rate chart by month keeps its text at 12 px or more at any width and never widens the page
(the same measure as tests/browser/test_charts_browser.py)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from tests.browser.test_charts_browser import _check
from tests.browser.test_roster_browser import assert_no_csp_violations, sign_in


@pytest.mark.world("fees_bills")
def test_collection_chart_text_is_at_least_12_px(page: Page, live_server, two_companies, console_messages,
                                                 page_errors):
    world = two_companies[0]
    slug = world.company.slug
    sign_in(page, live_server, world.admin, slug)
    _check(page, f"{live_server}/c/{slug}/fees/collection", ".fee-chart")
    assert_no_csp_violations(console_messages, page_errors)
