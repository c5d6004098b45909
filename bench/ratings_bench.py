"""Red/black list benchmark: the public pages at several platform sizes, and the job's publishing step.

    .venv/bin/python bench/ratings_bench.py                       # 100, 1,000 and 10,000 companies (SQLite)
    .venv/bin/python bench/ratings_bench.py --sizes 100 10000 --requests 20

Each size runs in a fresh subprocess on a fresh SQLite database, migrated to head. The platform tables are filled
as the nightly job leaves them (tests/world/ratings.py seed_profiles): N company profiles in three cities, their
red/black list entries (grades AA and up, and C), this week's ranking, and for one company four quarters of figures
and 30 reviews with replies. Through the Flask test client, signed out: the list (/ratings/), the list of one
city, a search by name, one company's profile, the rules page. One warm-up request, then --requests timed ones:
median wall time and SQL statements per request. The statement counts must not depend on the number of
companies: they are asserted equal between all sizes. "ranking" is the job's weekly-ranking step
(job.publish_ranking) over the N profiles, run twice (the second run rewrites the same rows in place).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
URLS = {"list": "/ratings/", "city": "/ratings/?city=杭州市", "search": "/ratings/?q=测试1",
        "profile": "/ratings/c/bench-1", "rules": "/ratings/rules"}


def run_size(companies: int, requests: int) -> dict:
    sys.path.insert(0, str(ROOT))
    from sqlalchemy import event

    from saas import create_app
    from saas.extensions import db

    folder = tempfile.mkdtemp()
    url = f"sqlite:///{folder}/bench.db"
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "MIGRATION_DATABASE_URL": url,
                      "REDIS_URL": "", "RATELIMIT_STORAGE_URI": "memory://", "SERVER_NAME": None})
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
    from tests.world.ratings import seed_profiles

    started = time.perf_counter()
    seed_profiles(app, companies)
    seeded = time.perf_counter() - started
    with app.app_context():
        engine = db.engine
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    client = app.test_client()
    out = {"companies": companies, "seed_s": round(seeded, 2), "pages": {}}
    for name, path in URLS.items():
        assert client.get(path).status_code == 200, path
        times, counts = [], []
        for _ in range(requests):
            statements.clear()
            t0 = time.perf_counter()
            response = client.get(path)
            times.append(time.perf_counter() - t0)
            assert response.status_code == 200, path
            counts.append(len(statements))
        out["pages"][name] = {"ms": round(statistics.median(times) * 1000, 1), "statements": max(counts)}
    from saas.clock import local_today
    from saas.ratings import job

    runs = []
    with app.app_context():
        for _ in range(2):
            t0 = time.perf_counter()
            job.publish_ranking(local_today(), 1)
            db.session.commit()
            runs.append(round(time.perf_counter() - t0, 2))
    out["ranking_s"] = runs
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", nargs="+", type=int, default=[100, 1_000, 10_000])
    parser.add_argument("--requests", type=int, default=10)
    parser.add_argument("--child", type=int)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_size(args.child, args.requests)))
        return
    results = []
    for size in args.sizes:
        done = subprocess.run([sys.executable, __file__, "--child", str(size), "--requests", str(args.requests)],
                              check=True, capture_output=True, text=True, cwd=ROOT)
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))
    print("| companies | " + " | ".join(URLS) + " | ranking (first / again) |")
    print("|---:|" + "---:|" * len(URLS) + "---:|")
    for r in results:
        cells = [f"{r['pages'][n]['ms']} ms · {r['pages'][n]['statements']}" for n in URLS]
        print(f"| {r['companies']:,} | " + " | ".join(cells) + f" | {r['ranking_s'][0]} s / {r['ranking_s'][1]} s |")
    counts = {tuple(r["pages"][n]["statements"] for n in URLS) for r in results}
    assert len(counts) == 1, f"statement counts depend on the number of companies: {results}"
    print("statement counts are the same at every size")


if __name__ == "__main__":
    main()
