"""Admin pages for stewards: the overview (loads against capacity), assigning by hand, auto-assign with a
preview, one steward's page with their profile and the handover. The steward's own pages are in home.py."""

from __future__ import annotations

import uuid

from flask import abort, flash, make_response, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from saas.extensions import htmx
from saas.forms import show_error, submit
from saas.htmx import redirect_to, render, wants_fragment
from saas.models import Role
from saas.pagination import page_number
from saas.tenancy import get_or_404, parse_uuid_or_404
from tenants.access import current_company, require_role
from tenants.roster import figures as roster_figures
from tenants.roster.models import Community
from tenants.roster.queries import live_communities
from tenants.stewards import (
    bp,
    home,  # noqa: F401  (the steward's own pages, on the same blueprint)
    overview,
    permissions,
    queries,
    services,
)
from tenants.stewards.forms import (
    NOBODY,
    AdminProfileForm,
    AssignForm,
    AutoAssignForm,
    CapacityForm,
    HandoverForm,
    save_profile,
)

ADMIN = (Role.ADMIN,)


def _uuid_arg(name: str):
    """An optional id filter from the query string; a malformed one is a 404, like a wrong id in the path."""
    raw = (request.args.get(name) or "").strip()
    return parse_uuid_or_404(raw) if raw else None


def _int_arg(name: str, low: int = 0, high: int = 999) -> int | None:
    raw = (request.args.get(name) or "").strip()
    if not raw:
        return None
    try:
        value = int(raw)
    except ValueError:
        return None
    return min(max(value, low), high)


# --- overview ----------------------------------------------------------------------------------------------


def _overview_filters() -> dict:
    band = request.args.get("band") or ""
    sort = request.args.get("sort") or "name"
    return {"q": (request.args.get("q") or "").strip()[:50],
            "band": overview.Band(band) if band in {b.value for b in overview.Band} else None,
            "sort": sort if sort in overview.SORTS else "name"}


def _overview_page(capacity_form=None, status=200, block=None):
    places = queries.place_filter(_uuid_arg("community_id"), _uuid_arg("building_id"))
    filters = _overview_filters()
    data = overview.overview(current_company, q=filters["q"], band=filters["band"], sort=filters["sort"],
                             page=page_number(), community_id=places.community_id, building_id=places.building_id)
    # The filter form is not part of the htmx answer (typing in its search box must not be interrupted), so the
    # building select, which follows the chosen community, comes with it out of band (only with the block alone:
    # a whole page has it in its form).
    out_of_band = block is not None and wants_fragment()
    return render("tenants/stewards/index.html", block, status=status, data=data, places=places,
                  community_id=places.community_id, building_id=places.building_id, filters=filters,
                  bands=list(overview.Band), sorts=overview.SORTS, buildings_out_of_band=out_of_band,
                  capacity_form=capacity_form or CapacityForm(capacity=current_company.steward_capacity))


@bp.get("/stewards")
@require_role(*ADMIN)
def index():
    block = "overview" if htmx and htmx.target == "steward-overview" else None
    return _overview_page(block=block)


@bp.post("/stewards/capacity")
@require_role(*ADMIN)
def set_capacity():
    form = CapacityForm()
    return submit(
        form, lambda: services.set_company_capacity(current_company, form.capacity.data, actor=current_user),
        success=lambda result: _("Each steward now looks after up to %(n)s households unless their own capacity "
                                 "differs.", n=form.capacity.data),
        next_url=url_for(".index"),
    ) or _overview_page(capacity_form=form, status=422)


# --- assign by hand ----------------------------------------------------------------------------------------


def _assign_filters() -> dict:
    floor_from, floor_to = _int_arg("floor_from"), _int_arg("floor_to")
    if floor_from is not None and floor_to is not None and floor_from > floor_to:
        floor_from, floor_to = floor_to, floor_from
    return {
        "building_id": _uuid_arg("building_id"),
        "unit": (request.args.get("unit") or "").strip()[:16],
        "floor_from": floor_from,
        "floor_to": floor_to,
        "unassigned": request.args.get("unassigned") == "1",
        "select": request.args.get("select") != "none",
    }


