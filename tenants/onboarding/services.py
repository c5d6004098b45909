"""The onboarding checklist (what is left to get a company live) and the company profile."""

from __future__ import annotations

from dataclasses import dataclass

from flask import url_for
from sqlalchemy import exists, func, select
from werkzeug.routing import BuildError

from saas.audit import diff, record
from saas.extensions import db
from saas.i18n import _l
from saas.models import STAFF_ROLES, Company, Membership, User
from tenants.members.models import Invitation
from tenants.roster.models import Community, Household


@dataclass(frozen=True)
class Step:
    key: str
    title: object  # lazy string
    text: object
    action: object
    url: str
    done: bool


def _url(endpoint: str, fallback: str) -> str:
    """A page another module is still building may not exist yet: link to the nearest page that does."""
    try:
        return url_for(endpoint)
    except BuildError:
        return url_for(fallback)


def _exists(stmt) -> bool:
    return bool(db.session.scalar(select(exists(stmt))))


def checklist(company: Company) -> list[Step]:
    """The five steps to go live, each ticking itself from the company's data (the current company)."""
    has_community = _exists(select(Community.id).where(Community.deleted_at.is_(None)))
    has_households = _exists(select(Household.id).where(Household.deleted_at.is_(None)))
    staff = db.session.scalar(select(func.count()).select_from(Membership).where(Membership.role.in_(STAFF_ROLES)))
    invited = staff > 1 or _exists(select(Invitation.id))
    return [
        Step("profile", _l("Company profile"),
             _l("Your licence number and the complaint phone owners see on fee disclosures."),
             _l("Fill in the profile"), url_for("company.onboarding.profile"),
             bool(company.licence_number and company.complaint_phone)),
        Step("community", _l("First community"),
             _l("Add a residential compound (小区) you manage, with its address."),
             _l("Add a community"), url_for("company.roster.communities"), has_community),
        Step("households", _l("Household roster"),
             _l("Import your households from Excel, or add them one by one."),
             _l("Import households"), _url("company.imports.index", "company.roster.households"), has_households),
        Step("staff", _l("Invite staff"),
             _l("Invite your stewards and technicians so they can sign in on their phones."),
             _l("Invite staff"), url_for("company.members.invitations", _anchor="invite-form"), invited),
        Step("notices", _l("Print QR posters and household notices"),
             _l("Post a QR code in every lobby and give each household its notice with its household code, so "
                "owners can join."),
             _l("Print notices"), url_for("company.roster.communities"), company.notices_printed_at is not None),
    ]


def update_profile(company: Company, *, licence_number: str, complaint_phone: str, address: str,
                   actor: User, service_phone: str = "") -> Company:
    before = {"licence_number": company.licence_number, "complaint_phone": company.complaint_phone,
              "service_phone": company.service_phone, "address": company.address}
    company.licence_number = licence_number
    company.complaint_phone = complaint_phone
    company.service_phone = service_phone or ""
    company.address = address or ""
    changes = diff(before, {"licence_number": company.licence_number, "complaint_phone": company.complaint_phone,
                            "service_phone": company.service_phone, "address": company.address})
    if changes:
        record("company.profile_update", actor=actor, object_type="company", object_id=company.id,
               object_label=company.name, changes=changes)
    db.session.commit()
    return company
