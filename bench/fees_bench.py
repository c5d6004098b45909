"""Fees benchmark: bill runs for a company of 100,000 households × 3 fee items against a raw INSERT … SELECT of
the same rows, and the arrears and collection pages over 24 months of bills at two sizes (10× apart).

    .venv/bin/python bench/fees_bench.py --households 10000 --sizes 1000 10000          # SQLite, small
    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/guanjia_bench_fees .venv/bin/python \
        bench/fees_bench.py --skip-sqlite                                              # the README's figures

As the other benchmarks: each part is a fresh subprocess on a fresh database (on PostgreSQL the database named in
BENCH_DATABASE_URL is dropped and re-created, and the app connects as a non-owner role so row-level security
applies); the roster is written with core bulk inserts (stewards_bench), then ANALYZEd.

**Bill runs.** Communities of 5,000 households (144 a building, 90 % occupied, the rest vacant or undelivered),
each with three items: 物业费 per gross m² (¥2.50, vacant homes 50 %), 垃圾清运费 fixed (¥10), 电梯费 per m²
(¥0.40). For every community, as the app does it: the preview job, then the issue job (jobs inline), one month.
Reported: the time of all the runs (preview + issue), the bills written, the SQL statements, and the process's
resident memory after the first community and after the last (flat: a run holds one community at a time). The
floor: the same rows copied by one raw ``INSERT … SELECT`` as the database owner (into the next month, so the
unique index takes them), with the same indexes and constraints.

**Pages.** N households, one 物业费 bill a month for 24 months written by ``INSERT … SELECT`` (older months 95 %
paid, the last three 85 %, 70 %, 50 %), so the arrears reach every age bucket and the 30-month flag. As the admin,
through the Flask test client: the arrears page (whole company, one community), the collection page (whole
company, one community) and one household's ledger. One warm-up request, then --requests timed ones: median wall
time and SQL statements per request; the statement counts of the two sizes are asserted equal.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from stewards_bench import _name  # noqa: E402  (the bench folder is on the path just above)

PERIOD = date(2026, 11, 1)
ITEMS = (  # name, kind, unit price in hundredths of a fen, vacant homes pay (%)
    ("物业费", "PER_AREA", 25_000, 50),
    ("垃圾清运费", "FIXED", 100_000, 100),
    ("电梯费", "PER_AREA", 4_000, 100),
)


def _rss_mb() -> tuple[float, float]:
    """(current, peak) resident memory of this process in MB, from /proc (Linux)."""
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    return (int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024)


def _items(communities: list, *, only_first: bool = False) -> dict:
    """Fee items and their rates (effective 2024-01-01) for each community: {community id: [item id]}."""
    from saas.extensions import db
    from tenants.fees.models import AreaBasis, FeeItem, FeeKind, FeeRate

    out: dict = {}
    for community_id in communities:
        for position, (name, kind, price, vacant) in enumerate(ITEMS[:1] if only_first else ITEMS):
            item = FeeItem(community_id=community_id, name=name, kind=FeeKind[kind], position=position,
                           area_basis=AreaBasis.GROSS if kind == "PER_AREA" else None, vacant_percent=vacant)
            db.session.add(item)
            db.session.flush()
            db.session.add(FeeRate(fee_item_id=item.id, effective_from=date(2024, 1, 1), unit_price_cfen=price))
            out.setdefault(community_id, []).append(item.id)
    db.session.commit()
    return out


def _owner_engine(app):
    from sqlalchemy import create_engine

    return create_engine(app.config["BENCH_OWNER_URL"])


def _new_uuid(dialect: str):
    from sqlalchemy import func

    return func.gen_random_uuid() if dialect == "postgresql" else func.lower(func.hex(func.randomblob(16)))


# --- bill runs ------------------------------------------------------------------------------------------------


def child_runs(database: str, workdir: Path, households: int) -> dict:
    from stewards_bench import Queries, _analyze, _company_and_admin, _make_app, _roster

    app = _make_app(database, workdir)
    from sqlalchemy import func, insert, literal, select

    from saas.extensions import db
    from saas.models import User
    from saas.tenancy import company_context
    from tenants.fees import runs
    from tenants.fees.models import Bill, BillRunStatus
    from tenants.roster.models import Community

    out: dict = {"households": households}
    with app.app_context():
        company, admin, _ = _company_and_admin()
        company_id, admin_id = company.id, admin.id
        with company_context(company_id):
            communities, _, _ = _roster(company_id, households, occupied_share=90)
            db.session.commit()
            _items(communities)
        db.session.remove()
        _analyze(app)
        rss_first = None
        seconds = 0.0
        statements = 0
        with company_context(company_id):
            for n, community_id in enumerate(communities):
                community = db.session.get(Community, (company_id, community_id))
                admin = db.session.get(User, admin_id)
                with Queries() as q:
                    started = time.perf_counter()
                    run = runs.start_preview(community, period_kind="month", period_start=PERIOD, actor=admin)
                    db.session.refresh(run)
                    assert run.status == BillRunStatus.PREVIEWED, (run.status, run.error)
                    run = runs.start_issue(run, actor=admin)
                    db.session.refresh(run)
                    seconds += time.perf_counter() - started
                assert run.status == BillRunStatus.ISSUED, (run.status, run.error)
                statements += q.count
                db.session.expunge_all()
                if n == 0:
                    rss_first = _rss_mb()
            out["bills"] = db.session.scalar(select(func.count()).select_from(Bill))
            out["total_fen"] = int(db.session.scalar(select(func.sum(Bill.amount_fen))))
        out.update(communities=len(communities), seconds=round(seconds, 2), statements=statements,
                   rss_first_mb=round(rss_first[0]), rss_last_mb=round(_rss_mb()[0]),
                   peak_first_mb=round(rss_first[1]), peak_last_mb=round(_rss_mb()[1]))

        # The floor: the same rows, copied by one statement as the owner (next month, so the unique index allows).
        table = Bill.__table__
        engine = _owner_engine(app)
        columns = [c for c in table.c if c.name not in ("id", "period_start", "period_end", "due_on")]
        with engine.begin() as conn:
            dialect = conn.dialect.name
            started = time.perf_counter()
            conn.execute(insert(table).from_select(
                ["id", "period_start", "period_end", "due_on"] + [c.name for c in columns],
                select(_new_uuid(dialect), literal(date(2026, 12, 1)), literal(date(2027, 1, 1)),
                       literal(date(2026, 12, 16)), *columns)
                .where(table.c.period_start == PERIOD)))
            out["raw_seconds"] = round(time.perf_counter() - started, 2)
            out["raw_rows"] = conn.scalar(select(func.count()).select_from(table)
                                          .where(table.c.period_start == date(2026, 12, 1)))
        engine.dispose()
    return out


# --- pages ----------------------------------------------------------------------------------------------------


def _history(app, company_id, items: dict, months: int) -> int:
    """One 物业费 bill per household and month for ``months`` months up to PERIOD, by INSERT … SELECT (owner)."""
    from sqlalchemy import String, case, cast, func, insert, literal, select

    from saas.tenancy import utcnow
    from tenants.fees.models import Bill, BillKind
    from tenants.roster.models import Building, Household

    table = Bill.__table__
    starts = []
    y, m = PERIOD.year, PERIOD.month
    for age in range(months):
        starts.append((date(y, m, 1), age))
        y, m = (y, m - 1) if m > 1 else (y - 1, 12)
    engine = _owner_engine(app)
    now = utcnow()
    with engine.begin() as conn:
        dialect = conn.dialect.name
        for community_id, (item_id, *_) in items.items():
            for start, age in starts:
                end = date(start.year + (start.month == 12), start.month % 12 + 1, 1)
                paid_share = {0: 50, 1: 70, 2: 85}.get(age, 95)
                # Which homes paid: a hash of the home and month on PostgreSQL (the same every run), random on SQLite.
                dice = (func.abs(func.hashtext(cast(Household.id, String) + str(age))) % 100
                        if dialect == "postgresql" else func.abs(func.random()) % 100)
                amount = Household.floor_area_dm2 * 5 / 2  # ¥2.50 per m², in fen
                rows = select(
                    literal(company_id, table.c.company_id.type), _new_uuid(dialect),
                    literal(now, table.c.created_at.type), Household.id,
                    literal(community_id, table.c.community_id.type), Household.building_id,
                    literal(BillKind.RUN, table.c.kind.type), literal(item_id, table.c.fee_item_id.type),
                    literal(f"item:{item_id}"), literal(0), literal("物业费"), literal(""), literal(start),
                    literal(end), amount, case((dice < paid_share, amount), else_=0), literal(0),
                    literal(date(start.year, start.month, 16)), literal(""), literal(""),
                ).select_from(Household).join(Building, Building.id == Household.building_id).where(
                    Building.community_id == community_id, Household.company_id == company_id)
                conn.execute(insert(table).from_select(
                    ["company_id", "id", "created_at", "household_id", "community_id", "building_id", "kind",
                     "fee_item_id", "charge_key", "generation", "title", "detail", "period_start", "period_end",
                     "amount_fen", "paid_fen", "credited_fen", "due_on", "late_fee_clause", "reason"], rows))
        written = conn.scalar(select(func.count()).select_from(table))
    engine.dispose()
    return written


def child_pages(database: str, workdir: Path, households: int, months: int, requests: int) -> dict:
    from stewards_bench import Queries, _analyze, _company_and_admin, _make_app, _roster

    app = _make_app(database, workdir)
    from saas.extensions import db
    from saas.tenancy import company_context

    out: dict = {"households": households}
    with app.app_context():
        company, _admin, _ = _company_and_admin()
        company_id, slug = company.id, company.slug
        started = time.perf_counter()
        with company_context(company_id):
            communities, _, homes = _roster(company_id, households, occupied_share=90)
            db.session.commit()
            items = _items(communities, only_first=True)
        db.session.remove()
        out["bills"] = _history(app, company_id, items, months)
        _analyze(app)
        out["setup_s"] = round(time.perf_counter() - started, 1)

    client = app.test_client()
    response = client.post("/login", data={"login": "13800000000", "password": "bench-password-9"})
    assert response.status_code == 303, response.data[:500]

    def measure(url: str, expect: str) -> dict:
        response = client.get(url)  # warm-up
        assert response.status_code == 200, (url, response.status_code, response.data[:500])
        assert expect in response.get_data(as_text=True), (url, expect)
        times, counts = [], set()
        for _ in range(requests):
            with app.app_context():
                q = Queries()
            with q:
                started = time.perf_counter()
                response = client.get(url)
                times.append(time.perf_counter() - started)
            assert response.status_code == 200
            counts.add(q.count)
        assert len(counts) == 1, (url, counts)
        return {"ms": round(statistics.median(times) * 1000, 1), "queries": counts.pop(),
                "slowest_ms": q.summary()["slowest_ms"], "slowest_sql": q.summary()["slowest_sql"]}

    first = communities[0]
    out["pages"] = {
        "arrears": measure(f"/c/{slug}/fees/arrears", "¥"),
        "arrears, one community": measure(f"/c/{slug}/fees/arrears?community_id={first}", "¥"),
        "collection": measure(f"/c/{slug}/fees/collection", "%"),
        "collection, one community": measure(f"/c/{slug}/fees/collection?community_id={first}", "%"),
        "household ledger": measure(f"/c/{slug}/fees/households/{homes[0][0]}", "物业费"),
    }
    return out


# --- the driver -----------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=["runs", "pages"])
    parser.add_argument("--households", type=int, default=100_000, help="bill runs: households of the company")
    parser.add_argument("--sizes", type=int, nargs=2, default=[10_000, 100_000], help="pages: two company sizes")
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--requests", type=int, default=5)
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        spec = json.loads(args.child)
        if spec["part"] == "runs":
            out = child_runs(spec["database"], Path(spec["workdir"]), spec["households"])
        else:
            out = child_pages(spec["database"], Path(spec["workdir"]), spec["households"], args.months,
                              args.requests)
        print(json.dumps(out, default=str))
        return

    databases = [] if args.skip_sqlite else ["sqlite"]
    if os.environ.get("BENCH_DATABASE_URL"):
        databases.append(os.environ["BENCH_DATABASE_URL"])
    started = time.perf_counter()
    notes = []
    with tempfile.TemporaryDirectory(prefix="guanjia-bench-") as tmp:
        if args.only in (None, "runs"):
            print(f"Bill runs: {args.households:,} households in communities of 5,000, 3 items, one month.\n")
            print("| database | runs (preview + issue) | bills | statements | raw INSERT … SELECT | × raw "
                  "| RSS after 1st / last run | peak RSS after 1st / last |")
            print("|---|---:|---:|---:|---:|---:|---:|---:|")
            for database in databases:
                r = _run(database, Path(tmp), {"part": "runs", "households": args.households}, args)
                assert r["raw_rows"] == r["bills"], r
                print(f"| {_name(database)} | {r['seconds']:.1f} s ({r['communities']} runs) | {r['bills']:,} | "
                      f"{r['statements']:,} | {r['raw_seconds']:.1f} s | {r['seconds'] / r['raw_seconds']:.1f}× | "
                      f"{r['rss_first_mb']} / {r['rss_last_mb']} MB | {r['peak_first_mb']} / {r['peak_last_mb']} MB |",
                      flush=True)
            print()
        if args.only in (None, "pages"):
            print(f"Pages over {args.months} months of bills: median of {args.requests} requests · statements.\n")
            results = []
            for database in databases:
                for households in args.sizes:
                    r = _run(database, Path(tmp), {"part": "pages", "households": households}, args)
                    results.append((database, r))
            pages = list(results[0][1]["pages"]) if results else []
            print("| database | households | bills | " + " | ".join(pages) + " |")
            print("|---|---:|---:|" + "---:|" * len(pages))
            for database, r in results:
                cells = " | ".join(f"{p['ms']:.0f} ms · {p['queries']}" for p in r["pages"].values())
                print(f"| {_name(database)} | {r['households']:,} | {r['bills']:,} | {cells} |", flush=True)
                for page, p in r["pages"].items():
                    notes.append(f"{_name(database)} {r['households']:,} {page}: slowest {p['slowest_ms']} ms: "
                                 f"{p['slowest_sql'][:200]}")
            for database in databases:
                counts = [{k: p["queries"] for k, p in r["pages"].items()} for d, r in results if d == database]
                assert len(counts) < 2 or counts[0] == counts[1], f"statement counts depend on the size: {counts}"
            print()
    for line in notes:
        print("  " + line)
    print(f"\nTotal {time.perf_counter() - started:.0f} s, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
          f"{os.cpu_count()} CPUs.")


def _run(database: str, tmp: Path, spec: dict, args) -> dict:
    workdir = Path(tempfile.mkdtemp(dir=tmp))
    spec = {**spec, "database": database, "workdir": str(workdir)}
    command = [sys.executable, __file__, "--child", json.dumps(spec), "--months", str(args.months),
               "--requests", str(args.requests)]
    out = subprocess.run(command, capture_output=True, text=True, cwd=ROOT,
                         env={**os.environ, "GUANJIA_INSTANCE_PATH": str(workdir)})
    if out.returncode != 0:
        print(out.stderr[-4000:], file=sys.stderr)
        raise SystemExit(f"run failed: {_name(database)} {spec['part']}")
    return json.loads(out.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
