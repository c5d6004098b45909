"""The bell's unread count in the menu bar: read in the statement that finds the membership on a read request
(tenants.MEMBER_FIGURES, no statement of its own on every company page), counted after the change on a write."""

from __future__ import annotations

import re

from saas.extensions import db
from saas.models import Role
from saas.tenancy import company_context
from tenants.inbox.services import notify


def _bell(html: str) -> int:
    found = re.search(r'<span class="badge rounded-pill text-bg-warning"><span aria-hidden="true">(\d+)</span>', html)
    return int(found.group(1)) if found else 0


def test_the_bell_counts_unread_notices_with_the_membership_and_no_statement_of_its_own(
        app, make_company, make_user, login_as, count_queries):
    company = make_company()
    actor = make_user("王经理", memberships=[(company, Role.ADMIN)])
    reader = make_user("李管家", memberships=[(company, Role.STEWARD)])
    other = make_company("other-co", "别家物业")
    make_user("赵管家", memberships=[(other, Role.STEWARD)])
    with app.app_context(), company_context(company.id):
        notify([reader], "WO-2026-000001：请上门。", subject_type="", subject_id=None, actor=actor)
        notify([reader], "WO-2026-000002：请上门。", subject_type="", subject_id=None, actor=actor)
        db.session.commit()
    client = login_as(reader)
    url = f"/c/{company.slug}/households"
    assert _bell(client.get(url).get_data(as_text=True)) == 2
    with count_queries() as counter:
        assert _bell(client.get(url).get_data(as_text=True)) == 2
    assert not [s for s in counter.statements if re.match(r"\s*SELECT count\(\*\)[^()]*FROM notifications", s)]
    # One statement: the user, their membership and the count (tenants._MembershipWithUser).
    assert any("FROM users" in s and "JOIN memberships" in s and "notifications" in s for s in counter.statements)

    # Reading the inbox marks them read; the next page's bell is empty.
    client.get(f"/c/{company.slug}/notifications")
    assert _bell(client.get(url).get_data(as_text=True)) == 0
