"""Assigning households by hand on a phone: pick a building, untick one home, choose a steward, and the
steward counts change in place (htmx out-of-band swap) without a page load. Selectors avoid visible text."""

from __future__ import annotations

from playwright.sync_api import Page, expect
from sqlalchemy import select

from tests.browser.test_roster_browser import PHONE, assert_no_csp_violations, scroll_width, sign_in


def _steward_membership_id(app, world):
    from saas.extensions import db
    from saas.models import Membership
    from saas.tenancy import company_context

    with app.app_context(), company_context(world.company.id):
        try:
            return db.session.execute(
                select(Membership.id).where(Membership.user_id == world.steward.id)).scalar_one()
        finally:
            db.session.remove()


def _current(app, world) -> dict:
    from saas.extensions import db
    from saas.tenancy import company_context
    from tenants.stewards.models import StewardAssignment

    with app.app_context(), company_context(world.company.id):
        try:
            return dict(db.session.execute(
                select(StewardAssignment.household_id, StewardAssignment.steward_id)
                .where(StewardAssignment.ended_at.is_(None))).all())
        finally:
            db.session.remove()


def test_admin_assigns_households_by_hand_at_phone_width(page: Page, live_server, app, two_companies,
                                                          console_messages, page_errors, nested_pages):
    world = two_companies[0]
    slug = world.company.slug
    steward_id = _steward_membership_id(app, world)
    page.set_viewport_size(PHONE)
    sign_in(page, live_server, world.admin, slug)
    page.goto(f"{live_server}/c/{slug}/stewards/assign")
    badge = page.locator(f"#steward-counts li[data-steward='{steward_id}'] [data-load]")
    expect(badge).to_have_text("1/50")  # the world's steward already looks after one home

    # Choosing the building loads its homes in place (htmx), all ticked.
    page.locator("select[name=building_id]").select_option(str(world.roster["buildings"][1]))
    boxes = page.locator("#assign-form input[name=household_ids]")
    expect(boxes).to_have_count(2)
    nested_pages.check()
    keep_out = world.roster["households"][3]
    page.locator(f"#assign-form input[value='{keep_out}']").uncheck()
    page.locator("#assign-form select[name=steward_id]").select_option(str(steward_id))
    url_before = page.url
    page.locator("#assign-form button[type=submit]").click()

    expect(badge).to_have_text("2/50")  # swapped out of band, no reload
    expect(page.locator("#assign-households .alert-success")).to_be_visible()
    assert page.url == url_before
    nested_pages.check()
    current = _current(app, world)
    assert current[world.roster["households"][2]] == steward_id and keep_out not in current
    assert scroll_width(page) <= PHONE["width"] + 1
    assert_no_csp_violations(console_messages, page_errors)
