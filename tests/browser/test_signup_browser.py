"""Signing up in a real browser at phone width: the address is proposed as the name is typed, and the new
admin lands on the onboarding checklist. Selectors use ids and names, so the test holds in either language."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.test_roster_browser import PHONE, assert_no_csp_violations, scroll_width


def test_sign_up_at_phone_width_and_land_on_the_checklist(page: Page, live_server, app, console_messages,
                                                          page_errors, make_company):
    make_company("hongshan-wuye", "另一家红山物业")  # taken: the proposal must move on to -2
    page.set_viewport_size(PHONE)
    page.goto(f"{live_server}/")
    assert scroll_width(page) <= PHONE["width"] + 1
    page.locator("main a[href='/signup']").first.click()
    expect(page.locator("#signup-form")).to_be_visible()
    assert scroll_width(page) <= PHONE["width"] + 1

    page.locator("#company_name").press_sequentially("红山物业", delay=30)
    expect(page.locator("#slug")).to_have_value("hongshan-wuye-2")
    expect(page.locator("#slug-status")).to_contain_text("hongshan-wuye-2")

    # An address typed by hand is kept when the name changes afterwards.
    page.locator("#slug").fill("hs-wuye")
    page.locator("#company_name").press_sequentially("服务", delay=30)
    page.wait_for_timeout(700)
    expect(page.locator("#slug")).to_have_value("hs-wuye")

    page.locator("input[name=admin_name]").fill("王经理")
    page.locator("input[name=login]").fill("13800138000")
    page.locator("input[name=password]").fill("a-long-password")
    page.locator("#signup-form button[type=submit]").click()

    expect(page.locator("#step-profile")).to_be_visible()
    assert page.url == f"{live_server}/c/hs-wuye/onboarding"
    expect(page.locator(".onboarding-steps > li")).to_have_count(5)
    expect(page.locator("#company-banner")).to_be_visible()
    assert scroll_width(page) <= PHONE["width"] + 1
    # Big tap targets: every call to action is at least 44 px high.
    for box in page.locator(".onboarding-steps a.btn").evaluate_all(
            "els => els.map(e => e.getBoundingClientRect().height)"):
        assert box >= 44

    # The first step's link opens the profile form.
    page.locator("#step-profile a.btn").click()
    expect(page.locator("#profile-form")).to_be_visible()
    page.locator("input[name=licence_number]").fill("91650100MA7EXAMP1E")
    page.locator("input[name=complaint_phone]").fill("0991-1234567")
    page.locator("#profile-form button[type=submit]").click()
    expect(page.locator("#step-profile")).to_have_attribute("data-done", "true")
    assert_no_csp_violations(console_messages, page_errors)
