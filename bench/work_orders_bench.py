"""Work-orders benchmark: the admin list with its filters, a technician's list and the dashboard, for a company
with 200,000 work orders (and 20,000, to show the SQL statement count does not depend on the data).

    .venv/bin/python bench/work_orders_bench.py                   # SQLite
    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/guanjia_bench_wo .venv/bin/python \
        bench/work_orders_bench.py                                # SQLite, then PostgreSQL
    .venv/bin/python bench/work_orders_bench.py --sizes 200000 --requests 5 --explain
    BENCH_DATABASE_URL=... .venv/bin/python bench/work_orders_bench.py --skip-sqlite --sizes 200000 \
        --proposed-indexes                                        # with the indexes PROPOSED_INDEXES names

As the other benchmarks: each size is a fresh subprocess on a fresh database (on PostgreSQL the database named in
BENCH_DATABASE_URL is dropped and re-created, and the app connects as a non-owner role so row-level security
applies), the rows are written with core bulk inserts (5,000 a statement, company_id given explicitly; no
service is called per job), in the order they were reported, then on PostgreSQL the database is VACUUMed and
ANALYZEd, as autovacuum does after a bulk of inserts (statistics for the planner, and the visibility map that
lets a count be an index-only scan).

The company: 3 communities of 1,000 households, the 6 default categories, 20 staff (14 technicians, each
qualified for two categories, and 6 stewards), N work orders reported evenly over the last two years (730 days).
A job's fate: 4 % cancelled; about 3 % left open long past its deadlines (overdue), plus the jobs of the last
days still under way (new, assigned, accepted, on the way, in progress, waiting for the owner); the rest done,
and after three days mostly closed, 85 % of the closed ones rated. Priorities 10 % urgent, 80 % normal, 10 % low,
with the default deadlines; response and resolution times log-normal (a median of a fifth of the deadline: about
5 % accepted late, 8 % done late). 60 % are in-home jobs (a household, its building and community), the rest
common-area jobs (the public-facilities category's new ones in the grab pool). Jobs go evenly to the 20 staff,
so the signed-in technician holds about N / 20 of them. Timeline events, photos and follow-ups are not written:
none of these pages reads them.

Pages, through the Flask test client: the dashboard (12 weeks, the default; 26 weeks; 12 weeks of one
community), as the admin; the admin list (`company.work_orders.index`) with no filter, status=open, one
category, one community, one assignee (the technician), overdue=1, page 2 and page 500; as the technician:
`company.work_orders.mine` (to do, the default tab) and its "done" tab. One warm-up request, then --requests
timed ones: median wall time, SQL statements per request (set_config of row-level security not counted), time
in SQL, and the slowest statement. With --explain (PostgreSQL), the slowest statement of each page is run again
under EXPLAIN (ANALYZE, BUFFERS) and the top of its plan printed.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHUNK = 5_000
DAYS = 730
TECHNICIANS, STEWARDS = 14, 6
TECHNICIAN_PHONE = "13600000000"  # the first technician: about N / 20 jobs
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
# Indexes to try before they go into a migration: --proposed-indexes adds them to the benchmark's database after
# the load, to measure what they change. Empty: the three it first proposed (rated_at; category and community
# with created_at) are in migration 0004.
PROPOSED_INDEXES: tuple[str, ...] = ()


# --- the data ------------------------------------------------------------------------------------------------


def _staff(company_id, password_hash: str, phone_prefix: str = "136") -> list[tuple]:
    """14 technicians and 6 stewards (core inserts): [(membership id, role)]."""
    from stewards_bench import _insert

    from saas.models import Membership, Role, User
    from saas.tenancy import new_id, utcnow

    now = utcnow()
    people = [(new_id(), new_id(), Role.TECHNICIAN if k < TECHNICIANS else Role.STEWARD)
              for k in range(TECHNICIANS + STEWARDS)]
    _insert(User.__table__, [
        {"id": user_id, "name": f"{SURNAMES[k]}师傅" if role == Role.TECHNICIAN else f"{SURNAMES[k]}管家",
         "phone": f"{phone_prefix}{k:08d}", "password_hash": password_hash, "created_at": now}
        for k, (_, user_id, role) in enumerate(people)])
    _insert(Membership.__table__, [{"company_id": company_id, "id": membership_id, "user_id": user_id, "role": role,
                                    "created_at": now} for membership_id, user_id, role in people])
    return [(membership_id, role) for membership_id, _, role in people]


def _categories(technicians: list) -> list[tuple]:
    """The default categories, each technician qualified for two of them: [(id, name, pool?)]."""
    from sqlalchemy import select

    from saas.extensions import db
    from tenants.work_orders import services
    from tenants.work_orders.models import CategoryTechnician, DispatchMode, WorkOrderCategory

    services.ensure_default_categories()
    rows = db.session.execute(select(WorkOrderCategory).order_by(WorkOrderCategory.position)).scalars().all()
    for k, membership_id in enumerate(technicians):
        for category in (rows[k % len(rows)], rows[(k + 1) % len(rows)]):
            db.session.add(CategoryTechnician(category_id=category.id, membership_id=membership_id))
    db.session.flush()
    return [(c.id, c.name, c.dispatch_mode == DispatchMode.POOL) for c in rows]


def _homes() -> list[tuple]:
    """[(household id, building id, community id, "小区 楼 单元-房")] of the roster just written."""
    from sqlalchemy import select

    from saas.extensions import db
    from tenants.roster.models import Building, Community, Household

    return [(h, b, c, f"{cname} {bname} {unit}-{room}") for h, b, c, cname, bname, unit, room in db.session.execute(
        select(Household.id, Building.id, Community.id, Community.name, Building.name, Household.unit, Household.room)
        .join(Building, Building.id == Household.building_id).join(Community, Community.id == Building.community_id)
    )]


def _work_orders(company_id, n: int, staff: list, categories: list, homes: list, communities: list,
                 now: datetime, seed: int = 7):
    """n work-order rows (dicts for a core insert), in batches of CHUNK."""
    from saas.clock import SHANGHAI
    from saas.tenancy import new_id
    from tenants.work_orders.models import DEFAULT_SLA_MINUTES, Area, Priority, QuoteStatus, Source
    from tenants.work_orders.states import Status

    rng = random.Random(seed)
    numbers: dict[int, int] = {}
    priorities, weights = (Priority.URGENT, Priority.NORMAL, Priority.LOW), (10, 80, 10)
    descriptions = ("厨房水管漏水", "卫生间下水道堵塞", "客厅灯不亮", "入户门锁坏了", "电梯按钮失灵", "楼道灯不亮",
                    "小区门禁刷卡无反应", "阳台推拉门卡住")
    sources = (Source.PORTAL, Source.PORTAL, Source.QR, Source.PHONE, Source.STAFF)
    batch = []
    span = DAYS * 86400 - 60
    for i in range(n):
        # In the order they were reported, as a real table fills (the heap follows created_at).
        created = now - timedelta(seconds=DAYS * 86400) + timedelta(seconds=(i + rng.random()) * span / n)
        priority = rng.choices(priorities, weights)[0]
        response_min, resolution_min = DEFAULT_SLA_MINUTES[priority]
        category_id, _name, pool = rng.choice(categories)
        if rng.random() < 0.6:
            household_id, building_id, community_id, location = rng.choice(homes)
            area = Area.HOME
        else:
            household_id, building_id, (community_id, location) = None, None, rng.choice(communities)
            location += " 公共区域"
            area = Area.COMMON
        accepted = created + timedelta(minutes=response_min * rng.lognormvariate(-1.6, 1.0))
        completed = accepted + timedelta(minutes=resolution_min * rng.lognormvariate(-1.6, 1.0))
        assignee_id = rng.choice(staff)[0]
        in_pool = False
        cancelled = closed = rated = None
        fate = rng.random()
        if fate < 0.04:
            status, cancelled = Status.CANCELLED, created + timedelta(hours=rng.uniform(0.1, 30))
            accepted = accepted if accepted < cancelled and rng.random() < 0.5 else None
            completed = None
        elif completed > now or fate < 0.07:  # still under way, or forgotten long past its deadlines
            if accepted > now or fate < 0.05:
                status = rng.choice((Status.NEW, Status.ASSIGNED))
                accepted = None
                if status == Status.NEW:
                    assignee_id, in_pool = None, pool
            else:
                status = rng.choice((Status.ACCEPTED, Status.ON_THE_WAY, Status.IN_PROGRESS, Status.WAITING_OWNER))
            completed = None
        elif completed + timedelta(days=3) < now and rng.random() < 0.95:
            status = Status.CLOSED
            if rng.random() < 0.85:
                rated = completed + timedelta(hours=rng.uniform(0.5, 70))
            closed = rated or completed + timedelta(days=3)
        else:
            status = Status.DONE
        year = created.astimezone(SHANGHAI).year
        numbers[year] = numbers.get(year, 0) + 1
        stars = [max(1, min(5, round(rng.gauss(4.4, 0.9)))) for _ in range(3)] if rated else [None] * 3
        last = max(t for t in (created, accepted, completed, closed, cancelled) if t is not None)
        batch.append({
            "company_id": company_id, "id": new_id(), "created_at": created, "number": f"WO-{year}-{numbers[year]:06d}",
            "source": rng.choice(sources), "area": area, "household_id": household_id, "community_id": community_id,
            "building_id": building_id, "repair_point_id": None, "location": location, "category_id": category_id,
            "priority": priority, "description": rng.choice(descriptions), "preferred_time": "",
            "reporter_user_id": None, "reporter_membership_id": None, "reporter_name": "业主",
            "reporter_phone": "13900000000", "created_by_id": None, "status": status, "resume_status": None,
            "paused_at": None, "assignee_id": assignee_id, "in_pool": in_pool, "updated_at": last, "last_seq": 0,
            "response_due_at": created + timedelta(minutes=response_min),
            "resolution_due_at": created + timedelta(minutes=resolution_min),
            "accepted_at": accepted, "started_at": accepted if completed else None, "completed_at": completed,
            "closed_at": closed, "cancelled_at": cancelled, "response_warned_at": None, "response_breached_at": None,
            "resolution_warned_at": None, "resolution_breached_at": None, "last_urged_at": None, "urge_count": 0,
            "reopen_count": 0, "quote_fen": None, "quote_note": "", "quote_status": QuoteStatus.NONE,
            "rating_overall": stars[0], "rating_speed": stars[1], "rating_attitude": stars[2], "rating_comment": "",
            "rated_at": rated,
        })
        if len(batch) == CHUNK:
            yield batch
            batch = []
    if batch:
        yield batch


# --- one run, in a child process -------------------------------------------------------------------------------


class Statements:
    """The stewards benchmark's counter, keeping the slowest statement's parameters too (for EXPLAIN)."""

    def __init__(self):
        from stewards_bench import Queries

        self.inner = Queries()
        self.parameters = None
        inner_after = self.inner._after

        def after(conn, cursor, statement, parameters, context, executemany):
            before = self.inner.slowest
            inner_after(conn, cursor, statement, parameters, context, executemany)
            if self.inner.slowest is not before:
                self.parameters = (statement, parameters)

        self.inner._after = after

    def __enter__(self):
        self.inner.__enter__()
        return self

    def __exit__(self, *exc):
        return self.inner.__exit__(*exc)


def child(database: str, workdir: Path, jobs: int, requests: int, explain: bool, indexes: bool) -> dict:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from stewards_bench import PASSWORD, _company_and_admin, _insert, _make_app, _roster

    app = _make_app(database, workdir)
    from sqlalchemy import func, select

    from saas.extensions import db
    from saas.models import Role
    from saas.tenancy import company_context, utcnow
    from tenants.work_orders.models import WorkOrder
    from tenants.work_orders.states import OPEN, Status

    results: dict = {"jobs": jobs}
    with app.app_context():
        company, _admin, password_hash = _company_and_admin()
        company_id, slug = company.id, company.slug
        started = time.perf_counter()
        with company_context(company_id):
            staff = _staff(company_id, password_hash)
            communities, _, _ = _roster(company_id, 3_000, per_community=1_000)
            db.session.flush()
            categories = _categories([m for m, role in staff if role == Role.TECHNICIAN])
            homes = _homes()
            names = {community_id: location.split(" ")[0] for _, _, community_id, location in homes}
            now = utcnow()
            written = 0
            for batch in _work_orders(company_id, jobs, staff, categories, homes,
                                      [(c, names[c]) for c in communities], now):
                _insert(WorkOrder.__table__, batch)
                written += len(batch)
            from tenants.work_orders import figures

            figures.rebuild()  # the dashboard's weekly figures, which core inserts bypass (as migration 0011 does)
            db.session.commit()
            results["write_s"] = round(time.perf_counter() - started, 1)
            _vacuum(app, PROPOSED_INDEXES if indexes else ())
            by_status = dict(db.session.execute(select(WorkOrder.status, func.count())
                                                .group_by(WorkOrder.status)).all())
            technician = staff[0][0]
            results["mix"] = {
                "done or closed": by_status.get(Status.DONE, 0) + by_status.get(Status.CLOSED, 0),
                "open": sum(by_status.get(s, 0) for s in OPEN), "cancelled": by_status.get(Status.CANCELLED, 0),
                "rated": db.session.scalar(select(func.count()).where(WorkOrder.rated_at.is_not(None))),
                "technician's": db.session.scalar(select(func.count()).where(WorkOrder.assignee_id == technician)),
                "technician's open": db.session.scalar(select(func.count()).where(
                    WorkOrder.assignee_id == technician, WorkOrder.status.in_(OPEN))),
            }
        db.session.remove()
    assert written == jobs

    def login(phone: str):
        client = app.test_client()
        response = client.post("/login", data={"login": phone, "password": PASSWORD})
        assert response.status_code == 303, response.data[:500]
        return client

    def measure(client, url: str, expect: str) -> dict:
        response = client.get(url)  # warm-up: templates compiled, caches filled
        assert response.status_code == 200, (url, response.status_code, response.data[:500])
        assert expect in response.get_data(as_text=True), (url, expect)
        times, sql, counts, slowest = [], [], set(), None
        for _ in range(requests):
            with app.app_context():
                q = Statements()
            with q:
                started = time.perf_counter()
                response = client.get(url)
                times.append(time.perf_counter() - started)
            assert response.status_code == 200, (url, response.status_code)
            counts.add(q.inner.count)
            sql.append(q.inner.seconds)
            if slowest is None or q.inner.slowest[0] > slowest[0].inner.slowest[0]:
                slowest = (q, q.parameters)
        assert len(counts) == 1, f"{url}: the query count varies between identical requests: {sorted(counts)}"
        worst = slowest[0].inner.summary()
        out = {"ms": round(statistics.median(times) * 1000, 1), "queries": counts.pop(),
               "sql_ms": round(statistics.median(sql) * 1000, 1), "slowest_ms": worst["slowest_ms"],
               "slowest_sql": worst["slowest_sql"]}
        if explain and database != "sqlite" and slowest[1]:
            out["plan"] = _explain(app, company_id, *slowest[1])
        return out

    base = f"/c/{slug}/work-orders"
    plumbing = next(c for c, name, _ in categories if name == "水暖")
    admin = login("13800000000")
    pages = {
        "dashboard, 12 weeks": (admin, f"{base}/dashboard", "How these are counted"),
        "dashboard, 26 weeks": (admin, f"{base}/dashboard?weeks=26", "How these are counted"),
        "dashboard, 12 weeks, one community": (admin, f"{base}/dashboard?community={communities[0]}",
                                               "How these are counted"),
        "list": (admin, base, "WO-"),
        "list status=open": (admin, f"{base}?status=open", "WO-"),
        "list category": (admin, f"{base}?category={plumbing}", "WO-"),
        "list community": (admin, f"{base}?community={communities[0]}", "WO-"),
        "list assignee": (admin, f"{base}?assignee={staff[0][0]}", "WO-"),
        "list overdue=1": (admin, f"{base}?overdue=1", "WO-"),
        "list page 2": (admin, f"{base}?page=2", "WO-"),
        "list page 500": (admin, f"{base}?page=500", "WO-"),
    }
    technician_client = login(TECHNICIAN_PHONE)
    pages["mine (technician, to do)"] = (technician_client, f"{base}/mine", "WO-")
    pages["mine (technician, done)"] = (technician_client, f"{base}/mine?tab=done", "WO-")
    results["pages"] = {name: measure(client, url, expect) for name, (client, url, expect) in pages.items()}
    return results


def _vacuum(app, indexes=()) -> None:
    """The extra indexes asked for, then on PostgreSQL VACUUM ANALYZE, as autovacuum does after a bulk insert
    (since PostgreSQL 13 inserts alone trigger it): planner statistics, and the visibility map that lets a count
    be an index-only scan."""
    from sqlalchemy import create_engine, text

    owner = app.config["BENCH_OWNER_URL"]
    engine = create_engine(owner, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        for statement in indexes:
            conn.execute(text(statement))
        if not owner.startswith("sqlite"):
            conn.execute(text("VACUUM (ANALYZE)"))
    engine.dispose()


def _explain(app, company_id, statement: str, parameters) -> list[str]:
    """EXPLAIN (ANALYZE, BUFFERS) of one captured statement, as the app role inside the company (row-level
    security applies, as in the request): the plan's first lines."""
    from saas.extensions import db
    from saas.tenancy import company_context

    with app.app_context(), company_context(company_id):
        conn = db.session.connection()
        rows = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters).all()
        db.session.rollback()
    return [row[0] for row in rows]


