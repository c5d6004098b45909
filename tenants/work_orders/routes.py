"""Work-order pages for staff: all jobs (admin, with filters), my jobs (technicians and stewards, with the grab
pool), the board by status, one job with the actions its viewer may take, a job entered from a phone call, and
the photos. The blueprint is the package's (tenants/work_orders/__init__.py); the other pages on it live in their
own modules, imported here so their routes join it. Who may see what: permissions.py.

Lists make a fixed number of queries however long they are: the category and the assignee (with their user) are
joined into the row query, and the location is a snapshot on the job itself.
"""

from __future__ import annotations

import functools
import uuid
from datetime import datetime, timedelta

from flask import abort, flash, request, send_file, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup, escape
from sqlalchemy import bindparam, func, or_, select, union_all

from saas import staff_version
from saas.clock import aware
from saas.errors import ServiceError
from saas.extensions import db, htmx
from saas.forms import submit
from saas.htmx import redirect_to, render, wants_fragment
from saas.models import Membership, Role
from saas.money import parse_yuan
from saas.pagination import keyset_paginate, paginate
from saas.templating import option_tags
from saas.tenancy import built_once, get_or_none, utcnow
from tenants.access import current_membership, generic_plans, require_role
from tenants.inbox.routes import links_subject
from tenants.roster.models import Building, Community, Household
from tenants.roster.queries import live_community_names
from tenants.work_orders import badges, bp, figures, notify, permissions, photos, queries, services
from tenants.work_orders import cards as job_cards
from tenants.work_orders.models import (
    Area,
    Source,
    WorkOrder,
    WorkOrderEvent,
    WorkOrderPhoto,
)
from tenants.work_orders.sla import format_time_left, time_left, urgency
from tenants.work_orders.staff_forms import FollowUpForm, PhoneReportForm
from tenants.work_orders.states import OPEN, Action, Status

STAFF = (Role.ADMIN, Role.STEWARD, Role.TECHNICIAN)
EVERYONE = (*STAFF, Role.OWNER)
PER_PAGE = 25
BOARD_COLUMNS = [s for s in Status if s not in (Status.CLOSED, Status.CANCELLED)]  # a column per status, in order
BOARD_CARDS = 10  # per column; the column header shows the full count and "All N" links to the filtered list


bp.add_app_template_global(badges.page_badges, "wo_badges")


@bp.app_template_global()
def sla_time_left(due: datetime, now: datetime):
    return format_time_left(time_left(due, now))


@bp.app_template_global()
def sla_urgency(order, which: str, now: datetime) -> str:
    """ok / soon / overdue, against the whole window the deadline gave (from the report to the deadline)."""
    due = order.response_due_at if which == "response" else order.resolution_due_at
    return urgency(due, now, max(due - aware(order.created_at), timedelta(0)))  # created_at: naive on SQLite


# --- lists ------------------------------------------------------------------------------------------------


