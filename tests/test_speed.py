"""What keeps the busy pages fast as a company grows (issue 14; the measurements are in bench/pages_bench.py):

- every page below makes the same number of SQL statements with 10× the jobs and households;
- the all-jobs list pages by keyset: walking Next to the end and Previous back shows every job exactly once, in
  order, even when many jobs share a creation time;
- the dashboard's weekly figures (work_order_weeks, kept by the writes) equal a direct count of the jobs after
  reports, dispatch, acceptance, completion, rating, reopening, reassignment and cancellation, and the medians'
  cache never serves medians a write has changed;
- the owner's list is their own jobs: reported by them, or of their home since they own it;
- the status counts (work_order_status_counts, kept by the writes) equal a direct count after every way a job's
  status changes, and give the lists' and the board's totals;
- the per-row work moved to Python (badges.py, saas.templating.localtime) writes exactly what the templates and
  Babel wrote.

Runs on SQLite, and on PostgreSQL with TEST_DATABASE_URL (row-level security applying, as in production)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, insert, select, update

from saas.models import Role

pytestmark = pytest.mark.world()  # the base world of two companies only: the tests add their own jobs


def _ctx(app, world):
    from saas.tenancy import company_context

    class _Ctx:
        def __enter__(self):
            self.app_ctx = app.app_context()
            self.app_ctx.push()
            self.company = company_context(world.company.id)
            self.company.__enter__()
            from saas.extensions import db

            return db.session

        def __exit__(self, *exc):
            from saas.extensions import db

            db.session.remove()
            self.company.__exit__(*exc)
            self.app_ctx.pop()

    return _Ctx()


def _setup(app, world) -> dict:
    """Default categories, the technician qualified for all of them; returns ids the tests use."""
    from saas.models import Membership
    from tenants.work_orders import services
    from tenants.work_orders.models import CategoryTechnician, WorkOrderCategory

    with _ctx(app, world) as session:
        services.ensure_default_categories()
        categories = list(session.execute(select(WorkOrderCategory).order_by(WorkOrderCategory.position)).scalars())
        members = {m.role: m for m in session.execute(select(Membership)).scalars()}
        for category in categories:
            session.add(CategoryTechnician(category_id=category.id, membership_id=members[Role.TECHNICIAN].id))
        session.commit()
        return {"categories": [c.id for c in categories], "technician": members[Role.TECHNICIAN].id,
                "owner": members[Role.OWNER].id, "steward": members[Role.STEWARD].id}


def _bulk_jobs(app, world, ids: dict, n: int, *, start: datetime, same_time: bool = False) -> None:
    """n jobs written directly (the ORM bulk path; none of the pages reads what services add besides), then the
    weekly figures recomputed, as the migration's backfill does for existing jobs."""
    from saas.tenancy import new_id
    from tenants.work_orders import figures
    from tenants.work_orders.models import Area, Source, WorkOrder
    from tenants.work_orders.states import Status

    with _ctx(app, world) as session:
        last = session.execute(select(func.count()).select_from(WorkOrder)).scalar_one()
        rows = []
        for i in range(n):
            created = start if same_time else start + timedelta(minutes=7 * i)
            status = (Status.NEW, Status.ASSIGNED, Status.ACCEPTED, Status.DONE, Status.CLOSED)[i % 5]
            accepted = created + timedelta(minutes=20 + i % 30) if status != Status.NEW else None
            completed = created + timedelta(hours=3 + i % 9) if status in (Status.DONE, Status.CLOSED) else None
            rated = completed + timedelta(hours=5) if status == Status.CLOSED else None
            rows.append({
                "company_id": world.company.id, "id": new_id(), "number": f"WO-2026-{last + i + 1:06d}",
                "source": Source.PHONE, "area": Area.HOME if i % 2 else Area.COMMON,
                "household_id": world.owner_household_id if i % 2 else None,
                "community_id": world.ids["community_id"], "building_id": world.ids["building_id"] if i % 2 else None,
                "location": "1号楼", "category_id": ids["categories"][i % len(ids["categories"])],
                "description": "楼道灯不亮", "status": status, "created_at": created, "updated_at": created,
                "assignee_id": ids["technician"] if status != Status.NEW else None,
                "reporter_membership_id": ids["owner"] if i % 7 == 0 else None,
                "response_due_at": created + timedelta(hours=1), "resolution_due_at": created + timedelta(days=1),
                "accepted_at": accepted, "completed_at": completed, "closed_at": rated, "rated_at": rated,
                "rating_overall": 5 if rated else None, "rating_speed": 4 if rated else None,
                "rating_attitude": 5 if rated else None,
            })
        session.execute(insert(WorkOrder), rows)
        figures.rebuild()
        session.commit()


