"""Pages benchmark: every busy company page, measured from outside as a browser sees it, against a floor.

    .venv/bin/python bench/pages_bench.py                         # seed once if needed, then measure
    .venv/bin/python bench/pages_bench.py --rounds 5 --requests 5 --label after --write-readme
    .venv/bin/python bench/pages_bench.py --reseed                # drop the database and seed it again
    .venv/bin/python bench/pages_bench.py --only "owner: my repairs" --explain

BENCH_DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/guanjia_perf) names a database owned by the
script: it is created, migrated and seeded on the first run and REUSED afterwards (seeding takes about a minute;
`--reseed` starts over). Later runs only migrate it to the head revision, so a new migration's backfill runs on
the seeded data as it would in production. The app connects as the non-owner role ``guanjia_app_bench``, so
row-level security applies.

The data: company "bench" with 20,000 households (four communities of 5,000, 90 % occupied), 400 stewards (360 of
them with 50 homes each, two contacts logged per home), 14 technicians and 6 more stewards who take the jobs,
200,000 work orders over two years (written with COPY; the same mix as work_orders_bench.py), and one owner bound
to one home; plus a second company ("bench-other", 2,000 households, 20,000 work orders) so that every index and
policy has someone else's rows to skip. Then VACUUM ANALYZE (what autovacuum does after a bulk load).

The measurement: the app under gunicorn (2 sync workers, 127.0.0.1) and, beside it, the **floor**: a bare Flask
app in the same venv and gunicorn settings doing one primary-key query (psycopg, a pooled connection) and
rendering a trivial template. A new HTTP connection per request (gunicorn's sync workers close each one), the
session cookie of a sign-in made beforehand. Concurrency 1: --rounds rounds; in each, every page (the floor
included) gets --requests requests in turn, so a disturbance of the shared machine touches all pages alike; a
page's p50 is the median of its per-round medians. Concurrency 8: --rounds rounds too; in each, every page (the
floor included) gets a burst of 8 threads × --c8-requests requests in turn: throughput in requests per second and
p50/p99, the medians of the page's bursts. Statement counts are
taken in-process (Flask test client, a before_cursor_execute listener; row-level security's set_config not
counted) and asserted against EXPECTED_STATEMENTS.

--write-readme puts the table (with the figures of the run labelled "before", kept in bench/results/, if any)
into README.md's "Speed" section and bench/README.md.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results"
DEFAULT_DB = "postgresql://postgres@127.0.0.1:5432/guanjia_perf"
APP_ROLE = "guanjia_app_bench"
SECRET = "pages-bench-secret-key-only-for-this-benchmark-7c1f"
HOUSEHOLDS, JOBS, STEWARDS, PER_STEWARD = 20_000, 200_000, 400, 50
OTHER_HOUSEHOLDS, OTHER_JOBS = 2_000, 20_000
OWNER_PHONE, STEWARD_PHONE, TECHNICIAN_PHONE, ADMIN_PHONE = "13500000000", "13700000000", "13600000000", "13800000000"
# BENCH_PORT moves both servers (the floor on the next port), so two checkouts can measure side by side.
PORT_APP = int(os.environ.get("BENCH_PORT", "5103"))
PORT_FLOOR = PORT_APP + 1
_SET_CONFIG = re.compile(r"\s*SELECT set_config")

# page name → statements per request (asserted after the run; tests/test_speed.py checks they do not grow with the
# data). The dashboard's is with its medians' cache filled: a miss adds the medians (2) and the cache write (1).
EXPECTED_STATEMENTS: dict[str, int] = {
    "owner: my repairs": 4, "work-order dashboard, 26 weeks": 5, "work orders, page 500": 6, "work-order board": 4,
    "stewards overview": 5, "work orders, page 1": 6, "households, search": 6, "households, page 1": 5,
    "steward home (50 homes)": 7, "work-order detail": 6, "technician: my jobs": 4, "company dashboard": 5,
    "household detail": 7, "landing page": 0,
}


# More pages, each group in its own module beside this one (seeded on first use into the same database): a module
# has seeded(app) -> bool, seed(app), pages(app) -> {name: (phone or "", path)} and EXPECTED_STATEMENTS; a phone
# it names signs in with the bench password like the others. A module not there yet is skipped.
EXTENSIONS = ("pages_fees", "pages_public")


def extensions() -> list:
    import importlib

    sys.path.insert(0, str(BENCH))
    found = []
    for name in EXTENSIONS:
        try:
            found.append(importlib.import_module(name))
        except ModuleNotFoundError as error:
            if error.name != name:
                raise
    return found


def _urls() -> tuple[str, str]:
    from sqlalchemy.engine import make_url

    from saas.config import normalise_db_url

    base = make_url(normalise_db_url(os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB)))
    owner = base.render_as_string(hide_password=False)
    app_url = base.set(username=APP_ROLE, password=None).render_as_string(hide_password=False)
    return owner, app_url


def _config() -> dict:
    owner, app_url = _urls()
    return {"SQLALCHEMY_DATABASE_URI": app_url, "MIGRATION_DATABASE_URL": owner, "REDIS_URL": "",
            "SECRET_KEY": SECRET, "RATELIMIT_STORAGE_URI": "memory://", "SESSION_COOKIE_SECURE": False,
            "REMEMBER_COOKIE_SECURE": False, "LOGIN_RATE_LIMIT": "1000 per minute",
            "UPLOAD_FOLDER": str(Path(os.environ.get("GUANJIA_INSTANCE_PATH", "/tmp/guanjia-perf")) / "uploads")}


def make_app():
    """The app as gunicorn serves it here (``pages_bench:make_app()``): production settings, the app role."""
    sys.path.insert(0, str(ROOT))
    import saas.subscriptions.plans as plans

    plans.TRIAL_MAX_HOUSEHOLDS = 10**9
    from saas import app_for_serving

    return app_for_serving(_config())


def make_floor():
    """The floor: a bare Flask app doing one primary-key query and rendering a trivial template."""
    from flask import Flask, render_template_string
    from sqlalchemy import create_engine, text

    _, app_url = _urls()
    engine = create_engine(app_url, pool_size=2)
    app = Flask("floor")
    with engine.connect() as conn:
        company_id = conn.execute(text("SELECT id FROM companies WHERE slug = 'bench'")).scalar_one()

    @app.get("/")
    def index():
        with engine.connect() as conn:
            row = conn.execute(text("SELECT id, name FROM companies WHERE id = :id"), {"id": company_id}).one()
        return render_template_string("<!doctype html><title>{{ name }}</title><p>{{ name }} {{ id }}</p>",
                                      name=row.name, id=row.id)

    return app


# --- the data (once) -----------------------------------------------------------------------------------------


def ensure_database(reseed: bool) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    owner, _ = _urls()
    base = make_url(owner)
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if reseed:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{base.database}" WITH (FORCE)'))
        if not conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": base.database}).first():
            conn.execute(text(f'CREATE DATABASE "{base.database}"'))
        if not conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": APP_ROLE}).first():
            conn.execute(text(f"CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS"))
    admin.dispose()


def migrate(app) -> None:
    from flask_migrate import upgrade
    from sqlalchemy import create_engine

    from saas.cli import grant_app_role

    with app.app_context():
        upgrade()
    engine = create_engine(app.config["MIGRATION_DATABASE_URL"])
    with engine.begin() as conn:
        grant_app_role(conn, APP_ROLE)
    engine.dispose()


def _copy(table, rows) -> None:
    """COPY rows (dicts) into a table, committed. As the owner (a superuser here): PostgreSQL refuses COPY FROM
    on a table whose row-level security applies to the role, so the rows carry their company_id themselves."""
    import enum

    import psycopg

    from saas.extensions import db

    db.session.commit()  # the rows they point to must be visible to the owner's connection
    columns = [c.name for c in table.columns]
    owner, _ = _urls()
    with psycopg.connect(owner.replace("postgresql+psycopg://", "postgresql://")) as conn:
        with conn.cursor() as cursor, cursor.copy(
                f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([v.value if isinstance(v, enum.Enum) else v for v in (row.get(c) for c in columns)])


def seeded(app) -> bool:
    from sqlalchemy import text

    from saas.extensions import db

    with app.app_context():
        return db.session.execute(text("SELECT count(*) FROM companies WHERE slug = 'bench'")).scalar() > 0


def seed(app) -> None:
    sys.path.insert(0, str(BENCH))
    from stewards_bench import _company_and_admin, _insert, _roster, _stewards
    from work_orders_bench import _categories, _homes, _staff, _work_orders

    from saas.extensions import db
    from saas.models import Company, Membership, Role, User
    from saas.tenancy import company_context, new_id, utcnow
    from tenants.roster import figures as roster_figures
    from tenants.roster.models import HouseholdOwner
    from tenants.stewards.models import AssignmentReason, ContactKind, StewardAssignment, StewardContact
    from tenants.work_orders import figures
    from tenants.work_orders.models import WorkOrder

    started = time.perf_counter()
    with app.app_context():
        company, admin, password_hash = _company_and_admin()
        company_id, admin_id = company.id, admin.id
        now = utcnow()
        with company_context(company_id):
            staff = _staff(company_id, password_hash)  # 14 technicians (136…), 6 stewards who take jobs
            stewards = _stewards(company_id, STEWARDS, password_hash)  # 137… by name order
            communities, _, homes = _roster(company_id, HOUSEHOLDS, occupied_share=90)
            occupied = [h for h, is_occupied in homes if is_occupied]
            periods, contacts = [], []
            today = now.date()
            for n, household_id in enumerate(occupied[:PER_STEWARD * STEWARDS]):
                membership_id, user_id = stewards[n // PER_STEWARD]
                periods.append({"company_id": company_id, "id": new_id(), "household_id": household_id,
                                "steward_id": membership_id, "started_at": now, "started_by_id": admin_id,
                                "start_reason": AssignmentReason.AUTO, "note": "", "end_note": "",
                                "created_at": now})
                for c in range(2):
                    contacts.append({"company_id": company_id, "id": new_id(), "household_id": household_id,
                                     "steward_id": membership_id, "author_id": user_id, "created_at": now,
                                     "kind": list(ContactKind)[(n + c) % 3], "note": "上门走访，业主反映楼道灯不亮",
                                     "contacted_on": today - timedelta(days=(n * 7 + c * 150) % 365)})
            _insert(StewardAssignment.__table__, periods)
            _copy(StewardContact.__table__, contacts)
            db.session.flush()
            categories = _categories([m for m, role in staff if role == Role.TECHNICIAN])
            rows = _homes()
            names = {community_id: location.split(" ")[0] for _, _, community_id, location in rows}
            # The owner: bound to the first home two years ago; the jobs of that home reported since are theirs.
            owner_user = User(name="业主甲", phone=OWNER_PHONE, password_hash=password_hash)
            db.session.add(owner_user)
            db.session.flush()
            owner = Membership(user_id=owner_user.id, role=Role.OWNER)
            db.session.add(owner)
            db.session.flush()
            db.session.add(HouseholdOwner(household_id=rows[0][0], membership_id=owner.id,
                                          created_at=now - timedelta(days=800)))
            db.session.flush()
            owner_id = owner.id
            for batch in _work_orders(company_id, JOBS, staff, categories, rows,
                                      [(c, names[c]) for c in communities], now):
                for row in batch[::5_000]:  # 40 jobs reported by the owner (for whatever home)
                    row["reporter_membership_id"] = owner_id
                _copy(WorkOrder.__table__, batch)
            figures.rebuild()  # the dashboard's weekly figures: COPY bypasses the writes that keep them
            roster_figures.rebuild()  # the roster's counts and stewards' loads, likewise
            db.session.commit()
        # Someone else's company, so indexes and policies have rows to skip.
        other = Company(slug="bench-other", name="邻居物业", plan_code="bench", trial_ends_at=now + timedelta(days=30))
        db.session.add(other)
        db.session.commit()
        with company_context(other.id):
            other_staff = _staff(other.id, password_hash, phone_prefix="134")
            other_communities, _, _ = _roster(other.id, OTHER_HOUSEHOLDS, per_community=1_000)
            db.session.flush()
            other_categories = _categories([m for m, role in other_staff if role == Role.TECHNICIAN])
            other_rows = _homes()
            other_names = {c: loc.split(" ")[0] for _, _, c, loc in other_rows}
            for batch in _work_orders(other.id, OTHER_JOBS, other_staff, other_categories, other_rows,
                                      [(c, other_names[c]) for c in other_communities], now, seed=11):
                _copy(WorkOrder.__table__, batch)
            figures.rebuild()
            roster_figures.rebuild()
            db.session.commit()
        db.session.remove()
    _vacuum(app)
    print(f"seeded in {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)


def _vacuum(app) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(app.config["MIGRATION_DATABASE_URL"], isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("VACUUM (ANALYZE)"))
    engine.dispose()


# --- the pages ----------------------------------------------------------------------------------------------


def pages(app) -> dict[str, tuple[str, str]]:
    """page name → (who: a phone or "" for nobody, path), in the issue's order."""
    from sqlalchemy import select, text

    from saas.extensions import db
    from saas.models import Company
    from saas.tenancy import company_context
    from tenants.roster.models import Household
    from tenants.work_orders.models import WorkOrder

    with app.app_context():
        company_id = db.session.execute(select(Company.id).where(Company.slug == "bench")).scalar_one()
        with company_context(company_id):
            order_id = db.session.execute(select(WorkOrder.id).where(WorkOrder.household_id.is_not(None))
                                          .order_by(WorkOrder.created_at.desc()).limit(1)).scalar_one()
            household_id = db.session.execute(
                select(Household.id).order_by(Household.owner_phone).limit(1)).scalar_one()
            page_500 = _page_500_path(db, text)
        db.session.remove()
    c = "/c/bench"
    return {
        "owner: my repairs": (OWNER_PHONE, f"{c}/my/repairs"),
        "work-order dashboard, 26 weeks": (ADMIN_PHONE, f"{c}/work-orders/dashboard?weeks=26"),
        "work orders, page 500": (ADMIN_PHONE, page_500),
        "work-order board": (ADMIN_PHONE, f"{c}/work-orders/board"),
        "stewards overview": (ADMIN_PHONE, f"{c}/stewards"),
        "work orders, page 1": (ADMIN_PHONE, f"{c}/work-orders"),
        "households, search": (ADMIN_PHONE, f"{c}/households?q=1390001"),
        "households, page 1": (ADMIN_PHONE, f"{c}/households"),
        "steward home (50 homes)": (STEWARD_PHONE, f"{c}/steward"),
        "work-order detail": (ADMIN_PHONE, f"{c}/work-orders/{order_id}"),
        "technician: my jobs": (TECHNICIAN_PHONE, f"{c}/work-orders/mine"),
        "company dashboard": (ADMIN_PHONE, f"{c}/"),
        "household detail": (ADMIN_PHONE, f"{c}/households/{household_id}"),
        "landing page": ("", "/"),
    }


