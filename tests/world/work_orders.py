"""Work orders: default categories, one in-home job with a photo for the world's household (dispatched to the
world's steward, who looks after that home, then passed by the steward to the world's technician), and a QR
repair point. URL parameters: order_id, photo_id,
category_id, point_id."""

from __future__ import annotations

import io

NEEDS = ("stewards",)  # the job is dispatched to the steward who looks after the home
PROVIDES = ("order_id", "photo_id", "category_id", "action", "point_id")



def build(app, world) -> dict:
    from sqlalchemy import select
    from werkzeug.datastructures import FileStorage

    from saas.extensions import db
    from saas.models import Membership
    from saas.tenancy import company_context
    from tenants.roster.models import Household
    from tenants.work_orders import services
    from tenants.work_orders.models import Area, CategoryTechnician, Source, WorkOrderCategory, WorkOrderPhoto
    from tests.world.stewards import png_bytes

    with app.app_context(), company_context(world.company.id):
        services.ensure_default_categories()
        db.session.commit()
        owner = db.session.execute(select(Membership).where(Membership.user_id == world.owner.id)).scalar_one()
        category = db.session.execute(select(WorkOrderCategory).where(WorkOrderCategory.name == "水暖")).scalar_one()
        household = db.session.get(Household, (world.company.id, world.ids["household_id"]))
        user = db.session.get(type(world.owner), world.owner.id)
        photo = FileStorage(io.BytesIO(png_bytes()), filename="leak.png", content_type="image/png")
        order = services.create_order(
            services.Report(source=Source.PORTAL, area=Area.HOME, category_id=category.id, household=household,
                            description="厨房水管漏水"),
            actor=user, membership=owner, files=[photo])
        # The home's steward passes it to the technician: the job is then visible to every staff role and the owner.
        steward = db.session.execute(select(Membership).where(Membership.user_id == world.steward.id)).scalar_one()
        technician = db.session.execute(
            select(Membership).where(Membership.user_id == world.technician.id)).scalar_one()
        db.session.add(CategoryTechnician(category_id=category.id, membership_id=technician.id))
        db.session.commit()
        services.perform(order, "assign", actor=steward.user, membership=steward, assignee_id=technician.id)
        photo_id = db.session.execute(select(WorkOrderPhoto.id)).scalar_one()
        # "accept" is an action the world's technician may take on this job.
        ids = {"order_id": order.id, "photo_id": photo_id, "category_id": category.id, "action": "accept"}
        try:
            from tenants.work_orders import points
        except ImportError:
            return ids
        admin = db.session.get(type(world.admin), world.admin.id)
        point = points.create_point(name="1号楼电梯", community_id=world.ids["community_id"],
                                    building_id=world.ids["building_id"], category_id=None, actor=admin)
        ids["point_id"] = point.id
    return ids