# --- statements fixed as the data grows -------------------------------------------------------------------------


def _statements(count_queries, client, url: str) -> int:
    response = client.get(url)  # warm-up (and the medians' cache filled)
    assert response.status_code == 200, (url, response.status_code)
    with count_queries() as counter:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return counter.count


def test_busy_pages_make_the_same_statements_with_ten_times_the_jobs(app, two_companies, login_as, count_queries,
                                                                     make_roster):
    world, other = two_companies
    ids = _setup(app, world)
    _setup(app, other)
    now = datetime.now(UTC)
    slug = world.company.slug
    admin, owner = login_as(world.admin), login_as(world.owner)
    technician, steward = login_as(world.technician), login_as(world.steward)
    pages = [
        (owner, f"/c/{slug}/my/repairs"),
        (admin, f"/c/{slug}/work-orders/dashboard?weeks=26"),
        (admin, f"/c/{slug}/work-orders"),
        (admin, f"/c/{slug}/work-orders?status=open"),
        (admin, f"/c/{slug}/work-orders/board"),
        (admin, f"/c/{slug}/stewards"),
        (admin, f"/c/{slug}/households"),
        (admin, f"/c/{slug}/households?q=1"),
        (admin, f"/c/{slug}/"),
        (technician, f"/c/{slug}/work-orders/mine"),
        (steward, f"/c/{slug}/steward"),
    ]

    def second_page(client) -> str:
        body = client.get(f"/c/{slug}/work-orders").get_data(as_text=True)
        return re.search(r'href="([^"]*after=[^"]*)"', body).group(1).replace("&amp;", "&")

    _bulk_jobs(app, world, ids, 30, start=now - timedelta(days=60))
    make_roster(world.company, communities=1, buildings=1, households=3, prefix="增")
    small = {url: _statements(count_queries, c, url) for c, url in pages}
    small["page 2"] = _statements(count_queries, admin, second_page(admin))

    _bulk_jobs(app, world, ids, 270, start=now - timedelta(days=170))
    make_roster(world.company, communities=2, buildings=3, households=5, prefix="多")
    large = {url: _statements(count_queries, c, url) for c, url in pages}
    large["page 2"] = _statements(count_queries, admin, second_page(admin))
    assert large == small


def test_dashboard_medians_cache_hit_costs_fewer_statements_than_a_miss_and_both_are_fixed(
        app, two_companies, login_as, count_queries):
    world, _ = two_companies
    ids = _setup(app, world)
    _bulk_jobs(app, world, ids, 20, start=datetime.now(UTC) - timedelta(days=20))
    client = login_as(world.admin)
    url = f"/c/{world.company.slug}/work-orders/dashboard"
    with count_queries() as miss:
        assert client.get(url).status_code == 200
    with count_queries() as hit:
        assert client.get(url).status_code == 200
    assert hit.count < miss.count
    assert any("work_order_median_cache" in s and s.lstrip().upper().startswith("INSERT") for s in miss.statements)
    assert not any("percentile_cont" in s or "julianday" in s for s in hit.statements)


# --- keyset pagination --------------------------------------------------------------------------------------------


def _numbers(body: str) -> list[str]:
    return re.findall(r"(WO-2026-\d{6}) ·", body)


def _link(body: str, label: str) -> str | None:
    match = re.search(r'<a class="page-link" href="([^"#]+)"[^>]*>' + label + "<", body)
    return match.group(1).replace("&amp;", "&") if match else None


@pytest.mark.parametrize("same_time", [False, True], ids=["spread", "all at one instant"])
def test_keyset_pages_show_every_job_once_in_order_forwards_and_back(app, two_companies, login_as, same_time):
    from tenants.work_orders.models import WorkOrder

    world, _ = two_companies
    ids = _setup(app, world)
    _bulk_jobs(app, world, ids, 83, start=datetime.now(UTC) - timedelta(days=30), same_time=same_time)
    with _ctx(app, world) as session:
        expected = [n for (n,) in session.execute(
            select(WorkOrder.number).order_by(WorkOrder.created_at.desc(), WorkOrder.id.desc()))]
    client = login_as(world.admin)
    url, pages, seen_page_numbers = f"/c/{world.company.slug}/work-orders", [], []
    while url:
        body = client.get(url).get_data(as_text=True)
        pages.append(_numbers(body))
        seen_page_numbers.append(re.search(r'aria-current="page"><span class="page-link">(\d+)<', body).group(1))
        url = _link(body, "Next")
    assert [n for page in pages for n in page] == expected  # no duplicate, no gap, the list's order
    assert [len(p) for p in pages] == [25, 25, 25, 8]
    assert seen_page_numbers == ["1", "2", "3", "4"]
    assert "83 in all" in body

    back = []
    url = _link(body, "Previous")
    while url:
        body = client.get(url).get_data(as_text=True)
        back.append(_numbers(body))
        url = _link(body, "Previous")
    assert back == pages[-2::-1]  # the same pages, backwards, ending on the first


