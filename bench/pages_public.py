"""Page group of bench/pages_bench.py: the public no-login pages (company card, fee disclosures, the red/black list)
and the company pages that disclosures and ratings added (the editor's index and community page, the reviews page).

Seeded into the bench database through the real services (pages_bench.py calls ``seed`` when ``seeded`` is false):

- disclosures, for each of the bench company's four communities: a disclosure profile with a calendar from two
  years ago, three fee items with rates and the published price board, then eight quarters of statements (common-
  area income and shared energy every quarter, the maintenance fund every half year, 12 lines each, published a few
  days after each period), one statement corrected (a version history), and owners' questions with public replies
  on the first community's statements (Q&A);
- ratings: the bench company's address (a city) and 30 small rated companies beside it, 6,000 owner ratings of the
  bench company over eight quarters (bulk insert of the model's rows: the form's service takes one at a time, and
  its rules are the same) with some folded, excluded and replied to, and the nightly job run for each of the last
  four quarters and today (figures, profiles, red/black list, weekly rankings).

Pages (the landing page "/" is in pages_bench.py already): public pages signed out, company pages as the admin.
Everything here is written through the session, so the public page cache's tokens move with it; anything written
outside it (COPY, raw SQL) would need ``saas.public_cache.bump_company``/``bump_all`` afterwards.
"""

from __future__ import annotations

import sys
import time
from datetime import date, timedelta

ADMIN_PHONE, OWNER_PHONE = "13800000000", "13500000000"
RATINGS_PER_QUARTER, QUARTERS, SMALL_COMPANIES = 750, 8, 30

# page name → statements per request (in-process, the second request). A public page comes from the public page
# cache (saas/public_cache.py) after the first request: the company and its version token (or the platform's
# "ratings" token) in one statement; drawing it (a miss, after a write) costs its own reads on top.
EXPECTED_STATEMENTS: dict[str, int] = {
    "public: company card": 1, "public: disclosures": 1, "public: disclosure community": 1,
    "public: publication": 1, "public: red/black list": 1, "public: company ratings": 1,
    "company: disclosures": 6, "company: disclosure community": 7, "company: rating reviews": 7,
}


def seeded(app) -> bool:
    from sqlalchemy import text

    from saas.extensions import db

    with app.app_context():
        return db.session.execute(text("SELECT count(*) FROM rating_profiles WHERE slug = 'bench'")).scalar() > 0