class Filters:
    """The admin list's filters, read from the query string; unknown values are ignored, not errors."""

    def __init__(self, args):
        self.status = args.get("status", "")
        if self.status not in {"open", *(s.value for s in Status)}:
            self.status = ""
        self.category = _uuid_or_blank(args.get("category"))
        self.community = _uuid_or_blank(args.get("community"))
        self.assignee = args.get("assignee", "")
        if self.assignee != "none":
            self.assignee = _uuid_or_blank(self.assignee)
        self.overdue = args.get("overdue") == "1"
        self.reported = "today" if args.get("reported") == "today" else ""  # the overview's "reported today"
        self.q = (args.get("q") or "").strip()[:40]

    def apply(self, stmt, now: datetime):
        if self.status == "open":
            stmt = stmt.where(WorkOrder.status.in_(OPEN))
        elif self.status:
            stmt = stmt.where(WorkOrder.status == Status(self.status))
        if self.category:
            stmt = stmt.where(WorkOrder.category_id == uuid.UUID(self.category))
        if self.community:
            stmt = stmt.where(WorkOrder.community_id == uuid.UUID(self.community))
        if self.assignee == "none":
            stmt = stmt.where(WorkOrder.assignee_id.is_(None))
        elif self.assignee:
            stmt = stmt.where(WorkOrder.assignee_id == uuid.UUID(self.assignee))
        if self.overdue:
            stmt = stmt.where(queries.overdue_clause(now))
        if self.reported:
            stmt = stmt.where(queries.reported_today_clause(now))
        if self.q:
            stmt = stmt.where(or_(WorkOrder.number.contains(self.q.upper()), WorkOrder.location.contains(self.q)))
        return stmt

    def total(self) -> int | None:
        """The list's length from the status counts the writes keep (figures.py) when only the status is
        filtered (or nothing): no COUNT over the company's jobs. None when another filter needs a real count."""
        if self.category or self.community or self.assignee or self.overdue or self.reported or self.q:
            return None
        counts = figures.status_counts()
        if self.status == "open":
            return sum(counts.get(s, 0) for s in OPEN)
        if self.status:
            return counts.get(Status(self.status), 0)
        return sum(counts.values())

    @property
    def active(self) -> bool:
        return bool(self.status or self.category or self.community or self.assignee or self.overdue
                    or self.reported or self.q)


def _uuid_or_blank(value) -> str:
    try:
        return str(uuid.UUID(str(value))) if value else ""
    except ValueError:
        return ""


@bp.get("/work-orders")
@generic_plans
@require_role(Role.ADMIN)
def index():
    now = utcnow()
    filters = Filters(request.args)
    # By keyset on (created_at, id), newest first: page 500 of 200,000 jobs is the same index walk as page 1.
    page = keyset_paginate(filters.apply(select(WorkOrder), now), (WorkOrder.created_at, WorkOrder.id),
                           per_page=PER_PAGE, total=filters.total(), read=job_cards.list_cards)
    if htmx and htmx.target == "wo-list" and wants_fragment():
        # The list alone (a filter changed, or its refresh every 20 s on every open list): the filter form's
        # choices (every staff member among them: hundreds in a large company) are not drawn, so not read.
        return render("tenants/work_orders/index.html", "list", page=page, filters=filters, now=now)
    communities = live_community_names()
    return render("tenants/work_orders/index.html", page=page, filters=filters, now=now,
                  categories=queries.live_categories(), communities=communities,
                  staff=_staff_options(), statuses=list(Status))


def _staff_options() -> Markup:
    """The assignee choices: an <option> per staff member, "name (role)", by role then name. Kept per company
    until its staff change (saas/staff_version.py): the read and drawing of 420 stewards was a fifth of the list
    page's time. Each role's label is translated once; names escaped as the template would."""
    def draw() -> Markup:
        labels = {role: role.label for role in (Role.ADMIN, Role.STEWARD, Role.TECHNICIAN)}
        return option_tags((member_id, f"{name} ({labels[role]})") for member_id, role, name in queries.staff_names())

    return staff_version.cached("assignee-options", draw, language=str(get_locale()))


@bp.app_template_global()
def staff_option_tags(options: Markup, selected: str) -> Markup:
    """``options`` (from _staff_options) with ``selected`` (a membership id, as the filter keeps it) selected."""
    if not selected:
        return options
    # str.replace, not Markup.replace (which would escape the new tag); ``selected`` is an id put into a tag, so it
    # must look like one: the filter and the job keep only UUIDs (or "none", which matches no option).
    return Markup(str.replace(options, f'<option value="{escape(selected)}">',
                              f'<option value="{escape(selected)}" selected>', 1))


@functools.cache
def _board_statement():
    """The board's cards: the newest BOARD_CARDS of each column, one short backward walk of ix_work_orders_status
    per status (a row_number() over every open and done job ranked thousands of rows to keep 140: 150 ms at
    200,000 jobs). Built once: it has no parameter but the company, and building and keying its seven parts on
    every view cost more than running it (saas.tenancy.built_once)."""
    newest = [select(WorkOrder.id).where(WorkOrder.status == status)
              .order_by(WorkOrder.created_at.desc(), WorkOrder.id.desc()).limit(BOARD_CARDS).subquery()
              for status in BOARD_COLUMNS]
    return built_once(
        job_cards.select_cards().where(WorkOrder.id.in_(union_all(*(select(top.c.id) for top in newest))))
        .order_by(WorkOrder.created_at.desc(), WorkOrder.id.desc()))


