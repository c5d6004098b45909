"""Invitations (URL parameter invitation_id) for the url_map walks. Households already exist."""

from __future__ import annotations

from datetime import timedelta

PROVIDES = ("invitation_id",)


def build(app, world) -> dict:
    from saas.extensions import db
    from saas.models import Role
    from saas.tenancy import company_context, utcnow
    from tenants.members.models import Invitation, hash_token

    with app.app_context(), company_context(world.company.id):
        invitation = Invitation(invited_by_id=world.admin.id, name=f"{world.company.slug}-invitee",
                                role=Role.TECHNICIAN, phone="", email=f"invitee@{world.company.slug}.example",
                                token_hash=hash_token(f"world-{world.company.id}"),
                                expires_at=utcnow() + timedelta(days=7))
        db.session.add(invitation)
        db.session.commit()
        return {"invitation_id": invitation.id}
