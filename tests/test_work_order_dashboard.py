"""The work-orders dashboard: weekly counts in Shanghai weeks, medians (odd and even counts), on-time rates and
ratings, by category and by assignee, the community filter, the page (admin only, empty state, charts) and its
fixed number of queries. Jobs are added through the ORM with known timestamps; the figures are exact."""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from saas.clock import SHANGHAI
from saas.models import Role

# Wednesday 18 March 2026, noon in Shanghai. Its week starts Monday 16 March 00:00 Shanghai (15 March 16:00 UTC);
# the last four weeks start on 23 February, 2, 9 and 16 March.
NOW = datetime(2026, 3, 18, 12, 0, tzinfo=SHANGHAI)
_numbers = itertools.count(1)


def sh(*args) -> datetime:
    """A Shanghai wall-clock time, as the UTC instant the database stores."""
    return datetime(*args, tzinfo=SHANGHAI).astimezone(UTC)


class Shop:
    """A company with an admin, two technicians, a steward, two communities and the default categories."""

    def __init__(self, app, make_company, make_user, make_roster, slug: str = "dash"):
        from saas.extensions import db
        from saas.models import Membership
        from saas.tenancy import company_context
        from tenants.work_orders import services
        from tenants.work_orders.models import WorkOrderCategory

        self.app = app
        self.company = make_company(slug, f"{slug}物业")
        self.admin = make_user("管理员", memberships=[(self.company, Role.ADMIN)])
        self.wang = make_user("王师傅", memberships=[(self.company, Role.TECHNICIAN)])
        self.li = make_user("李师傅", memberships=[(self.company, Role.TECHNICIAN)])
        self.steward = make_user("赵管家", memberships=[(self.company, Role.STEWARD)])
        self.communities = make_roster(self.company, communities=2, buildings=1, households=1)["communities"]
        with app.app_context(), company_context(self.company.id):
            services.ensure_default_categories()
            db.session.commit()
            self.categories = {c.name: c.id for c in db.session.execute(select(WorkOrderCategory)).scalars()}
            self.members = {m.user_id: m.id for m in db.session.execute(select(Membership)).scalars()}

    def member(self, user):
        return self.members[user.id]

    def add(self, *jobs: dict) -> None:
        from saas.extensions import db
        from saas.tenancy import company_context
        from tenants.work_orders.models import WorkOrder

        # Through the ORM, as the app writes jobs: the weekly figures (figures.py) follow every flush.
        with self.app.app_context(), company_context(self.company.id):
            db.session.add_all([WorkOrder(company_id=self.company.id, **job) for job in jobs])
            db.session.commit()

    def job(self, category: str = "水暖", *, created: datetime, accepted=None, completed=None, rated=None,
            ratings=(5, 5, 5), assignee=None, community: int = 0, response_due=None, resolution_due=None,
            status=None) -> dict:
        from tenants.work_orders.models import Area, Source
        from tenants.work_orders.states import Status

        status = status or (Status.CLOSED if rated else Status.DONE if completed else
                            Status.ACCEPTED if accepted else Status.NEW)
        return {
            "number": f"WO-2026-{next(_numbers):06d}", "source": Source.PHONE, "area": Area.COMMON,
            "community_id": self.communities[community], "category_id": self.categories[category],
            "description": "楼道灯不亮", "status": status, "created_at": created, "updated_at": created,
            "assignee_id": self.member(assignee) if assignee else None,
            "response_due_at": response_due or created + timedelta(hours=1),
            "resolution_due_at": resolution_due or created + timedelta(days=1),
            "accepted_at": accepted, "completed_at": completed, "closed_at": rated, "rated_at": rated,
            **(dict(zip(("rating_overall", "rating_speed", "rating_attitude"), ratings, strict=True)) if rated else {}),
        }

    def figures(self, weeks: int = 4, community: int | None = None, now: datetime = NOW):
        from saas.tenancy import company_context
        from tenants.work_orders import stats

        with self.app.app_context(), company_context(self.company.id):
            return stats.dashboard(weeks=weeks, now=now,
                                   community_id=None if community is None else self.communities[community])


