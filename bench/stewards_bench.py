"""Stewards benchmark: auto-assign on one large community, and the stewards pages at two company sizes.

    .venv/bin/python bench/stewards_bench.py                      # SQLite
    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/guanjia_bench_stewards .venv/bin/python \
        bench/stewards_bench.py                                   # SQLite, then PostgreSQL
    .venv/bin/python bench/stewards_bench.py --only pages --sizes 20000:400 2000:40 --requests 10

Each run is a fresh subprocess on a fresh database (on PostgreSQL the database named in BENCH_DATABASE_URL is
dropped and re-created, and the app connects as a non-owner role so row-level security applies, as in
production). The data is written with bulk inserts inside company_context(), company_id given explicitly;
on PostgreSQL the tables are then ANALYZEd (what autovacuum does in production; see _analyze()).

auto    One community of N occupied households (buildings of 4 units × 2 homes × 18 floors = 144 households,
        rooms numbered like 1201; the last building partly built) and S stewards of capacity 50 with nothing
        else to do (fixed_load 0). Measured, each from a fresh session as a request would start:
          propose     services.propose(rebalance=False) with no assignments yet; "planner" is the part spent
                      in planner.plan alone, the rest is loading (queries, ORM objects, the planner's input)
          apply       services.apply_proposal() with the digest of that proposal: it plans again, then locks
                      the households, writes the N new periods and commits
          again       propose once more: it must propose no move (asserted)
          rebalance   propose(rebalance=True) on the applied assignments
        The read-only steps run five times (median); apply once. SQL statements are counted with a
        before_cursor_execute listener on db.engine (PostgreSQL's per-transaction set_config for row-level
        security is not counted, as in tests/conftest.py).

pages   A company of H households (communities of up to 5,000, same buildings; 90 % occupied) and S stewards
        of capacity 50 (every 25th has its own capacity of 40, so a few are over it), the occupied households
        given 44 at a time to the stewards in roster order until they run out (most are assigned, a few hundred
        are not), two contacts logged per assigned household over the past year. Through the Flask test client,
        logged in as the company admin: the overview, the overview of one community, the assign page of one
        building; logged in as a steward: the steward's home. One warm-up request, then --requests timed ones:
        median wall time and SQL statements per request. The statement count must not depend on the size of the
        company: it is asserted equal between the sizes given (the first two: 20,000 and 2,000 by default).

The plan limit (10,000 households at most) is raised for the run.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "bench-password-9"
UNITS, FLOORS, HOMES = 4, 18, 2  # 144 households a building
PER_BUILDING = UNITS * FLOORS * HOMES
COMMUNITY_NAMES = ("阳光花园", "锦绣华庭", "翠湖湾", "金色家园", "东方明珠苑", "滨江壹号", "紫荆苑", "书香门第")
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
CHUNK = 5_000
_SET_CONFIG = re.compile(r"\s*SELECT set_config")


# --- one run, in a child process ----------------------------------------------------------------------------


def _make_app(database: str, workdir: Path):
    sys.path.insert(0, str(ROOT))
    from import_bench import bench_app  # same fresh database and non-owner app role as the import bench

    import saas.subscriptions.plans as plans

    plans.TRIAL_MAX_HOUSEHOLDS = 10**9  # the largest plan holds 10,000; the bench goes further
    return bench_app(database, workdir, {
        "TESTING": True, "WTF_CSRF_ENABLED": False, "RATELIMIT_STORAGE_URI": "memory://",
        "LOGIN_RATE_LIMIT": "1000 per minute", "SERVER_NAME": None, "BABEL_DEFAULT_LOCALE": "en",
    })


def _analyze(app) -> None:
    """PostgreSQL: refresh the planner's statistics after a bulk write, as autovacuum would within a minute.

    Without them (a fresh table, or autovacuum off as on the development container) the planner takes the
    tables for empty and picks nested loops: loads() alone then takes over a minute at 20,000 households."""
    from sqlalchemy import create_engine, text

    owner = app.config["BENCH_OWNER_URL"]
    if owner.startswith("sqlite"):
        return
    engine = create_engine(owner, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("ANALYZE"))
    engine.dispose()


class Queries:
    """SQL statements sent while the block runs (set_config excluded), with the slowest one and its time."""

    def __init__(self):
        from saas.extensions import db

        self.engine = db.engine
        self.count = 0
        self.seconds = 0.0  # in the driver's execute calls (on SQLite rows are mostly fetched afterwards)
        self.slowest = (0.0, "")

    def _before(self, conn, cursor, statement, parameters, context, executemany):
        conn.info["bench_started"] = time.perf_counter()

    def _after(self, conn, cursor, statement, parameters, context, executemany):
        if _SET_CONFIG.match(statement):
            return
        self.count += 1
        seconds = time.perf_counter() - conn.info.pop("bench_started", time.perf_counter())
        self.seconds += seconds
        if seconds > self.slowest[0]:
            self.slowest = (seconds, " ".join(statement.split()))

    def __enter__(self):
        from sqlalchemy import event

        event.listen(self.engine, "before_cursor_execute", self._before)
        event.listen(self.engine, "after_cursor_execute", self._after)
        return self

    def __exit__(self, *exc):
        from sqlalchemy import event

        event.remove(self.engine, "before_cursor_execute", self._before)
        event.remove(self.engine, "after_cursor_execute", self._after)
        return False

    def summary(self) -> dict:
        return {"queries": self.count, "sql_ms": round(self.seconds * 1000, 1),
                "slowest_ms": round(self.slowest[0] * 1000, 1),
                "slowest_sql": self.slowest[1][:600]}


def _code(i: int) -> str:
    from tenants.roster.codes import ALPHABET as CODE_ALPHABET

    digits = []
    for _ in range(8):
        i, r = divmod(i, len(CODE_ALPHABET))
        digits.append(CODE_ALPHABET[r])
    return "".join(reversed(digits))


def _insert(table, rows: list[dict]) -> None:
    from saas.extensions import db

    for start in range(0, len(rows), CHUNK):
        db.session.execute(table.insert(), rows[start:start + CHUNK])


def _company_and_admin():
    """The company (a trial that ends in 30 days: not read-only) and its admin, committed."""
    from werkzeug.security import generate_password_hash

    from saas.extensions import db
    from saas.models import Company, Membership, Role, User
    from saas.tenancy import company_context, utcnow

    password_hash = generate_password_hash(PASSWORD, method="scrypt")  # once: scrypt is slow on purpose
    company = Company(slug="bench", name="基准物业", plan_code="bench", trial_ends_at=utcnow() + timedelta(days=30))
    admin = User(name="管理员", phone="13800000000", password_hash=password_hash)
    db.session.add_all([company, admin])
    db.session.commit()
    with company_context(company.id):
        db.session.add(Membership(user_id=admin.id, role=Role.ADMIN))
        db.session.commit()
    assert not company.is_read_only()
    return company, admin, password_hash


def _stewards(company_id, n: int, password_hash: str) -> list[tuple]:
    """n steward users and memberships (core inserts); [(membership id, user id)] in name order."""
    from saas.models import Membership, Role, User
    from saas.tenancy import new_id, utcnow

    now = utcnow()
    out = [(new_id(), new_id()) for _ in range(n)]
    _insert(User.__table__, [{"id": user_id, "name": f"管家{k + 1:03d}", "phone": f"137{k:08d}",
                              "password_hash": password_hash, "created_at": now} for k, (_, user_id) in enumerate(out)])
    _insert(Membership.__table__, [{"company_id": company_id, "id": membership_id, "user_id": user_id,
                                    "role": Role.STEWARD, "created_at": now} for membership_id, user_id in out])
    return out


def _roster(company_id, households: int, occupied_share: int = 100,
            per_community: int = 5_000) -> tuple[list, list, list]:
    """Communities of up to ``per_community`` households in buildings of 144 (core inserts).

    Returns (community ids, building ids, [(household id, occupied)] in roster order)."""
    from saas.tenancy import new_id, utcnow
    from tenants.roster.models import Building, Community, Household, Occupancy

    now = utcnow()
    communities, buildings, homes = [], [], []
    community_rows, building_rows, household_rows = [], [], []
    for c in range((households + per_community - 1) // per_community):
        community_id = new_id()
        communities.append(community_id)
        community_rows.append({"company_id": company_id, "id": community_id, "created_at": now,
                               "name": COMMUNITY_NAMES[c % len(COMMUNITY_NAMES)] + ("" if c < 8 else str(c)),
                               "address": f"滨江路 {c + 1} 号"})
        in_community = min(per_community, households - c * per_community)
        for b in range((in_community + PER_BUILDING - 1) // PER_BUILDING):
            building_id = new_id()
            buildings.append(building_id)
            building_rows.append({"company_id": company_id, "id": building_id, "community_id": community_id,
                                  "name": f"{b + 1}号楼", "created_at": now})
            for j in range(min(PER_BUILDING, in_community - b * PER_BUILDING)):
                i = len(homes)
                unit, rest = divmod(j, FLOORS * HOMES)
                floor, home = divmod(rest, HOMES)
                share = (i * 37) % 100
                occupancy = (Occupancy.OCCUPIED if share < occupied_share else
                             Occupancy.VACANT if share < occupied_share + (100 - occupied_share) * 2 // 3
                             else Occupancy.UNDELIVERED)
                household_id = new_id()
                homes.append((household_id, occupancy == Occupancy.OCCUPIED))
                household_rows.append({
                    "company_id": company_id, "id": household_id, "building_id": building_id,
                    "unit": str(unit + 1), "room": f"{floor + 1}{home + 1:02d}", "floor_area_dm2": 8000 + i * 7 % 4000,
                    "occupancy": occupancy, "owner_name": f"{SURNAMES[i % 20]}{i % 997}", "owner_phone": f"139{i:08d}",
                    "household_code": _code(i), "created_at": now})
    _insert(Community.__table__, community_rows)
    _insert(Building.__table__, building_rows)
    _insert(Household.__table__, household_rows)
    return communities, buildings, homes


def child_auto(database: str, workdir: Path, households: int, stewards: int) -> dict:
    app = _make_app(database, workdir)
    from sqlalchemy import func, select

    from saas.extensions import db
    from saas.models import User
    from saas.tenancy import company_context
    from tenants.roster import figures as roster_figures
    from tenants.stewards import planner, services
    from tenants.stewards.models import StewardAssignment

    planner_seconds: list[float] = []
    plan = planner.plan

    def timed_plan(*args, **kwargs):
        started = time.perf_counter()
        try:
            return plan(*args, **kwargs)
        finally:
            planner_seconds.append(time.perf_counter() - started)

    planner.plan = timed_plan  # services calls planner.plan through the module: this sees every call

    results: dict = {}
    with app.app_context():
        company, admin, password_hash = _company_and_admin()
        company_id, admin_id = company.id, admin.id
        with company_context(company_id):
            started = time.perf_counter()
            _stewards(company_id, stewards, password_hash)
            (community_id,), _, homes = _roster(company_id, households, per_community=households)
            roster_figures.rebuild()  # core inserts bypass the writes that keep the roster's counts
            db.session.commit()
            _analyze(app)
            results["setup_s"] = round(time.perf_counter() - started, 2)
            assert len(homes) == households and all(occupied for _, occupied in homes)

            def measured(name: str, rebalance: bool, runs: int = 5):
                """propose() from a fresh session: medians of ``runs`` of the whole and of planner.plan in it."""
                times = []
                planner_seconds.clear()
                for _ in range(runs):
                    db.session.remove()
                    with Queries() as q:
                        started = time.perf_counter()
                        proposal = services.propose(community_id, rebalance=rebalance)
                        times.append(time.perf_counter() - started)
                results[name] = {"seconds": round(statistics.median(times), 3),
                                 "planner_s": round(statistics.median(planner_seconds), 3),
                                 "moves": len(proposal.plan.moves), **q.summary()}
                return proposal

            proposal = measured("propose", rebalance=False)
            assert len(proposal.plan.moves) == households, len(proposal.plan.moves)
            assert not proposal.plan.unassigned and proposal.plan.stewards_missing == 0
            # What the preview form carries: Proposal.digest() (outcome and moves) where the app has it.
            digest = proposal.digest() if hasattr(proposal, "digest") else proposal.plan.digest()
            outcome = proposal.plan.digest()

            db.session.remove()
            actor = db.session.get(User, admin_id)
            planner_seconds.clear()
            started = time.perf_counter()
            with Queries() as q:
                services.apply_proposal(community_id, rebalance=False, digest=digest, actor=actor, notify=False)
            results["apply"] = {"seconds": round(time.perf_counter() - started, 3),
                                "planner_s": round(planner_seconds[-1], 3), "moves": households, **q.summary()}
            db.session.remove()
            current = db.session.scalar(select(func.count()).select_from(StewardAssignment)
                                        .where(StewardAssignment.ended_at.is_(None)))
            assert current == households, current
            assert max(services.loads().values()) <= 50
            _analyze(app)

            again = measured("again", rebalance=False)
            assert not again.plan.moves, f"a second propose proposed {len(again.plan.moves)} moves"
            assert again.plan.digest() == outcome
            measured("rebalance", rebalance=True)
            db.session.remove()
    return results


def child_pages(database: str, workdir: Path, households: int, stewards: int, requests: int,
                contacts: int) -> dict:
    app = _make_app(database, workdir)
    from saas.extensions import db
    from saas.tenancy import company_context, new_id, utcnow
    from tenants.roster import figures as roster_figures
    from tenants.stewards.models import (
        AssignmentReason,
        ContactKind,
        StewardAssignment,
        StewardContact,
        StewardProfile,
    )

    per_steward = 44
    results: dict = {"households": households, "stewards": stewards}
    with app.app_context():
        company, admin, password_hash = _company_and_admin()
        company_id, slug, admin_id = company.id, company.slug, admin.id
        started = time.perf_counter()
        with company_context(company_id):
            staff = _stewards(company_id, stewards, password_hash)
            communities, buildings, homes = _roster(company_id, households, occupied_share=90)
            now = utcnow()
            today = date.today()
            _insert(StewardProfile.__table__, [
                {"company_id": company_id, "id": new_id(), "membership_id": membership_id, "created_at": now,
                 "capacity": 40 if k % 25 == 0 else None, "work_phone": f"0571{k:08d}"[:12],
                 "working_hours": "周一至周五 9:00-18:00"}
                for k, (membership_id, _) in enumerate(staff) if k % 5 == 0])
            occupied = [household_id for household_id, is_occupied in homes if is_occupied]
            periods, logged = [], []
            for n, household_id in enumerate(occupied[:per_steward * stewards]):
                membership_id, user_id = staff[n // per_steward]
                periods.append({"company_id": company_id, "id": new_id(), "household_id": household_id,
                                "steward_id": membership_id, "started_at": now, "started_by_id": admin_id,
                                "start_reason": AssignmentReason.AUTO, "note": "", "end_note": "", "created_at": now})
                for c in range(contacts):
                    logged.append({"company_id": company_id, "id": new_id(), "household_id": household_id,
                                   "steward_id": membership_id, "author_id": user_id, "created_at": now,
                                   "kind": list(ContactKind)[(n + c) % 3], "note": "上门走访，业主反映楼道灯不亮",
                                   "contacted_on": today - timedelta(days=(n * 7 + c * 150) % 365)})
            _insert(StewardAssignment.__table__, periods)
            _insert(StewardContact.__table__, logged)
            roster_figures.rebuild()  # core inserts bypass the writes that keep the roster's counts
            db.session.commit()
        db.session.remove()
        _analyze(app)
        results.update(setup_s=round(time.perf_counter() - started, 2), assigned=len(periods),
                       unassigned_occupied=len(occupied) - len(periods), contacts=len(logged))
    steward_phone = "13700000000"  # the first steward by name: 44 households

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
                q = Queries()
            with q:
                started = time.perf_counter()
                response = client.get(url)
                times.append(time.perf_counter() - started)
            assert response.status_code == 200, (url, response.status_code)
            counts.add(q.count)
            sql.append(q.seconds)
            if slowest is None or q.slowest[0] > slowest["slowest_ms"] / 1000:
                slowest = q.summary()
        assert len(counts) == 1, f"{url}: the query count varies between identical requests: {sorted(counts)}"
        return {"ms": round(statistics.median(times) * 1000, 1), "queries": counts.pop(),
                "sql_ms": round(statistics.median(sql) * 1000, 1),
                "slowest_ms": slowest["slowest_ms"], "slowest_sql": slowest["slowest_sql"]}

    admin_client = login("13800000000")
    results["pages"] = {
        "overview": measure(admin_client, f"/c/{slug}/stewards", "管家001"),
        "overview, one community": measure(admin_client, f"/c/{slug}/stewards?community_id={communities[0]}",
                                           "管家001"),
        "assign, one building": measure(admin_client, f"/c/{slug}/stewards/assign?building_id={buildings[0]}",
                                        "1201"),
        "steward home": measure(login(steward_phone), f"/c/{slug}/steward", "1号楼"),
    }
    return results


# --- the driver ---------------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=["auto", "pages"], help="run one part only")
    parser.add_argument("--households", type=int, default=5_000, help="auto-assign: households in the community")
    parser.add_argument("--stewards", type=int, default=100, help="auto-assign: stewards of capacity 50")
    parser.add_argument("--sizes", nargs="+", default=["20000:400", "2000:40"], metavar="HOUSEHOLDS:STEWARDS",
                        help="pages: company sizes (the query counts of the first two must be equal)")
    parser.add_argument("--requests", type=int, default=10, help="pages: timed requests per page")
    parser.add_argument("--contacts", type=int, default=2, help="pages: contacts logged per assigned household")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        spec = json.loads(args.child)
        if spec["part"] == "auto":
            out = child_auto(spec["database"], Path(spec["workdir"]), args.households, args.stewards)
        else:
            out = child_pages(spec["database"], Path(spec["workdir"]), spec["households"], spec["stewards"],
                              args.requests, args.contacts)
        print(json.dumps(out, default=str))
        return

    databases = ["sqlite"]
    if os.environ.get("BENCH_DATABASE_URL"):
        databases.append(os.environ["BENCH_DATABASE_URL"])
    sizes = [tuple(int(x) for x in size.split(":")) for size in args.sizes]
    slow: list[str] = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="guanjia-bench-") as tmp:
        tmp_path = Path(tmp)
        if args.only in (None, "auto"):
            print(f"Auto-assign: one community of {args.households:,} occupied households, {args.stewards} "
                  "stewards of capacity 50, no assignments yet.\n")
            print("| database | propose (planner) | propose queries | apply | apply queries | again | rebalance |")
            print("|---|---:|---:|---:|---:|---:|---:|")
            for database in databases:
                r = _run(database, tmp_path, {"part": "auto"}, args)
                name = _name(database)
                print(f"| {name} | {_s(r['propose'])} ({_s(r['propose'], 'planner_s')}) | {r['propose']['queries']} | "
                      f"{_s(r['apply'])} | {r['apply']['queries']} | {_s(r['again'])} · {r['again']['moves']} moves | "
                      f"{_s(r['rebalance'])} · {r['rebalance']['moves']} moves |", flush=True)
                for step in ("propose", "apply", "again", "rebalance"):
                    q = r[step]
                    slow.append(f"{name} {step}: SQL {q['sql_ms']} ms in all; slowest {q['slowest_ms']} ms: "
                                f"{q['slowest_sql'][:300]}")
            print()
        if args.only in (None, "pages"):
            print("Pages: median of the timed requests · SQL statements per request.\n")
            print("| database | households | stewards | overview | overview, one community | assign, one building "
                  "| steward home |")
            print("|---|---:|---:|---:|---:|---:|---:|")
            for database in databases:
                runs = []
                for households, stewards in sizes:
                    r = _run(database, tmp_path, {"part": "pages", "households": households, "stewards": stewards},
                             args)
                    runs.append(r)
                    cells = " | ".join(f"{p['ms']:.0f} ms · {p['queries']}" for p in r["pages"].values())
                    print(f"| {_name(database)} | {households:,} | {stewards} | {cells} |", flush=True)
                    slow.append(f"{_name(database)} {households:,}: data {r['assigned']:,} households assigned, "
                                f"{r['unassigned_occupied']:,} occupied without a steward, {r['contacts']:,} contacts, "
                                f"written in {r['setup_s']} s")
                    for page, p in r["pages"].items():
                        slow.append(f"{_name(database)} {households:,} {page}: SQL {p['sql_ms']} ms in all; "
                                    f"slowest {p['slowest_ms']} ms: {p['slowest_sql'][:300]}")
                if len(runs) >= 2:
                    counts = [{page: p["queries"] for page, p in r["pages"].items()} for r in runs[:2]]
                    assert counts[0] == counts[1], f"query counts depend on the company's size: {counts}"
            print()
    print("Time in SQL (the driver's execute calls) and the slowest statement of each measurement:")
    for line in slow:
        print("  " + line)
    print(f"\nTotal {time.perf_counter() - started:.0f} s, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
          f"{os.cpu_count()} CPUs.")


def _name(database: str) -> str:
    return "SQLite" if database == "sqlite" else "PostgreSQL"


def _s(result: dict, key: str = "seconds") -> str:
    return f"{result[key]:.2f} s" if result[key] >= 0.1 else f"{result[key] * 1000:.0f} ms"


def _run(database: str, tmp: Path, spec: dict, args) -> dict:
    workdir = Path(tempfile.mkdtemp(dir=tmp))
    spec = {**spec, "database": database, "workdir": str(workdir)}
    command = [sys.executable, __file__, "--child", json.dumps(spec), "--households", str(args.households),
               "--stewards", str(args.stewards), "--requests", str(args.requests), "--contacts", str(args.contacts)]
    out = subprocess.run(command, capture_output=True, text=True, cwd=ROOT,
                         env={**os.environ, "GUANJIA_INSTANCE_PATH": str(workdir)})
    if out.returncode != 0:
        print(out.stderr[-3000:], file=sys.stderr)
        raise SystemExit(f"run failed: {_name(database)} {spec['part']}")
    return json.loads(out.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
