"""Trial reminders 7, 3 and 1 days before the end: once each, to every admin, idempotent, also from the CLI."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from saas.extensions import db
from saas.models import AuditEvent, Company, Role, SubscriptionStatus, TrialReminder, User
from saas.notifications.models import Channel, OutboxMessage
from saas.tenancy import company_context
from tests.conftest import REDIS_URL, requires_redis

END = datetime(2026, 3, 31, 4, 0, tzinfo=UTC)


@pytest.fixture
def trial(app, make_company, make_user):
    """A company whose trial ends at END, with two admins (one by phone, one by phone and e-mail) and a steward."""
    company = make_company("hongshan-wuye", "红山物业")
    with app.app_context():
        db.session.get(Company, company.id).trial_ends_at = END
        db.session.commit()
    make_user("王经理", phone="13700000001", memberships=[(company, Role.ADMIN)])
    both_admin = make_user("刘经理", phone="13700000002", memberships=[(company, Role.ADMIN)])
    with app.app_context():
        db.session.get(User, both_admin.id).email = "liu@example.com"
        db.session.commit()
    make_user("李管家", phone="13700000003", memberships=[(company, Role.STEWARD)])
    return company


def _run(app, at: datetime):
    from saas.trial import send_trial_reminders

    with time_machine.travel(at, tick=False), app.app_context():
        try:
            return send_trial_reminders()
        finally:
            db.session.remove()


def _outbox(app, company_id) -> list[tuple]:
    with app.app_context(), company_context(company_id):
        rows = db.session.execute(select(OutboxMessage).order_by(OutboxMessage.created_at)).scalars().all()
        out = [(m.kind, m.channel, m.recipient, m.subject, m.body) for m in rows]
        db.session.remove()
    return out


def test_one_reminder_per_threshold_to_each_admin_however_often_the_job_runs(app, trial):
    sent_after, reported = {}, 0
    for days in (8, 7, 5, 3, 1, 0):
        for _ in range(2):
            reported += _run(app, END - timedelta(days=days)).messages
        sent_after[days] = len(_outbox(app, trial.id))
    assert reported == 9
    # Each reminder: an SMS to each admin's phone and an e-mail to the admin who has one; none to the steward.
    assert sent_after == {8: 0, 7: 3, 5: 3, 3: 6, 1: 9, 0: 9}
    messages = _outbox(app, trial.id)
    assert {m[0] for m in messages} == {"trial_reminder"}
    recipients = [m[2] for m in messages]
    assert sorted(recipients) == sorted(["13700000001", "13700000002", "liu@example.com"] * 3)
    assert "13700000003" not in recipients
    sms = [m for m in messages if m[1] == Channel.SMS and m[2] == "13700000001"]
    assert ["in 7 days" in sms[0][4], "in 3 days" in sms[1][4], "in 1 day" in sms[2][4]] == [True] * 3
    assert all("红山物业" in m[4] and "/c/hongshan-wuye/" in m[4] and "read-only" in m[4] for m in messages)
    [email] = [m for m in messages if m[1] == Channel.EMAIL][:1]
    assert email[3] == "红山物业: your Guanjia free trial ends in 7 days" and "Hello 刘经理" in email[4]
    with app.app_context():
        assert sorted(r.days_before for r in db.session.execute(select(TrialReminder)).scalars()) == [1, 3, 7]
        with company_context(trial.id):
            events = db.session.execute(select(AuditEvent).where(AuditEvent.action == "trial.reminder")).scalars()
            assert sorted(e.changes["days_before"] for e in events) == [1, 3, 7]


def test_reminder_just_inside_a_threshold_says_the_rounded_up_days(app, trial):
    _run(app, END - timedelta(days=6, hours=23))
    [sms] = [m for m in _outbox(app, trial.id) if m[2] == "13700000001"]
    assert "in 7 days" in sms[4]


def test_a_missed_run_catches_up_with_only_the_most_urgent_reminder(app, trial):
    _run(app, END - timedelta(days=2))
    assert [m[2] for m in _outbox(app, trial.id)].count("13700000001") == 1
    assert "in 3 days" in _outbox(app, trial.id)[0][4]
    _run(app, END - timedelta(days=2, hours=-12))  # later that day: nothing new
    _run(app, END - timedelta(hours=5))
    bodies = [m[4] for m in _outbox(app, trial.id) if m[2] == "13700000001"]
    assert len(bodies) == 2 and "in 1 day" in bodies[1]
    with app.app_context():
        assert sorted(r.days_before for r in db.session.execute(select(TrialReminder)).scalars()) == [1, 3]


@pytest.mark.parametrize("changes", [
    {"subscription_status": SubscriptionStatus.ACTIVE, "plan_code": "basic"},
    {"subscription_status": SubscriptionStatus.CANCELED},
    {"suspended_at": END - timedelta(days=10)},
    {"trial_ends_at": None},
])
def test_companies_not_on_a_running_trial_get_no_reminders(app, trial, changes):
    with app.app_context():
        company = db.session.get(Company, trial.id)
        for key, value in changes.items():
            setattr(company, key, value)
        db.session.commit()
    for days in (7, 3, 1):
        _run(app, END - timedelta(days=days))
    assert _outbox(app, trial.id) == []


def test_an_extended_trial_is_reminded_again_before_its_new_end(app, trial):
    for days in (7, 3, 1):
        _run(app, END - timedelta(days=days))
    assert len(_outbox(app, trial.id)) == 9
    new_end = END + timedelta(days=14)
    with app.app_context():
        db.session.get(Company, trial.id).trial_ends_at = new_end
        db.session.commit()
    _run(app, END)  # the old end: 14 days left now, too early
    assert len(_outbox(app, trial.id)) == 9
    for days in (7, 3, 1):
        _run(app, new_end - timedelta(days=days))
        _run(app, new_end - timedelta(days=days))
    assert len(_outbox(app, trial.id)) == 18
    with app.app_context():
        rows = db.session.execute(select(TrialReminder)).scalars().all()
        assert len(rows) == 3 and {r.trial_ends_at.replace(tzinfo=UTC) for r in rows} == {new_end}


def test_each_company_gets_its_own_reminders_only(app, trial, make_company, make_user):
    other = make_company("tianshan-wuye", "天山物业")
    with app.app_context():
        db.session.get(Company, other.id).trial_ends_at = END + timedelta(days=5)
        db.session.commit()
    make_user("陈经理", phone="13700000009", memberships=[(other, Role.ADMIN)])
    run = _run(app, END - timedelta(days=7))
    assert (run.companies, run.messages) == (1, 3)
    assert _outbox(app, other.id) == []
    run = _run(app, END - timedelta(days=2))  # the other's 7-day point, and the first one's 3-day point
    assert (run.companies, run.messages) == (2, 4)
    assert [m[2] for m in _outbox(app, other.id)] == ["13700000009"]
    assert "in 7 days" in _outbox(app, other.id)[0][4]
    assert all("天山物业" in m[4] for m in _outbox(app, other.id))


def test_ended_admins_and_disabled_accounts_are_not_reminded(app, trial):
    from saas.models import Membership
    from saas.tenancy import utcnow

    with app.app_context():
        db.session.execute(select(User).where(User.phone == "13700000002")).scalar_one().is_active_account = False
        user = db.session.execute(select(User).where(User.phone == "13700000001")).scalar_one()
        with company_context(trial.id):
            db.session.execute(select(Membership).where(Membership.user_id == user.id)).scalar_one().ended_at = \
                utcnow()
            db.session.commit()
    _run(app, END - timedelta(days=7))
    assert _outbox(app, trial.id) == []


def test_the_cli_command_sends_what_is_due(app, trial):
    runner = app.test_cli_runner()
    with time_machine.travel(END - timedelta(days=3), tick=False):
        result = runner.invoke(args=["send-trial-reminders"])
        assert result.exit_code == 0, result.output
        assert "3 messages to the admins of 1 companies" in result.output
        again = runner.invoke(args=["send-trial-reminders"])
        assert "0 messages" in again.output
    assert len(_outbox(app, trial.id)) == 3


def test_periodic_job_is_registered_for_rq_cron():
    from rq import cron

    from saas.jobs import PERIODIC_JOBS, register_periodic_jobs

    before = list(cron._job_data_registry)
    try:
        register_periodic_jobs("default")
        added = cron._job_data_registry[len(before):]
        assert [(d["name"], d["args"], d["cron"]) for d in added] == [
            (name, (target,), schedule) for name, target, schedule in PERIODIC_JOBS]
        assert ("send-trial-reminders", "saas.trial:send_trial_reminders", "0 2 * * *") in PERIODIC_JOBS
    finally:
        cron._job_data_registry[:] = before


@requires_redis
def test_periodic_job_runs_on_a_real_rq_worker(db_urls, trial):
    from redis import Redis
    from rq import SimpleWorker

    from saas.jobs import queue, run_periodic
    from tests.conftest import make_test_app

    app = make_test_app(db_urls, REDIS_URL=REDIS_URL, JOB_QUEUE_NAME=f"test-{uuid.uuid4().hex[:8]}")
    with time_machine.travel(END - timedelta(days=1), tick=False), app.app_context():
        job = queue().enqueue(run_periodic, "saas.trial:send_trial_reminders")
        worker = SimpleWorker([queue()], connection=Redis.from_url(REDIS_URL))
        assert worker.work(burst=True)
        job.refresh()
        assert job.get_status() == "finished", job.latest_result()
        queue().delete(delete_jobs=True)
    assert len(_outbox(app, trial.id)) == 3


def test_reminders_need_no_company_context_and_leave_none_behind(app, trial):
    from saas.tenancy import current_company_id

    with time_machine.travel(END - timedelta(days=7), tick=False), app.app_context():
        from saas.trial import send_trial_reminders

        assert send_trial_reminders().messages == 3
        assert current_company_id() is None
        assert db.session.scalar(select(func.count()).select_from(TrialReminder)) == 1
