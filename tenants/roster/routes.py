"""Roster pages: communities, buildings, households. Views load (scoped), check, call a service, render."""

from __future__ import annotations

from flask import abort, flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import contains_eager

from saas.extensions import db, htmx
from saas.forms import attempt, show_error, submit
from saas.htmx import redirect_to, render, render_partial, wants_fragment
from saas.models import AuditEvent
from saas.pagination import page_number
from saas.templating import ROW_ID
from saas.tenancy import built_once, get_or_404, parse_uuid_or_404
from tenants.access import STAFF, Role, current_membership, require_role
from tenants.roster import bp, figures, services
from tenants.roster.forms import BuildingForm, CommunityForm, HouseholdForm
from tenants.roster.listing import AddressPagination, HouseholdFilter, counted_by_building, like_pattern
from tenants.roster.models import Building, Community, Household, Occupancy
from tenants.roster.queries import live_communities

ADMIN = (Role.ADMIN,)


# --- communities --------------------------------------------------------------------------------


def _communities_with_counts():
    buildings = (
        select(Building.community_id, func.count().label("n"))
        .where(Building.live())
        .group_by(Building.community_id)
        .subquery()
    )
    households = (
        select(Building.community_id, func.count(Household.id).label("n"))
        .join(Building.households)
        .where(Household.live(), Building.live())
        .group_by(Building.community_id)
        .subquery()
    )
    stmt = (
        select(Community, func.coalesce(buildings.c.n, 0), func.coalesce(households.c.n, 0))
        .outerjoin(buildings, buildings.c.community_id == Community.id)
        .outerjoin(households, households.c.community_id == Community.id)
        .where(Community.live())
        .order_by(Community.name)
    )
    return db.session.execute(stmt).all()


@bp.get("/communities")
@require_role(*STAFF)
def communities():
    return render("tenants/roster/communities.html", rows=_communities_with_counts(), form=CommunityForm())


@bp.post("/communities")
@require_role(*ADMIN)
def create_community():
    form = CommunityForm()
    return submit(
        form, lambda: services.create_community(name=form.name.data, address=form.address.data, actor=current_user),
        success=lambda community: _("Community %(name)s added.", name=community.name),
        next_url=lambda community: url_for(".community", community_id=community.id),
    ) or render("tenants/roster/communities.html", "add_form", status=422, rows=_communities_with_counts(), form=form)


def _community_page(community, *, form=None, building_form=None, status=200, block=None):
    counts = (
        select(Household.building_id, func.count().label("n"))
        .where(Household.live())
        .group_by(Household.building_id)
        .subquery()
    )
    buildings = db.session.execute(
        select(Building, func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.building_id == Building.id)
        .where(Building.community_id == community.id, Building.live())
        .order_by(func.length(Building.name), Building.name)
    ).all()
    return render(
        "tenants/roster/community.html", block, status=status, community=community, buildings=buildings,
        form=form or CommunityForm(obj=community), building_form=building_form or BuildingForm(),
    )


@bp.get("/communities/<community_id>")
@require_role(*STAFF)
def community(community_id):
    return _community_page(get_or_404(Community, community_id))


@bp.post("/communities/<community_id>")
@require_role(*ADMIN)
def update_community(community_id):
    community = get_or_404(Community, community_id)
    form = CommunityForm()
    return submit(
        form, lambda: services.update_community(community, name=form.name.data, address=form.address.data,
                                                actor=current_user),
        success=_("Saved."), next_url=url_for(".community", community_id=community.id),
    ) or _community_page(community, form=form, status=422, block="edit_form")


@bp.post("/communities/<community_id>/delete")
@require_role(*ADMIN)
def delete_community(community_id):
    community = get_or_404(Community, community_id)
    return attempt(
        lambda: services.delete_community(community, actor=current_user),
        success=_("Community %(name)s deleted. Its history stays in the audit log.", name=community.name),
        next_url=url_for(".communities"), failure_url=url_for(".community", community_id=community.id),
    )


@bp.post("/communities/<community_id>/buildings")
@require_role(*ADMIN)
def create_building(community_id):
    community = get_or_404(Community, community_id)
    form = BuildingForm()
    return submit(
        form, lambda: services.create_building(community, name=form.name.data, actor=current_user),
        success=lambda building: _("Building %(name)s added.", name=building.name),
        next_url=url_for(".community", community_id=community.id),
    ) or _community_page(community, building_form=form, status=422, block="building_form")


@bp.post("/buildings/<building_id>")
@require_role(*ADMIN)
def rename_building(building_id):
    building = get_or_404(Building, building_id)
    form = BuildingForm()
    back = url_for(".community", community_id=building.community_id)
    if not form.validate_on_submit():
        # The rename is a small inline form on the community page: its problems are flashed there.
        for message in [*form.name.errors, *form.form_errors]:
            flash(str(message), "danger")
        return redirect_to(back)
    return attempt(lambda: services.rename_building(building, name=form.name.data, actor=current_user),
                   next_url=back)