def test_keyset_list_with_a_filter_and_a_bad_cursor(app, two_companies, login_as):
    world, _ = two_companies
    ids = _setup(app, world)
    _bulk_jobs(app, world, ids, 60, start=datetime.now(UTC) - timedelta(days=30))
    client = login_as(world.admin)
    base = f"/c/{world.company.slug}/work-orders"
    body = client.get(f"{base}?status=closed").get_data(as_text=True)
    assert len(_numbers(body)) == 12 and _link(body, "Next") is None  # 60 / 5 closed: one page
    for junk in ("zzz", "!!", "MjAyNi0wMS0wMXxub3QtYS11dWlk", "a" * 300):
        response = client.get(f"{base}?after={junk}&page=7")
        assert response.status_code == 200  # a forged cursor starts the list over, it is never a 500
        assert _numbers(response.get_data(as_text=True))[:3] == _numbers(client.get(base).get_data(as_text=True))[:3]


def test_the_lists_own_refresh_draws_and_reads_the_list_alone(app, two_companies, login_as, count_queries):
    """Filtering and the 20-second refresh ask for #wo-list only: the same jobs as the page, without the filter
    form, and without reading the filter's choices (every staff member among them)."""
    world, _ = two_companies
    ids = _setup(app, world)
    _bulk_jobs(app, world, ids, 12, start=datetime.now(UTC) - timedelta(days=30))
    client = login_as(world.admin)
    url = f"/c/{world.company.slug}/work-orders?status=open"
    page = client.get(url).get_data(as_text=True)
    fragment_headers = {"HX-Request": "true", "HX-Target": "wo-list"}
    fragment = client.get(url, headers=fragment_headers).get_data(as_text=True)
    assert _numbers(fragment) == _numbers(page) and _numbers(page)
    assert 'id="f-assignee"' in page and 'id="f-assignee"' not in fragment and "<html" not in fragment
    with count_queries() as whole:
        client.get(url)
    with count_queries() as part:
        client.get(url, headers=fragment_headers)
    assert part.count == whole.count - 2  # communities, categories (the staff list is kept: saas/staff_version.py)


def test_a_long_list_counts_up_to_the_cap(app, two_companies, login_as, monkeypatch):
    import saas.pagination

    world, _ = two_companies
    ids = _setup(app, world)
    _bulk_jobs(app, world, ids, 40, start=datetime.now(UTC) - timedelta(days=30))
    monkeypatch.setattr(saas.pagination, "COUNT_CAP", 30)
    client = login_as(world.admin)
    # A filter the status counts cannot answer is counted, up to the cap.
    body = client.get(f"/c/{world.company.slug}/work-orders?community={world.ids['community_id']}").get_data(
        as_text=True)
    assert "More than 30 in all" in body
    # No filter, or the status alone: the exact number from the status counts, never capped.
    assert "40 in all" in client.get(f"/c/{world.company.slug}/work-orders").get_data(as_text=True)
    assert "8 in all" in client.get(f"/c/{world.company.slug}/work-orders?status=done").get_data(as_text=True)
    assert "24 in all" in client.get(f"/c/{world.company.slug}/work-orders?status=open").get_data(as_text=True)


# --- the weekly figures stay exact ---------------------------------------------------------------------------------


def _stored(session) -> dict:
    from tenants.work_orders.figures import COUNTS, WorkOrderWeek

    out = {}
    for row in session.execute(select(WorkOrderWeek)).scalars():
        counts = {name: getattr(row, name) for name in COUNTS if getattr(row, name)}
        if counts:
            out[(row.week, row.kind, row.key_id, row.community_key)] = counts
    return out


def _direct(session) -> dict:
    """The figures counted straight from the jobs, by the dashboard's rules."""
    from collections import defaultdict

    from tenants.work_orders.figures import FIELDS, contribution
    from tenants.work_orders.models import WorkOrder

    out: dict = defaultdict(lambda: defaultdict(int))
    for row in session.execute(select(*(getattr(WorkOrder, f) for f in FIELDS))):
        for key, counts in contribution(dict(zip(FIELDS, row, strict=True))).items():
            for name, n in counts.items():
                out[key][name] += n
    return {key: {k: v for k, v in counts.items() if v} for key, counts in out.items()
            if any(counts.values())}


