"""Fee pages of the setup: the hub (/fees), settings, fee items and rates, parking spaces, and a household's fee
page (inner floor area, meter readings typed on a phone, one-off charges). Admins; meter readings all staff."""

from __future__ import annotations

import uuid

from flask import abort, flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from saas.clock import local_today
from saas.extensions import db
from saas.forms import attempt, submit
from saas.htmx import redirect_to, render
from saas.money import parse_yuan, yuan_text
from saas.tenancy import get_or_404
from tenants.access import STAFF, Role, require_role
from tenants.fees import bp, charges, items, meters
from tenants.fees.item_forms import (
    ChargeForm,
    FeeItemForm,
    FeeSettingsForm,
    InnerAreaForm,
    ReadingForm,
    RenameItemForm,
    SpaceForm,
)
from tenants.fees.models import Bill, FeeItem, FeeKind, ParkingSpace
from tenants.fees.settings import get_settings, update_settings
from tenants.roster.models import Building, Community, Household
from tenants.roster.queries import live_communities
from tenants.work_orders.services import quote_accepted

# A paid repair becomes a bill when the owner accepts the quote (connected once, when the pages load).
quote_accepted.connect(charges.on_quote_accepted)


def _communities() -> list[Community]:
    return live_communities()


def _chosen_community(communities):
    raw = request.values.get("community_id")
    if raw:
        try:
            wanted = uuid.UUID(str(raw))
        except ValueError:
            wanted = None
        for community in communities:
            if community.id == wanted:
                return community
    return communities[0] if communities else None


@bp.get("/fees")
@require_role(Role.ADMIN)
def index():
    return render("tenants/fees/index.html")


# --- settings --------------------------------------------------------------------------------------------------


@bp.route("/fees/settings", methods=["GET", "POST"])
@require_role(Role.ADMIN)
def settings():
    current = get_settings()
    form = FeeSettingsForm(obj=current)
    if request.method == "GET" and current.auto_remind_min_fen is not None:
        form.auto_remind_min.data = yuan_text(current.auto_remind_min_fen)
    if request.method == "GET":
        return render("tenants/fees/settings/edit.html", form=form, settings=current)
    return submit(form, lambda: update_settings(
        due_days=form.due_days.data, prepay_cap_months=form.prepay_cap_months.data,
        contract_ends_on=form.contract_ends_on.data, reminder_interval_days=form.reminder_interval_days.data,
        offline_instructions=form.offline_instructions.data or "", late_fees_enabled=form.late_fees_enabled.data,
        late_fee_clause=form.late_fee_clause.data or "", late_fee_daily_permyriad=form.late_fee_daily_permyriad.data,
        late_fee_grace_days=form.late_fee_grace_days.data, late_fee_cap_percent=form.late_fee_cap_percent.data,
        auto_remind_min=form.auto_remind_min.data, actor=current_user),
        success=_("Saved."), next_url=url_for(".settings")) \
        or render("tenants/fees/settings/edit.html", status=422, form=form, settings=current)


# --- items and rates -------------------------------------------------------------------------------------------


def _items_page(form=None, space_form=None, *, status=200):
    communities = _communities()
    community = _chosen_community(communities)
    live = items.items_of(community.id) if community else []
    archived = items.items_of(community.id, archived=True) if community else []
    current_rates = {}
    for item in live:
        rates = items.rates_of(item.id)
        current_rates[item.id] = rates[0] if rates else None
    spaces = items.spaces_of(community.id) if community else []
    space_form = space_form or SpaceForm()
    space_form.holder.choices = _holder_choices(community)
    return render("tenants/fees/items/index.html", status=status, communities=communities, community=community,
                  items=live, archived=archived, current_rates=current_rates, form=form or FeeItemForm(),
                  spaces=spaces, space_form=space_form, FeeKind=FeeKind, holder_choices=space_form.holder.choices)


def _holder_choices(community) -> list[tuple[str, str]]:
    if community is None:
        return [("", _("Nobody"))]
    homes = db.session.execute(select(Household).join(Building, Building.id == Household.building_id).where(
        Building.community_id == community.id, Building.live(), Household.live())
        .order_by(func.length(Building.name), Building.name, Household.unit, Household.room)).scalars()
    return [("", _("Nobody"))] + [(str(h.id), h.room_label) for h in homes]


