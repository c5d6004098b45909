"""Company members (staff and owners): list, add staff, change role, end membership."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from saas.extensions import db
from saas.htmx import render
from saas.models import Membership, Role, User
from saas.tenancy import get_or_404
from tenants.access import require_role
from tenants.members import services
from tenants.members.forms import AddMemberForm, ChangeRoleForm

bp = Blueprint("members", __name__)


def _page(form=None, *, status=200, block=None):
    show_ended = request.args.get("ended") == "1"
    stmt = select(Membership).join(Membership.user)
    stmt = stmt.where(Membership.ended_at.is_not(None) if show_ended else Membership.ended_at.is_(None))
    role = request.args.get("role", "")
    if role in {r.value for r in Role}:
        stmt = stmt.where(Membership.role == Role(role))
    page = db.paginate(stmt.order_by(Membership.role, User.name), per_page=30, error_out=False)
    return render("tenants/members/index.html", block, status=status, page=page, form=form or AddMemberForm(),
                  role_form=ChangeRoleForm(), show_ended=show_ended, role=role)


@bp.get("/members")
@require_role(Role.ADMIN)
def index():
    return _page()


@bp.post("/members")
@require_role(Role.ADMIN)
def create():
    form = AddMemberForm()
    if form.validate_on_submit():
        try:
            membership = services.add_staff_member(name=form.name.data, phone=form.phone.data,
                                                   role=Role(form.role.data), password=form.password.data,
                                                   actor=current_user)
        except services.MembershipError as exc:
            target = getattr(form, exc.field) if exc.field else None
            if target is not None:
                target.errors = [*target.errors, str(exc.message)]
            else:
                form.form_errors.append(str(exc.message))
        else:
            flash(_("%(name)s joined as %(role)s.", name=membership.user.name, role=membership.role.label),
                  "success")
            return redirect(url_for(".index"), code=303)
    return _page(form, status=422, block="add_form")


@bp.post("/members/<member_id>/role")
@require_role(Role.ADMIN)
def change_role(member_id):
    membership = get_or_404(Membership, member_id)
    form = ChangeRoleForm()
    if membership.role == Role.OWNER:
        flash(_("Owners join through their household; their role cannot be changed here."), "danger")
    elif form.validate_on_submit():
        try:
            services.change_role(membership, Role(form.role.data), actor=current_user)
            flash(_("%(name)s is now %(role)s.", name=membership.user.name, role=membership.role.label),
                  "success")
        except services.MembershipError as exc:
            flash(str(exc.message), "danger")
    else:
        flash(_("Choose a valid role."), "danger")
    return redirect(url_for(".index"), code=303)


@bp.post("/members/<member_id>/end")
@require_role(Role.ADMIN)
def end(member_id):
    membership = get_or_404(Membership, member_id)
    try:
        services.end_membership(membership, actor=current_user)
        flash(_("%(name)s no longer belongs to the company. The history is kept.", name=membership.user.name),
              "success")
    except services.MembershipError as exc:
        flash(str(exc.message), "danger")
    return redirect(url_for(".index"), code=303)
