"""Late fees (违约金): only for a company that switched them on with the clause of its service contract.

No national rate exists, so nothing is assumed: the rate (per ten thousand a day), the grace days and the cap come
from FeeSettings, which an admin fills from the contract. The daily job never edits a bill: for each bill still
owed past its due date plus the grace days, it issues one LATE_FEE bill per complete calendar month of lateness
(charge_key "late:<bill id>", period = that month), with the contract's clause copied onto it. It is idempotent per
bill and month (the unique charge index), and all late fees of a bill together never exceed cap_percent of the
bill's amount. The current month is charged once it is over, so a charge is never revised.

The amount of a month is the bill's amount still owed when the job runs × the daily rate × the late days in that
month, rounded half-up to the fen (saas.money.round_fen).
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from saas.audit import record
from saas.clock import local_today, utcnow
from saas.extensions import db
from saas.money import round_fen
from saas.tenancy import company_context, new_id
from tenants.fees import ledger
from tenants.fees.collection import add_months, month_start
from tenants.fees.models import Bill, BillKind

log = logging.getLogger(__name__)

TITLE = "违约金"  # stored on the bill, as a fee item's name is


def charge_key(bill_id: uuid.UUID) -> str:
    return f"late:{bill_id}"


def _months(first_late: date, this_month: date):
    month = month_start(first_late)
    while month < this_month:
        yield month
        month = add_months(month, 1)


def issue_for_company(today: date | None = None) -> dict[str, int]:
    """Issue the late fees the current company's contract clause allows up to the end of last month.
    Returns {"bills": n, "total_fen": n}."""
    today = today or local_today()
    conf = ledger.settings()
    clause = (conf.late_fee_clause or "").strip()
    if not conf.late_fees_enabled or not clause or conf.late_fee_daily_permyriad <= 0 \
            or conf.late_fee_cap_percent <= 0:
        return {"bills": 0, "total_fen": 0}
    grace, permyriad, cap_percent = conf.late_fee_grace_days, conf.late_fee_daily_permyriad, conf.late_fee_cap_percent
    this_month = month_start(today)
    # A bill has a complete month of lateness before this one when its first late day is before this month.
    overdue = db.session.execute(
        select(Bill).where(Bill.kind != BillKind.LATE_FEE, Bill.amount_fen > Bill.paid_fen + Bill.credited_fen,
                           Bill.due_on < this_month - timedelta(days=grace + 1))
        .order_by(Bill.household_id, Bill.due_on, Bill.id)).scalars().all()
    if not overdue:
        return {"bills": 0, "total_fen": 0}
    charged: dict[str, set[date]] = defaultdict(set)
    charged_fen: dict[str, int] = defaultdict(int)
    for key, period_start, amount, credited in db.session.execute(
            select(Bill.charge_key, Bill.period_start, Bill.amount_fen, Bill.credited_fen)
            .where(Bill.kind == BillKind.LATE_FEE)):
        charged[key].add(period_start)
        charged_fen[key] += amount - credited
    due_on = ledger.due_date(today)
    issued, total, households = 0, 0, set()
    for bill in overdue:
        key = charge_key(bill.id)
        cap = round_fen(Decimal(bill.amount_fen) * cap_percent / 100)
        first_late = bill.due_on + timedelta(days=grace + 1)
        for month in _months(first_late, this_month):
            if month in charged[key]:
                continue
            room = cap - charged_fen[key]
            if room <= 0:
                break
            next_month = add_months(month, 1)
            days = (min(next_month, this_month) - max(month, first_late)).days
            amount = min(room, round_fen(Decimal(bill.outstanding_fen) * permyriad * days / 10000))
            if amount <= 0:
                continue
            late = Bill(id=new_id(), household_id=bill.household_id, community_id=bill.community_id,
                        building_id=bill.building_id, kind=BillKind.LATE_FEE, charge_key=key, generation=0,
                        title=TITLE, detail=(f"{bill.title} {bill.period_start:%Y-%m}：逾期 {days} 天 × "
                                             f"每日万分之{permyriad}")[:200],
                        period_start=month, period_end=next_month, amount_fen=amount, due_on=due_on,
                        late_fee_clause=clause)
            db.session.add(late)
            record("fee.late_fee_issued", actor=None, object_type="bill", object_id=late.id, object_label=TITLE,
                   changes={"amount_fen": [None, amount]})
            charged[key].add(month)
            charged_fen[key] += amount
            issued += 1
            total += amount
            households.add(bill.household_id)
    if issued:
        db.session.flush()
        ledger.apply_credit(sorted(households))  # a home in credit settles its late fee at once
    db.session.commit()
    return {"bills": issued, "total_fen": total}


def issue_all_companies(today: date | None = None) -> dict[str, int]:
    """Job: ``issue_for_company`` in each active company's own context (daily; idempotent)."""
    from tenants.work_orders.sla_jobs import companies_to_check

    totals = {"companies": 0, "bills": 0, "total_fen": 0, "failed": 0}
    for company_id in companies_to_check(utcnow()):
        with company_context(company_id):
            try:
                result = issue_for_company(today)
            except IntegrityError:  # another run issued the same month at the same moment: it is done
                db.session.rollback()
                continue
            except Exception:  # one company's failure must not stop the others
                db.session.rollback()
                log.exception("late-fee job failed for company %s", company_id)
                totals["failed"] += 1
                continue
        totals["companies"] += 1
        totals["bills"] += result["bills"]
        totals["total_fen"] += result["total_fen"]
    return totals


def summary(totals: dict[str, int]) -> str:
    return ("Late fees: {companies} companies checked; {bills} late-fee bills issued, {total_fen} fen in all; "
            "{failed} failed.").format(**totals)
