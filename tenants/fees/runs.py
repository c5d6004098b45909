"""Bill runs (出账): one community, one period. A background job previews (who is billed, the total, each household
left out and why), then another issues: it inserts the bills with INSERT … ON CONFLICT DO NOTHING on the unique
index uq_bills_charge, so a re-run or two admins issuing at once never bill a household twice for a charge.

The jobs act only on a run in the state they expect (a retried job changes nothing), and run in the run's
company (saas.jobs.run_in_company)."""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from datetime import date, timedelta

from sqlalchemy import func, select, text, update

from saas import audit
from saas.clock import local_today, utcnow
from saas.errors import ServiceError
from saas.extensions import db
from saas.i18n import _l
from saas.models import Membership, User
from saas.money import format_yuan
from saas.tenancy import new_id, require_company_id
from tenants.fees import billing
from tenants.fees.models import (
    Bill,
    BillKind,
    BillRun,
    BillRunStatus,
    FeeItem,
    FeeKind,
    FeeRate,
    MeterReading,
    ParkingSpace,
    PeriodKind,
)
from tenants.fees.settings import get_settings
from tenants.roster.models import Building, Community, Household, HouseholdOwner, Occupancy

log = logging.getLogger(__name__)

CHUNK = 500  # households per progress step of a preview
INSERT_CHUNK = 5000  # bills per INSERT (and progress step) when issuing
MAX_SKIPPED_SHOWN = 500
NOTICE = "fee_bill_run"  # inbox subject type: a run's notices (owners: their bills; stewards: their homes')
RUNNING = (BillRunStatus.PREVIEWING, BillRunStatus.ISSUING)


class BillRunError(ServiceError):
    """A bill run refused."""


# --- loading what the pure rules need --------------------------------------------------------------------------


def load_items(community_id) -> list[billing.Item]:
    items = db.session.execute(select(FeeItem).where(FeeItem.community_id == community_id,
                                                     FeeItem.archived_at.is_(None))
                               .order_by(FeeItem.position, FeeItem.name)).scalars().all()
    rates = defaultdict(list)
    if items:
        for rate in db.session.execute(select(FeeRate).where(FeeRate.fee_item_id.in_([i.id for i in items])))\
                .scalars():
            rates[rate.fee_item_id].append(billing.Rate(rate.id, rate.effective_from, rate.unit_price_cfen))
    return [billing.Item(i.id, i.name, i.kind, tuple(rates[i.id]), i.area_basis, i.meter_kind, i.vacant_percent)
            for i in items if i.kind != FeeKind.ONE_OFF]


def load_homes(community_id, items: list[billing.Item], period_end: date) -> list[billing.Home]:
    # Columns, not Household objects: a community of 5,000 homes loads in a fifth of the time.
    rows = db.session.execute(
        select(Household.id, Household.unit, Household.room, Household.floor_area_dm2, Household.inner_area_dm2,
               Household.occupancy, Household.owner_name, Building.name.label("building"))
        .join(Building, Building.id == Household.building_id)
        .where(Building.community_id == community_id, Building.live(), Household.live())
        .order_by(func.length(Building.name), Building.name, Household.unit, Household.room)).all()
    ids = [h.id for h in rows]
    owned = set()
    spaces = defaultdict(list)
    readings: dict = defaultdict(lambda: defaultdict(list))
    if ids:
        owned = set(db.session.execute(select(HouseholdOwner.household_id).where(
            HouseholdOwner.ended_at.is_(None)).distinct()).scalars()) & set(ids)
        for space in db.session.execute(select(ParkingSpace).where(
                ParkingSpace.community_id == community_id, ParkingSpace.live(),
                ParkingSpace.holder_household_id.is_not(None))).scalars():
            spaces[space.holder_household_id].append((space.id, space.name))
        metered = [i.id for i in items if i.kind == FeeKind.METERED]
        if metered:
            for r in db.session.execute(select(MeterReading).where(MeterReading.fee_item_id.in_(metered),
                                                                   MeterReading.read_on < period_end)).scalars():
                readings[r.household_id][r.fee_item_id].append(billing.Reading(r.read_on, r.reading_milli, r.reset))
    unit = "{}单元 "
    return [billing.Home(
        id=h.id, label=f"{h.building} {unit.format(h.unit) if h.unit else ''}{h.room}",
        gross_dm2=h.floor_area_dm2, inner_dm2=h.inner_area_dm2,
        vacant=h.occupancy in (Occupancy.VACANT, Occupancy.UNDELIVERED),
        has_owner=bool(h.owner_name.strip()) or h.id in owned,
        spaces=tuple(spaces.get(h.id, ())), readings={k: tuple(v) for k, v in readings[h.id].items()},
    ) for h in rows]