def _status_counts_exact(session) -> None:
    """The status counts the writes keep (figures.py) equal a direct count of the company's jobs."""
    from tenants.work_orders.figures import status_counts
    from tenants.work_orders.models import WorkOrder

    direct = dict(session.execute(select(WorkOrder.status, func.count()).group_by(WorkOrder.status)).all())
    assert status_counts() == direct


def _dashboard_totals(session, now) -> tuple:
    from tenants.work_orders import stats
    from tenants.work_orders.models import WorkOrder

    data = stats.dashboard(weeks=26, now=now)
    bounds = stats.week_bounds(26, now)
    in_period = lambda column: (column >= bounds[0]) & (column < bounds[-1])  # noqa: E731
    direct = session.execute(select(
        func.count().filter(in_period(WorkOrder.created_at)),
        func.count().filter(in_period(WorkOrder.completed_at)),
        func.count().filter(in_period(WorkOrder.rated_at)),
        func.count().filter(in_period(WorkOrder.created_at) & WorkOrder.accepted_at.is_not(None)),
    )).one()
    return (data.total.opened, data.total.completed, data.total.rated, data.total.accepted), tuple(direct), data


def test_weekly_figures_equal_a_direct_count_through_a_jobs_whole_life(app, two_companies, uploads):
    from saas.models import Membership
    from tenants.roster.models import Household
    from tenants.work_orders import services
    from tenants.work_orders.models import Area, Source, WorkOrder

    world, other = two_companies
    ids = _setup(app, world)
    _setup(app, other)

    def order(session, order_id):
        return session.execute(select(WorkOrder).where(WorkOrder.id == order_id)
                               .execution_options(populate_existing=True)).scalar_one()

    def member(session, user):
        return session.execute(select(Membership).where(Membership.user_id == user.id)).scalar_one()

    def check(session):
        assert _stored(session) == _direct(session)
        _status_counts_exact(session)
        shown, direct, _ = _dashboard_totals(session, datetime.now(UTC) + timedelta(hours=1))
        assert shown == direct

    made = []
    with _ctx(app, world) as session:
        owner = member(session, world.owner)
        home = session.execute(select(Household).where(Household.id == world.owner_household_id)).scalar_one()
        for k, category_id in enumerate(ids["categories"][:4]):
            made.append(services.create_order(services.Report(
                source=Source.PORTAL, area=Area.HOME, category_id=category_id, household=home,
                description=f"第{k}个报修"), actor=owner.user, membership=owner).id)
        check(session)

    steps = [
        (world.technician, 0, ["accept", "start", "complete"], {}),
        (world.owner, 0, ["rate"], {"ratings": services.Ratings(4, 5, 3)}),
        (world.technician, 1, ["accept", "start", "complete"], {}),
        (world.owner, 1, ["reopen"], {"note": "还是漏"}),
        (world.technician, 1, ["accept", "start", "complete"], {}),
        (world.admin, 2, ["assign"], {"assignee_id": ids["steward"]}),
        (world.admin, 3, ["cancel"], {"note": "业主已自行修好"}),
    ]
    for user, index, actions, kwargs in steps:
        with _ctx(app, world) as session:
            membership = member(session, user)
            for action in actions:
                services.perform(order(session, made[index]), action, actor=membership.user,
                                 membership=membership, **kwargs)
            check(session)

    # An edit that moves a job between categories and communities in one go; then a rolled-back one.
    with _ctx(app, world) as session:
        job = order(session, made[0])
        job.category_id = ids["categories"][5]
        job.community_id = None
        session.commit()
        check(session)
        job = order(session, made[2])
        job.accepted_at = datetime.now(UTC)
        session.flush()
        session.rollback()
        check(session)
    with _ctx(app, other) as session:
        assert _stored(session) == {}  # the other company's figures are untouched
        _status_counts_exact(session)