@pytest.fixture
def shop(app, make_company, make_user, make_roster):
    return Shop(app, make_company, make_user, make_roster)


def _by_name(rows):
    return {f.name: f for f in rows}


MIN = 60  # seconds


# --- the figures ------------------------------------------------------------------------------------------------


def test_week_bounds_are_shanghai_mondays_in_utc():
    from tenants.work_orders.stats import week_bounds

    bounds = week_bounds(4, NOW)
    assert bounds[0] == datetime(2026, 2, 22, 16, 0, tzinfo=UTC)  # Monday 23 Feb, 00:00 Shanghai
    assert bounds[-2] == datetime(2026, 3, 15, 16, 0, tzinfo=UTC)
    assert bounds[-1] == datetime(2026, 3, 22, 16, 0, tzinfo=UTC)
    # Sunday evening UTC is already Monday in Shanghai: the current week is the one starting 16 March.
    assert week_bounds(1, datetime(2026, 3, 15, 16, 30, tzinfo=UTC))[0] == bounds[-2]


def test_jobs_land_in_their_shanghai_week_and_closed_counts_the_completion_week(shop):
    shop.add(
        shop.job(created=sh(2026, 3, 15, 23, 30)),  # Sunday 23:30 Shanghai = 15:30 UTC: the week of 9 March
        shop.job(created=sh(2026, 3, 16, 0, 0)),  # Monday 00:00 Shanghai: this week
        shop.job(created=sh(2026, 3, 17, 9, 0), accepted=sh(2026, 3, 17, 9, 5)),
        shop.job(created=sh(2026, 2, 22, 23, 59)),  # the Sunday before the period: not counted
        # Reported before the period, done in its first week (Sunday night): closed in that week, not opened.
        shop.job(created=sh(2026, 2, 20, 10, 0), accepted=sh(2026, 2, 20, 10, 30),
                 completed=sh(2026, 3, 1, 23, 59)),
        shop.job(created=sh(2026, 3, 2, 8, 0), accepted=sh(2026, 3, 2, 8, 10), completed=sh(2026, 3, 16, 0, 1)),
    )
    data = shop.figures()
    assert [w.start.isoformat() for w in data.weeks] == ["2026-02-23", "2026-03-02", "2026-03-09", "2026-03-16"]
    assert [w.opened for w in data.weeks] == [0, 1, 1, 2]
    assert [w.closed for w in data.weeks] == [1, 0, 0, 1]
    assert (data.total.opened, data.total.completed) == (4, 2)


def test_medians_odd_and_even_counts_by_category_and_in_total(shop):
    t0 = sh(2026, 3, 3, 9, 0)
    plumbing = [(10, 60), (20, 240), (60, 120)]  # response, resolution in minutes: medians 20 and 120
    electrical = [(30, 90), (90, 600)]  # even count: medians (30 + 90) / 2 = 60 and (90 + 600) / 2 = 345
    shop.add(*[shop.job("水暖", created=t0, accepted=t0 + timedelta(minutes=r), completed=t0 + timedelta(minutes=d))
               for r, d in plumbing],
             *[shop.job("电路", created=t0, accepted=t0 + timedelta(minutes=r), completed=t0 + timedelta(minutes=d))
               for r, d in electrical],
             shop.job("电路", created=t0))  # not accepted yet: in no median
    data = shop.figures()
    by_category = _by_name(data.categories)
    assert by_category["水暖"].median_response == 20 * MIN
    assert by_category["水暖"].median_resolution == 120 * MIN
    assert by_category["电路"].median_response == 60 * MIN
    assert by_category["电路"].median_resolution == 345 * MIN
    assert (by_category["电路"].opened, by_category["电路"].accepted, by_category["电路"].completed) == (3, 2, 2)
    # All five: responses 10 20 30 60 90, resolutions 60 90 120 240 600.
    assert data.total.median_response == 30 * MIN
    assert data.total.median_resolution == 120 * MIN
    assert set(by_category) == {"水暖", "电路"}  # categories with nothing in the period are left out


