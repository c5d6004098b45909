"""The periodic SLA job: warnings before a deadline, escalation at a breach, auto-close after REOPEN_DAYS done.

Clocks are explicit (``now=``) or frozen (time_machine); every run is checked twice to prove it idempotent.
"""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import select

from saas.clock import SHANGHAI
from saas.extensions import db
from saas.models import Company, Membership
from saas.notifications.models import Channel, OutboxMessage
from saas.tenancy import company_context
from tenants.inbox.models import Notification
from tenants.roster.models import Household, HouseholdOwner
from tenants.work_orders import services, sla_jobs
from tenants.work_orders.models import (
    Area,
    EventKind,
    Priority,
    Source,
    WorkOrder,
    WorkOrderCategory,
    WorkOrderEvent,
    WorkOrderSettings,
)
from tenants.work_orders.states import Action, Status
from tests.conftest import REDIS_URL, requires_postgres, requires_redis

NOTHING = {"companies": 2, "response_warned": 0, "response_breached": 0, "resolution_warned": 0,
           "resolution_breached": 0, "closed": 0, "failed": 0}
T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # a Tuesday, 10:00 in Shanghai


def sh(*args) -> datetime:
    """A Shanghai wall-clock time, as the UTC instant the app stores."""
    return datetime(*args, tzinfo=SHANGHAI).astimezone(UTC)


def expect(**counts) -> dict:
    return {**NOTHING, **counts}


def minutes(n: int) -> timedelta:
    return timedelta(minutes=n)


# --- helpers --------------------------------------------------------------------------------------------------


@pytest.fixture
def world(app, two_companies):
    """Two companies whose own world jobs are cancelled, so only each test's jobs are due. The owners are bound to
    their homes since before T0: an owner reads (and rates) only the jobs reported since they were bound, and the
    tests' clock is fixed while the world is made at the real time."""
    for w in two_companies:
        with app.app_context(), company_context(w.company.id):
            order = db.session.get(WorkOrder, (w.company.id, w.ids["order_id"]))
            services.perform(order, Action.CANCEL, actor=None, membership=None, note="test setup")
            for binding in db.session.execute(select(HouseholdOwner)).scalars():
                binding.created_at = T0 - timedelta(days=30)
            db.session.commit()
            db.session.remove()
    return two_companies


def membership(user) -> Membership:
    return db.session.execute(select(Membership).where(Membership.user_id == user.id)).scalar_one()


def report(app, w, *, at: datetime, priority: Priority = Priority.URGENT) -> uuid.UUID:
    """An in-home job phoned in by the admin: it goes to the home's steward (ASSIGNED, not accepted)."""
    with app.app_context(), company_context(w.company.id):
        admin = membership(w.admin)
        category = db.session.execute(select(WorkOrderCategory).where(WorkOrderCategory.name == "水暖")).scalar_one()
        household = db.session.get(Household, (w.company.id, w.owner_household_id))
        order = services.create_order(
            services.Report(source=Source.PHONE, area=Area.HOME, category_id=category.id, household=household,
                            description="卫生间漏水", priority=priority),
            actor=admin.user, membership=admin, now=at)
        assert order.assignee_id == membership(w.steward).id
        order_id = order.id
        db.session.remove()
    return order_id


def act(app, w, order_id, action: Action, *, by, at: datetime, note: str = "") -> None:
    with app.app_context(), company_context(w.company.id):
        member = membership(by)
        services.perform(db.session.get(WorkOrder, (w.company.id, order_id)), action, actor=member.user,
                         membership=member, note=note, now=at)
        db.session.remove()


def run(app, at: datetime) -> dict:
    from tenants.work_orders.sla_jobs import check_all_companies

    with app.app_context():
        try:
            return check_all_companies(now=at)
        finally:
            db.session.remove()


def order_row(app, w, order_id) -> WorkOrder:
    with app.app_context(), company_context(w.company.id):
        order = db.session.get(WorkOrder, (w.company.id, order_id))
        db.session.expunge(order)
        db.session.remove()
    return order


def sla_events(app, w, order_id) -> list[tuple]:
    with app.app_context(), company_context(w.company.id):
        rows = db.session.execute(
            select(WorkOrderEvent).where(WorkOrderEvent.work_order_id == order_id,
                                         WorkOrderEvent.kind.in_([EventKind.SLA_WARNING, EventKind.SLA_BREACH]))
            .order_by(WorkOrderEvent.seq)).scalars().all()
        out = [(e.kind, e.note, e.internal, e.actor_user_id) for e in rows]
        db.session.remove()
    return out