@bp.get("/work-orders/board")
@generic_plans
@require_role(Role.ADMIN)
def board():
    """The open jobs by status, a column each (plus the finished ones): two queries in all. The column totals
    are the status counts the writes keep (figures.py): a COUNT of the done jobs alone read 10,000 rows."""
    now = utcnow()
    counts = figures.status_counts()
    newest_cards = job_cards.cards(_board_statement())
    by_status = {s: [] for s in BOARD_COLUMNS}
    for order in newest_cards:
        by_status[order.status].append(order)
    block = "board" if htmx and htmx.target == "wo-board" else None
    return render("tenants/work_orders/board.html", block, columns=BOARD_COLUMNS, counts=counts, by_status=by_status,
                  now=now)


MINE_TABS = ("todo", "pool", "homes", "done")


@bp.get("/work-orders/mine")
@require_role(*STAFF)
def mine():
    """My jobs, phone first: to do (given to me, open, soonest deadline first), the grab pool of my categories,
    the jobs of the homes I look after (stewards), and what I finished."""
    now = utcnow()
    me = current_membership
    tab = request.args.get("tab", "todo")
    if tab not in MINE_TABS:
        tab = "todo"
    base = select(WorkOrder)
    if tab == "todo":
        stmt = base.where(WorkOrder.assignee_id == me.id, WorkOrder.status.in_(OPEN)).order_by(
            WorkOrder.resolution_due_at, WorkOrder.id)
    elif tab == "pool":
        stmt = base.where(queries.pool_clause(me)).order_by(
            WorkOrder.response_due_at, WorkOrder.id)
    elif tab == "homes":
        stmt = base.where(WorkOrder.household_id.in_(queries.stewarded_household_ids(me))).order_by(
            WorkOrder.created_at.desc(), WorkOrder.id.desc())
    else:
        stmt = base.where(WorkOrder.assignee_id == me.id, WorkOrder.status.in_((Status.DONE, Status.CLOSED))).order_by(
            WorkOrder.completed_at.desc(), WorkOrder.id.desc())
    counts = _mine_counts(me)
    # The to-do and pool tabs list exactly what their badges count: the badge is the page's total (no COUNT).
    page = paginate(stmt, per_page=PER_PAGE, total=counts.get(tab) if tab in ("todo", "pool") else None,
                    read=job_cards.list_cards)
    block = "list" if htmx and htmx.target == "wo-list" else None
    return render("tenants/work_orders/mine.html", block, page=page, tab=tab, counts=counts, now=now)


def _mine_counts(me: Membership) -> dict:
    row = db.session.execute(_mine_counts_statement(), {"member_id": me.id}).one()
    return {"todo": row[0], "pool": row[1], "homes": row[2]}


@functools.cache
def _mine_counts_statement():
    """The tab badges in one statement: three scalar subqueries, each on its own index (one filtered count over
    the union of the three would scan most of the table). Built once, the member a parameter (queries.Member)."""
    def count(*where):
        return select(func.count()).select_from(WorkOrder).where(*where).scalar_subquery()

    me = queries.Member
    return built_once(select(
        count(WorkOrder.assignee_id == me.id, WorkOrder.status.in_(OPEN)),
        count(queries.pool_clause(me)),
        count(WorkOrder.status.in_(OPEN), WorkOrder.household_id.in_(queries.stewarded_household_ids(me))),
    ))


# --- one job -----------------------------------------------------------------------------------------------


def _load(order_id) -> WorkOrder:
    return permissions.order_or_404(order_id)


# A job's page's statements, built once and run with the job as a parameter.
_EVENTS = built_once(select(WorkOrderEvent).where(WorkOrderEvent.work_order_id == bindparam("order_id"))
                     .order_by(WorkOrderEvent.seq))
