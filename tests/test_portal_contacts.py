"""The owner portal's front page gives the company's service and complaint phones as tap-to-call links, and,
when the company has published neither, says whom to ask instead of an empty line."""

from __future__ import annotations

import re

from saas.extensions import db
from saas.models import Company, Role


def _set_company(app, company_id, **values):
    with app.app_context():
        company = db.session.get(Company, company_id)
        for key, value in values.items():
            setattr(company, key, value)
        db.session.commit()


def _contacts(page: str) -> str:
    start = page.index('id="company-contacts"')
    return page[start:page.index("</section>", start)]


def test_owner_sees_the_service_and_complaint_phones_as_tap_to_call_links(app, two_companies, login_as):
    a, _ = two_companies
    _set_company(app, a.company.id, service_phone="400-123-4567", complaint_phone="0991-1234567")
    page = login_as(a.owner).get(f"/c/{a.company.slug}/my").get_data(as_text=True)
    contacts = _contacts(page)
    assert re.search(r"Service phone</dt>\s*<dd[^>]*><a[^>]*href=\"tel:400-123-4567\"", contacts)
    assert re.search(r"Complaint phone</dt>\s*<dd[^>]*><a[^>]*href=\"tel:0991-1234567\"", contacts)


def test_with_only_a_complaint_phone_no_empty_service_line(app, two_companies, login_as):
    a, _ = two_companies
    _set_company(app, a.company.id, service_phone="", complaint_phone="0991-1234567")
    contacts = _contacts(login_as(a.owner).get(f"/c/{a.company.slug}/my").get_data(as_text=True))
    assert "Service phone" not in contacts and 'href="tel:0991-1234567"' in contacts


def test_without_phones_the_portal_names_the_steward_to_ask(app, two_companies, login_as):
    a, _ = two_companies  # the world's owner lives in the home the world's steward looks after
    _set_company(app, a.company.id, service_phone="", complaint_phone="")
    page = login_as(a.owner).get(f"/c/{a.company.slug}/my").get_data(as_text=True)
    contacts = _contacts(page)
    assert "tel:" not in contacts and "<dd" not in contacts
    assert f"ask your steward, {a.steward.name}" in contacts
    assert "—" not in page  # no dash standing in for a missing number anywhere on the page


def test_without_phones_or_a_steward_the_portal_sends_the_owner_to_the_office(app, two_companies, login_as,
                                                                               make_user):
    a, _ = two_companies
    _set_company(app, a.company.id, service_phone="", complaint_phone="", address="红山路 88 号")
    newcomer = make_user("新业主", memberships=[(a.company, Role.OWNER)])  # no home linked yet, so no steward
    page = login_as(newcomer).get(f"/c/{a.company.slug}/my").get_data(as_text=True)
    contacts = _contacts(page)
    assert "ask at the property office" in contacts and "红山路 88 号" in contacts and "tel:" not in contacts


def test_a_home_without_a_steward_gives_the_company_phone_not_a_dash(app, two_companies, login_as):
    from sqlalchemy import update

    from saas.tenancy import company_context, utcnow
    from tenants.stewards.models import StewardAssignment

    a, _ = two_companies
    with app.app_context(), company_context(a.company.id):
        db.session.execute(update(StewardAssignment).values(ended_at=utcnow()))
        db.session.commit()
    _set_company(app, a.company.id, service_phone="", complaint_phone="")
    page = login_as(a.owner).get(f"/c/{a.company.slug}/my").get_data(as_text=True)
    assert "No steward is assigned to your home right now. Ask at the property office." in page
    assert "—" not in page
    _set_company(app, a.company.id, service_phone="400-123-4567")
    page = login_as(a.owner).get(f"/c/{a.company.slug}/my").get_data(as_text=True)
    assert "Call the company on 400-123-4567." in page
