"""The 明码标价 board (《物业服务收费明码标价规定》 Art. 6 and 8), generated from the fees module's items and rates,
never retyped. ``generate`` freezes it into plain data (codes, not phrases, so it reads in either language) when
it is published; ``live`` is the same for the editor's preview."""

from __future__ import annotations

from datetime import date

from sqlalchemy import bindparam, select

from saas.extensions import db
from saas.tenancy import built_once
from tenants.fees.models import FeeItem, FeeKind, FeeRate

# The board's reads, built once and run with parameters.
_ITEMS_OF = built_once(select(FeeItem).where(
    FeeItem.community_id == bindparam("community_id"), FeeItem.archived_at.is_(None), FeeItem.kind != FeeKind.ONE_OFF)
    .order_by(FeeItem.position, FeeItem.name))
_RATES_OF = built_once(select(FeeRate).where(FeeRate.fee_item_id.in_(bindparam("item_ids", expanding=True)))
                       .order_by(FeeRate.effective_from))


def _rates(item_ids) -> dict:
    by_item: dict = {}
    if item_ids:
        for rate in db.session.execute(_RATES_OF, {"item_ids": list(item_ids)}).scalars():
            by_item.setdefault(rate.fee_item_id, []).append(rate)
    return by_item


def generate(community, profile, company, today: date) -> dict:
    items = list(db.session.execute(_ITEMS_OF, {"community_id": community.id}).scalars())
    rates = _rates([i.id for i in items])
    rows = []
    for item in items:
        current = [r for r in rates.get(item.id, []) if r.effective_from <= today]
        upcoming = [r for r in rates.get(item.id, []) if r.effective_from > today]
        if not current and not upcoming:
            continue
        rate = current[-1] if current else upcoming[0]
        rows.append({
            "name": item.name, "kind": item.kind.value,
            "area_basis": item.area_basis.value if item.area_basis else None,
            "meter_kind": item.meter_kind.value if item.meter_kind else None,
            "price_cfen": rate.unit_price_cfen, "effective_from": rate.effective_from.isoformat(),
            "basis": rate.note,
            "next": [{"price_cfen": r.unit_price_cfen, "effective_from": r.effective_from.isoformat()}
                     for r in (upcoming if current else upcoming[1:])],
        })
    return {
        "company": company.name, "licence": company.licence_number, "service_phone": company.service_phone,
        "community": community.name, "charged_party": profile.charged_party, "service_grade": profile.service_grade,
        "price_form": profile.price_form.value, "basis_document": profile.basis_document,
        "billing_start": profile.billing_start.isoformat() if profile.billing_start else None,
        "complaint_phone": profile.complaint_phone or "12315",
        "items": [r for r in rows if r["kind"] != FeeKind.METERED.value],
        "utilities": [r for r in rows if r["kind"] == FeeKind.METERED.value],
    }


def _unit(row) -> str:
    from flask_babel import gettext as _

    if row["kind"] == FeeKind.PER_AREA.value:
        return _("per m² a month")
    if row["kind"] == FeeKind.FIXED.value:
        return _("per household a month")
    if row["kind"] == FeeKind.PARKING.value:
        return _("per space a month")
    return {"water": _("per tonne"), "electricity": _("per kWh"), "gas": _("per m³")}.get(row["meter_kind"],
                                                                                         _("per unit"))


def display(board: dict | None) -> dict | None:
    """The snapshot with its codes turned into phrases of the reader's language (done at render time)."""
    from tenants.disclosures.models import PriceForm
    from tenants.fees.models import AreaBasis, MeterKind

    if not board:
        return None

    def label(enum_cls, code):
        try:
            return enum_cls(code).label
        except ValueError:  # a snapshot is kept for ever: a code retired later is shown as it was stored
            return str(code or "")

    def row(r):
        how = label(FeeKind, r.get("kind"))
        if r.get("area_basis"):
            how = f"{how} · {label(AreaBasis, r['area_basis'])}"
        if r.get("meter_kind"):
            how = label(MeterKind, r["meter_kind"])
        return {**r, "how": how, "unit": _unit(r)}

    return {**board, "price_form_label": label(PriceForm, board.get("price_form")),
            "items": [row(r) for r in board.get("items", [])],
            "utilities": [row(r) for r in board.get("utilities", [])]}