@bp.get("/fees/items")
@require_role(Role.ADMIN)
def items_index():
    return _items_page()


@bp.post("/fees/items")
@require_role(Role.ADMIN)
def create_item():
    community = _chosen_community(_communities())
    if community is None:
        abort(404)
    form = FeeItemForm()
    return submit(form, lambda: items.create_item(
        community, name=form.name.data, kind=form.kind.data, area_basis=form.area_basis.data,
        meter_kind=form.meter_kind.data, vacant_percent=form.vacant_percent.data, actor=current_user),
        success=lambda item: _("Fee item %(name)s added. Now give it a rate.", name=item.name),
        next_url=lambda item: url_for(".item", item_id=item.id)) or _items_page(form, status=422)


def _item_page(item, *, form=None, rate_form=None, status=200):
    from tenants.fees.item_forms import RateForm

    rates = items.rates_of(item.id)
    return render("tenants/fees/items/show.html", status=status, item=item, rates=rates,
                  used=items.used_rate_ids(item.id), last_billed=items.last_billed_period(item.id),
                  form=form or RenameItemForm(obj=item), rate_form=rate_form or RateForm(), FeeKind=FeeKind,
                  bills=db.session.execute(select(func.count()).select_from(Bill).where(
                      Bill.fee_item_id == item.id)).scalar_one())


@bp.get("/fees/items/<item_id>")
@require_role(Role.ADMIN)
def item(item_id):
    return _item_page(get_or_404(FeeItem, item_id))


@bp.post("/fees/items/<item_id>")
@require_role(Role.ADMIN)
def update_item(item_id):
    item = get_or_404(FeeItem, item_id)
    form = RenameItemForm()
    return submit(form, lambda: items.update_item(item, name=form.name.data, vacant_percent=form.vacant_percent.data,
                                                  actor=current_user),
                  success=_("Saved."), next_url=url_for(".item", item_id=item.id)) \
        or _item_page(item, form=form, status=422)


@bp.post("/fees/items/<item_id>/archive")
@require_role(Role.ADMIN)
def archive_item(item_id):
    item = get_or_404(FeeItem, item_id)
    return attempt(lambda: items.archive_item(item, actor=current_user),
                   success=_("Fee item %(name)s archived. Its bills stay.", name=item.name),
                   next_url=url_for(".items_index", community_id=item.community_id))


@bp.post("/fees/items/<item_id>/rates")
@require_role(Role.ADMIN)
def add_rate(item_id):
    from tenants.fees.item_forms import RateForm

    item = get_or_404(FeeItem, item_id)
    form = RateForm()
    return submit(form, lambda: items.add_rate(item, price=form.price.data, effective_from=form.effective_from.data,
                                               note=form.note.data or "", actor=current_user),
                  success=_("Rate added."), next_url=url_for(".item", item_id=item.id)) \
        or _item_page(item, rate_form=form, status=422)


# --- parking spaces --------------------------------------------------------------------------------------------


@bp.post("/fees/spaces")
@require_role(Role.ADMIN)
def create_space():
    community = _chosen_community(_communities())
    if community is None:
        abort(404)
    form = SpaceForm()
    return submit(form, lambda: items.create_space(community, name=form.name.data,
                                                   holder_household_id=form.holder.data, actor=current_user),
                  success=lambda space: _("Parking space %(name)s added.", name=space.name),
                  next_url=url_for(".items_index", community_id=community.id, _anchor="spaces")) \
        or _items_page(space_form=form, status=422)


@bp.post("/fees/spaces/<space_id>")
@require_role(Role.ADMIN)
def update_space(space_id):
    space = get_or_404(ParkingSpace, space_id)
    form = SpaceForm()
    back = url_for(".items_index", community_id=space.community_id, _anchor="spaces")
    if not form.validate_on_submit():  # a row of the list, not a page of its own: the refusal is flashed
        flash(form.name.errors[0] if form.name.errors else _("Your form expired. Reload the page and try again."),
              "danger")
        return redirect_to(back)
    return attempt(lambda: items.update_space(space, name=form.name.data, holder_household_id=form.holder.data,
                                              actor=current_user), success=_("Saved."), next_url=back)