def _period(run: BillRun) -> billing.Period:
    return billing.Period(run.period_kind, run.period_start, run.period_end)


def _compute(run: BillRun, *, progress: bool) -> tuple[billing.Result, list[billing.Home]]:
    items = load_items(run.community_id)
    homes = load_homes(run.community_id, items, run.period_end)
    result = billing.Result()
    for start in range(0, len(homes), CHUNK):
        part = billing.lines_for(_period(run), items, homes[start:start + CHUNK])
        result.lines.extend(line for line in part.lines if line.amount_fen > 0)
        result.skipped.extend(s for s in part.skipped if s.household_id is not None)
        if start == 0:
            result.skipped[:0] = [s for s in part.skipped if s.household_id is None]
        if progress:
            db.session.execute(update(BillRun).where(BillRun.id == run.id)
                               .values(progress=min(start + CHUNK, len(homes)), total=len(homes)))
            db.session.commit()
    if not homes:
        result.skipped[:0] = [s for s in billing.lines_for(_period(run), items, []).skipped]
    return result, homes


def _summary(result: billing.Result, items: dict) -> dict:
    per_item: dict = {}
    for line in result.lines:
        entry = per_item.setdefault(str(line.fee_item_id), {"name": items.get(line.fee_item_id, ""), "bills": 0,
                                                           "total_fen": 0})
        entry["bills"] += 1
        entry["total_fen"] += line.amount_fen
    return {
        "households": result.households, "bills": len(result.lines), "total_fen": result.total_fen,
        "items": list(per_item.values()),
        "skipped_count": len(result.skipped),
        "skipped": [{"household_id": str(s.household_id) if s.household_id else None, "label": s.label,
                     "reason": s.reason, "item": s.item} for s in result.skipped[:MAX_SKIPPED_SHOWN]],
    }


# --- starting and the jobs -------------------------------------------------------------------------------------


def start_preview(community: Community, *, period_kind, period_start: date | None, actor) -> BillRun:

    try:
        kind = PeriodKind(period_kind)
    except ValueError:
        raise BillRunError(_l("Choose month, quarter or year."), "period_kind") from None
    period = billing.period_starting(kind, period_start) if period_start else None
    if period is None:
        raise BillRunError(_l("Choose a period."), "period_start")
    if period.start > local_today() + timedelta(days=400):
        raise BillRunError(_l("That period is more than a year ahead."), "period_start")
    run = BillRun(community_id=community.id, period_kind=kind, period_start=period.start, period_end=period.end,
                  status=BillRunStatus.PREVIEWING, progress=0, total=0, preview={},
                  created_by_id=actor.id if actor else None)
    db.session.add(run)
    db.session.flush()
    audit.record("bill_run.preview", actor=actor, object_type="bill_run", object_id=run.id,
                 object_label=f"{community.name} {period.label}")
    db.session.commit()
    _enqueue(build_preview, run)
    return run


def _enqueue(job, run: BillRun, *args) -> None:
    from saas.jobs import enqueue

    run_id, company_id = str(run.id), run.company_id
    try:
        result = enqueue(job, run_id, *args, company_id=company_id)
        job_id = getattr(result, "id", None)
        if job_id:
            db.session.execute(update(BillRun).where(BillRun.id == run_id).values(job_id=job_id))
            db.session.commit()
    except Exception:
        log.exception("bill run job %s failed", run_id)
        db.session.rollback()
        db.session.execute(update(BillRun).where(BillRun.id == uuid.UUID(run_id)).values(
            status=BillRunStatus.FAILED, error="job"))
        db.session.commit()


def _failed(run_id, exc: Exception) -> None:
    log.exception("bill run %s failed", run_id, exc_info=exc)
    db.session.rollback()
    db.session.execute(update(BillRun).where(BillRun.id == run_id).values(status=BillRunStatus.FAILED,
                                                                          error=type(exc).__name__))
    db.session.commit()


