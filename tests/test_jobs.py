"""Jobs carry their company and re-enter it; inline without Redis, on RQ with a real worker when REDIS_URL is set."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from saas.extensions import db
from saas.models import AuditEvent
from saas.tenancy import company_context, current_company_id
from tests.conftest import REDIS_URL, requires_redis


def record_marker(marker: str) -> str:
    """A job: writes an audit event in whatever company the job runner set."""
    from saas.audit import record

    record("job.ran", actor=None, object_type="job", object_label=marker)
    db.session.commit()
    return str(current_company_id())


def _markers(app, company_id):
    with app.app_context(), company_context(company_id):
        return [e.object_label for e in db.session.execute(
            select(AuditEvent).where(AuditEvent.action == "job.ran")).scalars()]


def test_inline_job_runs_in_the_given_company_not_the_ambient_one(app, two_companies):
    from saas.jobs import enqueue

    a, b = two_companies
    with app.app_context(), company_context(b.company.id):
        result = enqueue(record_marker, "inline", company_id=a.company.id)
    assert result == str(a.company.id)
    assert _markers(app, a.company.id) == ["inline"]
    assert _markers(app, b.company.id) == []


def test_inline_job_errors_surface(app, two_companies):
    from saas.jobs import enqueue

    def boom():
        raise RuntimeError("job failed")

    with app.app_context(), pytest.raises(RuntimeError):
        enqueue(boom, company_id=two_companies[0].company.id)


@requires_redis
def test_rq_job_runs_on_a_real_worker_in_its_company(db_urls, two_companies):
    from redis import Redis
    from rq import SimpleWorker

    from saas.jobs import enqueue, queue
    from tests.conftest import make_test_app

    a, _ = two_companies
    queue_name = f"test-{uuid.uuid4().hex[:8]}"
    app = make_test_app(db_urls, REDIS_URL=REDIS_URL, JOB_QUEUE_NAME=queue_name)
    with app.app_context():
        job = enqueue(record_marker, "rq", company_id=a.company.id)
        assert job.get_status() == "queued"
        assert _markers(app, a.company.id) == []  # not run yet: it is really queued
        worker = SimpleWorker([queue()], connection=Redis.from_url(REDIS_URL))
        assert worker.work(burst=True)
        job.refresh()
        assert job.get_status() == "finished", job.latest_result()
        assert job.return_value() == str(a.company.id)
        queue().delete(delete_jobs=True)
    assert _markers(app, a.company.id) == ["rq"]
