"""The red/black list reads each company module's figures through the sources registered at app start: work
orders and disclosures (disclosures count statements and replies due up to a quarter's last day, the job's
quarter ends on the next one's first day)."""

from __future__ import annotations

from datetime import date

import pytest

from saas.extensions import db

pytestmark = pytest.mark.world("disclosures")


def test_the_ratings_job_records_each_companys_disclosure_figures(app, two_companies):
    from saas.ratings import figures as sources
    from saas.ratings import job
    from saas.tenancy import company_context
    from tenants.disclosures.figures import quarter_figures

    a, _ = two_companies
    assert {"work_orders", "disclosures"} <= set(sources.sources())
    quarter = date(2026, 4, 1)  # Q1 2026's common-area income fell due in April
    with app.app_context():
        row = job.collect(a.company.id, quarter, 1)
        recorded = row.figures["disclosures"]
        with company_context(a.company.id):
            expected = quarter_figures(a.company.id, quarter, date(2026, 6, 30))
        db.session.rollback()
    assert recorded == expected
    assert set(recorded) == {"disclosures_due", "disclosures_on_time", "objections_due", "objections_answered_on_time"}
    assert recorded["disclosures_due"] >= 1  # the world's statement, due in the quarter
