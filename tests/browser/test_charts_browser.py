"""Charts stay readable at any width: every piece of chart text is at least 12 px on screen, measured in
Chromium (the computed font size times the on-screen scale of an SVG), at phone and desktop widths, and no chart
widens the page. Covers the stewards' load chart and the work-order dashboard's charts."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page
from sqlalchemy import select

from saas.models import Role
from tests.browser.test_roster_browser import assert_no_csp_violations, scroll_width, sign_in

WIDTHS = (320, 375, 768, 1280)
MIN_PX = 12

# Every element inside a chart that renders text of its own, with its on-screen font size: an SVG's text is
# scaled by the SVG's viewBox (getScreenCTM), an HTML chart's is its computed size.
MEASURE = """(root) => {
  const out = [];
  for (const el of root.querySelectorAll('*')) {
    if (el.closest('title, desc')) continue;  // tooltips and descriptions are not drawn
    const own = [...el.childNodes].some(n => n.nodeType === Node.TEXT_NODE && n.textContent.trim());
    if (!own || !el.getClientRects().length) continue;
    let size = parseFloat(getComputedStyle(el).fontSize);
    if (el instanceof SVGElement) {
      const m = el.getScreenCTM();
      size *= Math.hypot(m.a, m.b);
    }
    out.push([el.textContent.trim().slice(0, 20), Math.round(size * 10) / 10]);
  }
  return out;
}"""


def _chart_text_sizes(page: Page, selector: str) -> list:
    charts = page.locator(selector)
    assert charts.count() > 0, f"no chart matches {selector}"
    sizes = []
    for i in range(charts.count()):
        sizes += charts.nth(i).evaluate(MEASURE)
    assert sizes, f"no text in {selector}"
    return sizes


def _check(page: Page, url: str, selector: str) -> None:
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(url)
        small = [(text, size) for text, size in _chart_text_sizes(page, selector) if size < MIN_PX]
        assert not small, f"chart text under {MIN_PX} px at {width} px wide: {small}"
        charts = page.locator(selector)
        for i in range(charts.count()):
            right = charts.nth(i).evaluate("el => (el.closest('.chart-scroll') || el).getBoundingClientRect().right")
            assert right <= width + 1, f"a chart sticks out of the screen at {width} px"
        # Nothing widens the page, the admin's navbar included (it folds into the menu button below 1200 px).
        assert scroll_width(page) <= width + 1, f"the page is wider than the screen at {width} px"


@pytest.fixture
def busy_company(app, two_companies, make_user):
    """Company A with three more stewards (long names too) and a job done, so every chart has rows."""
    from saas.extensions import db
    from saas.models import Membership
    from saas.tenancy import company_context
    from tenants.stewards import services as stewards
    from tenants.work_orders import services
    from tenants.work_orders.models import WorkOrder

    world = two_companies[0]
    for name in ("欧阳长名字的管家", "王管家", "Alexandra Longname"):
        make_user(name, memberships=[(world.company, Role.STEWARD)])
    with app.app_context(), company_context(world.company.id):
        admin = db.session.execute(select(Membership).where(Membership.user_id == world.admin.id)).scalar_one()
        ouyang = db.session.execute(select(Membership).join(Membership.user)
                                    .where(Membership.role == Role.STEWARD).order_by(Membership.created_at)
                                    ).scalars().all()[1]
        stewards.assign(world.roster["households"][1:], ouyang, actor=admin.user)
        technician = db.session.execute(
            select(Membership).where(Membership.user_id == world.technician.id)).scalar_one()
        order = db.session.get(WorkOrder, (world.company.id, world.ids["order_id"]))
        for action in ("accept", "start", "complete"):
            services.perform(order, action, actor=technician.user, membership=technician, note="已修好")
        db.session.remove()
    return world


def test_chart_text_is_at_least_12_px_at_any_width(page: Page, live_server, busy_company, console_messages,
                                                  page_errors):
    slug = busy_company.company.slug
    sign_in(page, live_server, busy_company.admin, slug)
    _check(page, f"{live_server}/c/{slug}/stewards", ".steward-chart")
    _check(page, f"{live_server}/c/{slug}/work-orders/dashboard", ".wo-chart")
    assert_no_csp_violations(console_messages, page_errors)
