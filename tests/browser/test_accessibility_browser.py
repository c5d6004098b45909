"""Accessibility in a real browser: axe-core (vendored under tests/browser/vendor/axe-core, nothing is fetched at run
time) checks each role's main pages at phone width and on a desktop, in Chinese, the users' language.

Every `color-contrast` violation fails (WCAG AA: 4.5:1, large text 3:1), as does any other serious or critical
finding except the few listed in ALLOWED with the reason they stay. The world has a job in every status and
priority, so every status badge is on the board and the list.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_roster_browser import PHONE, sign_in
from tests.factories import PASSWORD

AXE = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"
DESKTOP = {"width": 1280, "height": 900}
# WCAG 2.x A and AA rules, plus axe's best practices (landmarks, headings): what an outside audit runs.
AXE_OPTIONS = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]},
               "resultTypes": ["violations"]}
# Serious or critical findings that stay, with the reason (rule id → reason). Empty: nothing is waived.
ALLOWED: dict[str, str] = {}


@pytest.fixture
def a11y_world(app, two_companies, make_user):
    """Company A with one job in every status (and an urgent and a low-priority one), a platform admin, and an
    unread notice for A's admin."""
    from sqlalchemy import select

    from saas.extensions import db
    from saas.models import Membership
    from saas.tenancy import company_context, utcnow
    from tenants.inbox.models import Notification
    from tenants.roster.models import Household
    from tenants.work_orders import services
    from tenants.work_orders.models import Area, Priority, Source, WorkOrderCategory
    from tenants.work_orders.states import Status

    world = two_companies[0]
    with app.app_context(), company_context(world.company.id):
        owner = db.session.execute(select(Membership).where(Membership.user_id == world.owner.id)).scalar_one()
        technician = db.session.execute(
            select(Membership).where(Membership.user_id == world.technician.id)).scalar_one()
        category = db.session.execute(select(WorkOrderCategory).where(WorkOrderCategory.name == "水暖")).scalar_one()
        household = db.session.get(Household, (world.company.id, world.ids["household_id"]))
        priorities = [Priority.URGENT, Priority.LOW]
        world.orders = {}
        for status in Status:
            order = services.create_order(
                services.Report(source=Source.PORTAL, area=Area.HOME, category_id=category.id, household=household,
                                description=f"测试{status.value}",
                                priority=priorities.pop() if priorities else Priority.NORMAL),
                actor=owner.user, membership=owner)
            # Straight to the status: the state machine's paths are other tests' business; this one looks.
            order.status = status
            if status != Status.NEW:
                order.assignee_id = technician.id
            if status == Status.CLOSED:  # the owner's page shows the stars
                order.rating_overall, order.rating_speed, order.rating_attitude = 5, 3, 1
                order.rated_at = utcnow()
            world.orders[status.value] = order.id
        db.session.add(Notification(user_id=world.admin.id, body="测试通知"))
        db.session.commit()
    world.platform_admin = make_user("平台管理员", platform_admin=True)
    return world


def _chinese(page: Page, base_url: str) -> None:
    """Switch to Chinese (after signing in: sign-in starts a fresh session, which forgets the language)."""
    page.goto(f"{base_url}/lang/zh_CN?next=/login")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")


def _axe(page: Page) -> list[dict]:
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))
    return page.evaluate("options => axe.run(document, options).then(r => r.violations)", AXE_OPTIONS)


def _describe(violations: list[dict]) -> str:
    lines = []
    for v in violations:
        lines.append(f"{v['id']} ({v['impact']}): {v['help']}")
        for node in v["nodes"][:8]:
            lines.append(f"    {' '.join(node['target'])}: {node.get('failureSummary', '').splitlines()[-1:]}")
    return "\n".join(lines)


def _check(page: Page, url: str, problems: dict) -> None:
    page.goto(url)
    page.wait_for_load_state("networkidle")
    found = [v for v in _axe(page)
             if v["id"] == "color-contrast" or (v["impact"] in ("serious", "critical") and v["id"] not in ALLOWED)]
    if found:
        width = page.viewport_size["width"]
        problems[f"{url} at {width} px"] = _describe(found)


def _pages(base: str, slug: str, world) -> dict:
    c = f"{base}/c/{slug}"
    order = world.ids["order_id"]
    return {
        None: [f"{base}/", f"{base}/login", f"{base}/signup", f"{base}/pricing"],
        "admin": [f"{c}/", f"{c}/households", f"{c}/work-orders", f"{c}/work-orders/board",
                  f"{c}/work-orders/{order}", f"{c}/stewards", f"{c}/members", f"{c}/inbox"],
        "steward": [f"{c}/steward", f"{c}/work-orders/mine"],
        "technician": [f"{c}/work-orders/mine", f"{c}/work-orders/{order}"],
        "owner": [f"{c}/my", f"{c}/my/repairs", f"{c}/my/repairs/{order}",
                  f"{c}/my/repairs/{world.orders['done']}", f"{c}/my/repairs/{world.orders['closed']}"],
        "platform_admin": [f"{base}/admin/", f"{base}/admin/audit"],
    }


@pytest.mark.parametrize("size", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_main_pages_of_every_role_pass_axe(page: Page, live_server, a11y_world, size):
    world = a11y_world
    slug = world.company.slug
    page.set_viewport_size(size)
    problems: dict[str, str] = {}
    for role, urls in _pages(live_server, slug, world).items():
        page.context.clear_cookies()
        if role == "platform_admin":
            page.goto(f"{live_server}/login")
            page.locator("input[name=login]").fill(world.platform_admin.phone)
            page.locator("input[name=password]").fill(PASSWORD)
            page.locator("form button[type=submit]").click()
            page.wait_for_load_state("networkidle")
        elif role:
            sign_in(page, live_server, getattr(world, role), slug)
        _chinese(page, live_server)
        for url in urls:
            _check(page, url, problems)
    assert not problems, "axe violations:\n" + "\n".join(f"{where}\n{what}" for where, what in problems.items())


def test_the_inbox_link_names_the_unread_count(page: Page, live_server, a11y_world):
    world = a11y_world
    page.set_viewport_size(DESKTOP)
    sign_in(page, live_server, world.admin, world.company.slug)
    _chinese(page, live_server)
    page.goto(f"{live_server}/c/{world.company.slug}/")
    link = page.locator("nav a.nav-link").filter(has=page.locator(".badge"))
    count = link.locator(".badge [aria-hidden=true]").inner_text().strip()
    assert count.isdigit() and int(count) >= 1
    expect(link).to_have_accessible_name(re.compile(rf"^消息\s*{count} 条未读$"))