@bp.post("/buildings/<building_id>/delete")
@require_role(*ADMIN)
def delete_building(building_id):
    building = get_or_404(Building, building_id)
    return attempt(lambda: services.delete_building(building, actor=current_user),
                   success=_("Building %(name)s deleted.", name=building.name),
                   next_url=url_for(".community", community_id=building.community_id))


# --- households ---------------------------------------------------------------------------------


def _live_buildings():
    return db.session.execute(
        select(Building)
        .join(Building.community)
        .options(contains_eager(Building.community))
        .where(Building.live(), Community.live())
        .order_by(Community.name, func.length(Building.name), Building.name)
    ).scalars().all()


def _household_filters() -> dict:
    args = request.args
    filters = {
        "q": (args.get("q") or "").strip()[:50],
        "community_id": args.get("community_id") or "",
        "building_id": args.get("building_id") or "",
        "occupancy": args.get("occupancy") or "",
    }
    if filters["occupancy"] not in {o.value for o in Occupancy}:
        filters["occupancy"] = ""
    return filters


# The buildings whose name contains a search (a few hundred buildings at most: one small statement).
_BUILDINGS_NAMED = built_once(select(Building.id).where(Building.name.ilike(bindparam("like"), escape="\\")))


def _buildings_named(q: str) -> tuple:
    if not q:
        return ()
    return tuple(db.session.execute(_BUILDINGS_NAMED, {"like": like_pattern(q)}).scalars())


# A search counts its matches up to this many ("more than 1,000": narrow the search); 50 pages of 20.
SEARCH_CAP = 1000


def _household_page(filters: dict) -> AddressPagination:
    """The page of households in address order (tenants/roster/listing.py: a building at a time). Without a
    search the per-building counts come from the roster's figures, not from counting the households."""
    chosen = HouseholdFilter(
        community_id=parse_uuid_or_404(filters["community_id"]) if filters["community_id"] else None,
        building_id=parse_uuid_or_404(filters["building_id"]) if filters["building_id"] else None,
        q=filters["q"], buildings_named=_buildings_named(filters["q"]),
        occupancy=Occupancy(filters["occupancy"]) if filters["occupancy"] else None)
    if filters["q"]:
        def counts():
            return counted_by_building(chosen, SEARCH_CAP)
    else:
        def counts():
            return figures.by_building(occupancy=chosen.occupancy, community_id=chosen.community_id,
                                       building_id=chosen.building_id)
    return AddressPagination(page=page_number(), per_page=20, max_per_page=100, error_out=False, counts=counts,
                             filters=chosen, cap=SEARCH_CAP if filters["q"] else None)


def _row_shared() -> dict:
    """What every household row shares (templates/tenants/roster/_household_row.html), made once per response:
    the labels translated and the links made once, each row's id put into the link patterns."""
    return {
        "placeholder": ROW_ID,
        "community": _("Community"), "room": _("Room"), "area": _("Area (m²)"), "occupancy": _("Occupancy"),
        "owner": _("Owner"), "phone": _("Phone"), "edit": _("Edit"), "delete": _("Delete"),
        "confirm": _("Delete household %(label)s? You can undo this.", label="%(label)s"),
        "occupancies": {o: o.label for o in Occupancy},
        "admin": current_membership.role == Role.ADMIN,
        "show_url": url_for(".household", household_id=ROW_ID),
        "edit_url": url_for(".edit_household", household_id=ROW_ID),
        "delete_url": url_for(".delete_household", household_id=ROW_ID),
    }


def _live_communities() -> list:
    return live_communities()


def _add_form(form=None, building_id: str = "") -> tuple:
    """The add-a-household form with every live building as a choice: (form, buildings)."""
    buildings = _live_buildings()
    if form is None:
        form = HouseholdForm()
        if building_id:
            form.building_id.data = building_id
    form.set_building_choices(buildings)
    return form, buildings


def _households_page(form=None, *, status=200, block=None):
    """The list. The add form (a select of every building) is rendered here only when it shows at once (its
    errors, or an empty list); otherwise the page loads it when the admin opens it (``?add_form=1``)."""
    filters = _household_filters()
    page = _household_page(filters)
    buildings = None
    if form is not None or (block is None and not page.total and not any(filters.values())):
        form, buildings = _add_form(form, filters["building_id"])
    return render("tenants/roster/households.html", block, status=status, page=page, filters=filters,
                  form=form, buildings=buildings, communities=_live_communities(),
                  occupancies=[(o.value, o.label) for o in Occupancy], show_contacts=True, row=_row_shared())


# Owners' personal details: admins only. A steward sees their own households on their home page.
@bp.get("/households")
@require_role(*ADMIN)
def households():
    if request.args.get("add_form") == "1":
        form, buildings = _add_form(building_id=request.args.get("building_id") or "")
        return render_partial("tenants/roster/_household_add.html", form=form, buildings=buildings)
    block = "results" if htmx and htmx.target == "household-results" else None
    return _households_page(block=block)


