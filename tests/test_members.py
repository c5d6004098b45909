"""Membership management by the company admin, and the audit log page."""

from __future__ import annotations

from sqlalchemy import select

from saas.extensions import db
from saas.models import AuditEvent, Membership, Role
from saas.tenancy import company_context

HX = {"HX-Request": "true"}


def _membership(app, company_id, user_id):
    with app.app_context(), company_context(company_id):
        m = db.session.execute(select(Membership).where(Membership.user_id == user_id)
                               .order_by(Membership.created_at.desc())).scalars().first()
        db.session.expunge_all()
        return m


def test_members_page_points_to_invitations_instead_of_passwords(app, two_companies, login_as):
    a, _ = two_companies
    body = login_as(a.admin).get(f"/c/{a.company.slug}/members").get_data(as_text=True)
    assert f"/c/{a.company.slug}/members/invitations" in body
    assert "1 pending invitation<" in body  # the world's invitation
    assert 'type="password"' not in body  # admins no longer choose passwords for their staff


def test_role_change_and_end_are_audited_and_ended_member_loses_access(app, two_companies, login_as):
    a, _ = two_companies
    admin = login_as(a.admin)
    steward_client = login_as(a.steward)
    m = _membership(app, a.company.id, a.steward.id)
    assert admin.post(f"/c/{a.company.slug}/members/{m.id}/role", data={"role": "technician"}).status_code == 303
    assert _membership(app, a.company.id, a.steward.id).role == Role.TECHNICIAN
    assert steward_client.get(f"/c/{a.company.slug}/households").status_code == 403
    assert admin.post(f"/c/{a.company.slug}/members/{m.id}/end").status_code == 303
    ended = _membership(app, a.company.id, a.steward.id)
    assert ended.ended_at is not None  # kept, not deleted
    assert steward_client.get(f"/c/{a.company.slug}/").status_code == 404
    with app.app_context(), company_context(a.company.id):
        actions = db.session.scalars(select(AuditEvent.action).where(
            AuditEvent.object_id == m.id, AuditEvent.object_type == "membership")).all()
    assert set(actions) == {"membership.role_change", "membership.end"}
    former = admin.get(f"/c/{a.company.slug}/members?ended=1").get_data(as_text=True)
    assert a.steward.name in former


def test_last_admin_cannot_be_removed_or_demoted(app, two_companies, login_as):
    a, _ = two_companies
    admin = login_as(a.admin)
    m = _membership(app, a.company.id, a.admin.id)
    admin.post(f"/c/{a.company.slug}/members/{m.id}/end")
    admin.post(f"/c/{a.company.slug}/members/{m.id}/role", data={"role": "steward"})
    m = _membership(app, a.company.id, a.admin.id)
    assert m.ended_at is None and m.role == Role.ADMIN


def test_audit_page_filters_by_actor_and_object(app, two_companies, login_as):
    a, _ = two_companies
    admin = login_as(a.admin)
    hid = a.roster["households"][0]
    admin.post(f"/c/{a.company.slug}/households/{hid}/delete")
    admin.post(f"/c/{a.company.slug}/households/{hid}/restore")
    login_as(a.steward)
    results = {**HX, "HX-Target": "audit-results"}  # the list alone: the filter's options name every action
    assert "<select" in admin.get(f"/c/{a.company.slug}/audit").get_data(as_text=True)
    page = admin.get(f"/c/{a.company.slug}/audit", headers=results).get_data(as_text=True)
    assert "Household removed" in page and "Household restored" in page and "Signed in" in page
    by_object = admin.get(f"/c/{a.company.slug}/audit?object_type=household&object_id={hid}",
                          headers=results).get_data(as_text=True)
    assert "Household removed" in by_object and "Signed in" not in by_object
    by_actor = admin.get(f"/c/{a.company.slug}/audit?actor_id={a.steward.id}", headers=results).get_data(as_text=True)
    assert "Signed in" in by_actor and "Household removed" not in by_actor
    partial = admin.get(f"/c/{a.company.slug}/audit?action=household", headers={**HX, "HX-Target": "audit-results"}).get_data(as_text=True)
    assert "<html" not in partial and "Household restored" in partial and "Signed in" not in partial
    assert admin.get(f"/c/{a.company.slug}/audit?actor_id=garbage").status_code == 404