_PHOTOS = built_once(select(WorkOrderPhoto).where(WorkOrderPhoto.work_order_id == bindparam("order_id"))
                     .order_by(WorkOrderPhoto.created_at))


def _timeline(order: WorkOrder):
    events = db.session.execute(_EVENTS, {"order_id": order.id}).scalars().all()
    pictures = db.session.execute(_PHOTOS, {"order_id": order.id}).scalars().all()
    by_seq: dict[int, list] = {}
    for photo in pictures:
        by_seq.setdefault(photo.event_seq, []).append(photo)
    return events, by_seq


def _show_context(order: WorkOrder, **extra) -> dict:
    now = utcnow()
    viewer = services.viewer_for(order, current_membership)
    events, photos_by_seq = _timeline(order)
    household = get_or_none(Household, order.household_id, include_deleted=True) if order.household_id else None
    actions = services.available_actions(order, viewer, now)
    can_follow_up = order.status in (Status.DONE, Status.CLOSED) and permissions.may_follow_up(viewer)
    context = dict(order=order, viewer=viewer, events=events, photos_by_seq=photos_by_seq, household=household,
                   actions=actions, now=now, Action=Action,
                   staff=_staff_options() if Action.ASSIGN in actions else Markup(""),
                   follow_up_form=FollowUpForm() if can_follow_up else None,
                   can_comment=services.may_comment(order, viewer),
                   max_photos=photos.MAX_PHOTOS)
    context.update(extra)
    return context


@bp.get("/work-orders/<order_id>")
@generic_plans
@require_role(*STAFF)
def show(order_id):
    order = _load(order_id)
    block = "job" if htmx and htmx.target == "wo-job" else None
    return render("tenants/work_orders/show.html", block, **_show_context(order))


@bp.post("/work-orders/<order_id>/actions/<action>")
@require_role(*STAFF)
def act(order_id, action):
    order = _load(order_id)
    action = permissions.action_or_404(action)
    form = request.form
    quote_fen = None
    if action == Action.QUOTE:
        quote_fen = parse_yuan(form.get("quote", ""))
    try:
        services.perform(order, action, actor=current_user, membership=current_membership,
                         note=form.get("note", ""), assignee_id=form.get("assignee_id"), quote_fen=quote_fen,
                         files=request.files.getlist("photos"))
    except ServiceError as exc:
        db.session.rollback()
        order = _load(order_id)
        return render("tenants/work_orders/show.html", "job" if htmx and htmx.target == "wo-job" else None, status=422,
                      **_show_context(order, error=exc.message, error_action=action))
    flash(_("%(number)s: %(action)s — done.", number=order.number, action=action.label), "success")
    if action in (Action.DECLINE,) or not permissions.still_visible(order):
        return redirect_to(url_for(".mine"))
    return redirect_to(url_for(".show", order_id=order.id))


@bp.post("/work-orders/<order_id>/comment")
@require_role(*STAFF)
def comment(order_id):
    order = _load(order_id)
    try:
        services.comment(order, actor=current_user, membership=current_membership, note=request.form.get("note", ""),
                         files=request.files.getlist("photos"))
    except ServiceError as exc:
        db.session.rollback()
        order = _load(order_id)
        return render("tenants/work_orders/show.html", "job" if htmx and htmx.target == "wo-job" else None, status=422,
                      **_show_context(order, error=exc.message, error_action="comment"))
    return redirect_to(url_for(".show", order_id=order.id))


@bp.post("/work-orders/<order_id>/follow-up")
@require_role(Role.ADMIN, Role.STEWARD)
def follow_up(order_id):
    order = _load(order_id)
    if not permissions.may_follow_up(services.viewer_for(order, current_membership)):
        abort(403)
    form = FollowUpForm()
    return submit(form, lambda: services.record_follow_up(
                      order, actor=current_user, membership=current_membership, reached=form.reached.data == "yes",
                      satisfied={"yes": True, "no": False}.get(form.satisfied.data), note=form.note.data or ""),
                  success=_("Follow-up recorded."), next_url=url_for(".show", order_id=order.id)) \
        or render("tenants/work_orders/show.html", status=422,
                  **_show_context(order, follow_up_form=form, error_action="follow_up",
                                  error=" ".join(form.form_errors) or None))


