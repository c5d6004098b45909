"""QR intake benchmark: concurrent reports through the real no-login form, on a real threaded server.

    .venv/bin/python bench/intake_bench.py                      # SQLite
    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/guanjia_bench_intake .venv/bin/python \
        bench/intake_bench.py                                   # SQLite, then PostgreSQL
    .venv/bin/python bench/intake_bench.py --reports 400 --threads 16 --photos
    BENCH_DATABASE_URL=... .venv/bin/python bench/intake_bench.py --skip-sqlite --photos   # PostgreSQL only

Before / after a change to the intake (issue 14 moved the number counter's lock to just before the commit): run
this file from a checkout of each version in turn, one right after the other, and compare (bench/README.md).

For each database a child process makes a fresh database (on PostgreSQL the one named in BENCH_DATABASE_URL is
dropped and re-created, and the app connects as a non-owner role so row-level security applies), one company
with the default categories, a technician qualified for "其他" (so every report is assigned and texts two
people, as in production) and one poster, then serves the app with werkzeug's threaded server on 127.0.0.1.
This process is the load generator (a separate process, so it does not compete with the server for the GIL):
--threads workers send --reports reports in all, each as a person does, on its own cookie session: GET the form
(which hands out the CSRF token and the signed form ticket), then POST it (multipart, like a browser; with
--photos one 1600×1200 JPEG of about 200 KB each) and expect the 303 to the receipt. Every report has its own
mobile number.

Raised for the run, and only for it: the limits per network address and per poster (all reports come from
127.0.0.1 to one poster) and the minimum age of a form ticket (0 instead of 3 seconds: the load generator posts
at once). The ticket is still signed, checked and single-use; the CSRF check stays on; limits in memory.

Reported: reports per second over the whole run (GET + POST), the latency of the POST and of the whole
GET + POST, p50 and p95, and whether the job numbers are unique and consecutive (WO-<year>-000001 … N, no gap,
no repeat). The run is bounded: requests time out after 30 s, the whole load after 90 s.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor, wait
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REQUEST_TIMEOUT = 30
LOAD_DEADLINE = 90
_CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
_TICKET = re.compile(r'name="ticket" type="hidden" value="([^"]+)"')


# --- the server, in a child process -------------------------------------------------------------------------


def _make_app(database: str, workdir: Path):
    sys.path.insert(0, str(ROOT))
    from import_bench import bench_app  # same fresh database and non-owner app role as the import bench

    # Production settings (not TESTING: CSRF on, errors handled as in production), with what a bench needs.
    engine_options = {"pool_pre_ping": True}
    if database == "sqlite" and os.environ.get("BENCH_SQLITE_TIMEOUT"):
        engine_options["connect_args"] = {"timeout": float(os.environ["BENCH_SQLITE_TIMEOUT"])}
    return bench_app(database, workdir, {
        "SQLALCHEMY_ENGINE_OPTIONS": engine_options,
        "RATELIMIT_STORAGE_URI": "memory://", "SECRET_KEY": secrets.token_hex(32),
        "SESSION_COOKIE_SECURE": False,  # plain http on the loopback
        "BABEL_DEFAULT_LOCALE": "zh_CN",
        "INTAKE_LIMITS": {"phone": "10 per day", "identical": "2 per day", "ip": "1000000 per day",
                          "point": "1000000 per hour", "min_seconds": 0, "max_seconds": 2 * 3600},
    })


def _seed(app) -> str:
    """One company, its default categories, a technician for "其他", one poster; returns the poster's token."""
    from sqlalchemy import select

    from saas.extensions import db
    from saas.models import Company, Membership, Role, User
    from saas.tenancy import company_context
    from tenants.roster.models import Building, Community
    from tenants.work_orders import points, services
    from tenants.work_orders.models import CategoryTechnician, WorkOrderCategory

    with app.app_context():
        company = Company(slug="bench", name="基准物业", complaint_phone="0991-1234567")
        admin = User(name="基准管理员", phone="13800000000", password_hash="x")
        technician = User(name="基准师傅", phone="13800000001", password_hash="x")
        db.session.add_all([company, admin, technician])
        db.session.commit()
        with company_context(company.id):
            db.session.add(Membership(user_id=admin.id, role=Role.ADMIN))
            tech = Membership(user_id=technician.id, role=Role.TECHNICIAN)
            db.session.add(tech)
            community = Community(name="阳光花园")
            db.session.add(community)
            db.session.flush()
            building = Building(community_id=community.id, name="3号楼")
            db.session.add(building)
            services.ensure_default_categories()
            other = db.session.execute(select(WorkOrderCategory).where(WorkOrderCategory.name == "其他")).scalar_one()
            db.session.add(CategoryTechnician(category_id=other.id, membership_id=tech.id))
            db.session.commit()
            point = points.create_point(name="1单元 电梯", community_id=community.id, building_id=building.id,
                                        category_id=None, actor=admin)
            token = point.token
        db.session.remove()
    return token