def _assign_page(form=None, *, status=200, block=None, filters=None, selected=None, message=None):
    filters = filters or _assign_filters()
    buildings = queries.live_buildings()
    building = None
    candidates, units = [], []
    if filters["building_id"] is not None:
        building = next((b for b in buildings if b.id == filters["building_id"]), None)
        if building is None:
            abort(404)
        candidates = queries.assign_candidates(
            building.id, unit=filters["unit"], floor_from=filters["floor_from"], floor_to=filters["floor_to"],
            unassigned_only=filters["unassigned"])
        units = queries.units_of(building.id)
    data = queries.overview(current_company)
    stewards = [r.membership for r in data.rows]
    if form is None:
        form = AssignForm()
    form.set_steward_choices(stewards)
    names = {r.membership.id: r.membership.user.name for r in data.rows}
    return render("tenants/stewards/assign.html", block, status=status, form=form, filters=filters,
                  buildings=buildings, building=building, candidates=candidates, units=units, data=data,
                  names=names, selected=selected, message=message)


@bp.get("/stewards/assign")
@require_role(*ADMIN)
def assign_page():
    block = "households" if htmx and htmx.target == "assign-households" else None
    return _assign_page(block=block)


@bp.post("/stewards/assign")
@require_role(*ADMIN)
def assign():
    filters = _assign_filters()
    form = AssignForm()
    form.set_steward_choices(services.current_stewards())
    household_ids = _posted_ids("household_ids")
    if form.validate_on_submit():
        nobody = form.steward_id.data == NOBODY
        steward = None if nobody else services.get_steward_or_none(form.steward_id.data)
        if not nobody and steward is None:
            form.steward_id.errors = [_("Choose a current steward.")]
        else:
            try:
                result = services.assign(household_ids, steward, actor=current_user, notify=form.notify.data)
            except services.StewardError as exc:
                show_error(form, exc)
            else:
                message = _assigned_message(steward, result)
                if htmx:
                    # The list with its new stewards; the page's counts come along out of band.
                    return _assign_page(block="households", filters=filters, message=message)
                flash(message, "success")
                return redirect_to(url_for(".assign_page", **_filter_args(filters)))
    return _assign_page(form, status=422, block="households" if htmx else None, filters=filters,
                        selected=set(household_ids))


def _assigned_message(steward, result) -> str:
    if steward is None:
        message = _("%(n)s households no longer have a steward.", n=len(result.changed))
    else:
        message = _("%(n)s households now have %(name)s as their steward.", n=len(result.changed),
                    name=steward.user.name)
        capacity = services.capacity_of(queries.profile_of(steward.id), current_company)
        load = roster_figures.steward_loads([steward.id]).get(steward.id, 0)
        if load > capacity:
            message += " " + _("%(name)s now has %(load)s households, over their capacity of %(capacity)s.",
                               name=steward.user.name, load=load, capacity=capacity)
    if result.unchanged:
        message += " " + _("%(n)s already had this steward.", n=result.unchanged)
    return message


def _filter_args(filters: dict) -> dict:
    args = {"building_id": filters["building_id"], "unit": filters["unit"] or None,
            "floor_from": filters["floor_from"], "floor_to": filters["floor_to"],
            "unassigned": "1" if filters["unassigned"] else None}
    return {k: v for k, v in args.items() if v is not None}


def _posted_ids(name: str) -> list[uuid.UUID]:
    ids = []
    for raw in request.form.getlist(name)[:5000]:
        try:
            ids.append(uuid.UUID(raw))
        except ValueError:
            continue  # not one of ours: ignored like an id of another company
    return ids


# --- auto-assign -------------------------------------------------------------------------------------------


@bp.get("/stewards/auto-assign")
@require_role(*ADMIN)
def auto_assign_page():
    communities = live_communities()
    community_id = _uuid_arg("community_id")
    rebalance = request.args.get("rebalance") == "1"
    community = proposal = form = None
    if community_id is not None:
        community = get_or_404(Community, community_id)
        proposal = services.propose(community.id, rebalance=rebalance)
        form = AutoAssignForm(community_id=str(community.id), rebalance="1" if rebalance else "",
                              digest=proposal.digest())
    return render("tenants/stewards/auto_assign.html", communities=communities, community=community,
                  rebalance=rebalance, proposal=proposal, form=form, before=services.loads())