def test_status_counts_stay_exact_through_phone_reports_releases_auto_close_and_a_rebuild(app, two_companies):
    """The paths the whole-life test above does not take: a job entered from a phone call, a leaver's jobs put
    back to dispatch, the SLA job closing done jobs, a status set without being loaded, a rolled-back move, and
    rebuild() over counts gone wrong."""
    from saas.models import Membership
    from tenants.work_orders import figures, services, sla_jobs
    from tenants.work_orders.figures import WorkOrderStatusCount
    from tenants.work_orders.models import Area, Source, WorkOrder
    from tenants.work_orders.states import Status

    world, _ = two_companies
    ids = _setup(app, world)
    with _ctx(app, world) as session:
        admin = session.execute(select(Membership).where(Membership.user_id == world.admin.id)).scalar_one()
        technician = session.get(Membership, (world.company.id, ids["technician"]))
        made = [services.create_order(services.Report(
            source=Source.PHONE, area=Area.COMMON, category_id=category_id, community_id=world.ids["community_id"],
            description=f"来电{k}", reporter_name="王阿姨", reporter_phone="13911112222"),
            actor=admin.user, membership=admin) for k, category_id in enumerate(ids["categories"][:3])]
        _status_counts_exact(session)
        for order in made[:2]:
            if order.status == Status.NEW:
                services.perform(order, "assign", actor=admin.user, membership=admin, assignee_id=technician.id)
        _status_counts_exact(session)
        services.release_jobs_of(technician, actor=admin.user)
        session.commit()
        _status_counts_exact(session)
        # Done long ago: the SLA job closes it.
        job = made[2]
        for action in ("assign", "accept", "start", "complete"):
            kwargs = {"assignee_id": technician.id} if action == "assign" else {}
            if action == "assign" and job.status != Status.NEW:
                continue
            services.perform(job, action, actor=admin.user, membership=admin if action == "assign" else None,
                             **kwargs)
        _status_counts_exact(session)
        assert sla_jobs.check_company(datetime.now(UTC) + timedelta(days=30))["closed"] == 1
        session.expire_all()
        assert session.get(WorkOrder, (world.company.id, job.id)).status == Status.CLOSED
        _status_counts_exact(session)
        # A status set on an object whose status was never loaded: the old one is read from the database.
        stale = session.get(WorkOrder, (world.company.id, made[0].id))
        session.expire(stale, ["status"])
        stale.status = Status.CANCELLED
        session.commit()
        _status_counts_exact(session)
        # A rolled-back move changes nothing.
        job = session.get(WorkOrder, (world.company.id, made[1].id))
        job.status = Status.CANCELLED
        session.flush()
        session.rollback()
        _status_counts_exact(session)
        # Counts gone wrong (bulk SQL would bypass the listeners) are set right by rebuild().
        session.execute(update(WorkOrderStatusCount).values(n=99))
        figures.rebuild()
        session.commit()
        _status_counts_exact(session)


def test_medians_change_with_the_jobs_even_when_no_count_does(app, two_companies, login_as):
    from tenants.work_orders import stats
    from tenants.work_orders.models import WorkOrder

    world, _ = two_companies
    ids = _setup(app, world)
    now = datetime.now(UTC)
    _bulk_jobs(app, world, ids, 10, start=now - timedelta(days=3))
    with _ctx(app, world) as session:
        first = stats.dashboard(weeks=4, now=now).total.median_response
        again = stats.dashboard(weeks=4, now=now).total.median_response  # from the cache
        assert again == first
        # Every accepted job now took 5 minutes to accept: no count changes, the medians must.
        for job in session.execute(select(WorkOrder).where(WorkOrder.accepted_at.is_not(None))).scalars():
            job.accepted_at = job.created_at + timedelta(minutes=5)
        session.commit()
        assert stats.dashboard(weeks=4, now=now).total.median_response == 300.0


# --- the owner's list -------------------------------------------------------------------------------------------


def test_owner_sees_jobs_they_reported_and_their_homes_since_they_own_it(app, two_companies, login_as):
    from saas.tenancy import new_id
    from tenants.roster.models import HouseholdOwner
    from tenants.work_orders.models import Area, Source, WorkOrder
    from tenants.work_orders.states import Status

    world, _ = two_companies
    ids = _setup(app, world)
    with _ctx(app, world) as session:
        since = session.execute(select(HouseholdOwner.created_at)
                                .where(HouseholdOwner.membership_id == ids["owner"])).scalar_one()
        since = since if since.tzinfo else since.replace(tzinfo=UTC)
        other_home = world.roster["households"][1]

        def job(number, **kw):
            created = kw.pop("created")
            return WorkOrder(id=new_id(), number=number, source=Source.PHONE, area=Area.HOME,
                             community_id=world.ids["community_id"], location="1号楼", description="漏水",
                             category_id=ids["categories"][0], status=Status.NEW, created_at=created,
                             updated_at=created, response_due_at=created + timedelta(hours=1),
                             resolution_due_at=created + timedelta(days=1), **kw)

        session.add_all([
            job("WO-2026-000901", household_id=world.owner_household_id, created=since + timedelta(minutes=1)),
            job("WO-2026-000902", household_id=world.owner_household_id, created=since - timedelta(days=1)),
            job("WO-2026-000903", household_id=other_home, created=since + timedelta(minutes=2),
                reporter_membership_id=ids["owner"]),
            job("WO-2026-000904", household_id=other_home, created=since + timedelta(minutes=3)),
        ])
        session.commit()
    body = login_as(world.owner).get(f"/c/{world.company.slug}/my/repairs").get_data(as_text=True)
    shown = set(re.findall(r"WO-2026-0009\d\d", body))
    assert shown == {"WO-2026-000901", "WO-2026-000903"}  # not the previous owner's, not the neighbour's


