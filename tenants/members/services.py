"""Membership writes: add staff, change a role, end a membership. Every change is audited."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from saas.audit import record
from saas.extensions import db
from saas.models import Membership, Role, User
from saas.tenancy import require_company_id, utcnow

MIN_PASSWORD = 8


class MembershipError(Exception):
    def __init__(self, message, field: str | None = None):
        super().__init__(str(message))
        self.message = message
        self.field = field


def add_staff_member(*, name: str, phone: str, role: Role, password: str, actor: User) -> Membership:
    """Attach an existing account (found by phone) or create one with the given initial password."""
    user = db.session.execute(select(User).where(User.phone == phone)).scalar_one_or_none()
    if user is None:
        if len(password or "") < MIN_PASSWORD:
            raise MembershipError(_l("This number has no account yet: set an initial password of at least 8 "
                                     "characters."), "password")
        user = User(name=name, phone=phone)
        user.set_password(password)
        db.session.add(user)
        db.session.flush()
    existing = db.session.execute(
        select(Membership).where(Membership.user_id == user.id, Membership.ended_at.is_(None))
    ).scalar_one_or_none()
    if existing is not None:
        raise MembershipError(_l("This person is already a member of the company."), "phone")
    membership = Membership(user_id=user.id, role=role, company_id=require_company_id())
    membership.user = user
    db.session.add(membership)
    db.session.flush()
    record("membership.create", actor=actor, object_type="membership", object_id=membership.id,
           object_label=f"{user.name} {user.login_name}", changes={"role": [None, role.value]})
    db.session.commit()
    return membership


def _admin_count() -> int:
    return db.session.scalar(
        select(func.count()).select_from(Membership).where(
            Membership.role == Role.ADMIN, Membership.ended_at.is_(None)
        )
    )


def change_role(membership: Membership, role: Role, *, actor: User) -> Membership:
    if membership.ended_at is not None:
        raise MembershipError(_l("This membership has ended."))
    if membership.role == role:
        return membership
    if membership.role == Role.ADMIN and _admin_count() <= 1:
        raise MembershipError(_l("The company needs at least one admin."))
    old = membership.role
    membership.role = role
    record("membership.role_change", actor=actor, object_type="membership", object_id=membership.id,
           object_label=f"{membership.user.name} {membership.user.login_name}",
           changes={"role": [old.value, role.value]})
    db.session.commit()
    return membership


def end_membership(membership: Membership, *, actor: User) -> Membership:
    if membership.ended_at is not None:
        return membership
    if membership.role == Role.ADMIN and _admin_count() <= 1:
        raise MembershipError(_l("The company needs at least one admin."))
    membership.ended_at = utcnow()
    record("membership.end", actor=actor, object_type="membership", object_id=membership.id,
           object_label=f"{membership.user.name} {membership.user.login_name}",
           changes={"role": [membership.role.value, None]})
    db.session.commit()
    return membership
