"""A company created through the sign-up form sets up fees on a 375 px phone, in Chinese: its fee settings, a fee
item with a rate, a bill run (preview, then issue), a cash payment with its receipt, and the arrears, collection
and ledger pages. This is the walk the demo data hides: every page starts empty here.

With GUANJIA_SHOTS=<folder> it also saves a full-page screenshot of each step (for looking at, not asserted)."""

from __future__ import annotations

import os
import re

from playwright.sync_api import Page, expect

from saas.clock import local_today
from tests.browser.test_first_company_browser import _fits_the_phone, _in_chinese, _roster_xlsx, sign_up_on_a_phone
from tests.browser.test_roster_browser import assert_no_csp_violations

SLUG = "anju-wuye"
UUID = r"[0-9a-f-]{36}"


def test_a_new_company_bills_its_homes_and_takes_a_cash_payment_on_a_phone_in_chinese(
        page: Page, live_server, nested_pages, console_messages, page_errors):
    shots = os.environ.get("GUANJIA_SHOTS")
    step = iter(range(1, 100))

    def look(name: str) -> None:
        """Each page of the walk: in Chinese, no page inside a page, no wider than the phone; a picture if asked."""
        _in_chinese(page)
        nested_pages.check()
        _fits_the_phone(page)
        if shots:
            page.screenshot(path=f"{shots}/fees-{next(step):02d}-{name}.png", full_page=True)

    page.on("dialog", lambda dialog: dialog.accept())  # hx-confirm's question: the admin says yes
    base = f"{live_server}/c/{SLUG}"
    sign_up_on_a_phone(page, live_server, name="安居物业", slug=SLUG, admin="王经理", phone="13800138021")

    # The roster: a community, then the Excel import of three homes.
    page.locator("#step-community a.btn").click()
    form = page.locator("#community-form")
    form.locator("input[name=name]").fill("幸福家园")
    form.locator("input[name=address]").fill("幸福路 8 号")
    form.locator("button[type=submit]").click()
    expect(page).to_have_url(re.compile(rf"/c/{SLUG}/communities/{UUID}$"))
    page.goto(f"{base}/onboarding")
    page.locator("#step-households a.btn").click()
    page.locator("#import-file").set_input_files(files=[{
        "name": "花名册.xlsx", "buffer": _roster_xlsx(),
        "mimeType": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}])
    page.locator("#import-form button[type=submit]").click()
    page.locator("#import-result form button[type=submit]").click()
    expect(page.locator("#import-result .alert-success")).to_be_visible()

    # The fees hub, then the settings: due after 10 days, automatic reminders over ¥100.
    page.goto(f"{base}/fees")
    expect(page.locator("h1")).to_have_text("收费")
    look("hub")
    page.goto(f"{base}/fees/settings")
    page.locator("input[name=due_days]").fill("10")
    page.locator("input[name=auto_remind_min]").fill("abc")
    page.locator("main form button[type=submit]").click()
    expect(page.locator(".invalid-feedback").first).to_contain_text("请输入 0 到 1,000,000 之间的金额")
    page.locator("input[name=auto_remind_min]").fill("100")
    page.locator("main form button[type=submit]").click()
    expect(page.locator("#flash .alert")).to_contain_text("已保存")
    expect(page.locator("input[name=due_days]")).to_have_value("10")
    look("settings")

    # A fee item of the community, per m², then its rate from January.
    page.goto(f"{base}/fees/items")
    expect(page.locator("main")).to_contain_text("还没有收费项目")
    look("items-empty")
    add = page.locator("main form", has=page.locator("input[name=vacant_percent]"))
    add.locator("input[name=name]").fill("物业服务费")
    add.locator("select[name=kind]").select_option("per_area")
    add.locator("input[name=vacant_percent]").fill("50")
    add.locator("button[type=submit]").click()
    expect(page.locator("#flash .alert")).to_contain_text("物业服务费")
    if not re.search(rf"/fees/items/{UUID}$", page.url):
        page.locator("main a", has_text="物业服务费").first.click()
    rate = page.locator("main form", has=page.locator("input[name=price]"))
    rate.locator("input[name=price]").fill("2.5")
    rate.locator("input[name=effective_from]").fill(f"{local_today().year}-01-01")
    rate.locator("button[type=submit]").click()
    expect(page.locator("main")).to_contain_text("2.5")
    look("item")

    # A bill run for this month: the preview first, then issue after the question.
    month = local_today().replace(day=1)
    page.goto(f"{base}/fees/runs")
    look("runs-empty")
    run = page.locator("main form", has=page.locator("input[name=period_start]"))
    run.locator("input[name=period_start]").fill(month.isoformat())
    run.locator("button[type=submit]").click()
    expect(page).to_have_url(re.compile(rf"/fees/runs/{UUID}$"))
    result = page.locator("#run-result")
    # 101 and 2号楼 301 are billed; 102 (vacant, no owner on the roster) is left out, with the reason.
    expect(result).to_contain_text("未出账（1）")
    look("run-preview")
    result.locator("form button[type=submit]").click()
    expect(result.locator(".alert-success")).to_be_visible()
    look("run-issued")

    # A cash payment for 张三's home (89.5 m² × ¥2.50 = ¥223.75), found by the owner's name.
    page.goto(f"{base}/fees/payments/new")
    page.locator("#q").fill("张三")
    page.locator("#household-results a").first.click()
    expect(page.locator("#payment-form")).to_contain_text("223.75")
    look("pay-form")
    page.locator("#payment-form select[name=method]").select_option("cash")
    page.locator("#payment-form input[name=amount]").fill("223.75")
    page.locator("#payment-form button[type=submit]").click()
    expect(page).to_have_url(re.compile(rf"/fees/payments/{UUID}$"))
    # The receipt: a print page of its own (no navbar), its number from the company's yearly counter.
    expect(page.locator("body")).to_contain_text(f"收据号 SJ-{local_today().year}-000001")
    expect(page.locator("body")).to_contain_text("¥223.75")
    look("receipt")

    # What the company sees now: nothing past due yet (the bills fall due in 10 days), the collection rate, ledger.
    page.goto(f"{base}/fees/arrears")
    expect(page.locator("main")).to_contain_text("这里没有房屋逾期欠费")
    look("arrears")
    page.goto(f"{base}/fees/collection")
    look("collection")
    page.goto(f"{base}/fees/payments")
    expect(page.locator("main")).to_contain_text("¥223.75")
    look("payments")
    assert_no_csp_violations(console_messages, page_errors)