# --- the household list, a building at a time --------------------------------------------------------------------


def test_household_pages_follow_the_address_order_across_buildings(app, two_companies, login_as, make_roster):
    from tenants.roster.listing import BUILDING_ORDER, HOME_ORDER
    from tenants.roster.models import Building, Household

    world, _ = two_companies
    make_roster(world.company, communities=2, buildings=3, households=7, prefix="序")  # 42 more: 46 in all
    with _ctx(app, world) as session:
        expected = [str(h) for (h,) in session.execute(
            select(Household.id).join(Household.building).join(Building.community)
            .where(Household.deleted_at.is_(None)).order_by(*BUILDING_ORDER, *HOME_ORDER))]
    client = login_as(world.admin)
    shown = []
    for page in (1, 2, 3, 4):
        body = client.get(f"/c/{world.company.slug}/households?page={page}").get_data(as_text=True)
        ids = list(dict.fromkeys(re.findall(r'id="household-([0-9a-f-]{36})"', body)))
        shown.append(ids)
    assert [len(p) for p in shown] == [20, 20, 6, 0]
    assert [h for p in shown for h in p] == expected
    assert "46 in all" in client.get(f"/c/{world.company.slug}/households").get_data(as_text=True)


def test_a_search_pages_its_matches_in_address_order_across_buildings(app, two_companies, login_as, make_roster):
    """The page's ids are chosen in a subquery of their own, ordered by the chosen buildings' position: a search
    whose pages span several buildings shows every match once, in address order."""
    from tenants.roster.listing import BUILDING_ORDER, HOME_ORDER
    from tenants.roster.models import Building, Household

    world, other = two_companies
    make_roster(world.company, communities=2, buildings=3, households=7, prefix="序")
    make_roster(other.company, communities=1, buildings=2, households=5, prefix="序")  # the other company's: never
    with _ctx(app, world) as session:
        expected = [str(h) for (h,) in session.execute(
            select(Household.id).join(Household.building).join(Building.community)
            .where(Household.deleted_at.is_(None), Household.owner_name.like("序业主%"))
            .order_by(*BUILDING_ORDER, *HOME_ORDER))]
    assert len(expected) == 42
    client = login_as(world.admin)
    shown = []
    for page in (1, 2, 3, 4):
        body = client.get(f"/c/{world.company.slug}/households?q=序业主&page={page}").get_data(as_text=True)
        shown.append(list(dict.fromkeys(re.findall(r'id="household-([0-9a-f-]{36})"', body))))
    assert [len(p) for p in shown] == [20, 20, 2, 0]
    assert [h for p in shown for h in p] == expected


def test_rebuild_writes_in_chunks_and_equals_a_direct_count(app, two_companies, monkeypatch):
    """A rebuild writes more rows than one statement may carry (PostgreSQL takes at most 65,535 parameters: a
    two-year company has over 10,000 weekly rows); here the chunk is made tiny so several are needed."""
    from tenants.work_orders import figures

    world, other = two_companies
    ids = _setup(app, world)
    _bulk_jobs(app, world, ids, 60, start=datetime.now(UTC) - timedelta(days=200))
    monkeypatch.setattr(figures, "_UPSERT_CHUNK", 2)
    with _ctx(app, world) as session:
        written = figures.rebuild()
        session.commit()
        assert written > 3 * 2
        assert _stored(session) == _direct(session)


# --- per-row work done once per page, with the same output -------------------------------------------------------


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_localtime_fast_patterns_equal_babels_formatting(app, lang):
    from flask_babel import format_datetime

    from saas.templating import _PATTERNS, localtime

    moments = [datetime(2026, 1, 1, 0, 0, tzinfo=UTC), datetime(2025, 12, 31, 15, 59, 59, tzinfo=UTC),
               datetime(2025, 12, 31, 16, 0, tzinfo=UTC),  # midnight of New Year's Day in Shanghai
               datetime(2026, 3, 8, 15, 59, tzinfo=UTC), datetime(2026, 3, 8, 16, 0, tzinfo=UTC),  # local midnight
               datetime(2024, 2, 28, 23, 30, tzinfo=UTC), datetime(2026, 7, 9, 4, 5, 6, tzinfo=UTC),
               datetime(1988, 6, 1, 12, 0, tzinfo=UTC),  # Shanghai kept summer time in 1986–1991
               datetime(2026, 10, 1, 8, 7),  # naive: SQLite's UTC
               datetime(2026, 10, 1, 8, 7, tzinfo=timezone(timedelta(hours=-5)))]
    with app.test_request_context(headers={"Accept-Language": lang}):
        for fmt in [*_PATTERNS, "yyyy年M月d日 EEEE"]:
            for moment in moments:
                aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
                assert localtime(moment, fmt) == format_datetime(aware, fmt), (fmt, moment)
        assert localtime(None) == ""
        assert localtime(moments[0]) == "2026-01-01 08:00"