def _household_data(form: HouseholdForm) -> services.HouseholdData:
    building = get_or_404(Building, form.building_id.data)
    return services.HouseholdData(
        building=building,
        unit=form.unit.data or "",
        room=form.room.data,
        floor_area=form.floor_area.data,
        occupancy=Occupancy(form.occupancy.data),
        owner_name=form.owner_name.data or "",
        owner_phone=form.owner_phone.data or "",
    )


@bp.post("/households")
@require_role(*ADMIN)
def create_household():
    form = HouseholdForm()
    form.set_building_choices(_live_buildings())
    if form.validate_on_submit():
        try:
            household = services.create_household(_household_data(form), actor=current_user)
        except services.RosterError as exc:
            show_error(form, exc)
        else:
            if wants_fragment():
                # A fresh form for the next entry, keeping the building; the new row goes on top of the list.
                fresh = HouseholdForm(formdata=None, building_id=str(household.building_id),
                                      unit=household.unit, occupancy=household.occupancy.value)
                fresh.set_building_choices(_live_buildings())
                return render_partial("tenants/roster/_household_created.html", form=fresh, household=household,
                                      show_contacts=True, row=_row_shared())
            flash(_("Household %(label)s added.", label=household.label), "success")
            return redirect_to(url_for(".households"))
    return _households_page(form, status=422, block="add_form")


# A household's last 100 changes, built once.
_HOUSEHOLD_HISTORY = built_once(select(AuditEvent).where(
    AuditEvent.object_type == "household", AuditEvent.object_id == bindparam("household_id"))
    .order_by(AuditEvent.created_at.desc()).limit(100))


@bp.get("/households/<household_id>")
@require_role(*ADMIN)
def household(household_id):
    household = get_or_404(Household, household_id, include_deleted=True)
    history = db.session.execute(_HOUSEHOLD_HISTORY, {"household_id": household.id}).scalars().all()
    from saas.models import user_names
    from tenants.stewards import queries as steward_queries

    periods = steward_queries.history_for(household.id)
    contacts = steward_queries.contacts_for(household.id, limit=20)
    names = user_names([p.started_by_id for p in periods] + [p.ended_by_id for p in periods]
                       + [c.author_id for c in contacts])
    return render("tenants/roster/household.html", household=household, history=history, periods=periods,
                  contacts=contacts, names=names)


@bp.get("/households/<household_id>/row")
@require_role(*ADMIN)
def household_row(household_id):
    household = get_or_404(Household, household_id)
    return render_partial("tenants/roster/_household_row.html", household=household,
                          show_contacts=True, row=_row_shared())


@bp.get("/households/<household_id>/edit")
@require_role(*ADMIN)
def edit_household(household_id):
    household = get_or_404(Household, household_id)
    form = HouseholdForm(
        formdata=None,
        building_id=str(household.building_id),
        unit=household.unit,
        room=household.room,
        floor_area=str(household.floor_area),
        occupancy=household.occupancy.value,
        owner_name=household.owner_name,
        owner_phone=household.owner_phone,
    )
    form.set_building_choices(_live_buildings())
    if wants_fragment():
        return render_partial("tenants/roster/_household_edit_row.html", household=household, form=form)
    return render("tenants/roster/household_edit.html", household=household, form=form)


@bp.post("/households/<household_id>")
@require_role(*ADMIN)
def update_household(household_id):
    household = get_or_404(Household, household_id)
    form = HouseholdForm()
    form.set_building_choices(_live_buildings())
    if form.validate_on_submit():
        try:
            services.update_household(household, _household_data(form), actor=current_user)
        except services.RosterError as exc:
            show_error(form, exc)
        else:
            if wants_fragment():
                return render_partial("tenants/roster/_household_row.html", household=household,
                                      show_contacts=True, row=_row_shared())
            flash(_("Saved."), "success")
            return redirect_to(url_for(".households"))
    if wants_fragment():
        return render_partial("tenants/roster/_household_edit_row.html", household=household, form=form,
                              status=422)
    return render("tenants/roster/household_edit.html", household=household, form=form, status=422)


@bp.post("/households/<household_id>/delete")
@require_role(*ADMIN)
def delete_household(household_id):
    household = get_or_404(Household, household_id)
    services.delete_household(household, actor=current_user)
    if wants_fragment():
        return render_partial("tenants/roster/_household_deleted_row.html", household=household)
    flash(_("Household %(label)s deleted.", label=household.label), "success")
    return redirect_to(url_for(".households"))


@bp.post("/households/<household_id>/restore")
@require_role(*ADMIN)
def restore_household(household_id):
    household = get_or_404(Household, household_id, include_deleted=True)
    try:
        services.restore_household(household, actor=current_user)
    except services.RosterError as exc:
        if htmx:
            abort(409, description=str(exc.message))
        flash(str(exc.message), "danger")
        return redirect_to(url_for(".household", household_id=household.id))
    if wants_fragment():
        return render_partial("tenants/roster/_household_row.html", household=household, show_contacts=True,
                              row=_row_shared())
    flash(_("Household %(label)s restored.", label=household.label), "success")
    return redirect_to(url_for(".household", household_id=household.id))