def _page_500_path(db, text) -> str:
    """Page 500 of the all-jobs list as the pagination links reach it: with the keyset cursor of page 499's last
    row when the list pages by keyset (saas/pagination.py's ``keyset_token``), else ?page=500."""
    try:
        from saas.pagination import keyset_token
    except ImportError:
        return "/c/bench/work-orders?page=500"
    created_at, order_id = db.session.execute(text(
        "SELECT created_at, id FROM work_orders ORDER BY created_at DESC, id DESC OFFSET :n LIMIT 1"),
        {"n": 499 * 25 - 1}).one()
    return f"/c/bench/work-orders?page=500&after={keyset_token((created_at, order_id))}"


def cookies(app, phones: set[str]) -> dict[str, str]:
    """A signed-in session cookie per phone (the sign-in made in-process against the same database and key)."""
    out = {}
    for phone in phones:
        client = app.test_client()
        response = client.post("/login", data={"login": phone, "password": "bench-password-9"},
                               environ_base={"REMOTE_ADDR": "127.0.0.1"})
        assert response.status_code in (302, 303), (phone, response.status_code, response.data[:300])
        # The page signing in leads to, as a browser follows it: its form token goes into the session, and the
        # browser keeps the cookie that carries it. The cookie of the sign-in itself has none, so every request
        # made with it would make a token and sign and send a new cookie, which no browser does twice.
        landed = client.get(response.location, environ_base={"REMOTE_ADDR": "127.0.0.1"}, follow_redirects=True)
        assert landed.status_code == 200, (phone, landed.status_code, landed.request.path)
        cookie = client.get_cookie("session")
        out[phone] = f"session={cookie.value}"
    return out


