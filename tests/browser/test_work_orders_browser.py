"""The whole path of a repair in a real browser at phone width: the owner reports a broken pipe in the stairwell
with a photo, the technician it was dispatched to accepts, starts and completes it on a phone, and the owner
rates it. Selectors avoid visible text (the UI is in Chinese)."""

from __future__ import annotations

from playwright.sync_api import Page, expect
from sqlalchemy import select

from tests.browser.test_roster_browser import PHONE, assert_no_csp_violations, scroll_width, sign_in
from tests.world.stewards import png_bytes


def _order(app, world, description):
    from saas.extensions import db
    from saas.tenancy import company_context
    from tenants.work_orders.models import WorkOrder

    with app.app_context(), company_context(world.company.id):
        try:
            order = db.session.execute(select(WorkOrder).where(WorkOrder.description == description)).scalar_one()
            db.session.expunge(order)
            return order
        finally:
            db.session.remove()


def test_owner_reports_technician_completes_on_a_phone_owner_rates(page: Page, live_server, app, two_companies,
                                                                    console_messages, page_errors, tmp_path,
                                                                    nested_pages):
    world = two_companies[0]
    slug = world.company.slug
    description = "楼道水管爆裂，一直在漏水"
    photo = tmp_path / "pipe.png"
    photo.write_bytes(png_bytes((120, 90)))
    page.set_viewport_size(PHONE)

    # The owner reports a common-area plumbing job with a photo.
    sign_in(page, live_server, world.owner, slug)
    page.goto(f"{live_server}/c/{slug}/my/repairs/new")
    page.locator("label[for=area-1]").click()  # the second area choice: common area
    page.locator("select[name=category_id]").select_option(label="水暖")
    page.locator("textarea[name=description]").fill(description)
    page.locator("input[type=file][name=photos]").set_input_files(str(photo))
    assert scroll_width(page) <= PHONE["width"] + 1
    page.locator("form[enctype='multipart/form-data'] button[type=submit]").click()
    expect(page.locator(".wo-status").first).to_be_visible()
    order = _order(app, world, description)
    assert page.url.endswith(f"/my/repairs/{order.id}")
    expect(page.locator("img[src*='/work-orders/photos/']")).to_have_count(1)
    assert order.status.value == "assigned"  # 水暖 goes to its technician (the world's, the only one)
    nested_pages.check()
    page.context.clear_cookies()

    # The technician accepts, starts and completes it at phone width.
    sign_in(page, live_server, world.technician, slug)
    page.goto(f"{live_server}/c/{slug}/work-orders/mine")
    page.locator(f"a[href$='/work-orders/{order.id}']").click()
    for action, following in (("accept", "start"), ("start", "complete")):
        page.locator(f"form[action$='/actions/{action}'] button[type=submit]").click()
        # Wait for the page after the action, not for any success message: the one from the previous action
        # is still shown while the next one posts, and the navigation would pull the page from under us.
        expect(page.locator(f"form[action$='/actions/{following}']")).to_have_count(1)
        expect(page.locator(f"form[action$='/actions/{action}']")).to_have_count(0)
        expect(page.locator(".alert-success").first).to_be_visible()
    assert scroll_width(page) <= PHONE["width"] + 1
    complete = page.locator("form[action$='/actions/complete']")
    complete.locator("xpath=..").locator("summary").click()  # the <details> that holds the form
    complete.locator("textarea[name=note]").fill("更换了破裂的管段")
    complete.locator("button[type=submit]").click()
    expect(page.locator(".wo-status-done").first).to_be_visible()
    assert _order(app, world, description).status.value == "done"
    nested_pages.check()
    page.context.clear_cookies()

    # The owner rates it: 5 stars overall, 4 for speed, 5 for attitude.
    sign_in(page, live_server, world.owner, slug)
    page.goto(f"{live_server}/c/{slug}/my/repairs/{order.id}")
    rate = page.locator("form[action$='/actions/rate']")
    for name, stars in (("overall", 5), ("speed", 4), ("attitude", 5)):
        rate.locator(f"input[name={name}][value='{stars}'] + label").click()
    rate.locator("button[type=submit]").click()
    expect(page.locator(".wo-status-closed").first).to_be_visible()
    rated = _order(app, world, description)
    assert (rated.rating_overall, rated.rating_speed, rated.rating_attitude) == (5, 4, 5)
    assert rated.status.value == "closed"
    assert scroll_width(page) <= PHONE["width"] + 1
    nested_pages.check()
    assert_no_csp_violations(console_messages, page_errors)