@bp.get("/work-orders/photos/<photo_id>")
@require_role(*EVERYONE)
def photo(photo_id):
    """A job's photo, to whoever may see the job (404 for anyone else, another company's users included)."""
    row = permissions.photo_or_404(photo_id)
    try:
        path = photos.absolute_path(row.path)
    except ValueError:
        abort(404)
    if not path.is_file():
        abort(404)
    response = send_file(path, mimetype="image/jpeg", max_age=86400, conditional=True)
    response.headers["Cache-Control"] = "private, max-age=86400"  # never in a shared cache
    return response


# --- a job from a phone call --------------------------------------------------------------------------------


def _household_search(q: str):
    """Homes matching the caller's words (code, room, owner name or phone), 20 at most. Stewards search only the
    homes they look after, as everywhere else they see owners' details."""
    stmt = permissions.reportable_homes(select(Household).join(Household.building).join(Building.community))
    q = q.strip()
    if q:
        like = f"%{q}%"
        stmt = stmt.where(or_(Household.room.like(like), Household.owner_name.like(like),
                              Household.owner_phone.like(like), Household.household_code == q.upper(),
                              Building.name.like(like), Community.name.like(like)))
    return db.session.execute(stmt.order_by(Community.name, Building.name, Household.unit, Household.room)
                              .limit(20)).scalars().all()


@bp.route("/work-orders/new", methods=["GET", "POST"])
@require_role(Role.ADMIN, Role.STEWARD)
def new():
    form = PhoneReportForm()
    categories = queries.live_categories()
    form.category_id.choices = [("", _("Choose…"))] + [(str(c.id), c.name) for c in categories]
    q = request.args.get("q", "")
    if htmx and htmx.target == "household-results":
        return render("tenants/work_orders/new.html", "results", form=form, homes=_household_search(q), q=q)
    # The posted home, if this member may pick it (any live home for admins, their own homes for stewards).
    chosen = permissions.reportable_home(form.household_id.data) if form.household_id.data else None
    return submit(form, lambda: _create_from_call(form, chosen),
                  success=lambda order: _("%(number)s created.", number=order.number),
                  next_url=lambda order: url_for(".show", order_id=order.id)) \
        or render("tenants/work_orders/new.html", form=form, homes=_household_search(q) if q else [], q=q,
                  chosen=chosen, status=422 if request.method == "POST" else 200, max_photos=photos.MAX_PHOTOS)


def _create_from_call(form: PhoneReportForm, chosen: Household | None) -> WorkOrder:
    if chosen is None:
        raise services.WorkOrderError(_("Find and choose the caller's home."), "household_id")
    return services.create_order(services.Report(
        source=Source.PHONE, area=Area(form.area.data), category_id=form.category_id.data,
        priority=form.priority.data, description=form.description.data or "",
        preferred_time=form.preferred_time.data or "", household=chosen,
        reporter_name=form.reporter_name.data or chosen.owner_name,
        reporter_phone=form.reporter_phone.data or chosen.owner_phone,
    ), actor=current_user, membership=current_membership, files=request.files.getlist("photos"))


@links_subject(notify.SUBJECT)
def _job_link(order_id, role):
    if order_id is None:
        return None
    if role == Role.OWNER:
        return url_for("company.work_orders.owner_show", order_id=order_id)
    return url_for("company.work_orders.show", order_id=order_id)


@links_subject(notify.TECHNICIAN_JOINED)
def _technician_joined_link(membership_id, role):
    # The notice offers the new technician as the default: the settings page holds the button that does it.
    return url_for("company.work_orders.settings") if role == Role.ADMIN else None


# The other pages on this blueprint live in their own modules; importing them registers their routes.
from tenants.work_orders import dashboard_views, owner_views, point_views, settings_views  # noqa: E402, F401