def test_resolution_median_counts_jobs_done_in_the_period_even_if_reported_before(shop):
    shop.add(shop.job(created=sh(2026, 2, 20, 9, 0), accepted=sh(2026, 2, 20, 9, 30),
                      completed=sh(2026, 2, 24, 9, 0)))  # 4 days; its response was before the period
    data = shop.figures()
    assert data.total.median_resolution == 4 * 24 * 60 * MIN
    assert data.total.median_response is None
    assert (data.total.opened, data.total.completed) == (0, 1)


def test_on_time_rates_compare_with_each_jobs_deadlines(shop):
    t0 = sh(2026, 3, 4, 10, 0)
    due = t0 + timedelta(hours=4)
    shop.add(
        shop.job(created=t0, accepted=t0 + timedelta(minutes=30), completed=due, resolution_due=due),  # on time
        shop.job(created=t0, accepted=t0 + timedelta(minutes=59), completed=due - timedelta(hours=1),
                 resolution_due=due),
        shop.job(created=t0, accepted=t0 + timedelta(minutes=90), completed=due + timedelta(seconds=1),
                 resolution_due=due),  # a second late, and accepted late
        # Accepted late (the response deadline is an hour), not done yet: counts for response only.
        shop.job(created=t0, accepted=t0 + timedelta(hours=2)),
    )
    data = shop.figures()
    assert (data.total.completed, data.total.on_time) == (3, 2)
    assert data.total.on_time_rate == pytest.approx(2 / 3)
    assert (data.total.accepted, data.total.response_on_time) == (4, 2)
    assert data.total.response_on_time_rate == 0.5


def test_average_rating_counts_the_ratings_given_in_the_period(shop):
    t0 = sh(2026, 3, 5, 10, 0)
    done = dict(accepted=t0 + timedelta(minutes=5), completed=t0 + timedelta(hours=2))
    shop.add(
        shop.job(created=t0, rated=sh(2026, 3, 6, 10, 0), ratings=(5, 4, 3), **done),
        shop.job(created=t0, rated=sh(2026, 3, 7, 10, 0), ratings=(4, 4, 5), **done),
        shop.job(created=t0, rated=sh(2026, 3, 8, 10, 0), ratings=(3, 1, 4), **done),
        # Done and rated before the period: its rating is not this period's.
        shop.job(created=sh(2026, 2, 1, 10, 0), accepted=sh(2026, 2, 1, 10, 5), completed=sh(2026, 2, 2, 10, 0),
                 rated=sh(2026, 2, 3, 10, 0), ratings=(1, 1, 1)),
        # Done before the period, rated in it: counts for the rating only.
        shop.job(created=sh(2026, 2, 1, 10, 0), accepted=sh(2026, 2, 1, 10, 5), completed=sh(2026, 2, 2, 10, 0),
                 rated=sh(2026, 2, 24, 10, 0), ratings=(2, 3, 2)),
    )
    data = shop.figures()
    assert data.total.rated == 4
    assert data.total.average() == pytest.approx((5 + 4 + 3 + 2) / 4)
    assert data.total.average("speed") == pytest.approx((4 + 4 + 1 + 3) / 4)
    assert data.total.average("attitude") == pytest.approx((3 + 5 + 4 + 2) / 4)
    assert data.total.completed == 3


