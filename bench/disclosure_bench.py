"""Public disclosure pages against a bare "hello" page on the same stack.

    .venv/bin/python bench/disclosure_bench.py                  # SQLite
    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/guanjia_bench_disc .venv/bin/python \\
        bench/disclosure_bench.py                               # SQLite, then PostgreSQL
    .venv/bin/python bench/disclosure_bench.py --requests 2000

For each database a child process makes a fresh database (bench/import_bench.py: bench_app; on PostgreSQL the
app connects as a non-owner role, so row-level security applies), one company with one community, three fee
items with rates, a published price board, four published statements of 12 lines each (one corrected, so it has
a history) and six objections with public replies. The app is built with production settings plus one extra
route, ``/bench-hello``, which returns "hello" through every app-wide hook (security headers, session handling,
static-file compression hook, the teardown) but reads no company and no database.

Each page is requested --requests times in a row through the WSGI app (werkzeug's test client, no network, one
thread: the figure is the cost of the page on the stack, not of a server), after 50 warm-up requests:

- hello: the bare page;
- community: /p/<slug>/disclosures/<community> as a first visit (no If-None-Match) — the company and its public
  version token resolved (one statement), then the page from the per-process page cache (saas/public_cache.py);
- community 304: the same with the ETag the browser or a proxy holds;
- community uncached: the same page with the page cache emptied before every request (every request renders:
  what the first visitor after each publication pays);
- index: /p/<slug>/disclosures/ (the company's record over every community's calendar).

Reported: requests per second and the ratio to hello.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _seed(app) -> tuple[str, str]:
    from saas.extensions import db
    from saas.models import Company, Membership, Role, User
    from saas.tenancy import company_context
    from tenants.disclosures import services
    from tenants.fees import items
    from tenants.roster.models import Building, Community, Household, Occupancy

    with app.app_context():
        company = Company(slug="bench-disc", name="基准物业", licence_number="91650100MA7BENCH1X",
                          service_phone="400-800-0000")
        user = User(name="管理员", phone="13900000000", password_hash="x")
        owner = User(name="业主甲", phone="13900000001", password_hash="x")
        db.session.add_all([company, user, owner])
        db.session.flush()
        db.session.add_all([Membership(company_id=company.id, user_id=user.id, role=Role.ADMIN),
                            Membership(company_id=company.id, user_id=owner.id, role=Role.OWNER)])
        db.session.commit()
        company_id, admin_id, owner_id = company.id, user.id, owner.id
    with app.app_context(), company_context(company_id):
        admin = db.session.get(User, admin_id)
        owner = db.session.get(User, owner_id)
        community = Community(name="阳光花园")
        db.session.add(community)
        db.session.flush()
        building = Building(community_id=community.id, name="3号楼")
        db.session.add(building)
        db.session.flush()
        home = Household(building_id=building.id, room="301", floor_area_dm2=8950, occupancy=Occupancy.OCCUPIED)
        db.session.add(home)
        db.session.commit()
        for name, kind, extra, price in (("物业服务费", "per_area", {"area_basis": "gross"}, "1.85"),
                                         ("停车服务费", "parking", {}, "150"),
                                         ("水费", "metered", {"meter_kind": "water"}, "5.28")):
            item = items.create_item(community, name=name, kind=kind, actor=admin, **extra)
            items.add_rate(item, price=price, effective_from=date(2026, 1, 1), actor=admin)
        services.update_profile(community, charged_party="全体业主", service_grade="二级服务", price_form="market",
                                basis_document="物业服务合同", billing_start=date(2026, 1, 1), complaint_phone="12315",
                                calendar_from=date(2026, 1, 1), actor=admin)
        services.publish_board(community, actor=admin)
        for n, (kind, start, end) in enumerate((("common_income", date(2026, 1, 1), date(2026, 3, 31)),
                                                ("common_income", date(2026, 4, 1), date(2026, 6, 30)),
                                                ("maintenance_fund", date(2026, 1, 1), date(2026, 6, 30)),
                                                ("shared_energy", date(2026, 7, 1), date(2026, 9, 30)))):
            pub = services.create_draft(community, kind=kind, title=f"报表 {n + 1}", period_start=start,
                                        period_end=end, actor=admin)
            for i in range(12):
                services.add_line(pub, label=f"项目 {i + 1}", amount=str(1000 + i * 37), detail="依据：合同",
                                  cost="100" if kind == "common_income" else None, actor=admin)
            services.publish(pub, actor=admin)
            if n == 0:
                pub = services.correct(pub, reason="更正金额", actor=admin)
                services.publish(pub, actor=admin)
            line = services.lines_of(pub.id)[0]
            for _ in range(2 if n < 3 else 0):
                o = services.raise_objection(line, household=home, question="请说明依据。", actor=owner)
                services.reply(o, text="依据为合同第五条。", actor=admin)
        return "bench-disc", str(community.id)


def child(database: str, requests: int) -> dict:
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "bench"))
    from import_bench import bench_app

    with tempfile.TemporaryDirectory() as tmp:
        app = bench_app(database, Path(tmp), {"SECRET_KEY": secrets.token_hex(32), "BABEL_DEFAULT_LOCALE": "zh_CN",
                                              "SESSION_COOKIE_SECURE": False, "RATELIMIT_ENABLED": False})
        app.add_url_rule("/bench-hello", "bench_hello", lambda: "hello")
        slug, community_id = _seed(app)
        from saas import public_cache

        client = app.test_client()
        community = f"/p/{slug}/disclosures/{community_id}"
        etag = client.get(community).headers["ETag"]

        def run(path, headers=None, before=None) -> float:
            for _ in range(50):
                if before:
                    before()
                assert client.get(path, headers=headers).status_code in (200, 304)
            started = time.perf_counter()
            for _ in range(requests):
                if before:
                    before()
                client.get(path, headers=headers)
            return requests / (time.perf_counter() - started)

        out = {"hello": run("/bench-hello"), "community": run(community),
               "community 304": run(community, headers={"If-None-Match": etag}),
               "community uncached": run(community, before=public_cache.pages.clear),
               "index": run(f"/p/{slug}/disclosures/")}
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.requests)))
        return
    databases = ["sqlite"] + ([os.environ["BENCH_DATABASE_URL"]] if os.environ.get("BENCH_DATABASE_URL") else [])
    for database in databases:
        result = subprocess.run([sys.executable, __file__, "--child", database, "--requests", str(args.requests)],
                                capture_output=True, text=True, check=True, env={**os.environ,
                                                                                  "GUANJIA_ENV": "production"})
        figures = json.loads(result.stdout.strip().splitlines()[-1])
        name = "SQLite" if database == "sqlite" else "PostgreSQL"
        hello = figures["hello"]
        print(f"\n{name}, {args.requests} requests each")
        print("| page | requests/s | × hello |\n|---|---:|---:|")
        for page, rate in figures.items():
            print(f"| {page} | {rate:,.0f} | {rate / hello:.2f} |")


if __name__ == "__main__":
    main()