def statements(app, cookie_of: dict, table: dict) -> dict[str, int]:
    """Statements per page, counted in-process on a test-client request (the second; the first warms up)."""
    from sqlalchemy import event

    from saas.extensions import db

    out = {}
    with app.app_context():
        engine = db.engine
    for name, (who, path) in table.items():
        client = app.test_client()
        if who:
            client.set_cookie("session", cookie_of[who].split("=", 1)[1])
        response = client.get(path, environ_base={"REMOTE_ADDR": "127.0.0.1"})
        assert response.status_code == 200, (name, response.status_code)
        count = [0]

        def after(conn, cursor, statement, *args, count=count):
            if not _SET_CONFIG.match(statement):
                count[0] += 1

        event.listen(engine, "after_cursor_execute", after)
        try:
            response = client.get(path, environ_base={"REMOTE_ADDR": "127.0.0.1"})
        finally:
            event.remove(engine, "after_cursor_execute", after)
        assert response.status_code == 200, (name, response.status_code)
        out[name] = count[0]
    return out


def explain(app, path_of_page: str, cookie: str) -> None:
    """Print EXPLAIN (ANALYZE, BUFFERS) of every statement of one page, as the app role inside the company."""
    from sqlalchemy import event

    from saas.extensions import db

    captured = []
    with app.app_context():
        engine = db.engine

    def before(conn, cursor, statement, parameters, context, executemany):
        if not _SET_CONFIG.match(statement):
            captured.append((statement, parameters))

    client = app.test_client()
    if cookie:
        client.set_cookie("session", cookie.split("=", 1)[1])
    event.listen(engine, "before_cursor_execute", before)
    try:
        client.get(path_of_page, environ_base={"REMOTE_ADDR": "127.0.0.1"})
    finally:
        event.remove(engine, "before_cursor_execute", before)
    from saas.models import Company
    from saas.tenancy import company_context

    with app.app_context():
        company_id = db.session.query(Company.id).filter(Company.slug == "bench").scalar()
        with company_context(company_id):
            for statement, parameters in captured:
                if not statement.lstrip().upper().startswith("SELECT"):
                    continue
                rows = db.session.connection().exec_driver_sql(
                    "EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters).all()
                print("\n" + " ".join(statement.split())[:600])
                shown = int(os.environ.get("EXPLAIN_ROWS", "25"))  # the top, and the total time
                for row in rows[:shown] + (rows[-1:] if len(rows) > shown else []):
                    print("   ", row[0])
            db.session.rollback()


def profile(app, path_of_page: str, cookie: str, requests: int = 5) -> None:
    """cProfile of a few in-process requests of one page: where the Python time goes."""
    import cProfile
    import pstats

    client = app.test_client()
    if cookie:
        client.set_cookie("session", cookie.split("=", 1)[1])
    client.get(path_of_page, environ_base={"REMOTE_ADDR": "127.0.0.1"})  # warm-up
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(requests):
        client.get(path_of_page, environ_base={"REMOTE_ADDR": "127.0.0.1"})
    profiler.disable()
    stats = pstats.Stats(profiler)
    stats.sort_stats("cumulative").print_stats(35)
    stats.sort_stats("tottime").print_stats(15)


# --- load ---------------------------------------------------------------------------------------------------


def _get(port: int, path: str, cookie: str) -> float:
    started = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Connection": "close", "Accept-Language": "zh-CN"}
    if cookie:
        headers["Cookie"] = cookie
    conn.request("GET", path, headers=headers)
    response = conn.getresponse()
    body = response.read()
    conn.close()
    elapsed = time.perf_counter() - started
    if response.status != 200:
        raise RuntimeError(f"GET {path}: {response.status} {body[:300]!r}")
    return elapsed


def _serve(target: str, port: int, env: dict) -> subprocess.Popen:
    command = [str(ROOT / ".venv/bin/gunicorn"), "--workers", "2", "--worker-class", "sync", "--bind",
               f"127.0.0.1:{port}", "--pythonpath", str(BENCH), "--chdir", str(ROOT), "--log-level", "warning",
               "--timeout", "120", target]
    process = subprocess.Popen(command, env=env, start_new_session=True)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz" if "make_app" in target else "/")
            conn.getresponse().read()
            conn.close()
            return process
        except OSError:
            time.sleep(0.3)
    process.kill()
    raise SystemExit(f"{target} did not start on {port}")


def _stop(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)


def measure(table: dict, cookie_of: dict, rounds: int, requests: int, c8_requests: int, c8: bool) -> dict:
    targets = {"floor": (PORT_FLOOR, "/", "")}
    for name, (who, path) in table.items():
        targets[name] = (PORT_APP, path, cookie_of.get(who, ""))
    # Warm-up: imports, templates, connections, the public pages' cache. Concurrent, so that every worker gets its
    # share: sequential requests mostly reach one worker, and the other's first request of a page (compiling its
    # templates, a public page's first render) then fell in the concurrency-8 run as a stall of up to 0.5 s.
    for port, path, cookie in targets.values():
        threads = [threading.Thread(target=lambda p=port, u=path, c=cookie: [_get(p, u, c) for _ in range(2)])
                   for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    per_round: dict[str, list[float]] = {name: [] for name in targets}
    names = list(targets)
    for r in range(rounds):
        order = names[r % len(names):] + names[:r % len(names)]
        for name in order:
            port, path, cookie = targets[name]
            per_round[name].append(statistics.median(_get(port, path, cookie) for _ in range(requests)))
        print(f"round {r + 1}/{rounds} done", file=sys.stderr, flush=True)
    out = {name: {"p50_ms": statistics.median(v) * 1000} for name, v in per_round.items()}
    if c8:
        # In rounds like concurrency 1: each round a burst per page (the floor included) in turn, rotated, so the
        # floor and every page meet the same drift of the shared machine; a page's figures are the medians of its
        # rounds' (one burst each, the floor's taken first, was a comparison with the machine of a minute before).
        bursts: dict[str, list[tuple[float, float, float]]] = {name: [] for name in names}
        for r in range(rounds):
            order = names[r % len(names):] + names[:r % len(names)]
            for name in order:
                bursts[name].append(_burst(*targets[name], c8_requests))
            print(f"c8 round {r + 1}/{rounds} done", file=sys.stderr, flush=True)
        for name, runs in bursts.items():
            rps, p50, p99 = (statistics.median(run[i] for run in runs) for i in range(3))
            out[name].update(rps=rps, c8_p50_ms=p50 * 1000, c8_p99_ms=p99 * 1000)
            print(f"c8 {name}: {rps:.1f}/s", file=sys.stderr, flush=True)
    return out


def _burst(port: int, path: str, cookie: str, requests: int) -> tuple[float, float, float]:
    """8 threads × ``requests`` requests at once: (requests per second, p50 and p99 latency in seconds)."""
    latencies: list[float] = []
    lock = threading.Lock()

    def worker():
        for _ in range(requests):
            t = _get(port, path, cookie)
            with lock:
                latencies.append(t)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    latencies.sort()
    return len(latencies) / elapsed, statistics.median(latencies), latencies[min(len(latencies) - 1,
                                                                                 int(len(latencies) * 0.99))]


# --- the report ---------------------------------------------------------------------------------------------


def _fmt_ms(ms: float) -> str:
    return f"{ms:,.0f} ms" if ms >= 10 else f"{ms:.1f} ms"


def report(result: dict, before: dict | None) -> str:
    floor = result["pages"]["floor"]
    lines = []
    head = "| page |"
    if before:
        head += " before p50 | before × floor |"
    head += " p50 | × floor | c8 req/s | c8 ÷ floor's | c8 p50 / p99 | statements |"
    lines.append(head)
    lines.append("|---|" + "---:|" * (head.count("|") - 2))
    for name, p in result["pages"].items():
        row = f"| {name} |"
        if before:
            b = before["pages"].get(name)
            row += (f" {_fmt_ms(b['p50_ms'])} | {b['p50_ms'] / before['pages']['floor']['p50_ms']:.1f}× |"
                    if b else " – | – |")
        ratio = p["p50_ms"] / floor["p50_ms"]
        c8 = (f" {p['rps']:.0f} | {p['rps'] / floor['rps']:.2f} | {_fmt_ms(p['c8_p50_ms'])} / "
              f"{_fmt_ms(p['c8_p99_ms'])} |" if "rps" in p else " – | – | – |")
        row += f" {_fmt_ms(p['p50_ms'])} | {ratio:.1f}× |{c8} {result['statements'].get(name, 0)} |"
        lines.append(row)
    lines.append("")
    lines.append(f"Measured {result['when']} on the development container ({os.cpu_count()} cores shared with other "
                 f"work; times vary by ±30 % between runs): {result['rounds']} rounds × {result['requests']} "
                 f"requests per page at concurrency 1; at concurrency 8, {result['rounds']} rounds of a burst of "
                 f"8 × {result['c8_requests']} per page (medians of the bursts).")
    if before:
        lines.append(f"\"before\": the same benchmark on the code before the fixes ({before['when']}).")
    return "\n".join(lines)


def write_readmes(text: str) -> None:
    start, end = "<!-- pages-bench:start -->", "<!-- pages-bench:end -->"
    for path in (ROOT / "README.md", BENCH / "README.md"):
        content = path.read_text()
        if start in content:
            content = re.sub(re.escape(start) + ".*?" + re.escape(end), lambda _: f"{start}\n{text}\n{end}",
                             content, flags=re.S)
        else:
            content = content.rstrip() + f"\n\n{start}\n{text}\n{end}\n"
        path.write_text(content)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reseed", action="store_true", help="drop the database and seed it again")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=5, help="requests per page per round at concurrency 1")
    parser.add_argument("--c8-requests", type=int, default=16,
                        help="requests per thread at concurrency 8 (bursts of 8 x 4 lasted 0.15 s, their start and "
                             "tail a large part of that)")
    parser.add_argument("--no-c8", action="store_true", help="concurrency 1 only")
    parser.add_argument("--only", nargs="*", help="page names to measure (the floor always)")
    parser.add_argument("--explain", action="store_true", help="EXPLAIN (ANALYZE, BUFFERS) the --only pages")
    parser.add_argument("--profile", action="store_true", help="cProfile the --only pages (in-process)")
    parser.add_argument("--label", default="", help="save the figures as bench/results/pages-<label>.json")
    parser.add_argument("--write-readme", action="store_true", help="write the table into the READMEs")
    args = parser.parse_args()

    os.environ.setdefault("GUANJIA_INSTANCE_PATH", "/tmp/guanjia-perf")
    sys.path.insert(0, str(ROOT))
    ensure_database(args.reseed)
    app = make_app()
    migrate(app)
    if not seeded(app):
        seed(app)
    groups = extensions()
    for group in groups:
        if not group.seeded(app):
            group.seed(app)
            _vacuum(app)
    app.config.update(WTF_CSRF_ENABLED=False)
    table = pages(app)
    expected = dict(EXPECTED_STATEMENTS)
    for group in groups:
        table.update(group.pages(app))
        expected.update(group.EXPECTED_STATEMENTS)
    if args.only:
        table = {k: v for k, v in table.items() if k in args.only}
    cookie_of = cookies(app, {who for who, _ in table.values() if who})
    counts = statements(app, cookie_of, table)
    print(json.dumps(counts, ensure_ascii=False, indent=1), file=sys.stderr)
    if args.explain:
        for name, (who, path) in table.items():
            print(f"\n===== {name}: {path}")
            explain(app, path, cookie_of.get(who, ""))
        return
    if args.profile:
        for name, (who, path) in table.items():
            print(f"\n===== {name}: {path}")
            profile(app, path, cookie_of.get(who, ""))
        return
    wrong = {k: (counts[k], v) for k, v in expected.items() if k in counts and counts[k] != v}
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    app_server = _serve("pages_bench:make_app()", PORT_APP, env)
    floor_server = _serve("pages_bench:make_floor()", PORT_FLOOR, env)
    try:
        figures = measure(table, cookie_of, args.rounds, args.requests, args.c8_requests, not args.no_c8)
    finally:
        _stop(app_server)
        _stop(floor_server)
    result = {"when": f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC", "rounds": args.rounds, "requests": args.requests,
              "c8_requests": args.c8_requests, "pages": figures, "statements": counts}
    if args.label:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / f"pages-{args.label}.json").write_text(json.dumps(result, ensure_ascii=False, indent=1))
    before_file = RESULTS / "pages-before.json"
    before = json.loads(before_file.read_text()) if before_file.exists() and args.label != "before" else None
    text_table = report(result, before)
    print(text_table)
    if args.write_readme:
        write_readmes(text_table)
    if wrong:
        raise SystemExit(f"statement counts differ from EXPECTED_STATEMENTS (got, expected): {wrong}")


if __name__ == "__main__":
    main()
