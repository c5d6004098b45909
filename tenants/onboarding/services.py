"""The onboarding checklist (what is left to get a company live) and the company profile."""

from __future__ import annotations

from dataclasses import dataclass

from flask import url_for
from flask_babel import ngettext
from sqlalchemy import exists, func, select
from werkzeug.routing import BuildError

from saas.audit import diff, record
from saas.extensions import db
from saas.i18n import _l
from saas.models import STAFF_ROLES, Company, Membership, User
from tenants.members.models import Invitation
from tenants.roster.models import Community, Household
from tenants.work_orders import settings_services as wo_settings


@dataclass(frozen=True)
class Step:
    key: str
    title: object  # lazy string
    text: object
    action: object
    url: str
    done: bool
    items: tuple = ()  # what is still missing, named (e.g. the categories that reach nobody)
    offer: object = None  # a one-click fix on the step itself (settings_services.TechnicianOffer)


def _url(endpoint: str, fallback: str) -> str:
    """A page another module is still building may not exist yet: link to the nearest page that does."""
    try:
        return url_for(endpoint)
    except BuildError:
        return url_for(fallback)


def _exists(stmt) -> bool:
    return bool(db.session.scalar(select(exists(stmt))))


def checklist(company: Company) -> list[Step]:
    """The six steps to go live, each ticking itself from the company's data (the current company)."""
    has_community = _exists(select(Community.id).where(Community.live()))
    has_households = _exists(select(Household.id).where(Household.live()))
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
        _repairs_step(),
        Step("notices", _l("Print QR posters and household notices"),
             _l("Post a QR code in every lobby and give each household its notice with its household code, so "
                "owners can join."),
             _l("Print notices"), url_for("company.roster.communities"), company.notices_printed_at is not None),
    ]


def _repairs_step() -> Step:
    """Who fixes what: done when every live work-order category reaches someone (a default person, or a pool
    someone is qualified for). A new company's six categories reach nobody until it has a technician."""
    unreached = wo_settings.unreached_categories()
    names = tuple(c.name for c in unreached)
    settings_url = url_for("company.work_orders.settings", _anchor="who-fixes-what")
    if not unreached:
        return Step("repairs", _l("Who fixes what"),
                    _l("Every kind of repair goes to a technician or to the grab pool."),
                    _l("Choose who fixes what"), settings_url, True)
    if not wo_settings.has_technicians():
        return Step("repairs", _l("Who fixes what"),
                    _l("You have no technician yet: repairs reported now reach nobody. Invite one, then choose who "
                       "fixes each kind of repair."),
                    _l("Invite a technician"),
                    url_for("company.members.invitations", role="technician", _anchor="invite-form"), False,
                    names)
    return Step("repairs", _l("Who fixes what"),
                ngettext("%(num)d kind of repair reaches nobody: choose a technician or the grab pool for it.",
                         "%(num)d kinds of repair reach nobody: choose a technician or the grab pool for each.",
                         len(unreached)),
                _l("Choose who fixes what"), settings_url, False, names, wo_settings.technician_offer())


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
