"""The fee pages' pre-aggregated figures: what the arrears, collection and payments pages add up instead of reading
every bill or payment of the company (tables in tenants/fees/models.py, "pre-aggregated figures").

How they stay exact: database triggers on bills and payments (migrations 0016_fees, 0018_payment_community) move
them in the same statement as the write, whatever made it (the ledger, a bill run, an import, bulk SQL): a
rolled-back write rolls them back.
- ``fee_month_figures``: per community and month of ``period_start``, billed (amount − credited) and paid, late fees
  left out (the collection rate's definition, tenants/fees/collection.py).
- ``fee_payment_days``: per Shanghai day of ``paid_at``, community, method and status, the payments with a receipt
  (the payments list's filters are sums of these rows). The community is the payment's own ``community_id`` (the
  household's when it paid, migration 0018_payment_community), so a household moving to another building later
  moves none of its old payments.
- ``fee_household_arrears`` / ``fee_building_arrears``: what each household (and building) owes past due by age, as
  of ``fee_arrears_state.as_of``. Age and "past due" depend on the day, so these are counted for one day: the
  triggers keep them for that day, and ``ensure_fresh`` recounts everything when the day has changed (the first
  arrears page of the day pays for it, about a second for 20,000 homes; the daily job can do it instead).

``rebuild()`` recounts all of the current company's figures from the bills and payments (tests compare it, and the
direct counts of arrears.py's ``direct_*`` functions, with what the triggers kept).
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import Date, Uuid, bindparam, select, text
from sqlalchemy.exc import IntegrityError

from saas.extensions import db, on_postgresql
from saas.tenancy import require_company_id
from tenants.fees.models import FeeArrearsState


def _sql(statement: str):
    """A text statement with its parameters typed (a UUID and dates bind on SQLite as they are stored there)."""
    dates = [bindparam(name, type_=Date) for name in ("as_of", "d30_from", "d90_from", "d365_from", "flag_cutoff")
             if f":{name}" in statement]
    return text(statement).bindparams(bindparam("company_id", type_=Uuid), *dates)


def boundaries(today: date) -> dict:
    """The state row of a day: what is overdue and the ages' first days (arrears.py's buckets)."""
    from tenants.fees.arrears import limitation_cutoff

    return {"as_of": today, "d30_from": today - timedelta(days=30), "d90_from": today - timedelta(days=90),
            "d365_from": today - timedelta(days=365), "flag_cutoff": limitation_cutoff(today)}


def ensure_fresh(today: date) -> None:
    """Make the arrears figures count for ``today`` (one statement when they already do). Commits a recount."""
    company_id = require_company_id()
    as_of = db.session.execute(select(FeeArrearsState.as_of)
                               .where(FeeArrearsState.company_id == company_id)).scalar()
    if as_of == today:
        return
    try:
        _recount_arrears(company_id, today)
        db.session.commit()
    except IntegrityError:  # another request made the state row first: it counts them
        db.session.rollback()


_HOUSEHOLDS = """
INSERT INTO fee_household_arrears (company_id, household_id, community_id, building_id, d30, d90, d365, older, total,
                                   oldest_due)
SELECT b.company_id, b.household_id, b.community_id, b.building_id,
       sum(CASE WHEN b.due_on >= :d30_from THEN b.amount_fen - b.paid_fen - b.credited_fen ELSE 0 END),
       sum(CASE WHEN b.due_on < :d30_from AND b.due_on >= :d90_from
                THEN b.amount_fen - b.paid_fen - b.credited_fen ELSE 0 END),
       sum(CASE WHEN b.due_on < :d90_from AND b.due_on >= :d365_from
                THEN b.amount_fen - b.paid_fen - b.credited_fen ELSE 0 END),
       sum(CASE WHEN b.due_on < :d365_from THEN b.amount_fen - b.paid_fen - b.credited_fen ELSE 0 END),
       sum(b.amount_fen - b.paid_fen - b.credited_fen), min(b.due_on)
FROM bills b
WHERE b.company_id = :company_id AND b.amount_fen > b.paid_fen + b.credited_fen AND b.due_on < :as_of
GROUP BY b.company_id, b.household_id, b.community_id, b.building_id
ON CONFLICT (company_id, household_id) DO UPDATE
  SET community_id = excluded.community_id, building_id = excluded.building_id, d30 = excluded.d30,
      d90 = excluded.d90, d365 = excluded.d365, older = excluded.older, total = excluded.total,
      oldest_due = excluded.oldest_due
"""

_BUILDINGS = """
INSERT INTO fee_building_arrears (company_id, building_id, community_id, d30, d90, d365, older, total, households,
                                  flagged)
SELECT company_id, building_id, community_id, sum(d30), sum(d90), sum(d365), sum(older), sum(total), count(*),
       sum(CASE WHEN oldest_due <= :flag_cutoff THEN 1 ELSE 0 END)
