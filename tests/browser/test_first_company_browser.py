"""A new company's first minutes, in Chinese on a 375 px phone: sign up, add a community and a building, correct
the community, import a small Excel roster, invite a technician. No page may ever land inside another (the
htmx forms of the community page once swapped a whole second page, navbar and trial banner, into the form)."""

from __future__ import annotations

import io
import re

from openpyxl import Workbook
from playwright.sync_api import Page, expect

from tests.browser.test_roster_browser import PHONE, assert_no_csp_violations, scroll_width

SLUG = "xingfu-wuye"
UUID = r"[0-9a-f-]{36}"


def _roster_xlsx() -> bytes:
    """Three homes: two in the building added by hand, one in a building the import creates."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["小区", "楼栋", "单元", "房号", "建筑面积(m²)", "入住状态", "业主姓名", "业主手机"])
    sheet.append(["幸福家园", "1号楼", "1", "101", 89.5, "已入住", "张三", "13912340001"])
    sheet.append(["幸福家园", "1号楼", "1", "102", 120, "空置", None, None])
    sheet.append(["幸福家园", "2号楼", "2", "301", 75.25, "已入住", "李四", "13912340002"])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _fits_the_phone(page: Page) -> None:
    assert scroll_width(page) <= PHONE["width"] + 1, f"wider than the phone at {page.url}"


def _in_chinese(page: Page) -> None:
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")


def sign_up_on_a_phone(page: Page, live_server: str, *, name: str, slug: str, admin: str, phone: str) -> None:
    """Sign a new company up in Chinese at 375 px, through the form; ends on its onboarding checklist."""
    page.set_viewport_size(PHONE)
    page.goto(f"{live_server}/lang/zh_CN?next=/signup")
    _in_chinese(page)
    page.locator("#company_name").fill(name)
    page.locator("#slug").fill(slug)
    page.locator("input[name=admin_name]").fill(admin)
    page.locator("input[name=login]").fill(phone)
    page.locator("input[name=password]").fill("a-long-password")
    # The address check that typing started (a 300 ms trigger) must finish first: its late answer would put back
    # the signed-out session cookie (see test_signup_browser.py).
    page.wait_for_timeout(700)
    page.wait_for_load_state("networkidle")
    page.locator("#signup-form button[type=submit]").click()
    expect(page.locator("#step-profile")).to_be_visible()
    # Signing up starts a fresh session (no fixation), which forgets the language chosen before: choose it again.
    page.goto(f"{live_server}/lang/zh_CN?next=/c/{slug}/onboarding")
    _in_chinese(page)
    expect(page.locator("h1")).to_have_text("开始使用")


def test_a_new_company_sets_up_its_roster_and_invites_a_technician_on_a_phone_in_chinese(
        page: Page, live_server, nested_pages, console_messages, page_errors):
    sign_up_on_a_phone(page, live_server, name="幸福物业", slug=SLUG, admin="李经理", phone="13800138011")
    nested_pages.check()
    onboarding = f"{live_server}/c/{SLUG}/onboarding"
    _fits_the_phone(page)

    # Step 2: the first community, from the checklist.
    page.locator("#step-community a.btn").click()
    form = page.locator("#community-form")
    expect(form).to_be_visible()
    form.locator("input[name=name]").fill("幸福家园")
    form.locator("input[name=address]").fill("幸福路 8 号")
    form.locator("button[type=submit]").click()
    expect(page).to_have_url(re.compile(rf"/c/{SLUG}/communities/{UUID}$"))
    expect(page.locator("h1")).to_have_text("幸福家园")
    expect(page.locator("#flash .alert")).to_contain_text("幸福家园")
    expect(page.locator("nav.navbar")).to_have_count(1)
    nested_pages.check()
    _fits_the_phone(page)

    # A building, then a correction of the community's address: both forms post with htmx.
    building = page.locator("#building-form")
    building.locator("input[name=name]").fill("1号楼")
    building.locator("button[type=submit]").click()
    expect(page.locator("table.table-roster")).to_contain_text("1号楼")
    expect(page.locator("#flash .alert")).to_contain_text("1号楼")
    nested_pages.check()
    edit = page.locator("#community-edit-form")
    edit.locator("input[name=address]").fill("幸福路 18 号")
    edit.locator("button[type=submit]").click()
    expect(page.locator("main p.text-body-secondary").first).to_have_text("幸福路 18 号")
    expect(page.locator("#community-edit-form input[name=address]")).to_have_value("幸福路 18 号")
    expect(page.locator("nav.navbar")).to_have_count(1)
    nested_pages.check()
    _fits_the_phone(page)

    # Step 3: import a small Excel roster.
    page.goto(onboarding)
    expect(page.locator("#step-community")).to_have_attribute("data-done", "true")
    page.locator("#step-households a.btn").click()
    expect(page.locator("#import-form")).to_be_visible()
    _fits_the_phone(page)
    page.locator("#import-file").set_input_files(files=[{
        "name": "花名册.xlsx", "buffer": _roster_xlsx(),
        "mimeType": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}])
    page.locator("#import-form button[type=submit]").click()
    commit = page.locator("#import-result form button[type=submit]")
    expect(commit).to_be_visible()
    nested_pages.check()
    commit.click()
    expect(page.locator("#import-result .alert-success")).to_be_visible()
    nested_pages.check()
    page.locator(f"#import-result a[href='/c/{SLUG}/households']").click()
    expect(page.locator("#household-rows tr")).to_have_count(3)
    expect(page.locator("#household-results")).to_contain_text("李四")
    nested_pages.check()
    _fits_the_phone(page)

    # Step 4: invite a technician.
    page.goto(onboarding)
    expect(page.locator("#step-households")).to_have_attribute("data-done", "true")
    page.goto(f"{live_server}/c/{SLUG}/members/invitations")
    invite = page.locator("#invite-form")
    expect(invite).to_be_visible()
    _in_chinese(page)
    invite.locator("input[name=name]").fill("赵师傅")
    invite.locator("select[name=role]").select_option("technician")
    invite.locator("input[name=phone]").fill("13912340009")
    invite.locator("button[type=submit]").click()
    expect(page.locator("#flash .alert")).to_contain_text("赵师傅")
    expect(page.locator("table.table-roster")).to_contain_text("赵师傅")
    expect(page).to_have_url(re.compile(rf"/c/{SLUG}/members/invitations$"))
    expect(page.locator("#invite-form input[name=name]")).to_have_value("")
    nested_pages.check()
    _fits_the_phone(page)

    page.goto(onboarding)
    for step in ("community", "households", "staff"):
        expect(page.locator(f"#step-{step}")).to_have_attribute("data-done", "true")
    nested_pages.check()
    assert_no_csp_violations(console_messages, page_errors)
