"""The steward's own pages, phone first: my households (grouped by building, searchable), my KPIs, one
household with its contact history and the "log a visit/contact" form, and my contact details for owners.

A steward sees owners' personal details only for the households they currently look after
(permissions.my_household_or_404): any other household id is a 404, exactly as if it belonged to another
company."""

from __future__ import annotations

from flask import request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from saas.clock import utcnow
from saas.extensions import db, htmx
from saas.forms import submit
from saas.htmx import render
from saas.models import Membership, Role, User
from tenants.access import current_membership, require_role
from tenants.roster.models import Household, HouseholdOwner
from tenants.stewards import bp, home_rows, queries, services
from tenants.stewards.forms import ContactForm, ProfileForm, save_profile
from tenants.stewards.permissions import my_household_or_404
from tenants.work_orders.queries import open_jobs_of_household

bp.add_app_template_global(home_rows.home_rows, "steward_home_rows")  # the homes, drawn in Python


@bp.get("/steward")
@require_role(Role.STEWARD)
def home():
    q = (request.args.get("q") or "").strip()[:50]
    groups = queries.group_by_building(queries.households_of(current_membership.id, q=q))
    from tenants.fees.collection import steward_figures

    context = {"q": q, "groups": groups, "today": queries.local_today()}
    context["fees"] = steward_figures(current_membership.id, context["today"])  # arrears of my homes (issue 11)
    if htmx and htmx.target == "my-households":
        return render("tenants/stewards/home.html", "households", **context)
    from tenants.work_orders.queries import open_jobs_of_steward

    return render("tenants/stewards/home.html", kpis=queries.kpis(current_membership.id, context["today"]),
                  profile=queries.profile_of(current_membership.id),
                  repairs=open_jobs_of_steward(current_membership), **context)


def _joined_owners(household: Household) -> list:
    """The owners bound to this home now (an owner membership joined with the household code, or invited),
    with the day they joined: (name, since), earliest first."""
    return db.session.execute(
        select(User.name, HouseholdOwner.created_at)
        .join(HouseholdOwner.membership)
        .join(Membership.user)
        .where(HouseholdOwner.household_id == household.id, HouseholdOwner.ended_at.is_(None),
               Membership.ended_at.is_(None), Membership.role == Role.OWNER)
        .order_by(HouseholdOwner.created_at)
    ).all()


def _household_page(household, form=None, status=200):
    today = queries.local_today()
    if form is None:
        # From a home's ledger, "Log a collection contact" (?topic=collection) starts the note for them.
        collecting = request.args.get("topic") == "collection"
        form = ContactForm(contacted_on=today, note=_("Payment reminder: ") if collecting else None)
    contacts = queries.contacts_for(household.id)
    from saas.models import user_names

    return render("tenants/stewards/household.html", status=status, household=household, form=form,
                  contacts=contacts, authors=user_names(c.author_id for c in contacts), today=today,
                  repairs=open_jobs_of_household(household.id), owners=_joined_owners(household), now=utcnow())


@bp.get("/steward/households/<household_id>")
@require_role(Role.STEWARD)
def household(household_id):
    return _household_page(my_household_or_404(household_id))


@bp.post("/steward/households/<household_id>/contacts")
@require_role(Role.STEWARD)
def log_contact(household_id):
    household = my_household_or_404(household_id)
    form = ContactForm()
    return submit(
        form, lambda: services.log_contact(household, current_membership, kind=form.kind.data,
                                           contacted_on=form.contacted_on.data, note=form.note.data,
                                           actor=current_user, today=queries.local_today()),
        success=_("Contact logged."), next_url=url_for(".household", household_id=household.id),
    ) or _household_page(household, form, status=422)


def _my_profile_page(form=None, status=200):
    profile = queries.profile_of(current_membership.id)
    if form is None:
        form = ProfileForm(obj=profile) if profile else ProfileForm()
    return render("tenants/stewards/my_profile.html", status=status, form=form, profile=profile)


@bp.get("/steward/profile")
@require_role(Role.STEWARD)
def my_profile():
    return _my_profile_page()


@bp.post("/steward/profile")
@require_role(Role.STEWARD)
def update_my_profile():
    form = ProfileForm()
    return submit(
        form, lambda: save_profile(current_membership, form, set_capacity=False, actor=current_user),
        success=_("Saved. Owners now see these details."), next_url=url_for(".my_profile"),
    ) or _my_profile_page(form, status=422)