def test_figures_by_assignee_with_the_unassigned_last(shop):
    t0 = sh(2026, 3, 10, 8, 0)

    def done(who, response, resolution, late=False, rating=5):
        return shop.job(created=t0, assignee=who, accepted=t0 + timedelta(minutes=response),
                        completed=t0 + timedelta(minutes=resolution), rated=t0 + timedelta(days=1),
                        ratings=(rating, rating, rating),
                        resolution_due=t0 + timedelta(minutes=resolution - 1 if late else resolution + 1))

    shop.add(done(shop.wang, 10, 100), done(shop.wang, 20, 200, late=True, rating=3), done(shop.wang, 40, 300),
             done(shop.li, 5, 50, rating=4), done(shop.li, 15, 70, late=True, rating=5),
             shop.job(created=t0), shop.job(created=t0))  # two in the pool, nobody's yet
    rows = shop.figures().assignees
    assert [f.name for f in rows] == sorted(["王师傅", "李师傅"]) + ["Not assigned"]
    by_name = _by_name(rows)
    wang, li, nobody = by_name["王师傅"], by_name["李师傅"], by_name["Not assigned"]
    assert (wang.opened, wang.completed, wang.on_time, wang.median_response, wang.median_resolution) == (
        3, 3, 2, 20 * MIN, 200 * MIN)
    assert wang.average() == pytest.approx(13 / 3)
    assert (li.opened, li.completed, li.on_time_rate, li.median_response, li.median_resolution) == (
        2, 2, 0.5, 10 * MIN, 60 * MIN)
    assert li.average() == 4.5
    assert (nobody.opened, nobody.completed, nobody.median_response, nobody.on_time_rate) == (2, 0, None, None)
    assert wang.key == shop.member(shop.wang)


def test_community_filter_keeps_only_that_communitys_jobs(shop):
    t0 = sh(2026, 3, 11, 8, 0)
    shop.add(shop.job(created=t0, community=0, accepted=t0 + timedelta(minutes=10)),
             shop.job(created=t0, community=1, accepted=t0 + timedelta(minutes=50)),
             shop.job(created=t0, community=1, accepted=t0 + timedelta(minutes=70)))
    first, second = shop.figures(community=0), shop.figures(community=1)
    assert (first.total.opened, first.total.median_response) == (1, 10 * MIN)
    assert (second.total.opened, second.total.median_response) == (2, 60 * MIN)
    assert shop.figures().total.opened == 3


def test_all_communities_add_up_every_communitys_figures_after_a_job_moves(shop):
    """The page for all communities reads rows that already add up every community (figures.ALL): they hold what
    each community's rows hold, together, also after a job moves from one community to another."""
    from saas.extensions import db
    from saas.tenancy import company_context
    from tenants.work_orders.models import WorkOrder

    t0 = sh(2026, 3, 11, 8, 0)
    shop.add(shop.job(created=t0, community=0, assignee=shop.wang, accepted=t0 + timedelta(minutes=10),
                      completed=t0 + timedelta(hours=3), rated=t0 + timedelta(hours=5), ratings=(4, 3, 5)),
             shop.job("电路", created=t0 - timedelta(days=8), community=1, assignee=shop.li,
                      completed=t0 + timedelta(hours=30)),
             shop.job(created=t0 + timedelta(days=1), community=1))
    with shop.app.app_context(), company_context(shop.company.id):
        moved = db.session.execute(select(WorkOrder).where(WorkOrder.assignee_id == shop.member(shop.li))).scalar_one()
        moved.community_id = shop.communities[0]
        db.session.commit()

    def counts(f):
        return (f.opened, f.accepted, f.response_on_time, f.completed, f.on_time, f.rated, *f.rating_sums,
                *f.rating_counts)

    every, parts = shop.figures(), [shop.figures(community=0), shop.figures(community=1)]
    assert counts(every.total) == tuple(map(sum, zip(*(counts(p.total) for p in parts), strict=True)))
    assert [(w.opened, w.closed) for w in every.weeks] == [
        (sum(p.weeks[i].opened for p in parts), sum(p.weeks[i].closed for p in parts)) for i in range(4)]
    for kind in ("categories", "assignees"):
        summed: dict = {}
        for part in parts:
            for f in getattr(part, kind):
                summed[f.name] = tuple(map(sum, zip(summed.get(f.name, (0,) * 12), counts(f), strict=True)))
        assert {f.name: counts(f) for f in getattr(every, kind)} == summed
    assert (parts[0].total.opened, parts[1].total.opened, every.total.opened) == (2, 1, 3)


