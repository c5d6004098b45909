"""The fee pages of the pages benchmark (bench/pages_bench.py loads this module; see EXTENSIONS there).

The data, seeded once into the bench database beside the work orders: for both companies ("bench", 20,000
households, and "bench-other", 2,000) one 物业费 item per community (¥2.50 per m² of gross area, a FeeItem and its
FeeRate as the app makes them) and one bill per household and month for the 24 months up to this one
(480,000 + 48,000 bills), written by ``INSERT … SELECT`` as the owner (as pages_bench's COPY: the app's writes
would take an hour). Months older than three are 95 % paid (history before the app, no payment rows); the last three
months are paid by 85 %, 70 % and 50 % of the homes, each paid bill with a real payment (cash, bank transfer or a
WeChat transfer, a receipt number, paid a few days before it fell due) and its allocation. This month's bills are not
due yet. Then the fee figures are rebuilt when the app has them (tenants/fees/figures.py), and ANALYZE.

The pages: the arrears (whole company, one community), the collection rate (whole company, one community), the
payments list, one household's ledger (the bench owner's home: 24 bills, payments, arrears) as the admin, and the
owner's own bills.
"""

from __future__ import annotations

import sys
import time
from datetime import date
from pathlib import Path

BENCH = Path(__file__).resolve().parent
MONTHS = 24
PAID_SHARE = {0: 50, 1: 70, 2: 85}  # by age in months (0: this month); older months 95 %

EXPECTED_STATEMENTS: dict[str, int] = {
    "fees: arrears": 6, "fees: arrears, one community": 6, "fees: collection": 5,
    "fees: collection, one community": 4, "fees: payments": 5, "fees: household ledger": 10,
    "owner: my bills": 8,
}


def _bench():
    sys.path.insert(0, str(BENCH))
    import pages_bench

    return pages_bench


def seeded(app) -> bool:
    """Whether the last step of ``seed`` is there (asked as the owner: row-level security hides it from the app)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(app.config["MIGRATION_DATABASE_URL"])
    with engine.connect() as conn:
        found = conn.execute(text(
            "SELECT EXISTS (SELECT 1 FROM receipt_counters JOIN companies c ON c.id = receipt_counters.company_id "
            "WHERE c.slug = 'bench-other')")).scalar()
    engine.dispose()
    return found


def _months(today: date) -> list[tuple[date, date, int]]:
    """(period start, period end, age in months) of the MONTHS months up to today's, newest first."""
    out = []
    y, m = today.year, today.month
    for age in range(MONTHS):
        start = date(y, m, 1)
        end = date(y + (m == 12), m % 12 + 1, 1)
        out.append((start, end, age))
        y, m = (y, m - 1) if m > 1 else (y - 1, 12)
    return out


def _items(company_id) -> None:
    """One 物业费 item per community of the company, with its rate (the app's models)."""
    from sqlalchemy import select

    from saas.extensions import db
    from saas.tenancy import company_context
    from tenants.fees.models import AreaBasis, FeeItem, FeeKind, FeeRate
    from tenants.roster.models import Community

    with company_context(company_id):
        if db.session.execute(select(FeeItem.id).limit(1)).first():  # an earlier seed stopped after them
            return
        for community_id in db.session.execute(select(Community.id)).scalars().all():
            item = FeeItem(community_id=community_id, name="物业费", kind=FeeKind.PER_AREA, position=0,
                           area_basis=AreaBasis.GROSS, vacant_percent=100)
            db.session.add(item)
            db.session.flush()
            db.session.add(FeeRate(fee_item_id=item.id, effective_from=date(2024, 1, 1), unit_price_cfen=25_000))
        db.session.commit()


BILLS = """
INSERT INTO bills (company_id, id, created_at, household_id, community_id, building_id, kind, fee_item_id, rate_id,
                   charge_key, generation, title, detail, period_start, period_end, amount_fen, paid_fen,
                   credited_fen, due_on, late_fee_clause, reason)
SELECT h.company_id, gen_random_uuid(), (:start)::timestamptz - interval '8 hours', h.id, b.community_id,
       h.building_id, 'run', i.id, r.id, 'item:' || i.id, 0, '物业费',
       round(h.floor_area_dm2 / 100.0, 2) || ' m² × ¥2.50 × 1 个月', :start, :end, h.floor_area_dm2 * 5 / 2,
       CASE WHEN abs(hashtext(h.id::text || :age)) % 100 < :share THEN h.floor_area_dm2 * 5 / 2 ELSE 0 END,
       0, :due, '', ''
FROM households h JOIN buildings b ON b.company_id = h.company_id AND b.id = h.building_id
JOIN fee_items i ON i.company_id = h.company_id AND i.community_id = b.community_id
JOIN fee_rates r ON r.company_id = i.company_id AND r.fee_item_id = i.id
WHERE h.company_id = :company AND h.deleted_at IS NULL
"""

