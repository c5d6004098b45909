"""On a 375-px phone: the outbox's copy button copies an invitation link, and a print page's print button opens
the print dialog and is not printed. Both work through the app's own script files (the CSP forbids inline
script), also after a boosted (htmx) navigation, which runs no script of the page it swaps in."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.test_roster_browser import PHONE, assert_no_csp_violations, scroll_width, sign_in


def _queue_invitation(app, world, url: str) -> str:
    from saas.extensions import db
    from saas.notifications.models import Channel
    from saas.notifications.services import queue_message
    from saas.tenancy import company_context

    with app.test_request_context(), company_context(world.company.id):
        try:
            message = queue_message(channel=Channel.SMS, recipient="13611112222", kind="test",
                                    body=f"孙师傅，您好！请在 7 天内打开链接接受邀请：{url}")
            db.session.commit()
            return str(message.id)
        finally:
            db.session.remove()


def test_copy_button_copies_an_invitation_link_at_phone_width(page: Page, live_server, app, two_companies,
                                                              console_messages, page_errors):
    world = two_companies[0]
    slug = world.company.slug
    url = f"{live_server}/invite/abcDEF_123-xyz"
    message_id = _queue_invitation(app, world, url)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server)
    page.set_viewport_size(PHONE)
    sign_in(page, live_server, world.admin, slug)
    # Reach the outbox by a boosted link, as a person would (from the invitations page).
    page.goto(f"{live_server}/c/{slug}/members/invitations")
    page.locator(f"a[href='/c/{slug}/outbox']").last.click()
    link = page.locator(f"#message-{message_id}-link-1")
    expect(link).to_be_visible()
    expect(link).to_have_attribute("href", url)
    assert scroll_width(page) <= PHONE["width"]

    button = page.locator(f"button[data-copy='#message-{message_id}-link-1']")
    button.click()
    expect(button).to_have_text("Link copied")
    assert page.evaluate("navigator.clipboard.readText()") == url

    page.locator(f"button[data-copy='#message-{message_id}-body']").click()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.startswith("孙师傅") and copied.endswith(url)
    assert_no_csp_violations(console_messages, page_errors)


def test_print_button_opens_the_print_dialog_and_is_not_printed(page: Page, live_server, two_companies,
                                                                 console_messages, page_errors):
    world = two_companies[0]
    slug = world.company.slug
    missing = []
    page.on("response", lambda response: missing.append(response.url) if response.status == 404 else None)
    # Count the print dialogs instead of opening one (a headless browser has no printer).
    page.add_init_script("window.print = function () { window.printed = (window.printed || 0) + 1; };")
    page.set_viewport_size(PHONE)
    sign_in(page, live_server, world.admin, slug)
    for url in (f"/c/{slug}/communities/{world.ids['community_id']}/poster",
                f"/c/{slug}/work-orders/points/{world.ids['point_id']}"):
        page.goto(f"{live_server}{url}")
        button = page.locator("button[data-print]")
        expect(button).to_be_visible()
        button.click()
        assert page.evaluate("window.printed") == 1
        page.emulate_media(media="print")
        expect(button).to_be_hidden()
        expect(page.locator(".notice-page")).to_be_visible()
        page.emulate_media(media="screen")
        assert scroll_width(page) <= PHONE["width"]
    assert not missing, f"not found: {missing}"
    assert_no_csp_violations(console_messages, page_errors)
