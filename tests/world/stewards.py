"""Stewards: the world's steward looks after the world's household, so the steward's own pages for that
household answer 200 (and another company's steward gets 404). URL parameters reused: member_id, household_id."""

from __future__ import annotations

import io

PROVIDES = ()  # none: the steward's pages reuse member_id and household_id


def png_bytes(size=(40, 30), colour=(200, 30, 30)) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, format="PNG")
    return out.getvalue()


def build(app, world) -> dict:
    from sqlalchemy import select

    from saas.extensions import db
    from saas.models import Membership
    from saas.tenancy import company_context
    from tenants.stewards import services

    with app.app_context(), company_context(world.company.id):
        steward = db.session.execute(select(Membership).where(Membership.user_id == world.steward.id)).scalar_one()
        admin = db.session.get(type(world.admin), world.admin.id)
        services.assign([world.ids["household_id"]], steward, actor=admin)
        services.update_profile(steward, work_phone="0571-8888 6666", working_hours="9:00-18:00", actor=admin,
                                photo=services.prepare_photo(io.BytesIO(png_bytes())))
    return {}