def build_preview(run_id: str) -> str | None:
    """Job: previewing → previewed, with the preview's figures."""
    run = db.session.get(BillRun, (require_company_id(), uuid.UUID(str(run_id))))
    if run is None or run.status != BillRunStatus.PREVIEWING:
        return None
    try:
        result, homes = _compute(run, progress=True)
        names = {i.id: i.name for i in db.session.execute(select(FeeItem).where(
            FeeItem.community_id == run.community_id)).scalars()}
        run.preview = _summary(result, names)
        run.total_fen = result.total_fen
        run.progress = run.total = len(homes)
        run.status = BillRunStatus.PREVIEWED
        db.session.commit()
    except Exception as exc:  # the page shows the run as failed; the log has why
        _failed(run.id, exc)
        return BillRunStatus.FAILED.value
    return run.status.value


def start_issue(run: BillRun, *, actor) -> BillRun:
    if run.status != BillRunStatus.PREVIEWED:
        raise BillRunError(_l("Only a run with its preview ready can be issued."))
    claimed = db.session.execute(update(BillRun).where(BillRun.id == run.id,
                                                       BillRun.status == BillRunStatus.PREVIEWED)
                                 .values(status=BillRunStatus.ISSUING, progress=0)).rowcount
    db.session.commit()
    if claimed != 1:
        raise BillRunError(_l("This run is already being issued."))
    _enqueue(issue_run, run, str(actor.id) if actor else None)
    db.session.refresh(run)
    return run


def insert_bills(rows: list[dict]) -> list[tuple]:
    """INSERT … ON CONFLICT (uq_bills_charge) DO NOTHING RETURNING (household_id, amount_fen) of the rows really
    inserted. PostgreSQL: one statement per chunk, each column sent as one array and spread by unnest() (a few
    parameters, not 27 a row: the driver's work and the server's parse stay small). SQLite: an executemany."""
    if not rows:
        return []
    table = Bill.__table__
    conflict = ["company_id", "household_id", "period_start", "charge_key", "generation"]
    dialect = db.session.get_bind().dialect
    if dialect.name == "postgresql":
        names = list(rows[0])
        casts, params = [], {}
        for k, name in enumerate(names):
            column_type = table.c[name].type
            process = column_type.bind_processor(dialect)
            values = [row[name] for row in rows]
            params[f"p{k}"] = [process(v) for v in values] if process else values
            casts.append(f"CAST(:p{k} AS {column_type.compile(dialect=dialect)}[])")
        sql = text(f"INSERT INTO bills ({', '.join(names)}) SELECT * FROM unnest({', '.join(casts)}) "
                   f"ON CONFLICT ({', '.join(conflict)}) DO NOTHING RETURNING household_id, amount_fen")
        return [tuple(r) for r in db.session.execute(sql, params).all()]
    from sqlalchemy.dialects.sqlite import insert

    stmt = insert(table).on_conflict_do_nothing(index_elements=conflict).returning(table.c.household_id,
                                                                                 table.c.amount_fen)
    # executemany: SQLAlchemy batches the rows into multi-row INSERTs itself ("insertmanyvalues") from one cached
    # compiled statement; .values(rows) would compile a new 500-row statement every chunk.
    return [tuple(r) for r in db.session.execute(stmt, rows).all()]


