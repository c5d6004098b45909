"""Sign-in with lockout. Failures count per account; after LOGIN_MAX_FAILURES the account is locked
for LOGIN_LOCKOUT, and every attempt (good or bad) is written to the user's companies' audit logs.

Sessions are revocable although Flask's session lives in a signed cookie: the session and the remember cookie
carry "<user id>.<session generation>" (User.get_id), and user_for_session refuses any generation but the
user's current one. Signing out and changing the password bump it, so copies of either cookie stop working."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from flask import current_app, g, has_request_context
from flask_babel import format_datetime
from flask_babel import gettext as _
from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from saas.audit import record
from saas.clock import aware
from saas.errors import ServiceError
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
    result = _check_password(user, password, refused="auth.login_refused_locked", failed="auth.login_failed")
    if result.user is None:
        return result
    user.last_login_at = utcnow()
    _audit_login(user, "auth.login")
    db.session.commit()
    return result


def _check_password(user: User, password: str, *, refused: str, failed: str) -> LoginResult:
    """The password check with its lockout, shared by sign-in and the password change (a stolen session must
    not become a way to guess the password without limit). Failures are audited and committed here."""
    now = utcnow()
    locked_until = aware(user.locked_until)
    if locked_until and locked_until > now:
        _audit_login(user, refused)
        db.session.commit()
        return LoginResult(None, locked_until)
    if not user.is_active_account or not user.check_password(password):
        user.failed_logins = (user.failed_logins or 0) + 1
        action = failed
        if user.failed_logins >= current_app.config["LOGIN_MAX_FAILURES"]:
            user.locked_until = now + current_app.config["LOGIN_LOCKOUT"]
            user.failed_logins = 0
            action = "auth.locked"
        _audit_login(user, action)
        db.session.commit()
        return LoginResult(None, aware(user.locked_until) if action == "auth.locked" else None)
    user.failed_logins = 0
    user.locked_until = None
    return LoginResult(user)


def user_for_session(session_id: str | None) -> User | None:
    """Flask-Login's user loader: the user named by a session or remember cookie ("<uuid>.<generation>"), or
    None when the value is malformed, the user is gone, or the generation is no longer the current one."""
    user_part, dot, generation = (session_id or "").partition(".")
    if not dot or not generation.isascii() or not generation.isdigit() or len(generation) > 9:
        return None
    try:
        user_id = uuid.UUID(user_part)
    except ValueError:
        return None
    # A company page asks for its member's membership in the same statement (tenants.resolve_company): one round
    # trip fewer on every company page. What it reads is handed back only for a user this function accepts.
    companion = g.pop("read_with_user", None) if has_request_context() else None
    if companion is None:
        user, row = db.session.get(User, user_id), None
    else:
        row = db.session.execute(companion.statement, {"user_id": user_id}).first()
        user = row[0] if row is not None else None
    # Compared as text: "00" is not the generation that was issued.
    if user is None or str(user.session_generation or 0) != generation:
        return None
    if not user.is_active_account:  # a deactivated account's sessions end with it, not at their expiry
        return None
    if companion is not None:
        companion.found(row)
    return user


def sign_out(user: User) -> None:
    """Signing out ends every session of this user, not only this browser's: the generation bump refuses
    every copy of the session and remember cookies, so the account is signed out on the user's other devices
    too. That is the safe default on the shared phones stewards and owners use."""
    user.revoke_sessions()
    _audit_login(user, "auth.logout")
    db.session.commit()


class PasswordChangeError(ServiceError):
    """The password was not changed: wrong current password, locked account, or the same password again."""


def change_password(user: User, current: str, new: str) -> None:
    """Check the current password (with the sign-in lockout), set the new one and audit it. Setting it bumps
    the session generation: every other session of this user ends; the caller signs this device in again."""
    result = _check_password(user, current, refused="auth.password_change_refused_locked",
                             failed="auth.password_change_failed")
    if result.user is None:
        if result.locked_until is not None:
            raise PasswordChangeError(_("Too many failed attempts. This account is locked until %(time)s.",
                                        time=format_datetime(result.locked_until, "short")), "current_password")
        raise PasswordChangeError(_("This is not your current password."), "current_password")
    if new == current:  # current was just verified
        db.session.rollback()  # nothing written: not even the reset of the failure count the check made
        raise PasswordChangeError(_("Choose a password different from your current one."), "new_password")
    user.set_password(new)
    _audit_login(user, "auth.password_change")
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