_OLD_TIME_LEFT = """{%- set deadline = order.active_deadline() -%}
{%- if deadline -%}
  {%- set which, due = deadline -%}
  {%- if order.paused_at -%}
    <span class="badge text-bg-secondary" title="{{ _('Clock paused while waiting for the owner') }}">{{ _('Paused') }}</span>
  {%- else -%}
    {%- set left = sla_time_left(due, now) -%}
    {%- set level = sla_urgency(order, which, now) -%}
    <span class="badge wo-sla wo-sla-{{ level }}" title="{{ _('Response due %(t)s', t=due|localtime) if which == 'response' else _('Resolution due %(t)s', t=due|localtime) }}">
      {%- if left.overdue -%}{{ _('Overdue') }} {% endif -%}
      {%- if left.days %}{{ _('%(n)dd', n=left.days) }} {% endif -%}
      {%- if left.days or left.hours %}{{ _('%(n)dh', n=left.hours) }} {% endif -%}
      {%- if not left.days %}{{ _('%(n)dm', n=left.minutes) }}{% endif -%}
      {%- if not left.overdue %} {{ _('to accept') if which == 'response' else _('to finish') }}{% endif -%}
    </span>
  {%- endif -%}
{%- endif -%}
|<span class="badge wo-status wo-status-{{ order.status.value }}">{{ order.status.label }}</span>|
{%- if order.priority.value == 'urgent' %}<span class="badge text-bg-danger">{{ order.priority.label }}</span>{% elif order.priority.value == 'low' %}<span class="badge text-bg-light">{{ order.priority.label }}</span>{% endif -%}"""  # noqa: E501


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_badges_built_once_per_page_equal_the_templates_they_replace(app, lang):
    """tenants/work_orders/badges.py writes what the macros wrote per row: the same words, escaping and spaces."""
    from tenants.work_orders.badges import page_badges
    from tenants.work_orders.models import Priority, WorkOrder
    from tenants.work_orders.states import Status

    now = datetime(2026, 5, 6, 3, 0, tzinfo=UTC)
    created = now - timedelta(hours=2)
    cases = []
    for status in Status:
        for accepted in (None, created + timedelta(minutes=5)):
            for due in (timedelta(minutes=-3), timedelta(minutes=10), timedelta(hours=5, minutes=7),
                        timedelta(days=3, hours=2), timedelta(days=-2, hours=-1), timedelta(hours=-4)):
                for paused in (None, now - timedelta(minutes=1)):
                    cases.append(WorkOrder(status=status, accepted_at=accepted, paused_at=paused,
                                           created_at=created.replace(tzinfo=None),
                                           response_due_at=now + due, resolution_due_at=now + due * 2,
                                           priority=list(Priority)[len(cases) % 3]))
    template = app.jinja_env.from_string(_OLD_TIME_LEFT)
    with app.test_request_context(headers={"Accept-Language": lang}):
        badges = page_badges()
        assert page_badges() is badges  # once per request
        for order in cases:
            new = f"{badges.time_left(order, now)}|{badges.status(order.status)}|{badges.priority(order.priority)}"
            assert new == template.render(order=order, now=now), order.__dict__


def test_board_columns_show_ten_cards_the_full_count_and_a_link_to_all(app, two_companies, login_as):
    world, _ = two_companies
    ids = _setup(app, world)
    _bulk_jobs(app, world, ids, 60, start=datetime.now(UTC) - timedelta(days=3))  # 12 of each of five statuses
    body = login_as(world.admin).get(f"/c/{world.company.slug}/work-orders/board").get_data(as_text=True)
    columns = re.findall(r'<section class="wo-column.*?</section>', body, re.S)
    by_status = {re.search(r'status=(\w+)"', c).group(1): c for c in columns if "status=" in c}
    assert set(by_status) == {"new", "assigned", "accepted", "done"}  # closed jobs have no column
    for column in by_status.values():
        assert column.count('<a class="text-decoration-none"') == 10
        assert '<span class="badge text-bg-secondary">12</span>' in column
        assert "All 12" in column