def _check(app) -> dict:
    """The jobs made: how many, and whether their numbers are 1..N without gap or repeat."""
    from sqlalchemy import select

    from saas.extensions import db
    from saas.models import Company
    from saas.notifications.models import OutboxMessage
    from saas.tenancy import company_context
    from tenants.work_orders.models import WorkOrder

    with app.app_context():
        company = db.session.execute(select(Company).where(Company.slug == "bench")).scalar_one()
        with company_context(company.id):
            numbers = db.session.execute(select(WorkOrder.number)).scalars().all()
            sms = len(db.session.execute(select(OutboxMessage.id)).scalars().all())
    values = sorted(int(n.rsplit("-", 1)[1]) for n in numbers)
    return {"jobs": len(numbers), "unique": len(set(numbers)) == len(numbers),
            "consecutive": values == list(range(1, len(values) + 1)), "sms": sms}


def child(database: str, workdir: Path) -> None:
    import logging

    from werkzeug.serving import make_server

    app = _make_app(database, workdir)
    token = _seed(app)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(json.dumps({"port": server.server_port, "token": token}), flush=True)
    sys.stdin.readline()  # the driver says when the load is over
    server.shutdown()
    print(json.dumps(_check(app)), flush=True)


# --- the load generator ---------------------------------------------------------------------------------------


def _photo() -> bytes:
    """A 1600×1200 JPEG of about 200 KB: what a phone's photo is after the browser or WeChat shrank it."""
    from PIL import Image

    # Smoothed noise: JPEG compresses it about as well as a photo of a wall or a pipe (≈ 200 KB at this size).
    noise = Image.effect_noise((100, 75), 60).convert("RGB").resize((1600, 1200), Image.BICUBIC)
    out = io.BytesIO()
    noise.save(out, format="JPEG", quality=80)
    return out.getvalue()


def _report(base: str, token: str, i: int, photo: bytes | None) -> dict:
    import requests

    with requests.Session() as http:
        started = time.perf_counter()
        form = http.get(f"{base}/r/{token}", timeout=REQUEST_TIMEOUT)
        page = form.text
        csrf, ticket = _CSRF.search(page), _TICKET.search(page)
        if form.status_code != 200 or not csrf or not ticket:
            return {"ok": False, "why": f"GET {form.status_code}"}
        got = time.perf_counter()
        files = {"photos": ("photo.jpg", photo, "image/jpeg") if photo else ("", b"", "application/octet-stream")}
        data = {"csrf_token": csrf.group(1), "ticket": ticket.group(1), "phone": f"139{i:08d}", "name": "",
                "description": f"第{i}号报修：电梯按钮没有反应，门关不上", "website": ""}
        sent = http.post(f"{base}/r/{token}", data=data, files=files, allow_redirects=False,
                         timeout=REQUEST_TIMEOUT)
        done = time.perf_counter()
    ok = sent.status_code == 303 and "/done/" in sent.headers.get("Location", "")
    return {"ok": ok, "why": "" if ok else f"POST {sent.status_code}", "get": got - started, "post": done - got,
            "flow": done - started}


def _percentile(values: list[float], p: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1] if len(values) > 1 else values[0]