# One payment per paid bill of the last three months, its id derived from the bill's so the allocation finds it.
PAYMENTS = """
INSERT INTO payments (company_id, id, created_at, household_id, community_id, method, status, amount_fen,
                      refunded_fen, reference, note, receipt_number, paid_at, recorded_by_id)
SELECT company_id, md5(id::text || 'p')::uuid, paid_at, household_id, community_id,
       (ARRAY['cash', 'bank_transfer', 'wechat_transfer'])[1 + abs(hashtext(id::text)) % 3], 'paid', amount_fen, 0,
       CASE WHEN abs(hashtext(id::text)) % 3 = 1 THEN 'BK' || substr(md5(id::text), 1, 12) ELSE '' END, '',
       'SJ-' || extract(year FROM paid_at)::int || '-' ||
           lpad((row_number() OVER (PARTITION BY extract(year FROM paid_at) ORDER BY paid_at, id))::text, 6, '0'),
       paid_at, :admin
FROM (SELECT company_id, id, household_id, community_id, paid_fen AS amount_fen,
             due_on - (abs(hashtext(id::text || 'd')) % 12) * interval '1 day'
                 + interval '1 hour' + (abs(hashtext(id::text || 't')) % 36000) * interval '1 second' AS paid_at
      FROM bills WHERE company_id = :company AND period_start >= :since AND paid_fen > 0) paid
"""

ALLOCATIONS = """
INSERT INTO payment_allocations (company_id, id, created_at, payment_id, bill_id, amount_fen)
SELECT company_id, md5(id::text || 'a')::uuid, now(), md5(id::text || 'p')::uuid, id, paid_fen
FROM bills WHERE company_id = :company AND period_start >= :since AND paid_fen > 0
"""

COUNTERS = """
INSERT INTO receipt_counters (company_id, id, created_at, year, last_number)
SELECT :company, gen_random_uuid(), now(), split_part(receipt_number, '-', 2)::int,
       max(split_part(receipt_number, '-', 3)::int)
FROM payments WHERE company_id = :company AND receipt_number IS NOT NULL GROUP BY 4
"""


def seed(app) -> None:
    from sqlalchemy import create_engine, select, text

    from saas.clock import local_today
    from saas.extensions import db
    from saas.models import Company, Membership, Role, User
    from saas.tenancy import company_context

    started = time.perf_counter()
    today = local_today()
    months = _months(today)
    with app.app_context():
        companies = []
        for slug in ("bench", "bench-other"):
            company_id = db.session.execute(select(Company.id).where(Company.slug == slug)).scalar_one()
            with company_context(company_id):
                admin_id = db.session.execute(
                    select(User.id).join(Membership, Membership.user_id == User.id)
                    .where(Membership.company_id == company_id, Membership.role == Role.ADMIN)
                    .order_by(User.phone).limit(1)).scalar()
            companies.append((company_id, admin_id))
            _items(company_id)
        db.session.remove()
        engine = create_engine(app.config["MIGRATION_DATABASE_URL"])
        since = months[len(PAID_SHARE) - 1][0]
        with engine.begin() as conn:
            for company_id, admin_id in companies:
                for start, end, age in months:
                    conn.execute(text(BILLS), {"company": company_id, "start": start, "end": end, "age": str(age),
                                               "share": PAID_SHARE.get(age, 95), "due": start.replace(day=16)})
                conn.execute(text(PAYMENTS), {"company": company_id, "since": since, "admin": admin_id})
                conn.execute(text(ALLOCATIONS), {"company": company_id, "since": since})
                conn.execute(text(COUNTERS), {"company": company_id})
        engine.dispose()
        _rebuild_figures(app, [c for c, _ in companies])
    print(f"fees seeded in {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)


def _rebuild_figures(app, company_ids) -> None:
    """The fee figures, when the app keeps them (bulk SQL goes around nothing there: triggers keep them, but a
    rebuild also sets what depends on today)."""
    try:
        from tenants.fees import figures
    except ImportError:
        return
    from saas.extensions import db
    from saas.tenancy import company_context

    with app.app_context():
        for company_id in company_ids:
            with company_context(company_id):
                figures.rebuild()
                db.session.commit()
        db.session.remove()


def pages(app) -> dict[str, tuple[str, str]]:
    from sqlalchemy import select

    from saas.extensions import db
    from saas.models import Company, Membership, User
    from tenants.roster.models import Community, HouseholdOwner

    pb = _bench()
    with app.app_context():
        company_id = db.session.execute(select(Company.id).where(Company.slug == "bench")).scalar_one()
        from saas.tenancy import company_context

        with company_context(company_id):
            community_id = db.session.execute(select(Community.id).order_by(Community.name).limit(1)).scalar_one()
            household_id = db.session.execute(
                select(HouseholdOwner.household_id).join(Membership, Membership.id == HouseholdOwner.membership_id)
                .join(User, User.id == Membership.user_id).where(User.phone == pb.OWNER_PHONE)).scalar_one()
        db.session.remove()
    c = "/c/bench"
    return {
        "fees: arrears": (pb.ADMIN_PHONE, f"{c}/fees/arrears"),
        "fees: arrears, one community": (pb.ADMIN_PHONE, f"{c}/fees/arrears?community_id={community_id}"),
        "fees: collection": (pb.ADMIN_PHONE, f"{c}/fees/collection"),
        "fees: collection, one community": (pb.ADMIN_PHONE, f"{c}/fees/collection?community_id={community_id}"),
        "fees: payments": (pb.ADMIN_PHONE, f"{c}/fees/payments"),
        "fees: household ledger": (pb.ADMIN_PHONE, f"{c}/fees/households/{household_id}/ledger"),
        "owner: my bills": (pb.OWNER_PHONE, f"{c}/my/bills"),
    }