@bp.post("/fees/spaces/<space_id>/delete")
@require_role(Role.ADMIN)
def delete_space(space_id):
    space = get_or_404(ParkingSpace, space_id)
    return attempt(lambda: items.delete_space(space, actor=current_user),
                   success=_("Parking space %(name)s deleted.", name=space.name),
                   next_url=url_for(".items_index", community_id=space.community_id, _anchor="spaces"))


# --- one household: inner area, meter readings, one-off charges ------------------------------------------------


def _household_page(household, *, area_form=None, reading_form=None, charge_form=None, status=200):
    metered = [i for i in items.items_of(household.building.community_id) if i.kind == FeeKind.METERED]
    reading_form = reading_form or ReadingForm(read_on=local_today())
    reading_form.fee_item_id.choices = [("", _("Choose…"))] + [(str(i.id), i.name) for i in metered]
    if len(metered) == 1 and not reading_form.fee_item_id.data:
        reading_form.fee_item_id.data = str(metered[0].id)  # the only meter: chosen, not silently first
    history = {i.id: meters.readings_of(household.id, i.id) for i in metered}
    bills = db.session.execute(select(Bill).where(Bill.household_id == household.id)
                               .order_by(Bill.period_start.desc(), Bill.created_at.desc()).limit(24)).scalars().all()
    area_form = area_form or InnerAreaForm(
        inner_area=f"{household.inner_area_dm2 // 100}.{household.inner_area_dm2 % 100:02d}"
        if household.inner_area_dm2 else "")
    return render("tenants/fees/items/household.html", status=status, household=household, metered=metered,
                  history=history, area_form=area_form, reading_form=reading_form,
                  charge_form=charge_form or ChargeForm(), bills=bills, figure=meters._figure)


@bp.get("/fees/households/<household_id>")
@require_role(*STAFF)
def household(household_id):
    return _household_page(get_or_404(Household, household_id))


@bp.post("/fees/households/<household_id>/inner-area")
@require_role(Role.ADMIN)
def inner_area(household_id):
    household = get_or_404(Household, household_id)
    form = InnerAreaForm()
    return submit(form, lambda: items.set_inner_area(household, form.inner_area.data, actor=current_user),
                  success=_("Saved."), next_url=url_for(".household", household_id=household.id)) \
        or _household_page(household, area_form=form, status=422)


@bp.post("/fees/households/<household_id>/readings")
@require_role(*STAFF)
def add_reading(household_id):
    household = get_or_404(Household, household_id)
    form = ReadingForm()

    def action():
        try:
            item = get_or_404(FeeItem, form.fee_item_id.data or "-")
        except Exception:
            raise meters.MeterReadingError(_("Choose a metered item."), "fee_item_id") from None
        return meters.record_reading(household, item, read_on=form.read_on.data, reading=form.reading.data,
                                     reset=form.reset.data, actor=current_user)

    return submit(form, action, success=_("Reading saved."),
                  next_url=url_for(".household", household_id=household.id)) \
        or _household_page(household, reading_form=form, status=422)


@bp.post("/fees/households/<household_id>/charges")
@require_role(Role.ADMIN)
def add_charge(household_id):
    household = get_or_404(Household, household_id)
    form = ChargeForm()
    return submit(form, lambda: charges.add_one_off(household, amount_fen=parse_yuan(form.amount.data),
                                                    title=form.title.data, reason=form.reason.data,
                                                    actor=current_user),
                  success=_("Charge added."), next_url=url_for(".household", household_id=household.id)) \
        or _household_page(household, charge_form=form, status=422)


@bp.app_template_filter("cfen")
def cfen_filter(unit_price_cfen) -> str:
    """A unit price in hundredths of a fen: 18500 → '¥1.8500'."""
    from tenants.fees.billing import price_text

    return price_text(int(unit_price_cfen or 0))