def run(database: str, reports: int, threads: int, photos: bool) -> dict:
    workdir = Path(tempfile.mkdtemp(prefix="guanjia-intake-bench-"))
    server = subprocess.Popen(
        [sys.executable, __file__, "--child", database, str(workdir)], stdin=subprocess.PIPE,
        stdout=subprocess.PIPE, text=True, cwd=ROOT, env={**os.environ, "GUANJIA_INSTANCE_PATH": str(workdir)})
    killer = threading.Timer(LOAD_DEADLINE + 60, server.kill)  # never hang, whatever happens below
    killer.start()
    try:
        ready = json.loads(server.stdout.readline())
        base, token = f"http://127.0.0.1:{ready['port']}", ready["token"]
        photo = _photo() if photos else None
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=threads) as pool:
            futures = [pool.submit(_report, base, token, i, photo) for i in range(reports)]
            finished, pending = wait(futures, timeout=LOAD_DEADLINE)
            for future in pending:
                future.cancel()
        wall = time.perf_counter() - started
        results = [f.result() for f in finished if not f.cancelled() and f.exception() is None]
        errors = [str(f.exception()) for f in finished if not f.cancelled() and f.exception() is not None]
        server.stdin.write("check\n")
        server.stdin.flush()
        check = json.loads(server.stdout.readline())
        server.wait(timeout=30)
    finally:
        killer.cancel()
        if server.poll() is None:
            server.kill()
            server.wait()
        shutil.rmtree(workdir, ignore_errors=True)
    good = [r for r in results if r["ok"]]
    failures = [r["why"] for r in results if not r["ok"]] + errors + ["unfinished"] * len(pending)
    posts, flows = [r["post"] for r in good], [r["flow"] for r in good]
    return {
        "database": "SQLite" if database == "sqlite" else "PostgreSQL", "reports": reports, "threads": threads,
        "made": len(good), "failures": failures[:5], "failed": len(failures), "seconds": round(wall, 1),
        "per_second": round(len(good) / wall, 1),
        "post_p50_ms": round(statistics.median(posts) * 1000) if posts else None,
        "post_p95_ms": round(_percentile(posts, 95) * 1000) if posts else None,
        "flow_p50_ms": round(statistics.median(flows) * 1000) if flows else None,
        "flow_p95_ms": round(_percentile(flows, 95) * 1000) if flows else None,
        **check,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reports", type=int, default=400)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--photos", action="store_true", help="attach one ~200 KB JPEG to every report")
    parser.add_argument("--sqlite-timeout", type=float, help="SQLite busy timeout in seconds (default: the "
                        "app's, i.e. sqlite3's 5 s)")
    parser.add_argument("--skip-sqlite", action="store_true", help="PostgreSQL only (with BENCH_DATABASE_URL)")
    parser.add_argument("--child", nargs=2, metavar=("DATABASE", "WORKDIR"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]))
        return

    if args.sqlite_timeout:
        os.environ["BENCH_SQLITE_TIMEOUT"] = str(args.sqlite_timeout)  # read by the child
    databases = [] if args.skip_sqlite else ["sqlite"]
    if os.environ.get("BENCH_DATABASE_URL"):
        databases.append(os.environ["BENCH_DATABASE_URL"])
    print("| database | reports | threads | photos | reports/s | POST p50 / p95 | GET+POST p50 / p95 | jobs | "
          "numbers 1..N, unique | failed |")
    print("|---|---:|---:|---|---:|---:|---:|---:|---|---:|")
    problems = []
    for database in databases:
        r = run(database, args.reports, args.threads, args.photos)
        numbers = "yes" if r["unique"] and r["consecutive"] and r["jobs"] == r["made"] else "NO"
        print(f"| {r['database']} | {r['reports']} | {r['threads']} | {'1 × 200 KB' if args.photos else 'none'} | "
              f"{r['per_second']} | {r['post_p50_ms']} / {r['post_p95_ms']} ms | {r['flow_p50_ms']} / "
              f"{r['flow_p95_ms']} ms | {r['jobs']} | {numbers} | {r['failed']} |", flush=True)
        if r["failed"] or numbers != "yes":
            problems.append(f"{r['database']}: {r['failed']} failed {r['failures']}, jobs {r['jobs']}, "
                            f"unique {r['unique']}, consecutive {r['consecutive']}")
    if problems:
        raise SystemExit("\n".join(problems))


if __name__ == "__main__":
    main()