def issue_run(run_id: str, actor_id: str | None = None) -> str | None:
    """Job: issuing → issued. Inserts the bills (idempotently), tells the owners and stewards, spends credit."""
    company_id = require_company_id()
    run = db.session.get(BillRun, (company_id, uuid.UUID(str(run_id))))
    if run is None or run.status != BillRunStatus.ISSUING:
        return None
    actor = db.session.get(User, uuid.UUID(actor_id)) if actor_id else None
    try:
        result, homes = _compute(run, progress=False)
        today = local_today()
        due_on = today + timedelta(days=get_settings().due_days)
        building_of = dict(db.session.execute(select(Household.id, Household.building_id).join(
            Building, Building.id == Household.building_id).where(Building.community_id == run.community_id)).all())
        now = utcnow()
        inserted: list[tuple] = []
        run.total = len(result.lines)
        for start in range(0, len(result.lines), INSERT_CHUNK):
            rows = [{
                "company_id": company_id, "id": new_id(), "created_at": now,
                "household_id": line.household_id, "community_id": run.community_id,
                "building_id": building_of[line.household_id], "kind": BillKind.RUN,
                "fee_item_id": line.fee_item_id, "rate_id": line.rate_id, "bill_run_id": run.id,
                "parking_space_id": line.parking_space_id, "work_order_id": None, "charge_key": line.charge_key,
                "generation": 0, "replaces_id": None, "title": line.title, "detail": line.detail,
                "period_start": run.period_start, "period_end": run.period_end, "amount_fen": line.amount_fen,
                "paid_fen": 0, "credited_fen": 0, "due_on": due_on, "late_fee_clause": "", "reason": "",
                "created_by_id": actor.id if actor else None,
            } for line in result.lines[start:start + INSERT_CHUNK]]
            inserted.extend(insert_bills(rows))
            run.progress = min(start + INSERT_CHUNK, len(result.lines))
            db.session.commit()
        billed: dict = defaultdict(int)
        for household_id, amount in inserted:
            billed[household_id] += amount
        run.issued_bills = len(inserted)
        run.total_fen = sum(billed.values())
        run.status = BillRunStatus.ISSUED
        run.issued_at = now
        community = db.session.get(Community, (company_id, run.community_id))
        audit.record("bill_run.issue", actor=actor, object_type="bill_run", object_id=run.id,
                     object_label=f"{community.name} {_period(run).label}",
                     changes={"bills": [None, len(inserted)], "amount": [None, format_yuan(run.total_fen)]})
        messages = notify_billed(run, billed, actor=actor)
        db.session.commit()
    except Exception as exc:
        _failed(run.id, exc)
        return BillRunStatus.FAILED.value
    from saas.notifications.services import deliver_after_commit

    deliver_after_commit(messages)
    _apply_credit(list(billed), actor)
    return BillRunStatus.ISSUED.value


def _apply_credit(household_ids, actor) -> None:
    """Spend the billed households' credit (prepayments, overpayments) on their new bills, oldest first."""
    from tenants.fees import ledger

    if household_ids:
        ledger.apply_credit(household_ids, actor=actor)
        db.session.commit()


def notify_billed(run: BillRun, billed: dict, *, actor) -> list:
    """Each owner of a newly billed home: in-app and SMS; each steward of such homes: one in-app notice."""
    from tenants.inbox.services import notify
    from tenants.stewards.models import StewardAssignment

    if not billed:
        return []
    label = _period(run).label
    messages = []
    # The community's owners and stewards, kept where billed: no IN list of every billed home (a community of
    # 70,000 homes would pass PostgreSQL's limit of 65,535 parameters a statement).
    in_community = (select(Household.id).join(Building, Building.id == Household.building_id)
                    .where(Building.community_id == run.community_id))
    owners = defaultdict(list)
    for household_id, user_id in db.session.execute(
            select(HouseholdOwner.household_id, Membership.user_id)
            .join(Membership, Membership.id == HouseholdOwner.membership_id)
            .where(HouseholdOwner.household_id.in_(in_community), HouseholdOwner.ended_at.is_(None),
                   Membership.ended_at.is_(None))).all():
        if household_id in billed:
            owners[household_id].append(user_id)
    users = {u.id: u for u in db.session.execute(select(User).where(
        User.id.in_({u for us in owners.values() for u in us}))).scalars()} if owners else {}
    company_name = db.session.execute(select(Community.name).where(Community.id == run.community_id)).scalar()
    for household_id, user_ids in owners.items():
        text = f"{company_name} {label}物业账单已出：{format_yuan(billed[household_id])}。可在“我的账单”查看。"
        messages += notify([users[u] for u in user_ids if u in users], text, subject_type=NOTICE,
                           subject_id=run.id, actor=actor, sms=text, kind="fee_bills_issued")
    stewards = defaultdict(int)
    for steward_id, household_id in db.session.execute(
            select(StewardAssignment.steward_id, StewardAssignment.household_id).where(
                StewardAssignment.household_id.in_(in_community), StewardAssignment.ended_at.is_(None))).all():
        if household_id in billed:
            stewards[steward_id] += 1
    if stewards:
        for membership_id, user_id in db.session.execute(select(Membership.id, Membership.user_id).where(
                Membership.id.in_(list(stewards)), Membership.ended_at.is_(None))).all():
            notify([user_id], f"{company_name} {label}账单已出：您负责的 {stewards[membership_id]} 户已出账。",
                   subject_type=NOTICE, subject_id=run.id, actor=actor)
    return messages


def runs_list(limit: int = 50) -> list[BillRun]:
    return list(db.session.execute(select(BillRun).order_by(BillRun.created_at.desc(), BillRun.id.desc())
                                   .limit(limit)).scalars())
