"""Admin pages of arrears and collection: who owes what by age (community → building → household), the
collection rate by month and community, and reminding every home of a scope that owes more than an amount.

Each page makes a fixed number of SQL statements however many homes and bills (tests/test_fee_arrears.py)."""

from __future__ import annotations

from itertools import dropwhile

from flask import abort, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from werkzeug.routing import BuildError
from wtforms import HiddenField, StringField
from wtforms.validators import Length

from saas.clock import local_today
from saas.extensions import db
from saas.forms import submit
from saas.htmx import render
from saas.i18n import _l
from saas.models import Role
from saas.money import format_yuan, parse_yuan
from saas.tenancy import built_once, parse_uuid_or_404
from tenants.access import generic_plans, require_role
from tenants.fees import arrears, arrears_rows, bp, collection, ledger
from tenants.roster.models import Building, Community

ADMIN = (Role.ADMIN,)


@bp.context_processor
def _fees_hub():
    """The fees home page, for the nav of these pages, when the module has one."""
    try:
        return {"fees_hub_url": url_for("company.fees.index")}
    except BuildError:
        return {"fees_hub_url": None}


# The tables' rows, drawn in Python (tenants/fees/arrears_rows.py: a Jinja loop per row was half the page).
bp.add_app_template_global(arrears_rows.age_cells, "arrears_age_cells")
bp.add_app_template_global(arrears_rows.group_rows, "arrears_group_rows")
bp.add_app_template_global(arrears_rows.home_rows, "arrears_home_rows")


class RemindForm(FlaskForm):
    min_owed = StringField(_l("Homes owing more than (yuan)"), default="0", validators=[Length(max=20)])
    community_id = HiddenField()
    building_id = HiddenField()


def _uuid_arg(value):
    raw = (value or "").strip()
    return parse_uuid_or_404(raw) if raw else None


# Built once, run with parameters (built per request, each cost about what running it did).
_COMMUNITIES = built_once(select(Community.id, Community.name, Community.deleted_at).order_by(Community.name))


def _scope(source) -> tuple:
    """(the live communities for the filter as (id, name) pairs, the chosen community, the chosen building): a
    building implies its community; an id of nothing here is a 404. The chosen community (deleted ones too: their
    arrears stay) is taken from the one read of the company's communities, not read again."""
    community_id, building_id = _uuid_arg(source.get("community_id")), _uuid_arg(source.get("building_id"))
    community = building = None
    if building_id is not None:
        building = db.session.execute(select(Building).where(Building.id == building_id)).scalar_one_or_none()
        if building is None:
            abort(404)
        community_id = building.community_id
    # Rows, not objects: the pages use a community's id and name only.
    every = db.session.execute(_COMMUNITIES).all()
    if community_id is not None:
        community = next((c for c in every if c.id == community_id), None)
        if community is None:
            abort(404)
    return [(c.id, c.name) for c in every if c.deleted_at is None], community, building


def _arrears_page(form=None, status=200):
    communities, community, building = _scope(request.args if form is None else request.form)
    today = local_today()
    sort = request.args.get("sort") if request.args.get("sort") in arrears.SORTS else "owed"
    kw = {"community_id": community.id if community else None, "building_id": building.id if building else None}
    if form is None:
        form = RemindForm(community_id=str(kw["community_id"] or ""), building_id=str(kw["building_id"] or ""))
    buildings = []
    if community is None:  # the company's totals are its communities' sum: no statement of their own
        groups = arrears.by_group(today)
        totals = arrears.sum_totals([g.totals for g in groups])
    else:
        # One read of the community's buildings that owe gives the table of buildings, the community's totals
        # (their sum) or the chosen building's (its row), and the building filter's choices: a building that
        # owes nothing has nothing to show here (the chosen one stays a choice, owing or not).
        by_building = arrears.by_group(today, community_id=community.id)
        buildings = [(g.id, g.name) for g in by_building]
        if building is None:
            groups, totals = by_building, arrears.sum_totals([g.totals for g in by_building])
        else:
            groups = []
            totals = next((g.totals for g in by_building if g.id == building.id), arrears.Totals())
            if all(b[0] != building.id for b in buildings):
                buildings.append((building.id, building.name))
        buildings.sort(key=lambda b: (len(b[1]), b[1]))  # address order: 2栋 before 10栋
    return render("tenants/fees/arrears/index.html", status=status, today=today, sort=sort, community=community,
                  building=building, communities=communities, buildings=buildings, form=form, totals=totals,
                  groups=groups, page=arrears.households(today, sort=sort, total=totals.households, **kw),
                  cutoff=arrears.limitation_cutoff(today), months=arrears.LIMITATION_WARNING_MONTHS,
                  reminder_interval=ledger.settings().reminder_interval_days)


@bp.get("/fees/arrears")
@generic_plans
@require_role(*ADMIN)
def arrears_index():
    return _arrears_page()


@bp.post("/fees/arrears/remind")
@require_role(*ADMIN)
def remind_many():
    form = RemindForm()
    _communities, community, building = _scope(request.form)
    back = url_for(".arrears_index", community_id=community.id if community else None,
                   building_id=building.id if building else None)

    def action():
        amount = parse_yuan(form.min_owed.data)
        if amount is None:
            raise collection.CollectionError(_l("Enter an amount in yuan, such as 500 or 0."), "min_owed")
        return collection.remind_many(actor=current_user, min_owed_fen=amount,
                                      community_id=community.id if community else None,
                                      building_id=building.id if building else None)

    def message(result):
        text = _("Reminders sent to %(n)s homes (%(amount)s past due in all).", n=result.sent,
                 amount=format_yuan(result.total_fen))
        if result.recent:
            text += " " + _("%(n)s homes were reminded recently and were skipped.", n=result.recent)
        if result.unreachable:
            text += " " + _("%(n)s homes have no owner account and no phone: print their written demand.",
                            n=result.unreachable)
        return text

    return submit(form, action, success=message, next_url=back) or _arrears_page(form, status=422)


@bp.get("/fees/collection")
@require_role(*ADMIN)
def collection_index():
    communities, community, _building = _scope({"community_id": request.args.get("community_id")})
    today = local_today()
    periods = collection.by_period(today, community_id=community.id if community else None)
    # The chart starts at the first month anything was billed: a new company sees its months, not a year of blanks.
    shown = list(dropwhile(lambda p: not p.billed and not p.paid, periods)) or periods[-1:]
    return render("tenants/fees/collection/index.html", today=today, community=community, communities=communities,
                  periods=shown, this_month=periods[-1],
                  rows=[] if community else collection.by_community(today))  # one community: no table of all