def test_board_and_list_cards_read_as_rows_show_what_the_job_objects_would(app, two_companies, login_as):
    """The board reads its cards as small rows (cards.JobCard): each card's category, place, holder (or the pool)
    and clock badge are the WorkOrder's own."""
    from flask_babel import force_locale

    from tenants.work_orders import cards
    from tenants.work_orders.badges import Badges
    from tenants.work_orders.models import WorkOrder

    world, _ = two_companies
    ids = _setup(app, world)
    _bulk_jobs(app, world, ids, 20, start=datetime.now(UTC) - timedelta(hours=30))
    now = datetime.now(UTC)
    with app.test_request_context(), force_locale("zh"), _ctx(app, world) as session:
        session.execute(update(WorkOrder).where(WorkOrder.assignee_id.is_(None)).values(in_pool=True))
        session.commit()
        orders = {o.id: o for o in session.execute(select(WorkOrder)).scalars()}
        rows = cards.cards(cards.select_cards())
        badges = Badges()
        assert len(rows) == len(orders) == 20
        for row in rows:
            order = orders[row.id]
            assert row.category_name == order.category.name and row.location == order.location
            assert row.assignee_name == (order.assignee.user.name if order.assignee else None)
            assert row.in_pool == order.in_pool and row.number == order.number
            assert badges.time_left(row, now) == badges.time_left(order, now)
        assert any(r.assignee_name for r in rows) and any(r.in_pool for r in rows)
        assert any(badges.time_left(r, now) for r in rows)
        # The admin's list: a page of WorkOrder's select read as ListCards, in its order, with the description.
        page = cards.list_cards(select(WorkOrder).where(WorkOrder.status != "closed")
                                .order_by(WorkOrder.created_at.desc(), WorkOrder.id.desc()).limit(7))
        expected = sorted((o for o in orders.values() if o.status != "closed"),
                          key=lambda o: (o.created_at, o.id), reverse=True)[:7]
        assert [r.id for r in page] == [o.id for o in expected]
        for row, order in zip(page, expected, strict=True):
            assert (row.description, row.category_name, row.assignee_name, row.created_at) == (
                order.description, order.category_name, order.assignee_name, order.created_at)
    body = login_as(world.admin).get(f"/c/{world.company.slug}/work-orders/board").get_data(as_text=True)
    assert "a-technician" in body and "Pool" in body


def test_technician_tabs_total_is_the_badge_and_matches_the_list(app, two_companies, login_as):
    world, _ = two_companies
    ids = _setup(app, world)
    _bulk_jobs(app, world, ids, 60, start=datetime.now(UTC) - timedelta(days=3))
    client = login_as(world.technician)
    body = client.get(f"/c/{world.company.slug}/work-orders/mine").get_data(as_text=True)
    assert "24 in all" in body  # assigned + accepted of the technician's: open, given to them
    pages = [body]
    while (link := re.search(r'href="([^"]*page=\d+)"[^>]*>Next', pages[-1])):
        pages.append(client.get(link.group(1).replace("&amp;", "&")).get_data(as_text=True))
    assert sum(p.count('class="list-group-item wo-row"') for p in pages) == 24


_OLD_DURATION = """{%- if seconds is none -%}—{%- else -%}
  {%- set minutes = (seconds / 60)|round|int -%}
  {%- set days, hours, mins = minutes // 1440, minutes % 1440 // 60, minutes % 60 -%}
  {%- if days -%}<span class="text-nowrap">{{ _('%(n)dd', n=days) }}</span> <span class="text-nowrap">{{ _('%(n)dh', n=hours) }}</span>
  {%- elif hours -%}<span class="text-nowrap">{{ _('%(n)dh', n=hours) }}</span> <span class="text-nowrap">{{ _('%(n)dm', n=mins) }}</span>
  {%- else -%}<span class="text-nowrap">{{ _('%(n)dm', n=mins) }}</span>{%- endif -%}
{%- endif -%}"""  # noqa: E501


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_dashboard_durations_equal_the_macro_they_replace(app, lang):
    from tenants.work_orders.badges import page_badges

    template = app.jinja_env.from_string(_OLD_DURATION)
    with app.test_request_context(headers={"Accept-Language": lang}):
        for seconds in (None, 0.0, 29.9, 30.0, 90.0, 150.0, 3599.0, 3600.0, 86399.0, 86400.0, 90061.5, 10 ** 7):
            assert page_badges().duration(seconds) == template.render(seconds=seconds), seconds


def test_the_open_jobs_index_predicate_names_exactly_the_open_statuses():
    """ix_work_orders_open_due's predicate is written out (models._OPEN_WHERE, migration 0015_wo); open_clause()
    must match it for PostgreSQL to use the index, so it must name the statuses of states.OPEN, no more, no less."""
    import re

    from tenants.work_orders import models
    from tenants.work_orders.states import OPEN

    assert set(re.findall(r"'(\w+)'", models._OPEN_WHERE)) == {status.value for status in OPEN}
