"""Sign-in with lockout. Failures count per account; after LOGIN_MAX_FAILURES the account is locked
for LOGIN_LOCKOUT, and every attempt (good or bad) is written to the user's companies' audit logs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from saas.audit import record
from saas.clock import aware
from saas.extensions import db
from saas.models import Membership, User
from saas.tenancy import all_companies, company_context, utcnow
from saas.validators import normalise_mobile

# Verified against when the account does not exist, so both paths cost one scrypt check.
_DUMMY_HASH = generate_password_hash("no-such-account", method="scrypt")


@dataclass
class LoginResult:
    user: User | None
    locked_until: datetime | None = None


def find_user(login: str) -> User | None:
    login = (login or "").strip()
    phone = normalise_mobile(login)
    if phone:
        return db.session.execute(select(User).where(User.phone == phone)).scalar_one_or_none()
    if "@" in login:
        return db.session.execute(
            select(User).where(func.lower(User.email) == login.lower())
        ).scalar_one_or_none()
    return None



def authenticate(login: str, password: str) -> LoginResult:
    user = find_user(login)
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        return LoginResult(None)
    now = utcnow()
    locked_until = aware(user.locked_until)
    if locked_until and locked_until > now:
        _audit_login(user, "auth.login_refused_locked")
        db.session.commit()
        return LoginResult(None, locked_until)
    if not user.is_active_account or not user.check_password(password):
        user.failed_logins = (user.failed_logins or 0) + 1
        action = "auth.login_failed"
        if user.failed_logins >= current_app.config["LOGIN_MAX_FAILURES"]:
            user.locked_until = now + current_app.config["LOGIN_LOCKOUT"]
            user.failed_logins = 0
            action = "auth.locked"
        _audit_login(user, action)
        db.session.commit()
        return LoginResult(None, aware(user.locked_until) if action == "auth.locked" else None)
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    _audit_login(user, "auth.login")
    db.session.commit()
    return LoginResult(user)


def record_logout(user: User) -> None:
    _audit_login(user, "auth.logout")
    db.session.commit()


def company_memberships(user: User) -> list[Membership]:
    """The user's current memberships in every company: a cross-company read of the user's own rows."""
    from saas.models import Company

    with all_companies("list the signed-in user's own memberships", actor=str(user.id)):
        rows = db.session.execute(
            select(Membership, Company)
            .join(Company, Company.id == Membership.company_id)
            .where(Membership.user_id == user.id, Membership.ended_at.is_(None))
            .order_by(Company.name)
        ).all()
    return rows


def _audit_login(user: User, action: str) -> None:
    """Each company the user belongs to sees sign-ins of its own members."""
    for membership, _company in company_memberships(user):
        with company_context(membership.company_id):
            record(action, actor=user, object_type="user", object_id=user.id,
                   object_label=f"{user.name} {user.login_name}")
            # Flush while this company is set: PostgreSQL's row-level security checks the row on insert.
            db.session.flush()