def notices(app, w, user) -> list[tuple[str, uuid.UUID]]:
    """(body, job id) of the notices ``user`` has in company ``w``."""
    with app.app_context(), company_context(w.company.id):
        rows = db.session.execute(select(Notification).where(Notification.user_id == user.id)
                                  .order_by(Notification.created_at, Notification.id)).scalars().all()
        out = [(n.body, n.subject_id) for n in rows]
        db.session.remove()
    return out


def sla_notices(app, w, user) -> list[tuple[str, uuid.UUID]]:
    return [n for n in notices(app, w, user) if " soon." in n[0] or " missed its " in n[0]]


def breach_sms(app, w) -> list[tuple[str, str, uuid.UUID]]:
    with app.app_context(), company_context(w.company.id):
        rows = db.session.execute(select(OutboxMessage).where(OutboxMessage.kind.like("work_order_breach_%"))
                                  .order_by(OutboxMessage.created_at, OutboxMessage.id)).scalars().all()
        assert all(m.channel == Channel.SMS for m in rows)
        out = [(m.recipient, m.kind, m.related_id) for m in rows]
        db.session.remove()
    return out


def business_hours(app, w) -> None:
    with app.app_context(), company_context(w.company.id):
        db.session.add(WorkOrderSettings(business_hours=True))  # 08:30-17:30 on working days, holidays observed
        db.session.commit()


# --- warnings and escalations -----------------------------------------------------------------------------------


@pytest.mark.parametrize("reported, quiet, due", [
    # Friday after closing: nothing over the weekend, the clock starts Monday 08:30.
    (sh(2026, 12, 4, 18, 0),
     [sh(2026, 12, 4, 18, 5), sh(2026, 12, 5, 12, 0), sh(2026, 12, 6, 23, 59), sh(2026, 12, 7, 8, 29)],
     sh(2026, 12, 7, 9, 0)),
    # The eve of National Day: nothing through the Golden Week (1-7 October), the clock starts Thursday 8 October.
    (sh(2026, 9, 30, 18, 0),
     [sh(2026, 9, 30, 23, 0), sh(2026, 10, 3, 10, 0), sh(2026, 10, 7, 17, 0), sh(2026, 10, 8, 8, 29)],
     sh(2026, 10, 8, 9, 0)),
])
def test_business_hours_job_is_warned_and_escalated_on_the_next_working_morning(app, world, reported, quiet, due):
    a, _ = world
    business_hours(app, a)
    order_id = report(app, a, at=reported)
    order = order_row(app, a, order_id)
    # Urgent: 30 minutes to accept, 4 hours to finish, of working time.
    assert order.response_due_at == due
    assert order.resolution_due_at == due + timedelta(hours=3, minutes=30)  # 08:30 + 4 h = 12:30

    for at in quiet:
        assert run(app, at) == NOTHING, at
    assert sla_events(app, a, order_id) == []

    warned_at = due - minutes(30)  # 08:30, the moment the office opens
    assert run(app, warned_at) == expect(response_warned=1)
    assert run(app, warned_at + minutes(29)) == NOTHING
    assert sla_notices(app, a, a.steward) == [("WO-2026-000002 must be accepted soon.", order_id)]
    assert sla_notices(app, a, a.admin) == []
    assert run(app, due) == expect(response_breached=1)
    assert run(app, due + minutes(5)) == NOTHING
    assert run(app, due + timedelta(hours=3)) == expect(resolution_warned=1)  # 12:00, 30 minutes before 12:30
    assert run(app, due + timedelta(hours=3, minutes=30)) == expect(resolution_breached=1)
    assert run(app, due + timedelta(days=1)) == NOTHING

    order = order_row(app, a, order_id)
    assert (order.response_warned_at, order.response_breached_at) == (warned_at, due)
    assert order.resolution_warned_at == due + timedelta(hours=3)
    assert order.resolution_breached_at == due + timedelta(hours=3, minutes=30)
    day = due.astimezone(SHANGHAI).strftime("%Y-%m-%d")
    assert sla_events(app, a, order_id) == [
        (EventKind.SLA_WARNING, f"Reminder sent: to be accepted by {day} 09:00.", True, None),
        (EventKind.SLA_BREACH, f"Not accepted by {day} 09:00: escalated to the admins.", True, None),
        (EventKind.SLA_WARNING, f"Reminder sent: to be finished by {day} 12:30.", True, None),
        (EventKind.SLA_BREACH, f"Not finished by {day} 12:30: escalated to the admins.", True, None),
    ]
    assert sla_notices(app, a, a.admin) == [("WO-2026-000002 missed its response deadline.", order_id),
                                            ("WO-2026-000002 missed its resolution deadline.", order_id)]
    assert breach_sms(app, a) == [(a.admin.phone, "work_order_breach_response", order_id),
                                  (a.admin.phone, "work_order_breach_resolution", order_id)]