FROM fee_household_arrears WHERE company_id = :company_id AND total > 0
GROUP BY company_id, building_id, community_id
ON CONFLICT (company_id, building_id) DO UPDATE
  SET community_id = excluded.community_id, d30 = excluded.d30, d90 = excluded.d90, d365 = excluded.d365,
      older = excluded.older, total = excluded.total, households = excluded.households, flagged = excluded.flagged
"""

# Nothing is deleted (the app's database role may not delete): a recount sets the company's rows to zero first.
_ZERO_HOUSEHOLDS = ("UPDATE fee_household_arrears SET d30 = 0, d90 = 0, d365 = 0, older = 0, total = 0, "
                    "oldest_due = NULL WHERE company_id = :company_id AND (total <> 0 OR oldest_due IS NOT NULL)")
_ZERO_BUILDINGS = ("UPDATE fee_building_arrears SET d30 = 0, d90 = 0, d365 = 0, older = 0, total = 0, "
                   "households = 0, flagged = 0 WHERE company_id = :company_id")


def _recount_arrears(company_id, today: date, *, force: bool = False) -> None:
    """Count the household and building arrears for ``today`` from the bills. The state row is locked first, so
    bill writes (their triggers read it FOR SHARE) wait for the recount and a second recount finds it done."""
    params = {"company_id": company_id, **boundaries(today)}
    state = db.session.execute(select(FeeArrearsState).where(FeeArrearsState.company_id == company_id)
                               .with_for_update().execution_options(populate_existing=True)).scalar()
    if state is None:
        db.session.add(FeeArrearsState(company_id=company_id, **boundaries(today)))
        db.session.flush()
    elif state.as_of == today and not force:
        return
    else:
        for key, value in boundaries(today).items():
            setattr(state, key, value)
        db.session.flush()
    db.session.execute(_sql(_ZERO_HOUSEHOLDS), params)
    db.session.execute(_sql(_ZERO_BUILDINGS), params)
    db.session.execute(_sql(_HOUSEHOLDS), params)
    db.session.execute(_sql(_BUILDINGS), params)


def rebuild(today: date | None = None) -> None:
    """Recount every figure of the current company from its bills and payments (bulk loads, repairs, tests)."""
    from saas.clock import local_today

    company_id = require_company_id()
    params = {"company_id": company_id}
    postgres = on_postgresql()
    month = "date_trunc('month', period_start)::date" if postgres else "strftime('%Y-%m-01', period_start)"
    day = "(p.paid_at AT TIME ZONE 'Asia/Shanghai')::date" if postgres else "date(p.paid_at, '+8 hours')"
    db.session.execute(_sql("UPDATE fee_month_figures SET billed_fen = 0, paid_fen = 0 "
                            "WHERE company_id = :company_id"), params)
    db.session.execute(_sql(
        "INSERT INTO fee_month_figures (company_id, community_id, month, billed_fen, paid_fen) "
        f"SELECT company_id, community_id, {month}, sum(amount_fen - credited_fen), sum(paid_fen) FROM bills "
        "WHERE company_id = :company_id AND kind <> 'late_fee' GROUP BY 1, 2, 3 "
        "ON CONFLICT (company_id, community_id, month) DO UPDATE "
        "SET billed_fen = excluded.billed_fen, paid_fen = excluded.paid_fen"), params)
    db.session.execute(_sql("UPDATE fee_payment_days SET payments = 0, amount_fen = 0, refunded_fen = 0 "
                            "WHERE company_id = :company_id"), params)
    db.session.execute(_sql(
        "INSERT INTO fee_payment_days (company_id, day, community_id, method, status, payments, amount_fen, "
        f"refunded_fen) SELECT p.company_id, {day}, p.community_id, p.method, p.status, count(*), "
        "sum(p.amount_fen), sum(p.refunded_fen) FROM payments p "
        "WHERE p.company_id = :company_id AND p.receipt_number IS NOT NULL AND p.paid_at IS NOT NULL "
        "GROUP BY 1, 2, 3, 4, 5 ON CONFLICT (company_id, day, community_id, method, status) DO UPDATE "
        "SET payments = excluded.payments, amount_fen = excluded.amount_fen, refunded_fen = excluded.refunded_fen"),
        params)
    _recount_arrears(company_id, today or local_today(), force=True)


def recount_all_companies(today: date | None = None) -> dict[str, int]:
    """Job (just after midnight, Shanghai): ``ensure_fresh`` in each active company, so the day's first arrears page
    does not pay for the recount (about a second for 20,000 homes)."""
    import logging

    from saas.clock import local_today, utcnow
    from saas.tenancy import company_context
    from tenants.work_orders.sla_jobs import companies_to_check

    today = today or local_today()
    totals = {"companies": 0, "failed": 0}
    for company_id in companies_to_check(utcnow()):
        with company_context(company_id):
            try:
                ensure_fresh(today)
            except Exception:  # one company's failure must not stop the others
                db.session.rollback()
                logging.getLogger(__name__).exception("fee arrears recount failed for company %s", company_id)
                totals["failed"] += 1
                continue
        totals["companies"] += 1
    return totals
