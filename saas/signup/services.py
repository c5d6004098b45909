"""Creating a company with its first admin: self-serve signup and the `create-company` CLI command."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from blinker import Namespace
from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from saas.audit import record
from saas.errors import ServiceError
from saas.extensions import db
from saas.i18n import _l
from saas.models import Company, Membership, PlatformAuditEvent, Role, SubscriptionStatus, User
from saas.signup.slugs import available_slug, normalise_slug, slug_problem, slug_taken
from saas.tenancy import company_context, utcnow
from saas.validators import password_problem

# Sent inside the new company's context, after its admin membership is flushed and before the commit, with
# ``admin`` (the User). The company modules subscribe (tenants.register): e.g. work orders gives the company its
# standard repair categories. A receiver writes with the session and does not commit; if it raises, nothing
# of the company is created.
company_created = Namespace().signal("company-created")


class SignupError(ServiceError):
    """The company was not created; ``suggestion`` proposes a free web address when the slug was refused."""

    def __init__(self, message, field: str | None = None, suggestion: str = ""):
        super().__init__(message, field)
        self.suggestion = suggestion


@dataclass
class SignupResult:
    company: Company
    user: User
    new_user: bool


def check_slug(slug: str) -> str:
    """The normalised slug, or SignupError(field='slug') saying what is wrong and proposing a free one."""
    slug = normalise_slug(slug)
    problem = slug_problem(slug)
    if problem is not None:
        raise SignupError(problem, "slug", suggestion=available_slug(slug) if slug else "")
    if slug_taken(slug):
        suggestion = available_slug(slug)
        message = (_l("This address is already taken. %(suggestion)s is free.", suggestion=suggestion)
                   if suggestion else _l("This address is already taken. Choose another one."))
        raise SignupError(message, "slug", suggestion=suggestion)
    return slug


def find_account(*, phone: str | None, email: str | None) -> User | None:
    if phone:
        return db.session.execute(select(User).where(User.phone == phone)).scalar_one_or_none()
    if email:
        return db.session.execute(
            select(User).where(func.lower(User.email) == email.lower())).scalar_one_or_none()
    return None


def create_company_with_admin(
    *,
    name: str,
    slug: str,
    admin_name: str = "",
    phone: str | None = None,
    email: str | None = None,
    password: str | None = None,
    user: User | None = None,
    attach_existing_account: bool = False,
    source: str = "signup",
) -> SignupResult:
    """Create a company on a free trial of TRIAL_DAYS with its admin, audited in the company and the platform.

    The admin is ``user`` (a signed-in person starting another company), else a new account for ``phone`` or
    ``email``. An existing account with that phone or e-mail is refused (the person should sign in first)
    unless ``attach_existing_account`` (the operator's CLI). Commits; raises SignupError on bad input.
    """
    name = (name or "").strip()
    if not name:
        raise SignupError(_l("Enter the company name."), "company_name")
    slug = check_slug(slug)
    new_user = False
    if user is None:
        if not phone and not email:
            raise SignupError(_l("Enter a mainland mobile number or an e-mail address."), "login")
        user = find_account(phone=phone, email=email)
        if user is not None and not attach_existing_account:
            raise SignupError(_l("An account with this mobile number or e-mail already exists. Sign in with it "
                                 "first, then start the trial from your account."), "login")
        if user is None:
            if (problem := password_problem(password)) is not None:
                raise SignupError(problem, "password")
            user = User(name=(admin_name or "").strip()[:50] or name[:50], phone=phone or None,
                        email=email or None)
            user.set_password(password)
            db.session.add(user)
            new_user = True

    trial_ends_at = utcnow() + timedelta(days=int(current_app.config.get("TRIAL_DAYS", 30)))
    company = Company(name=name[:100], slug=slug, subscription_status=SubscriptionStatus.TRIALING,
                      plan_code="trial", trial_ends_at=trial_ends_at)
    db.session.add(company)
    try:
        db.session.flush()
        with company_context(company.id):
            membership = Membership(user_id=user.id, role=Role.ADMIN)
            db.session.add(membership)
            db.session.flush()
            company_created.send(company, admin=user)
            record("company.signup", actor=user, object_type="company", object_id=company.id,
                   object_label=f"{name} ({slug})",
                   changes={"name": [None, name], "slug": [None, slug], "trial_ends_at": [None, trial_ends_at],
                            "admin": [None, f"{user.name} {user.login_name}"]})
            # Flush while the company is set: PostgreSQL's row-level security checks the rows on insert.
            db.session.flush()
        db.session.add(PlatformAuditEvent(
            actor_id=user.id, actor_name=user.name, action="company.signup", company_id=company.id,
            details={"slug": slug, "name": name, "source": source, "new_account": new_user,
                     "trial_ends_at": trial_ends_at.isoformat()},
        ))
        db.session.commit()
    except IntegrityError:
        # Someone took the slug (or the phone) between the check and the insert.
        db.session.rollback()
        if slug_taken(slug):
            suggestion = available_slug(slug)
            raise SignupError(_l("This address is already taken. %(suggestion)s is free.", suggestion=suggestion)
                              if suggestion else _l("This address is already taken. Choose another one."),
                              "slug", suggestion=suggestion) from None
        raise SignupError(_l("An account with this mobile number or e-mail already exists. Sign in with it "
                             "first, then start the trial from your account."), "login") from None
    return SignupResult(company, user, new_user)
