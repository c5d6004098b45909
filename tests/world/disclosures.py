"""Fee disclosure: the community's profile and published price board (from the fees world's items and rates), a
published common-area income statement (公共收益) corrected once (so it has a history), a draft that must never be
public, and an objection by the world's owner on a line, answered. The owner's question plants their phone and
room, which the public pages must mask. The statement carries a scanned PDF (attached to version 1, carried over
to the correction). URL parameters: publication_id (the current statement), line_id (its first line),
objection_id, attachment_id (the current statement's PDF)."""

from __future__ import annotations

import io
from datetime import date

NEEDS = ("fees_items",)
PROVIDES = ("publication_id", "line_id", "objection_id", "attachment_id")


def pdf_bytes(title: str) -> bytes:
    """A small valid PDF whose title names the company (the public walk checks every page names its company)."""
    body = (b"%PDF-1.4\n1 0 obj <</Type /Catalog /Pages 2 0 R>> endobj\n2 0 obj <</Type /Pages /Kids [] /Count 0>>"
            b" endobj\n3 0 obj <</Title (" + title.encode() + b")>> endobj\ntrailer <</Root 1 0 R /Info 3 0 R>>\n%%EOF\n")
    return body


def build(app, world) -> dict:
    from werkzeug.datastructures import FileStorage

    from saas.extensions import db
    from saas.models import User
    from saas.tenancy import company_context
    from tenants.disclosures import attachments, services
    from tenants.roster.models import Community, Household
    from tenants.work_orders import photos
    from tests.world.stewards import png_bytes

    with app.app_context(), company_context(world.company.id):
        admin = db.session.get(User, world.admin.id)
        owner = db.session.get(User, world.owner.id)
        community = db.session.get(Community, (world.company.id, world.ids["community_id"]))
        services.update_profile(community, charged_party="全体业主", service_grade="二级服务标准：保洁每日两次",
                                price_form="government", basis_document="物业服务合同第五条",
                                billing_start=date(2026, 1, 1), complaint_phone="12315",
                                calendar_from=date(2026, 1, 1), actor=admin)
        services.publish_board(community, actor=admin)
        pub = services.create_draft(community, kind="common_income", title="2026 年第一季度公共收益",
                                    period_start=date(2026, 1, 1), period_end=date(2026, 3, 31), actor=admin)
        services.add_line(pub, label="电梯广告", amount="12000", cost="1200", owners_share="7560",
                          detail="70% 归全体业主，转入维修资金", actor=admin)
        services.add_line(pub, label="场地租金", amount="3000.50", detail="快递柜", actor=admin)
        attachments.add(pub, [FileStorage(io.BytesIO(pdf_bytes(world.company.name)), filename="广告合同.pdf")],
                        actor=admin)
        services.publish(pub, actor=admin)
        pub = services.correct(pub, reason="场地租金金额更正", actor=admin)
        line = services.lines_of(pub.id)[0]
        attachment = attachments.attachments_of(pub.id)[0]
        services.publish(pub, actor=admin)
        draft = services.create_draft(community, kind="maintenance_fund", title="草稿：维修资金（不公开）",
                                      period_start=date(2026, 1, 1), period_end=date(2026, 6, 30), actor=admin)
        services.add_line(draft, label="草稿项目", amount="99", actor=admin)
        household = db.session.get(Household, (world.company.id, world.ids["household_id"]))
        photo = photos.prepare(FileStorage(io.BytesIO(png_bytes()), filename="receipt.png"))
        objection = services.raise_objection(
            line, household=household, actor=owner, photo=photo,
            question=f"广告收入是否偏低？我是 {household.room_label}，电话 {owner.phone}，{owner.name}")
        services.reply(objection, text=f"{owner.name} 您好：合同价每月 4000 元，附合同。", actor=admin)
        return {"publication_id": pub.id, "line_id": line.id, "objection_id": objection.id,
                "attachment_id": attachment.id}