@bp.post("/stewards/auto-assign")
@require_role(*ADMIN)
def auto_assign():
    form = AutoAssignForm()
    community = get_or_404(Community, form.community_id.data or "")
    rebalance = form.rebalance.data == "1"
    back = url_for(".auto_assign_page", community_id=community.id, rebalance="1" if rebalance else None)
    if not form.validate_on_submit():
        flash(_("The proposal expired; here it is again."), "warning")
        return redirect_to(back)
    try:
        proposal = services.apply_proposal(community.id, rebalance=rebalance, digest=form.digest.data,
                                           actor=current_user, notify=form.notify.data,
                                           community_name=community.name)
    except services.StewardError as exc:
        flash(str(exc.message), "warning")
        return redirect_to(back)
    flash(_("Auto-assign applied in %(community)s: %(n)s households changed steward.", community=community.name,
            n=len(proposal.plan.moves)), "success")
    return redirect_to(url_for(".index", community_id=community.id))


# --- one steward -------------------------------------------------------------------------------------------


def _steward_page(steward, *, profile_form=None, handover_form=None, status=200, block=None):
    profile = queries.profile_of(steward.id)
    stewards = services.current_stewards()
    if profile_form is None:
        profile_form = AdminProfileForm(obj=profile) if profile else AdminProfileForm()
    if handover_form is None:
        handover_form = HandoverForm()
    handover_form.set_steward_choices(stewards, exclude=steward.id)
    rows = queries.households_of(steward.id)
    loads = services.loads()
    return render("tenants/stewards/show.html", block, status=status, steward=steward, profile=profile,
                  capacity=services.capacity_of(profile, current_company), load=loads.get(steward.id, 0),
                  groups=queries.group_by_building(rows), profile_form=profile_form, handover_form=handover_form,
                  others=[s for s in stewards if s.id != steward.id], loads=loads)


@bp.get("/stewards/<member_id>")
@require_role(*ADMIN)
def show(member_id):
    return _steward_page(permissions.steward_or_404(member_id))


@bp.post("/stewards/<member_id>/profile")
@require_role(*ADMIN)
def update_profile(member_id):
    steward = permissions.steward_or_404(member_id)
    form = AdminProfileForm()
    return submit(
        form, lambda: save_profile(steward, form, set_capacity=True, actor=current_user),
        success=_("Saved."), next_url=url_for(".show", member_id=steward.id),
    ) or _steward_page(steward, profile_form=form, status=422)


@bp.post("/stewards/<member_id>/handover")
@require_role(*ADMIN)
def handover(member_id):
    steward = permissions.steward_or_404(member_id)
    form = HandoverForm()
    form.set_steward_choices(services.current_stewards(), exclude=steward.id)
    household_ids = _posted_ids("household_ids")
    if form.validate_on_submit():
        target = services.get_steward_or_none(form.to_steward_id.data)
        if target is None:
            form.to_steward_id.errors = [_("Choose a current steward.")]
        elif not household_ids:
            form.form_errors.append(_("Pick at least one household to hand over."))
        elif form.confirm.data != "1":
            # Nothing moves yet: the admin sees who moves where and that owners will be told, then confirms.
            rows = [r for r in queries.households_of(steward.id) if r[0].id in set(household_ids)]
            return render("tenants/stewards/handover_confirm.html", steward=steward, target=target, form=form,
                          rows=rows, target_load=roster_figures.steward_loads([target.id]).get(target.id, 0),
                          target_capacity=services.capacity_of(queries.profile_of(target.id), current_company))
        else:
            try:
                result = services.handover(steward, target, actor=current_user, household_ids=household_ids,
                                           note=form.note.data or "")
            except services.StewardError as exc:
                show_error(form, exc)
            else:
                flash(_("%(n)s households handed over from %(from)s to %(to)s; their owners are being told.",
                        n=len(result.changed), **{"from": steward.user.name, "to": target.user.name}), "success")
                return redirect_to(url_for(".show", member_id=steward.id))
    return _steward_page(steward, handover_form=form, status=422)


@bp.get("/stewards/<member_id>/photo")
@require_role(Role.ADMIN, Role.STEWARD, Role.TECHNICIAN, Role.OWNER)
def photo(member_id):
    """A current steward's portrait: owners see it in their portal, staff on the steward pages."""
    response = make_response(permissions.steward_photo_or_404(member_id))
    response.headers["Content-Type"] = "image/jpeg"
    response.headers["Cache-Control"] = "private, max-age=300"
    return response

