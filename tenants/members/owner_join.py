"""Owners join their company with a household code (房屋认证码): the service behind /join/<slug> (joining.py).

Wrong codes are counted per mobile number and per address (rate limits in Flask-Limiter's storage: memory,
or Redis when REDIS_URL is set, so every web process shares the count). Once a limit is reached, every try
is refused, with the right code too, until the window passes: guessing codes does not pay.
The code is checked before anything about the account, so a stranger without a valid code learns nothing
about which mobile numbers have accounts.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from flask_babel import gettext as _
from limits import parse
from sqlalchemy import select

from saas.audit import record
from saas.auth.services import authenticate
from saas.errors import ServiceError
from saas.extensions import db, limiter
from saas.i18n import _l
from saas.models import Company, Membership, Role, User
from saas.tenancy import company_context, utcnow
from saas.validators import password_problem
from tenants.roster.codes import normalise_code
from tenants.roster.models import Household, HouseholdOwner


class JoinError(ServiceError):
    """The owner could not join; ``status`` is the HTTP status of the page that says so (429: too many tries)."""

    def __init__(self, message, field: str | None = None, status: int = 422):
        super().__init__(message, field)
        self.status = status


@dataclass
class JoinResult:
    user: User
    household_label: str
    already_linked: bool = False


def _limits():
    config = current_app.config
    return [
        (parse(config.get("OWNER_JOIN_PHONE_LIMIT", "5 per hour")), "phone"),
        (parse(config.get("OWNER_JOIN_IP_LIMIT", "20 per hour")), "ip"),
    ]


def _keys(phone: str, ip: str, company_id) -> dict:
    # The address count is per company: many owners share one carrier NAT or proxy address, and wrong codes
    # typed at one company must not lock that address out of joining every other company.
    return {"phone": phone, "ip": f"{company_id}:{ip or '-'}"}


def too_many_wrong_codes(phone: str, ip: str, company_id) -> bool:
    keys = _keys(phone, ip, company_id)
    return any(not limiter.limiter.test(item, "owner-join-code", kind, keys[kind]) for item, kind in _limits())


def _count_wrong_code(phone: str, ip: str, company_id) -> None:
    keys = _keys(phone, ip, company_id)
    for item, kind in _limits():
        limiter.limiter.hit(item, "owner-join-code", kind, keys[kind])


def default_name(phone: str) -> str:
    return _("Owner %(tail)s", tail=phone[-4:])


def join(company: Company, *, phone: str, password: str, code: str, name: str = "", ip: str = "") -> JoinResult:
    """Bind the account with this mobile number (created if new) to the household with this code, as a
    verified owner. Raises JoinError with a message for the field at fault; changes nothing then."""
    if too_many_wrong_codes(phone, ip, company.id):
        raise JoinError(_l("Too many wrong household codes. For your safety, try again in an hour, or ask your "
                           "property company for help."), "code", 429)
    code = normalise_code(code)
    with company_context(company.id):
        household = db.session.execute(
            select(Household).where(Household.household_code == code, Household.live())
        ).scalar_one_or_none() if code else None
        if household is None:
            db.session.rollback()
            _count_wrong_code(phone, ip, company.id)
            raise JoinError(_l("This household code is not right. Check it against your notice: letters and "
                               "digits, without spaces."), "code")
        household_id, household_label = household.id, household.label

    user = db.session.execute(select(User).where(User.phone == phone)).scalar_one_or_none()
    if user is not None:
        result = authenticate(phone, password)  # counts failures and locks the account like the sign-in page
        if result.user is None:
            if result.locked_until is not None:
                raise JoinError(_l("Too many wrong passwords: this account is locked for a while. Try again "
                                   "later."), "password", 429)
            raise JoinError(_l("This mobile number already has an account, and this is not its password."),
                            "password")
        user = result.user
    elif (problem := password_problem(password)) is not None:
        raise JoinError(problem, "password")

    with company_context(company.id):
        if user is None:
            user = User(name=name or default_name(phone), phone=phone)
            user.set_password(password)
            db.session.add(user)
            db.session.flush()
        membership = db.session.execute(
            select(Membership).where(Membership.user_id == user.id, Membership.ended_at.is_(None))
        ).scalar_one_or_none()
        if membership is not None and membership.role != Role.OWNER:
            db.session.rollback()
            raise JoinError(_l("This account works for the property company as staff. Use another mobile number "
                               "for your home, or ask your company admin to link it."), "phone")
        if membership is None:
            membership = Membership(user_id=user.id, role=Role.OWNER, company_id=company.id)
            db.session.add(membership)
            db.session.flush()
        linked = db.session.execute(
            select(HouseholdOwner).where(HouseholdOwner.household_id == household_id,
                                         HouseholdOwner.membership_id == membership.id,
                                         HouseholdOwner.ended_at.is_(None))
        ).scalar_one_or_none()
        if linked is not None:
            db.session.commit()
            return JoinResult(user, household_label, already_linked=True)
        db.session.add(HouseholdOwner(household_id=household_id, membership_id=membership.id,
                                      verified_at=utcnow(), company_id=company.id))
        record("owner.join", actor=user, object_type="household", object_id=household_id,
               object_label=household_label, changes={"owner": [None, f"{user.name} {user.phone}"]})
        db.session.flush()  # inside the company: row-level security checks rows as they are inserted
        db.session.commit()
    return JoinResult(user, household_label)