def test_breach_escalates_to_the_admins_once_however_often_the_job_runs(app, world):
    a, b = world
    order_id = report(app, a, at=T0)  # urgent, 24/7: accept by T0 + 30 min
    # No run saw it inside the warning window: the breach escalates without a warning first.
    assert run(app, T0 + minutes(45)) == expect(response_breached=1)
    assert run(app, T0 + minutes(45)) == NOTHING
    assert run(app, T0 + minutes(50)) == NOTHING

    order = order_row(app, a, order_id)
    assert order.response_warned_at == order.response_breached_at == T0 + minutes(45)
    assert order.status == Status.ASSIGNED  # escalation changes no status
    assert sla_events(app, a, order_id) == [
        (EventKind.SLA_BREACH, "Not accepted by 2026-12-01 10:30: escalated to the admins.", True, None)]
    breach = ("WO-2026-000002 missed its response deadline.", order_id)
    assert sla_notices(app, a, a.admin) == [breach]
    assert sla_notices(app, a, a.steward) == [breach]  # the assignee hears in the app, without "soon" first
    assert breach_sms(app, a) == [(a.admin.phone, "work_order_breach_response", order_id)]
    # Nothing for the other company's admin, in either company.
    assert notices(app, a, b.admin) == [] and sla_notices(app, b, b.admin) == [] and breach_sms(app, b) == []


def test_a_job_created_inside_the_window_is_warned_then_escalated(app, world):
    a, _ = world
    order_id = report(app, a, at=T0)
    assert run(app, T0 + minutes(1)) == expect(response_warned=1)  # due in 29 minutes, inside the 30
    assert run(app, T0 + minutes(2)) == NOTHING
    assert run(app, T0 + minutes(30)) == expect(response_breached=1)
    assert [e[0] for e in sla_events(app, a, order_id)] == [EventKind.SLA_WARNING, EventKind.SLA_BREACH]


def test_warn_minutes_setting_moves_the_warning(app, world):
    a, _ = world
    with app.app_context(), company_context(a.company.id):
        db.session.add(WorkOrderSettings(warn_minutes=120))
        db.session.commit()
    order_id = report(app, a, at=T0, priority=Priority.NORMAL)  # 24 h to accept, 3 days to finish
    assert run(app, T0 + timedelta(hours=21, minutes=59)) == NOTHING
    assert run(app, T0 + timedelta(hours=22)) == expect(response_warned=1)
    assert order_row(app, a, order_id).response_warned_at == T0 + timedelta(hours=22)


def test_an_accepted_job_is_never_warned_about_accepting(app, world):
    a, _ = world
    order_id = report(app, a, at=T0)
    act(app, a, order_id, Action.ACCEPT, by=a.steward, at=T0 + minutes(5))
    assert run(app, T0 + minutes(10)) == NOTHING  # response due in 20 minutes, but met
    assert run(app, T0 + minutes(60)) == NOTHING  # response deadline passed, but met
    # The resolution clock (4 hours) still runs until the job is done.
    assert run(app, T0 + minutes(215)) == expect(resolution_warned=1)
    order = order_row(app, a, order_id)
    assert order.response_warned_at is None and order.response_breached_at is None
    assert sla_notices(app, a, a.steward) == [("WO-2026-000002 must be finished soon.", order_id)]


def test_a_paused_job_is_left_alone_and_resumes_against_its_shifted_deadline(app, world):
    a, _ = world
    order_id = report(app, a, at=T0)
    act(app, a, order_id, Action.ACCEPT, by=a.steward, at=T0 + minutes(5))
    act(app, a, order_id, Action.WAIT, by=a.steward, at=T0 + minutes(60), note="业主不在家")
    assert run(app, T0 + minutes(230)) == NOTHING  # 10 minutes before the old deadline
    assert run(app, T0 + minutes(300)) == NOTHING  # after it
    act(app, a, order_id, Action.RESUME, by=a.steward, at=T0 + minutes(360))
    # Paused 300 minutes (24/7): the resolution deadline moves from T0 + 240 to T0 + 540.
    assert order_row(app, a, order_id).resolution_due_at == T0 + minutes(540)
    assert run(app, T0 + minutes(509)) == NOTHING
    assert run(app, T0 + minutes(510)) == expect(resolution_warned=1)
    assert run(app, T0 + minutes(539)) == NOTHING
    assert run(app, T0 + minutes(540)) == expect(resolution_breached=1)
    assert sla_events(app, a, order_id) == [
        (EventKind.SLA_WARNING, "Reminder sent: to be finished by 2026-12-01 19:00.", True, None),
        (EventKind.SLA_BREACH, "Not finished by 2026-12-01 19:00: escalated to the admins.", True, None),
    ]


