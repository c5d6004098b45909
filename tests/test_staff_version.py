"""The staff version token (saas/staff_version.py) and the assignee lists kept under it: every change to who a
company's staff are shows at once on the work-order pages; owners joining, another company's staff and a rolled
back change do not move the token; a kept list costs no statement."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from saas.extensions import db
from saas.models import Role

pytestmark = pytest.mark.world("work_orders")


def _token(app, company) -> int:
    from saas.models import Company

    with app.app_context():
        value = db.session.execute(select(Company.staff_version).where(Company.id == company.id)).scalar_one()
        db.session.remove()
        return value


def _options(client, slug) -> str:
    """The list page's assignee <select>, as drawn."""
    page = client.get(f"/c/{slug}/work-orders").get_data(as_text=True)
    start = page.index('id="f-assignee"')
    return page[start:page.index("</select>", start)]


def test_the_assignee_list_follows_every_change_to_the_staff(app, two_companies, login_as, make_user):
    a, b = two_companies
    slug = a.company.slug
    admin = login_as(a.admin)
    technician_id = str(a.members[Role.TECHNICIAN])
    first = _options(admin, slug)
    assert first == _options(admin, slug)  # drawn once, kept
    assert f'<option value="{technician_id}">a-technician (Technician)</option>' in first
    assert "a-owner" not in first and "b-technician" not in first

    newcomer = make_user("新来的维修工", memberships=[(a.company, Role.TECHNICIAN)])
    assert "新来的维修工 (Technician)" in _options(admin, slug)

    response = admin.post(f"/c/{slug}/members/{technician_id}/role", data={"role": "steward"})
    assert response.status_code in (200, 303)
    assert f'<option value="{technician_id}">a-technician (Steward)</option>' in _options(admin, slug)

    response = admin.post(f"/c/{slug}/members/{technician_id}/end")
    assert response.status_code in (200, 303)
    assert technician_id not in _options(admin, slug)

    # The filter keeps its choice selected.
    page = admin.get(f"/c/{slug}/work-orders?assignee={newcomer_id(app, a, newcomer)}").get_data(as_text=True)
    assert f'<option value="{newcomer_id(app, a, newcomer)}" selected>' in page


def newcomer_id(app, world, user) -> str:
    from saas.models import Membership
    from saas.tenancy import company_context

    with app.app_context(), company_context(world.company.id):
        value = db.session.execute(select(Membership.id).where(Membership.user_id == user.id)).scalar_one()
        db.session.remove()
        return str(value)


def test_what_moves_the_token_and_what_does_not(app, two_companies, make_user):
    from saas.models import Membership, User
    from saas.tenancy import company_context

    a, b = two_companies
    before_a, before_b = _token(app, a.company), _token(app, b.company)

    make_user("新业主", memberships=[(a.company, Role.OWNER)])
    assert _token(app, a.company) == before_a  # owners are not staff

    with app.app_context(), company_context(a.company.id):
        membership = db.session.get(Membership, (a.company.id, a.members[Role.STEWARD]))
        membership.role = Role.TECHNICIAN
        db.session.flush()
        db.session.rollback()
    assert _token(app, a.company) == before_a  # rolled back with the change

    make_user("新管家", memberships=[(a.company, Role.STEWARD)])
    moved = _token(app, a.company)
    assert moved != before_a and _token(app, b.company) == before_b  # another company's staff: untouched

    with app.app_context(), company_context(a.company.id):
        db.session.execute(update(Membership).where(Membership.id == a.members[Role.CASHIER]).values(role=Role.STEWARD))
        db.session.commit()
    assert _token(app, a.company) != moved and _token(app, b.company) == before_b  # a bulk update: its company

    moved_a, moved_b = _token(app, a.company), _token(app, b.company)
    with app.app_context():
        db.session.get(User, b.technician.id).name = "改了名字"
        db.session.commit()
    assert _token(app, a.company) != moved_a and _token(app, b.company) != moved_b  # a rename: every company


def test_a_kept_list_costs_no_statement(app, two_companies, login_as, count_queries):
    a, _ = two_companies
    admin = login_as(a.admin)
    url = f"/c/{a.company.slug}/work-orders"
    with count_queries() as first:
        assert admin.get(url).status_code == 200
    with count_queries() as second:
        assert admin.get(url).status_code == 200
    assert second.count == first.count - 1