def test_the_period_is_the_last_n_weeks(shop):
    shop.add(shop.job(created=sh(2025, 12, 29, 9, 0)),  # the Monday 11 weeks before this week's
             shop.job(created=sh(2025, 12, 28, 23, 0)))  # the Sunday before it: outside a 12-week period
    assert shop.figures(weeks=4).empty
    twelve = shop.figures(weeks=12)
    assert (twelve.total.opened, twelve.weeks[0].start.isoformat(), twelve.weeks[0].opened) == (1, "2025-12-29", 1)
    assert shop.figures(weeks=26).total.opened == 2


def test_another_companys_jobs_never_count(shop, make_company, make_user, make_roster):
    other = Shop(shop.app, make_company, make_user, make_roster, slug="other")
    t0 = sh(2026, 3, 12, 8, 0)
    other.add(*[other.job(created=t0, accepted=t0 + timedelta(minutes=5), completed=t0 + timedelta(hours=1),
                          rated=t0 + timedelta(hours=2), ratings=(1, 1, 1)) for _ in range(4)])
    shop.add(shop.job(created=t0, accepted=t0 + timedelta(minutes=40), completed=t0 + timedelta(hours=3)))
    data = shop.figures()
    assert (data.total.opened, data.total.completed, data.total.rated) == (1, 1, 0)
    assert (data.total.median_response, data.total.median_resolution) == (40 * MIN, 180 * MIN)
    assert other.figures().total.opened == 4


# --- the page ---------------------------------------------------------------------------------------------------


def _url(shop, **args) -> str:
    query = "&".join(f"{k}={v}" for k, v in args.items())
    return f"/c/{shop.company.slug}/work-orders/dashboard" + (f"?{query}" if query else "")


def _recent_jobs(shop, n: int) -> list[dict]:
    """n jobs over the last weeks: done, rated, in two categories, for both technicians and the steward."""
    from saas.tenancy import utcnow

    now = utcnow()
    jobs = []
    for i in range(n):
        created = now - timedelta(days=1 + i % 50, hours=i % 7)
        who = (shop.wang, shop.li, shop.steward)[i % 3]
        jobs.append(shop.job(("水暖", "电路", "门窗")[i % 3], created=created, assignee=who, community=i % 2,
                             accepted=created + timedelta(minutes=20), completed=created + timedelta(hours=5),
                             rated=created + timedelta(hours=6) if i % 4 else None))
    return jobs


def test_admin_sees_the_figures_the_charts_and_how_they_are_counted(shop, login_as):
    from saas.tenancy import utcnow

    now = utcnow()
    shop.add(*[shop.job("水暖", created=now - timedelta(days=2), assignee=shop.wang,
                        accepted=now - timedelta(days=2) + timedelta(minutes=m), completed=now - timedelta(days=1))
               for m in (30, 90, 150)])
    response = login_as(shop.admin).get(_url(shop))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'id="stat-opened">3<' in html
    assert 'id="stat-done">3<' in html
    # The median of 30, 90 and 150 minutes, each unit kept on one line.
    assert 'id="stat-response"><span class="text-nowrap">1h</span> <span class="text-nowrap">30m</span><' in html
    assert 'id="stat-on-time">100%<' in html
    assert html.count('class="wo-bar-opened"') == 12  # the default period: 12 weeks
    # Each bar says its week and count (worded once a page: Badges.week_title).
    assert len(re.findall(r"<title>Week of \d+/\d+: \d+ opened</title>", html)) == 12
    assert len(re.findall(r"<title>Week of \d+/\d+: \d+ done</title>", html)) == 12
    assert "王师傅" in html and "水暖" in html
    assert "How these are counted" in html
    assert "style=" not in html.split('<div id="wo-dashboard">')[1]  # the CSP: no inline styles in the charts


