"""The company admin's overview (/c/<slug>/): the repair figures of the morning (open, overdue, reported today
in Shanghai, waiting for dispatch), each a link to the all-jobs list filtered to exactly those jobs, in a fixed
number of queries however many jobs there are."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest

from saas.models import Role
from tests.test_work_orders import Cast, _new_order

FIGURES = ("open", "overdue", "today", "waiting")


@pytest.fixture
def cast(app, two_companies):
    return Cast(app, two_companies[0])


def _figures(page: str) -> dict:
    """figure → (number shown, link), read from the overview's repair figures."""
    out = {}
    for key in FIGURES:
        match = re.search(rf'<a[^>]*id="repairs-{key}"[^>]*href="([^"]+)"[^>]*>.*?<div class="stat[^"]*">(\d+)</div>',
                          page, re.S) or re.search(
            rf'<a[^>]*href="([^"]+)"[^>]*id="repairs-{key}"[^>]*>.*?<div class="stat[^"]*">(\d+)</div>', page, re.S)
        assert match, f"no {key} figure on the overview"
        out[key] = (int(match.group(2)), unescape(match.group(1)))
    return out


def _rows(page: str) -> int:
    return page.count('class="list-group-item wo-row"')


def _jobs(app, cast):
    """Besides the world's job (reported now, given to the technician): one reported a second before midnight
    in Shanghai, one ten days old (overdue), one waiting for dispatch reported at midnight, one cancelled today."""
    from saas.clock import local_midnight, local_today, utcnow
    from saas.tenancy import company_context
    from tenants.work_orders import services

    with app.app_context(), company_context(cast.world.company.id):
        midnight = local_midnight(local_today())
        _new_order(cast, now=midnight - timedelta(seconds=1))
        _new_order(cast, now=utcnow() - timedelta(days=10))
        _new_order(cast, area="common", category="电梯", now=midnight)
        cancelled = _new_order(cast, area="common", category="电梯")
        admin = cast.membership(Role.ADMIN)
        services.perform(cancelled, "cancel", actor=admin.user, membership=admin, note="业主重复报修")


def test_overview_shows_repair_figures_each_linking_to_the_list_of_those_jobs(app, cast, login_as):
    _jobs(app, cast)
    client = login_as(cast.world.admin)
    page = client.get(f"/c/{cast.world.company.slug}/").get_data(as_text=True)
    figures = _figures(page)
    assert {k: n for k, (n, _) in figures.items()} == {"open": 4, "overdue": 1, "today": 3, "waiting": 1}
    for key, (number, link) in figures.items():
        listed = client.get(link).get_data(as_text=True)
        assert _rows(listed) == number, (key, link)
    # The list shows the filter it was opened with as chosen, so the admin sees why these jobs are listed.
    today = client.get(figures["today"][1]).get_data(as_text=True)
    assert re.search(r'<input[^>]*name="reported"[^>]*value="today"[^>]*checked', today)
    waiting = client.get(figures["waiting"][1]).get_data(as_text=True)
    assert '<option value="none" selected' in waiting and '<option value="open" selected' in waiting
    assert re.search(r'<input[^>]*name="overdue"[^>]*checked', client.get(figures["overdue"][1]).get_data(
        as_text=True))


def test_reported_today_counts_from_midnight_in_shanghai(app, cast, login_as):
    _jobs(app, cast)
    client = login_as(cast.world.admin)
    listed = client.get(f"/c/{cast.world.company.slug}/work-orders?reported=today").get_data(as_text=True)
    assert _rows(listed) == 3  # the job a second before midnight (Shanghai) is yesterday's
    unfiltered = client.get(f"/c/{cast.world.company.slug}/work-orders?reported=yesterday").get_data(as_text=True)
    assert _rows(unfiltered) == 5  # an unknown value is ignored, not an error


def test_a_company_without_jobs_shows_zeros(app, make_company, make_user, login_as):
    company = make_company("empty", "空物业")
    admin = make_user("管理员", memberships=[(company, Role.ADMIN)])
    page = login_as(admin).get("/c/empty/").get_data(as_text=True)
    assert {k: n for k, (n, _) in _figures(page).items()} == dict.fromkeys(FIGURES, 0)


def test_the_overview_makes_the_same_number_of_queries_for_more_jobs(app, cast, login_as, count_queries):
    from saas.tenancy import company_context

    client = login_as(cast.world.admin)
    url = f"/c/{cast.world.company.slug}/"

    def count() -> int:
        with count_queries() as counter:
            assert client.get(url).status_code == 200
        return counter.count

    few = count()
    _jobs(app, cast)
    with app.app_context(), company_context(cast.world.company.id):
        for i in range(8):
            _new_order(cast, area="common" if i % 2 else "home", category="电梯" if i % 3 else "水暖")
    assert count() == few


def test_households_by_occupancy_equal_a_direct_count_after_the_roster_changes(app, cast, login_as):
    """The overview reads them from the roster's figures (tenants/roster/figures.py), kept by the writes."""
    from sqlalchemy import func, select

    from saas.extensions import db
    from saas.models import User
    from saas.tenancy import company_context
    from tenants.roster import services
    from tenants.roster.models import Building, Household, Occupancy

    client = login_as(cast.world.admin)
    url = f"/c/{cast.world.company.slug}/"

    def shown() -> list[int]:
        page = client.get(url).get_data(as_text=True)
        card = page[page.index('class="bar mb-2"') - 400:]
        return [int(n) for n in re.findall(r'class="bar mb-2" role="img" aria-label="[^"]* (\d+)"', card)]

    def direct() -> list[int]:
        with app.app_context(), company_context(cast.world.company.id):
            counted = dict(db.session.execute(
                select(Household.occupancy, func.count()).join(Household.building)
                .where(Household.live(), Building.live()).group_by(Household.occupancy)).all())
            db.session.remove()
        return [counted.get(o, 0) for o in Occupancy]

    before = shown()
    assert before == direct() and sum(before) > 0
    with app.app_context(), company_context(cast.world.company.id):
        household = db.session.execute(select(Household).where(Household.live()).limit(1)).scalar_one()
        services.delete_household(household, actor=db.session.get(User, cast.world.admin.id))
        db.session.remove()
    after = shown()
    assert after == direct() and sum(after) == sum(before) - 1