# --- the driver --------------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", nargs="+", type=int, default=[200_000, 20_000],
                        help="work orders in the company (the statement counts of the first two must be equal)")
    parser.add_argument("--requests", type=int, default=5, help="timed requests per page")
    parser.add_argument("--explain", action="store_true", help="PostgreSQL: EXPLAIN ANALYZE each page's slowest")
    parser.add_argument("--proposed-indexes", action="store_true",
                        help="add PROPOSED_INDEXES (not in the migrations) after the load")
    parser.add_argument("--skip-sqlite", action="store_true", help="PostgreSQL only (with BENCH_DATABASE_URL)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if min(args.sizes) < 500 * 25:
        parser.error("every size needs at least 12,500 work orders: the list's page 500 must exist")
    if args.child:
        spec = json.loads(args.child)
        out = child(spec["database"], Path(spec["workdir"]), spec["jobs"], args.requests, args.explain,
                    args.proposed_indexes)
        print(json.dumps(out, default=str))
        return

    databases = [] if args.skip_sqlite else ["sqlite"]
    if os.environ.get("BENCH_DATABASE_URL"):
        databases.append(os.environ["BENCH_DATABASE_URL"])
    started = time.perf_counter()
    notes: list[str] = []
    tables: dict[str, list[str]] = {}
    with tempfile.TemporaryDirectory(prefix="guanjia-bench-") as tmp:
        for database in databases:
            runs = []
            for jobs in args.sizes:
                r = _run(database, Path(tmp), jobs, args)
                runs.append(r)
                name = _name(database)
                for page, p in r["pages"].items():
                    tables.setdefault(page, []).append(f"{p['ms']:.0f} ms · {p['queries']}")
                mix = json.dumps(r["mix"], ensure_ascii=False)
                notes.append(f"{name} {jobs:,}: written in {r['write_s']} s; {mix}")
                for page, p in r["pages"].items():
                    notes.append(f"{name} {jobs:,} {page}: SQL {p['sql_ms']} ms in all; slowest {p['slowest_ms']} ms: "
                                 f"{p['slowest_sql'][:400]}")
                    for line in p.get("plan", [])[:14]:
                        notes.append("      " + line)
                print(f"done: {name} {jobs:,} ({time.perf_counter() - started:.0f} s)", file=sys.stderr, flush=True)
            if len(runs) >= 2:
                counts = [{page: p["queries"] for page, p in r["pages"].items()} for r in runs[:2]]
                assert counts[0] == counts[1], f"statement counts depend on the number of jobs: {counts}"
    columns = [f"{_name(d)} {jobs:,}" for d in databases for jobs in args.sizes]
    print("Median of the timed requests · SQL statements per request.\n")
    print("| page | " + " | ".join(columns) + " |")
    print("|---|" + "---:|" * len(columns))
    for page, cells in tables.items():
        print(f"| {page} | " + " | ".join(cells) + " |")
    print("\nData, time in SQL (the driver's execute calls) and the slowest statement of each page:")
    for line in notes:
        print("  " + line)
    print(f"\nTotal {time.perf_counter() - started:.0f} s, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
          f"{os.cpu_count()} CPUs.")


def _name(database: str) -> str:
    return "SQLite" if database == "sqlite" else "PostgreSQL"


def _run(database: str, tmp: Path, jobs: int, args) -> dict:
    workdir = Path(tempfile.mkdtemp(dir=tmp))
    spec = {"database": database, "workdir": str(workdir), "jobs": jobs}
    command = [sys.executable, __file__, "--child", json.dumps(spec), "--requests", str(args.requests)]
    for flag in ("explain", "proposed_indexes"):
        if getattr(args, flag):
            command.append("--" + flag.replace("_", "-"))
    out = subprocess.run(command, capture_output=True, text=True, cwd=ROOT,
                         env={**os.environ, "GUANJIA_INSTANCE_PATH": str(workdir)})
    if out.returncode != 0:
        print(out.stderr[-3000:], file=sys.stderr)
        raise SystemExit(f"run failed: {_name(database)} {jobs:,} work orders")
    return json.loads(out.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
