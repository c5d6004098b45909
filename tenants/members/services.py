"""Membership writes: invite staff, resend or withdraw an invitation, accept one, change a role, end a
membership. Every change is audited.

An invitation link carries a random token; only its sha256 is stored, so a leaked database does not leak
working links. A link works once, for INVITATION_DAYS days; resending replaces the token (the old link dies).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import func, or_, select

from saas.audit import record
from saas.errors import ServiceError
from saas.extensions import db
from saas.i18n import _l
from saas.models import Company, Membership, Role, User
from saas.notifications.models import Channel, OutboxMessage
from saas.notifications.services import deliver_after_commit, queue_message
from saas.tenancy import all_companies, company_context, require_company_id, utcnow
from saas.validators import password_problem
from tenants.members.models import Invitation, InvitationStatus, hash_token

INVITATION_DAYS = 7
INVITABLE_ROLES = (Role.ADMIN, Role.STEWARD, Role.TECHNICIAN, Role.CASHIER)


class MembershipError(ServiceError):
    """An invitation or membership change was refused (already a member, the last admin, an accepted invitation)."""


class InvitationUnusable(Exception):
    """The link cannot be used: unknown (404), or used, withdrawn or expired (410)."""

    def __init__(self, message, status: int):
        super().__init__(str(message))
        self.message = message
        self.status = status


# --- invitations: the admin's side -------------------------------------------------------------


def _new_token() -> tuple[str, str]:
    token = secrets.token_urlsafe(32)
    return token, hash_token(token)


def invitation_link(token: str) -> str:
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/") + url_for("owners.accept_invitation", token=token)


def _find_user(phone: str, email: str) -> User | None:
    if phone:
        user = db.session.execute(select(User).where(User.phone == phone)).scalar_one_or_none()
        if user is not None:
            return user
    if email:
        return db.session.execute(
            select(User).where(func.lower(User.email) == email.lower())).scalar_one_or_none()
    return None


def _current_membership(user_id) -> Membership | None:
    return db.session.execute(
        select(Membership).where(Membership.user_id == user_id, Membership.ended_at.is_(None))
    ).scalar_one_or_none()


def _pending_for(phone: str, email: str, exclude: Invitation | None = None) -> Invitation | None:
    matches = []
    if phone:
        matches.append(Invitation.phone == phone)
    if email:
        matches.append(func.lower(Invitation.email) == email.lower())
    stmt = select(Invitation).where(
        or_(*matches), Invitation.accepted_at.is_(None), Invitation.revoked_at.is_(None),
        Invitation.expires_at > utcnow(),
    )
    if exclude is not None:
        stmt = stmt.where(Invitation.id != exclude.id)
    return db.session.execute(stmt.limit(1)).scalars().first()


def _send(invitation: Invitation, token: str) -> list[OutboxMessage]:
    """Queue the invitation by SMS and/or e-mail, in the product's default language (the recipient's)."""
    company = db.session.get(Company, invitation.company_id)
    link = invitation_link(token)
    messages = []
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        values = {"name": invitation.name, "company": company.name, "role": invitation.role.label, "link": link,
                  "days": INVITATION_DAYS}
        if invitation.phone:
            body = _("%(name)s, %(company)s invites you to join its team on Guanjia as %(role)s. "
                     "Open this link within %(days)s days to accept: %(link)s", **values)
            messages.append(queue_message(channel=Channel.SMS, recipient=invitation.phone, body=body,
                                          kind="invitation", related_id=invitation.id))
        if invitation.email:
            subject = _("Invitation to join %(company)s on Guanjia", **values)
            body = _("Hello %(name)s,\n\n%(company)s invites you to join its team on Guanjia as %(role)s.\n\n"
                     "Open this link within %(days)s days to accept the invitation:\n%(link)s\n\n"
                     "If you did not expect this message, you can ignore it.", **values)
            messages.append(queue_message(channel=Channel.EMAIL, recipient=invitation.email, subject=subject,
                                          body=body, kind="invitation", related_id=invitation.id))
    return messages


def invite(*, name: str, role: Role, phone: str, email: str, actor: User) -> Invitation:
    """Create an invitation and queue it to the person. Refuses members and people already invited."""
    if role not in INVITABLE_ROLES:
        raise MembershipError(_l("Choose a staff role."), "role")
    phone, email = phone or "", (email or "").lower()
    user = _find_user(phone, email)
    if user is not None and _current_membership(user.id) is not None:
        raise MembershipError(_l("This person is already a member of the company."), "phone" if phone else "email")
    if _pending_for(phone, email) is not None:
        raise MembershipError(_l("An invitation to this person is still pending: resend it from the list below "
                                 "instead."), "phone" if phone else "email")
    token, token_hash = _new_token()
    invitation = Invitation(company_id=require_company_id(), invited_by_id=actor.id, name=name, role=role,
                            phone=phone, email=email, token_hash=token_hash,
                            expires_at=utcnow() + timedelta(days=INVITATION_DAYS))
    db.session.add(invitation)
    db.session.flush()
    messages = _send(invitation, token)
    record("invitation.create", actor=actor, object_type="invitation", object_id=invitation.id,
           object_label=invitation.label, changes={"role": [None, role.value]})
    db.session.commit()
    deliver_after_commit(messages)
    return invitation


def resend(invitation: Invitation, *, actor: User) -> Invitation:
    """A new link, valid for another INVITATION_DAYS days; the old link stops working at once."""
    status = invitation.status()
    if status == InvitationStatus.ACCEPTED:
        raise MembershipError(_l("This invitation was already accepted."))
    if status == InvitationStatus.REVOKED:
        raise MembershipError(_l("This invitation was withdrawn. Invite the person again."))
    if status == InvitationStatus.EXPIRED and _pending_for(invitation.phone, invitation.email, exclude=invitation):
        raise MembershipError(_l("A newer invitation to this person is still pending."))
    token, invitation.token_hash = _new_token()
    invitation.expires_at = utcnow() + timedelta(days=INVITATION_DAYS)
    messages = _send(invitation, token)
    record("invitation.resend", actor=actor, object_type="invitation", object_id=invitation.id,
           object_label=invitation.label)
    db.session.commit()
    deliver_after_commit(messages)
    return invitation


def revoke(invitation: Invitation, *, actor: User) -> Invitation:
    status = invitation.status()
    if status == InvitationStatus.ACCEPTED:
        raise MembershipError(_l("This invitation was already accepted. Remove the member instead."))
    if status == InvitationStatus.REVOKED:
        return invitation
    invitation.revoked_at = utcnow()
    record("invitation.revoke", actor=actor, object_type="invitation", object_id=invitation.id,
           object_label=invitation.label)
    db.session.commit()
    return invitation


# --- invitations: the invitee's side (public pages, no company in the URL) ----------------------

_UNKNOWN = _l("This invitation link is not valid. Check that you opened the whole link, or ask the company "
              "for a new invitation.")


@dataclass
class InvitationView:
    """What the acceptance page shows, read before entering the invitation's company. Plain values: the
    Invitation row itself can only be reloaded inside its company."""

    invitation_id: object
    company: Company
    name: str
    role: Role
    phone: str
    email: str
    existing_user: User | None


def find_invitation(token: str) -> InvitationView:
    """Look the token up across companies (the link names no company), then check it can still be used."""
    if not token or len(token) > 100:
        raise InvitationUnusable(_UNKNOWN, 404)
    with all_companies("accept invitation by token"):
        invitation = db.session.execute(
            select(Invitation).where(Invitation.token_hash == hash_token(token))).scalar_one_or_none()
        if invitation is None:
            raise InvitationUnusable(_UNKNOWN, 404)
        _check_usable(invitation)
        view = InvitationView(invitation.id, db.session.get(Company, invitation.company_id), invitation.name,
                              invitation.role, invitation.phone, invitation.email, None)
    view.existing_user = _find_user(view.phone, view.email)
    return view


def _check_usable(invitation: Invitation) -> None:
    status = invitation.status()
    if status == InvitationStatus.ACCEPTED:
        raise InvitationUnusable(_l("This invitation has already been used. Sign in with your account instead."),
                                 410)
    if status == InvitationStatus.REVOKED:
        raise InvitationUnusable(_l("This invitation was withdrawn by the company. Ask them if you still need "
                                    "access."), 410)
    if status == InvitationStatus.EXPIRED:
        raise InvitationUnusable(_l("This invitation has expired. Ask the company to send you a new one."), 410)


def accept_invitation(view: InvitationView, *, user: User | None, name: str = "", password: str = "") -> User:
    """Join the company with the invited role: as ``user`` (already authenticated by the caller), or as a new
    account made from the invitation's phone/e-mail with ``name`` and ``password``."""
    company_id = view.company.id
    with company_context(company_id):
        # Lock the invitation: two clicks on the same link must not both succeed.
        invitation = db.session.execute(
            select(Invitation).where(Invitation.id == view.invitation_id).with_for_update()
            .execution_options(populate_existing=True)).scalar_one()
        _check_usable(invitation)
        if user is None:
            if (problem := password_problem(password)) is not None:
                raise MembershipError(problem, "password")
            if _find_user(invitation.phone, invitation.email) is not None:
                raise MembershipError(_l("An account with this mobile number or e-mail now exists: reload the "
                                         "page and sign in with its password."))
            user = User(name=name or invitation.name, phone=invitation.phone or None,
                        email=invitation.email or None)
            user.set_password(password)
            db.session.add(user)
            db.session.flush()
        elif _current_membership(user.id) is not None:
            raise MembershipError(_l("You are already a member of %(company)s.", company=view.company.name))
        membership = Membership(user_id=user.id, role=invitation.role, company_id=company_id)
        membership.user = user
        db.session.add(membership)
        invitation.accepted_at = utcnow()
        invitation.accepted_user_id = user.id
        db.session.flush()
        record("invitation.accept", actor=user, object_type="invitation", object_id=invitation.id,
               object_label=invitation.label, changes={"role": [None, invitation.role.value]})
        record("membership.create", actor=user, object_type="membership", object_id=membership.id,
               object_label=f"{user.name} {user.login_name}", changes={"role": [None, invitation.role.value]})
        if invitation.role == Role.TECHNICIAN:
            _technician_joined(membership)
        db.session.flush()  # inside the company: row-level security checks rows as they are inserted
        db.session.commit()
    return user


def _technician_joined(membership: Membership) -> None:
    """The first technician is offered to the admins as the default for the categories that reach nobody."""
    from tenants.work_orders.settings_services import technician_joined

    technician_joined(membership)


# --- memberships --------------------------------------------------------------------------------


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
    if old == Role.STEWARD:
        from tenants.stewards.services import release_households

        release_households(membership, actor=actor)  # no longer a steward: their households show unassigned
    if role == Role.OWNER and old != Role.OWNER:
        from tenants.work_orders.services import release_jobs_of

        release_jobs_of(membership, actor=actor)  # no longer staff: their open jobs go back to dispatch
    membership.role = role
    if role == Role.TECHNICIAN:
        _technician_joined(membership)
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
    if membership.role == Role.STEWARD:
        from tenants.stewards.services import release_households

        release_households(membership, actor=actor)  # never silently attached to a former employee
    if membership.role != Role.OWNER:
        from tenants.work_orders.services import release_jobs_of

        release_jobs_of(membership, actor=actor)
    membership.ended_at = utcnow()
    record("membership.end", actor=actor, object_type="membership", object_id=membership.id,
           object_label=f"{membership.user.name} {membership.user.login_name}",
           changes={"role": [membership.role.value, None]})
    db.session.commit()
    return membership
