"""Company members (staff and owners): list, invite staff, change role, end membership."""

from __future__ import annotations

from flask import flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from saas.extensions import db
from saas.forms import attempt, submit
from saas.htmx import redirect_to, render
from saas.models import Membership, Role, User
from saas.pagination import paginate
from saas.tenancy import get_or_404, utcnow
from tenants.access import require_role
from tenants.members import bp, services
from tenants.members.forms import INVITE_ROLE_CHOICES, ChangeRoleForm, InviteForm
from tenants.members.models import Invitation, InvitationStatus


def _pending_clause(now):
    return (Invitation.accepted_at.is_(None), Invitation.revoked_at.is_(None), Invitation.expires_at > now)


@bp.get("/members")
@require_role(Role.ADMIN)
def index():
    show_ended = request.args.get("ended") == "1"
    stmt = select(Membership).join(Membership.user)
    stmt = stmt.where(Membership.ended_at.is_not(None) if show_ended else Membership.ended_at.is_(None))
    role = request.args.get("role", "")
    if role in {r.value for r in Role}:
        stmt = stmt.where(Membership.role == Role(role))
    page = paginate(stmt.order_by(Membership.role, User.name), per_page=30)
    pending = db.session.scalar(select(func.count()).select_from(Invitation).where(*_pending_clause(utcnow())))
    return render("tenants/members/index.html", page=page, role_form=ChangeRoleForm(), show_ended=show_ended,
                  role=role, pending=pending)


def _invitations_page(form=None, *, status=200, block=None):
    now = utcnow()
    shown = request.args.get("status", InvitationStatus.PENDING.value)
    stmt = select(Invitation)
    if shown == InvitationStatus.PENDING:
        stmt = stmt.where(*_pending_clause(now))
    elif shown == InvitationStatus.ACCEPTED:
        stmt = stmt.where(Invitation.accepted_at.is_not(None))
    elif shown == InvitationStatus.REVOKED:
        stmt = stmt.where(Invitation.accepted_at.is_(None), Invitation.revoked_at.is_not(None))
    elif shown == InvitationStatus.EXPIRED:
        stmt = stmt.where(Invitation.accepted_at.is_(None), Invitation.revoked_at.is_(None),
                          Invitation.expires_at <= now)
    else:
        shown = "all"
    page = paginate(stmt.order_by(Invitation.created_at.desc()), per_page=30)
    if form is None:  # ?role=technician: a link that says whom to invite (the checklist's "who fixes what") picks it
        asked = request.args.get("role")
        form = InviteForm(role=asked) if asked in {value for value, _label in INVITE_ROLE_CHOICES} else InviteForm()
    return render("tenants/members/invitations.html", block, status=status, page=page, form=form,
                  shown=shown, statuses=list(InvitationStatus), now=now)


@bp.get("/members/invitations")
@require_role(Role.ADMIN)
def invitations():
    return _invitations_page()


@bp.post("/members/invitations")
@require_role(Role.ADMIN)
def invite():
    form = InviteForm()
    return submit(
        form,
        lambda: services.invite(name=form.name.data, role=Role(form.role.data), phone=form.phone.data,
                                email=form.email.data, actor=current_user),
        success=lambda invitation: _("Invitation sent to %(name)s (%(contact)s). The link works once, for 7 days.",
                                     name=invitation.name, contact=invitation.contact),
        next_url=url_for(".invitations"),
    ) or _invitations_page(form, status=422, block="invite_form")


@bp.post("/members/invitations/<invitation_id>/resend")
@require_role(Role.ADMIN)
def resend(invitation_id):
    invitation = get_or_404(Invitation, invitation_id)
    return attempt(
        lambda: services.resend(invitation, actor=current_user),
        success=_("A new invitation was sent to %(name)s. The previous link no longer works.", name=invitation.name),
        next_url=url_for(".invitations"),
    )


@bp.post("/members/invitations/<invitation_id>/revoke")
@require_role(Role.ADMIN)
def revoke(invitation_id):
    invitation = get_or_404(Invitation, invitation_id)
    return attempt(
        lambda: services.revoke(invitation, actor=current_user),
        success=_("The invitation to %(name)s was withdrawn; its link no longer works.", name=invitation.name),
        next_url=url_for(".invitations"),
    )


@bp.post("/members/<member_id>/role")
@require_role(Role.ADMIN)
def change_role(member_id):
    membership = get_or_404(Membership, member_id)
    form = ChangeRoleForm()
    # The role is a select in the member list, not a form shown again: a refusal is flashed above the list.
    if membership.role == Role.OWNER:
        flash(_("Owners join through their household; their role cannot be changed here."), "danger")
        return redirect_to(url_for(".index"))
    if not form.validate_on_submit():
        flash(_("Choose a valid role."), "danger")
        return redirect_to(url_for(".index"))
    return attempt(
        lambda: services.change_role(membership, Role(form.role.data), actor=current_user),
        success=lambda m: _("%(name)s is now %(role)s.", name=m.user.name, role=m.role.label),
        next_url=url_for(".index"),
    )


@bp.post("/members/<member_id>/end")
@require_role(Role.ADMIN)
def end(member_id):
    membership = get_or_404(Membership, member_id)
    return attempt(
        lambda: services.end_membership(membership, actor=current_user),
        success=lambda m: _("%(name)s no longer belongs to the company. The history is kept.", name=m.user.name),
        next_url=url_for(".index"),
    )