def test_a_finished_or_cancelled_job_is_not_warned(app, world):
    a, _ = world
    done, cancelled = report(app, a, at=T0), report(app, a, at=T0)
    for action in (Action.ACCEPT, Action.START, Action.COMPLETE):
        act(app, a, done, action, by=a.steward, at=T0 + minutes(10))
    act(app, a, cancelled, Action.CANCEL, by=a.admin, at=T0 + minutes(10), note="业主自己修好了")
    assert run(app, T0 + minutes(235)) == NOTHING
    assert run(app, T0 + timedelta(days=1)) == NOTHING
    assert sla_events(app, a, done) == [] and sla_events(app, a, cancelled) == []


def test_each_run_handles_a_bounded_batch_and_the_next_run_continues(app, world, monkeypatch):
    a, _ = world
    orders = [report(app, a, at=T0) for _ in range(3)]
    monkeypatch.setattr(sla_jobs, "BATCH", 2)
    assert run(app, T0 + minutes(45)) == expect(response_breached=2)
    assert run(app, T0 + minutes(45)) == expect(response_breached=1)
    assert run(app, T0 + minutes(45)) == NOTHING
    assert all(order_row(app, a, o).response_breached_at is not None for o in orders)


# --- auto-close ---------------------------------------------------------------------------------------------------


def test_a_job_left_done_for_seven_days_closes_itself_once(app, world):
    a, _ = world
    order_id = report(app, a, at=T0)
    for action in (Action.ACCEPT, Action.START, Action.COMPLETE):
        act(app, a, order_id, action, by=a.steward, at=T0 + minutes(20))
    done_at = T0 + minutes(20)
    assert run(app, done_at + timedelta(days=6)) == NOTHING
    assert run(app, done_at + timedelta(days=7)) == NOTHING  # the last moment the owner may still reopen
    assert order_row(app, a, order_id).status == Status.DONE

    closed_at = done_at + timedelta(days=7, minutes=1)
    assert run(app, closed_at) == expect(closed=1)
    assert run(app, closed_at) == NOTHING
    order = order_row(app, a, order_id)
    assert (order.status, order.closed_at, order.rated_at) == (Status.CLOSED, closed_at, None)
    with app.app_context(), company_context(a.company.id):
        last = db.session.execute(select(WorkOrderEvent).where(WorkOrderEvent.work_order_id == order_id)
                                  .order_by(WorkOrderEvent.seq.desc())).scalars().first()
        assert (last.kind, last.action, last.from_status, last.to_status, last.actor_user_id, last.note) == (
            EventKind.TRANSITION, "close", Status.DONE, Status.CLOSED, None,
            "Closed automatically 7 days after it was done.")
    assert ("WO-2026-000002: Closed.", order_id) in notices(app, a, a.steward)


def test_a_rated_job_is_not_closed_again(app, world):
    a, _ = world
    order_id = report(app, a, at=T0)
    for action in (Action.ACCEPT, Action.START, Action.COMPLETE):
        act(app, a, order_id, action, by=a.steward, at=T0 + minutes(20))
    with app.app_context(), company_context(a.company.id):
        owner = membership(a.owner)
        services.perform(db.session.get(WorkOrder, (a.company.id, order_id)), Action.RATE, actor=owner.user,
                         membership=owner, ratings=services.Ratings(5, 5, 5), now=T0 + timedelta(days=1))
        db.session.remove()
    assert run(app, T0 + timedelta(days=9)) == NOTHING
    assert order_row(app, a, order_id).closed_at == T0 + timedelta(days=1)


# --- companies --------------------------------------------------------------------------------------------------


def test_each_company_s_jobs_are_handled_in_that_company(app, two_companies):
    a, b = two_companies  # each has its world job: normal priority, assigned to the technician, 24 h to accept
    due = {w.company.slug: order_row(app, w, w.ids["order_id"]).response_due_at for w in (a, b)}
    at = max(due.values()) + minutes(1)
    assert run(app, at) == expect(response_breached=2)
    assert run(app, at) == NOTHING
    for w, other in ((a, b), (b, a)):
        order_id = w.ids["order_id"]
        assert [e[0] for e in sla_events(app, w, order_id)] == [EventKind.SLA_BREACH]
        assert sla_notices(app, w, w.admin) == [("WO-2026-000001 missed its response deadline.", order_id)]
        assert sla_notices(app, w, w.technician) == [("WO-2026-000001 missed its response deadline.", order_id)]
        assert breach_sms(app, w) == [(w.admin.phone, "work_order_breach_response", order_id)]
        for user in (other.admin, other.steward, other.technician):
            assert notices(app, w, user) == []  # nobody of the other company hears of this company's job