def _quarter_start(day: date) -> date:
    return date(day.year, (day.month - 1) // 3 * 3 + 1, 1)


def _quarters_back(today: date, n: int) -> list[date]:
    """The starts of the ``n`` quarters before the current one, oldest first."""
    out, start = [], _quarter_start(today)
    for _ in range(n):
        start = _quarter_start(start - timedelta(days=1))
        out.append(start)
    return list(reversed(out))


def _quarter_end(start: date) -> date:
    return _quarter_start(start + timedelta(days=100)) - timedelta(days=1)


def _seed_disclosures(company_id, admin_id, owner_id, today: date) -> None:
    from sqlalchemy import select

    from saas.extensions import db
    from saas.models import User
    from tenants.disclosures import services
    from tenants.fees import items
    from tenants.roster.models import Building, Community, Household, HouseholdOwner

    admin = db.session.get(User, admin_id)
    owner = db.session.get(User, owner_id)
    communities = db.session.execute(select(Community).order_by(Community.name)).scalars().all()
    quarters = _quarters_back(today, QUARTERS)
    calendar_from = quarters[0]
    owner_home = db.session.execute(select(Household).join(
        HouseholdOwner, HouseholdOwner.household_id == Household.id)).scalars().first()
    owner_community = db.session.get(Building, (company_id, owner_home.building_id)).community_id
    for c, community in enumerate(communities):
        for name, kind, extra, price in (("物业服务费", "per_area", {"area_basis": "gross"}, "1.85"),
                                         ("停车服务费", "parking", {}, "150"),
                                         ("水费", "metered", {"meter_kind": "water"}, "5.28")):
            item = items.create_item(community, name=name, kind=kind, actor=admin, **extra)
            items.add_rate(item, price=price, effective_from=calendar_from, actor=admin)
        services.update_profile(community, charged_party="全体业主", service_grade="二级服务：保洁每日两次",
                                price_form="market", basis_document="物业服务合同（2024）", billing_start=calendar_from,
                                complaint_phone="12315", calendar_from=calendar_from, actor=admin)
        services.publish_board(community, actor=admin)
        statements = []
        for q, start in enumerate(quarters):
            end = _quarter_end(start)
            kinds = ["common_income", "shared_energy"]
            if start.month in (4, 10):  # the half year ends with this quarter
                kinds.append("maintenance_fund")
            for kind in kinds:
                period_start = _quarter_start(start - timedelta(days=80)) if kind == "maintenance_fund" else start
                pub = services.create_draft(community, kind=kind, title="", period_start=period_start,
                                            period_end=end, note="依据《物业管理条例》公示。", actor=admin)
                for i in range(12):
                    services.add_line(pub, label=f"{'广告位' if kind == 'common_income' else '项目'} {i + 1}",
                                      direction="spending" if kind == "maintenance_fund" and i % 3 else "income",
                                      amount=str(1000 + i * 137 + q * 11),
                                      cost=str(100 + i) if kind == "common_income" else None,
                                      owners_share=str(500 + i) if kind == "common_income" else None,
                                      detail="依据：合同第五条；经业委会确认", actor=admin)
                from saas.clock import local_midnight

                services.publish(pub, actor=admin, now=local_midnight(end + timedelta(days=5 + (c + q) % 20)))
                statements.append(pub)
        corrected = services.correct(statements[-1], reason="更正第 3 项金额", actor=admin)
        services.publish(corrected, actor=admin)
        if community.id == owner_community:
            for pub in statements[-7:-1]:  # the last one was corrected
                for line in services.lines_of(pub.id)[:3]:
                    objection = services.raise_objection(line, household=owner_home, question="请说明这一项的依据。",
                                                         actor=owner)
                    services.reply(objection, text="依据为物业服务合同第五条，票据已附。", actor=admin)
    db.session.commit()


def _seed_ratings(app, company_id, owner_id, today: date) -> None:
    import uuid

    from sqlalchemy import insert, select

    from saas.extensions import db
    from saas.models import Company
    from saas.ratings import job
    from saas.ratings.models import OwnerRating, RatingReply
    from saas.tenancy import company_context, new_id, utcnow
    from tenants.roster.models import Household

    with company_context(company_id):
        homes = db.session.execute(select(Household.id).order_by(Household.id)
                                   .limit(RATINGS_PER_QUARTER * 2)).scalars().all()
    bench = db.session.get(Company, company_id)
    bench.address = "浙江省杭州市西湖区文三路 100 号"
    now = utcnow()
    others = []
    for n in range(SMALL_COMPANIES):
        others.append({"id": uuid.uuid4(), "slug": f"bench-rated-{n}", "name": f"评价{n}物业",
                       "address": ("浙江省杭州市", "浙江省宁波市", "浙江省温州市")[n % 3] + f"某路 {n} 号",
                       "plan_code": "bench", "created_at": now, "trial_ends_at": now + timedelta(days=30)})
    db.session.execute(insert(Company), others)
    quarters = _quarters_back(today, QUARTERS - 1) + [_quarter_start(today)]
    rows, replies = [], []
    for q, start in enumerate(quarters):
        for n in range(RATINGS_PER_QUARTER):
            overall = 3 + (n * 7 + q) % 3
            rid = new_id()
            stamp = now - timedelta(days=(len(quarters) - 1 - q) * 91 + n % 60)
            rows.append({"id": rid, "company_id": company_id, "household_id": homes[(n + q * 97) % len(homes)],
                         "user_id": owner_id, "quarter_start": start, "overall": overall, "repairs": 4,
                         "cleanliness": 3 + n % 3, "communication": 4, "fees": 3 + (n + 1) % 3,
                         "comment": "维修及时，保洁一般。" if n % 4 else "", "owner_since": start - timedelta(days=400),
                         "community_name": "阳光花园", "created_at": stamp, "updated_at": stamp,
                         "ip": f"10.0.{n % 200}.{q}", "device": "", "former_staff": False,
                         "folded_at": now if n % 97 == 0 else None,
                         "fold_reason": "与本公司无关" if n % 97 == 0 else "",
                         "excluded_at": now if n % 89 == 0 else None,
                         "exclude_reason": "疑似刷评" if n % 89 == 0 else ""})
            if n % 5 == 0:
                replies.append({"id": new_id(), "rating_id": rid, "company_id": company_id, "version": 1,
                                "body": "感谢您的评价，我们会改进。", "created_at": stamp})
    for other in others:  # 20 ratings each, of a company-specific quality: some red, some black
        quality = 1 + int(other["slug"].rsplit("-", 1)[1]) % 5
        for _n in range(20):
            rows.append({"id": new_id(), "company_id": other["id"], "household_id": uuid.uuid4(), "user_id": owner_id,
                         "quarter_start": quarters[-1], "overall": quality, "repairs": quality,
                         "cleanliness": quality, "communication": quality, "fees": quality, "comment": "",
                         "owner_since": today - timedelta(days=400), "community_name": "某小区", "created_at": now,
                         "updated_at": now, "ip": "", "device": "", "former_staff": False})
    for n in range(0, len(rows), 2_000):
        db.session.execute(insert(OwnerRating), rows[n:n + 2_000])
    db.session.execute(insert(RatingReply), replies)
    db.session.commit()
    # The nightly job as it ran at the end of each of the last four quarters, then today: figures, profiles, lists
    # and a weekly ranking per run.
    for start in quarters[-5:-1]:
        job.run_all(today=_quarter_end(start) - timedelta(days=3))
    job.run_all(today=today)


def seed(app) -> None:
    from sqlalchemy import select

    from saas.clock import local_today
    from saas.extensions import db
    from saas.models import Company, User
    from saas.tenancy import company_context

    started = time.perf_counter()
    today = local_today()
    with app.app_context():
        company_id = db.session.execute(select(Company.id).where(Company.slug == "bench")).scalar_one()
        admin_id = db.session.execute(select(User.id).where(User.phone == ADMIN_PHONE)).scalar_one()
        owner_id = db.session.execute(select(User.id).where(User.phone == OWNER_PHONE)).scalar_one()
        with company_context(company_id):
            _seed_disclosures(company_id, admin_id, owner_id, today)
        _seed_ratings(app, company_id, owner_id, today)
        db.session.commit()
        db.session.remove()
    print(f"public pages seeded in {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)


def pages(app) -> dict[str, tuple[str, str]]:
    from sqlalchemy import select

    from saas.extensions import db
    from saas.models import Company
    from saas.tenancy import company_context
    from tenants.disclosures.models import Publication, Status
    from tenants.roster.models import Community

    with app.app_context():
        company_id = db.session.execute(select(Company.id).where(Company.slug == "bench")).scalar_one()
        with company_context(company_id):
            community_id = db.session.execute(select(Community.id).order_by(Community.name)).scalars().first()
            # A statement with a correction: its page shows the history and the differences.
            pub_id = db.session.execute(select(Publication.id).where(
                Publication.community_id == community_id, Publication.status == Status.PUBLISHED,
                Publication.version > 1, Publication.kind != "board")).scalars().first()
        db.session.remove()
    p, c = "/p/bench", "/c/bench"
    return {
        "public: company card": ("", f"{p}/"),
        "public: disclosures": ("", f"{p}/disclosures/"),
        "public: disclosure community": ("", f"{p}/disclosures/{community_id}"),
        "public: publication": ("", f"{p}/disclosures/{community_id}/publications/{pub_id}"),
        "public: red/black list": ("", "/ratings/"),
        "public: company ratings": ("", "/ratings/c/bench"),
        "company: disclosures": (ADMIN_PHONE, f"{c}/disclosures/"),
        "company: disclosure community": (ADMIN_PHONE, f"{c}/disclosures/communities/{community_id}"),
        "company: rating reviews": (ADMIN_PHONE, f"{c}/ratings/reviews"),
    }
