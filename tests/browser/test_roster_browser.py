"""The household roster in a real browser: htmx add form, validation errors, phone layout, inline edit.

Selectors use ids and field names, not visible text, so the tests hold in either language.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.factories import PASSWORD

PHONE = {"width": 375, "height": 812}


def sign_in(page: Page, base_url: str, user, slug: str) -> None:
    page.goto(f"{base_url}/login")
    page.locator("input[name=login]").fill(user.phone)
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("form button[type=submit]").click()
    # One company, so sign-in lands on its overview (a boosted form: wait for the page, not a load event).
    expect(page.locator(f"a.navbar-brand[href='/c/{slug}/']")).to_be_visible()


def assert_no_csp_violations(console_messages, page_errors) -> None:
    csp = [text for kind, text in console_messages if kind == "error" and "Content Security Policy" in text]
    assert not csp, f"CSP violations: {csp}"
    assert not page_errors, f"JavaScript errors: {page_errors}"


def scroll_width(page: Page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


@pytest.fixture
def world(two_companies):
    """Company A: an admin and a roster of one community, two buildings, two households each."""
    return two_companies[0]


@pytest.fixture
def households_page(page: Page, live_server, world):
    """Signed in as A's admin, on A's household list; returns the list's URL."""
    slug = world.company.slug
    sign_in(page, live_server, world.admin, slug)
    url = f"{live_server}/c/{slug}/households"
    page.goto(url)
    expect(page.locator("#household-rows tr")).to_have_count(4)
    return url


def count_households(app, world) -> int:
    from sqlalchemy import func, select

    from saas.extensions import db
    from saas.tenancy import company_context
    from tenants.roster.models import Household

    with app.app_context(), company_context(world.company.id):
        try:
            return db.session.execute(select(func.count()).select_from(Household)
                                      .where(Household.live())).scalar_one()
        finally:
            db.session.remove()


def open_add_form(page: Page):
    page.locator("button[data-bs-target='#household-add']").click()
    form = page.locator("#household-form")
    expect(form).to_be_visible()
    return form


def fill_household(form, *, building_id: str, room: str, area: str = "96.5", unit: str = "2",
                   occupancy: str = "vacant", owner_name: str = "钱多多", owner_phone: str = "13912345678"):
    form.locator("select[name=building_id]").select_option(building_id)
    form.locator("input[name=unit]").fill(unit)
    form.locator("input[name=room]").fill(room)
    form.locator("input[name=floor_area]").fill(area)
    form.locator("select[name=occupancy]").select_option(occupancy)
    form.locator("input[name=owner_name]").fill(owner_name)
    form.locator("input[name=owner_phone]").fill(owner_phone)
    form.locator("button[type=submit]").click()


def test_add_household_with_htmx_then_find_it(page: Page, households_page, world, app, console_messages,
                                              page_errors, nested_pages):
    building_id = str(world.roster["buildings"][1])
    fill_household(open_add_form(page), building_id=building_id, room="1808")

    # The flash arrives out of band with the response; then the form comes back fresh for the next entry,
    # keeping building and unit.
    expect(page.locator("#flash .alert")).to_contain_text("1808")
    form = page.locator("#household-form")
    expect(form.locator("input[name=room]")).to_have_value("")
    expect(form.locator("select[name=building_id]")).to_have_value(building_id)
    expect(form.locator("input[name=unit]")).to_have_value("2")
    expect(form.locator(".is-invalid")).to_have_count(0)
    assert count_households(app, world) == 5
    nested_pages.check()

    page.goto(f"{households_page}?q=1808")
    results = page.locator("#household-results")
    expect(results.locator("tbody tr")).to_have_count(1)
    expect(results).to_contain_text("1808")
    expect(results).to_contain_text("钱多多")
    expect(results).to_contain_text("13912345678")
    expect(results).to_contain_text("96.50")
    assert_no_csp_violations(console_messages, page_errors)


def test_added_household_row_appears_in_just_added_table(page: Page, households_page, world, console_messages,
                                                         page_errors):
    fill_household(open_add_form(page), building_id=str(world.roster["buildings"][1]), room="1808")
    expect(page.locator("#flash .alert")).to_contain_text("1808")
    new_row = page.locator("#household-new-rows tr")
    expect(new_row).to_have_count(1, timeout=2000)
    expect(new_row).to_contain_text("1808")
    expect(new_row).to_contain_text("钱多多")
    expect(new_row).to_contain_text("96.50")
    assert_no_csp_violations(console_messages, page_errors)


def test_invalid_floor_area_shows_error_next_to_field(page: Page, households_page, world, app,
                                                      console_messages, page_errors, nested_pages):
    form = open_add_form(page)
    form.locator("select[name=building_id]").select_option(str(world.roster["buildings"][0]))
    form.locator("input[name=room]").fill("909")
    form.locator("input[name=floor_area]").fill("0")
    form.locator("button[type=submit]").click()

    area = page.locator("#household-form input[name=floor_area]")
    expect(area).to_have_class(re.compile(r"\bis-invalid\b"))
    feedback = area.locator("xpath=following-sibling::div[contains(@class, 'invalid-feedback')]")
    expect(feedback).to_be_visible()
    expect(feedback).not_to_be_empty()
    # Only that field is wrong, what the user typed is kept, and nothing was added.
    expect(page.locator("#household-form .invalid-feedback")).to_have_count(1)
    expect(page.locator("#household-form input[name=room]")).to_have_value("909")
    expect(page.locator("#household-add")).to_be_visible()
    expect(page.locator("#household-new-rows tr")).to_have_count(0)
    assert count_households(app, world) == 4
    nested_pages.check()
    assert_no_csp_violations(console_messages, page_errors)


@pytest.fixture
def phone(page: Page):
    page.set_viewport_size(PHONE)
    return page


def test_phone_layout_and_inline_edit(phone: Page, households_page, world, console_messages, page_errors,
                                      nested_pages):
    page = phone
    assert scroll_width(page) <= PHONE["width"] + 1

    household_id = world.roster["households"][0]
    row = page.locator(f"#household-{household_id}")
    row.locator("button[hx-get$='/edit']").click()
    expect(row).to_have_class(re.compile(r"\brow-edit\b"))
    name = row.locator("input[name=owner_name]")
    expect(name).to_be_visible()
    assert scroll_width(page) <= PHONE["width"] + 1
    name.fill("孙改名")
    row.locator(f"button[hx-post$='/households/{household_id}']").click()

    expect(row).not_to_have_class(re.compile(r"\brow-edit\b"))
    expect(row).to_contain_text("孙改名")
    expect(row.locator("input")).to_have_count(0)
    nested_pages.check()
    page.reload()
    expect(page.locator(f"#household-{household_id}")).to_contain_text("孙改名")
    assert scroll_width(page) <= PHONE["width"] + 1
    assert_no_csp_violations(console_messages, page_errors)