def test_suspended_and_read_only_companies_are_skipped(app, two_companies):
    a, b = two_companies
    at = max(order_row(app, w, w.ids["order_id"]).response_due_at for w in (a, b)) + minutes(1)
    with app.app_context():
        db.session.get(Company, a.company.id).suspended_at = at - timedelta(days=1)
        db.session.get(Company, b.company.id).trial_ends_at = at - timedelta(days=1)  # trial over, no plan
        db.session.commit()
    assert run(app, at) == {**NOTHING, "companies": 0}
    assert sla_events(app, a, a.ids["order_id"]) == [] and sla_events(app, b, b.ids["order_id"]) == []


# --- how it is run ------------------------------------------------------------------------------------------------


def test_the_cli_command_runs_the_job_and_prints_the_counts(app, world):
    from saas.jobs import PERIODIC_JOBS

    a, _ = world
    assert ("check-work-order-slas", "tenants.work_orders.sla_jobs:check_all_companies", "*/5 * * * *") \
        in PERIODIC_JOBS
    order_id = report(app, a, at=T0)
    runner = app.test_cli_runner()
    with time_machine.travel(T0 + minutes(45), tick=False):
        result = runner.invoke(args=["check-work-order-slas"])
        assert result.exit_code == 0, result.output
        assert result.output.strip() == (
            "Work-order SLAs: 2 companies checked; warned 0 to accept and 0 to finish; escalated 1 not accepted "
            "and 0 not finished; closed 0 done jobs; 0 failed.")
        again = runner.invoke(args=["check-work-order-slas"])
        assert "escalated 0 not accepted" in again.output
    assert order_row(app, a, order_id).response_breached_at == T0 + minutes(45)


@requires_postgres
def test_two_overlapping_runs_escalate_each_job_once(app, world, monkeypatch):
    a, _ = world
    orders = [report(app, a, at=T0) for _ in range(3)]
    # Both runs read the same candidates before either locks one: the row lock and the re-check decide.
    barrier, first = threading.Barrier(2), threading.local()
    original = services.lock

    def lock(order):
        if not getattr(first, "done", False):
            first.done = True
            barrier.wait(timeout=20)
        return original(order)

    monkeypatch.setattr(services, "lock", lock)
    results, errors = [], []

    def worker():
        try:
            results.append(run(app, T0 + minutes(45)))
        except Exception as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert sum(r["response_breached"] for r in results) == 3 and all(r["failed"] == 0 for r in results)
    for order_id in orders:
        assert [e[0] for e in sla_events(app, a, order_id)] == [EventKind.SLA_BREACH]
    assert len(breach_sms(app, a)) == 3


@requires_redis
def test_the_periodic_job_runs_on_a_real_rq_worker(db_urls, app, world):
    from redis import Redis
    from rq import SimpleWorker

    from saas.jobs import queue, run_periodic
    from tests.conftest import make_test_app

    a, _ = world
    order_id = report(app, a, at=T0)
    rq_app = make_test_app(db_urls, REDIS_URL=REDIS_URL, JOB_QUEUE_NAME=f"test-{uuid.uuid4().hex[:8]}")
    with time_machine.travel(T0 + minutes(45), tick=False), rq_app.app_context():
        job = queue().enqueue(run_periodic, "tenants.work_orders.sla_jobs:check_all_companies")
        worker = SimpleWorker([queue()], connection=Redis.from_url(REDIS_URL))
        assert worker.work(burst=True)
        job.refresh()
        assert job.get_status() == "finished", job.latest_result()
        assert job.return_value() == expect(response_breached=1)
        queue().delete(delete_jobs=True)
    assert order_row(app, a, order_id).response_breached_at == T0 + minutes(45)
    assert breach_sms(app, a) == [(a.admin.phone, "work_order_breach_response", order_id)]


def test_listing_the_companies_to_check_does_not_open_all_companies(app, world, caplog):
    """The company list is a platform table: the job enters each company's own context, never all_companies()."""
    import logging

    with caplog.at_level(logging.INFO, logger="saas.audit"):
        run(app, T0)
    assert not [r for r in caplog.records if "all_companies" in r.getMessage()]