def test_each_weeks_bars_say_their_own_counts(shop, login_as):
    from saas.tenancy import utcnow

    now = utcnow()
    shop.add(shop.job("水暖", created=now - timedelta(minutes=3)),
             shop.job("水暖", created=now - timedelta(minutes=3), assignee=shop.wang,
                      accepted=now - timedelta(minutes=2), completed=now - timedelta(minutes=1)))
    html = login_as(shop.admin).get(_url(shop)).get_data(as_text=True)
    opened = re.findall(r"<title>Week of \d+/\d+: (\d+) opened</title>", html)
    done = re.findall(r"<title>Week of \d+/\d+: (\d+) done</title>", html)
    assert opened[-1] == "2" and done[-1] == "1"  # this week: two reported, one of them done
    assert set(opened[:-1]) == set(done[:-1]) == {"0"}


def test_period_and_community_come_from_the_query_string(shop, login_as):
    from saas.tenancy import utcnow

    now = utcnow()
    shop.add(shop.job(created=now - timedelta(days=1), community=0),
             shop.job(created=now - timedelta(days=1), community=1),
             shop.job(created=now - timedelta(days=1), community=1))
    client = login_as(shop.admin)
    html = client.get(_url(shop, weeks=26)).get_data(as_text=True)
    assert html.count('class="wo-bar-opened"') == 26 and 'id="stat-opened">3<' in html
    html = client.get(_url(shop, weeks=4, community=shop.communities[1])).get_data(as_text=True)
    assert html.count('class="wo-bar-opened"') == 4 and 'id="stat-opened">2<' in html
    # A period that is not offered falls back to 12 weeks; a strange or foreign community is a 404.
    assert client.get(_url(shop, weeks="abc")).get_data(as_text=True).count('class="wo-bar-opened"') == 12
    assert client.get(_url(shop, weeks=1000)).get_data(as_text=True).count('class="wo-bar-opened"') == 12
    assert client.get(_url(shop, community="not-an-id")).status_code == 404
    assert client.get(_url(shop, community="00000000-0000-0000-0000-000000000001")).status_code == 404


def test_htmx_filter_returns_only_the_figures(shop, login_as):
    shop.add(*_recent_jobs(shop, 3))
    response = login_as(shop.admin).get(_url(shop, weeks=4), headers={"HX-Request": "true",
                                                                      "HX-Target": "wo-dashboard"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<html" not in html and 'id="stat-opened"' in html


def test_empty_state_when_there_are_no_jobs(shop, login_as):
    html = login_as(shop.admin).get(_url(shop)).get_data(as_text=True)
    assert "No jobs were reported, done or rated in these weeks." in html
    assert "wo-bar-opened" not in html


@pytest.mark.parametrize("role_user", ["wang", "steward"])
def test_only_admins_see_the_dashboard(shop, login_as, role_user):
    assert login_as(getattr(shop, role_user)).get(_url(shop)).status_code == 403


def test_the_page_makes_the_same_number_of_queries_for_3_and_40_jobs(shop, login_as, count_queries):
    client = login_as(shop.admin)
    counts = []
    for n in (3, 37):  # 3 jobs, then 40
        shop.add(*_recent_jobs(shop, n))
        with count_queries() as counter:
            response = client.get(_url(shop, weeks=12))
        assert response.status_code == 200
        counts.append(counter.count)
    assert 'id="stat-opened">40<' in response.get_data(as_text=True)
    assert counts[0] == counts[1] <= 12, counts  # 7 for the page, the rest is signing in and the company
