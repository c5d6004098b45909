"""The owner's side of work orders, in the portal: report a repair, follow it on its timeline, comment, urge an
overdue job, cancel before work starts, answer a quote, rate it when done, reopen it within 7 days.

An owner sees only their own jobs (permissions.py); which buttons show comes from ``services.available_actions``,
and every change goes through the services, which refuse with a message.
"""

from __future__ import annotations

from datetime import timedelta

from flask import flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from saas.errors import ServiceError
from saas.extensions import db, htmx
from saas.forms import show_error, submit
from saas.htmx import redirect_to, render
from saas.models import Role
from saas.money import format_yuan
from saas.pagination import paginate
from saas.tenancy import utcnow
from tenants.access import current_membership, generic_plans, require_role
from tenants.roster.models import Household
from tenants.work_orders import bp, permissions, photos, queries, services
from tenants.work_orders import cards as job_cards
from tenants.work_orders.forms import (
    CancelForm,
    ConfirmForm,
    OwnerCommentForm,
    OwnerReportForm,
    RateForm,
    ReopenForm,
)
from tenants.work_orders.models import Area, Priority, Source, WorkOrder, WorkOrderEvent, WorkOrderPhoto
from tenants.work_orders.states import OPEN, REOPEN_DAYS, Action

PER_PAGE = 20
LIVE_BLOCK = "live"  # the status and timeline, polled while the job is open
# The page section (element id) each form of the job page sits in.
SECTIONS = {"comment_form": "wo-comment", "rate_form": "wo-rate", "reopen_form": "wo-reopen",
            "cancel_form": "wo-cancel"}


@bp.app_template_global()
def owner_open_repairs() -> int:
    """The portal's "N open" badge: one count query."""
    return db.session.execute(
        select(func.count()).select_from(WorkOrder)
        .where(permissions.visible_clause(), WorkOrder.status.in_(OPEN))
    ).scalar_one()


# --- the list -------------------------------------------------------------------------------------------------


@bp.get("/my/repairs")
@generic_plans
@require_role(Role.OWNER)
def owner_index():
    stmt = (select(WorkOrder).where(permissions.visible_clause())
            .order_by(WorkOrder.created_at.desc(), WorkOrder.id.desc()))
    page = paginate(stmt, per_page=PER_PAGE, read=job_cards.owner_cards)
    return render("tenants/work_orders/owner/index.html", page=page, now=utcnow())


# --- reporting ------------------------------------------------------------------------------------------------


def _report_page(form: OwnerReportForm, homes, categories, status: int = 200):
    _focus_first_error(form)
    return render("tenants/work_orders/owner/new.html", status=status, form=form, homes=homes,
                  categories=categories, max_photos=photos.MAX_PHOTOS)


@bp.route("/my/repairs/new", methods=["GET", "POST"])
@require_role(Role.OWNER)
def owner_new():
    homes = permissions.my_homes()
    categories = queries.live_categories()
    form = OwnerReportForm()
    form.household_id.choices = [("", _("Choose…"))] + [(str(h.id), h.label) for h in homes]
    form.category_id.choices = [("", _("Choose…"))] + [(str(c.id), c.name) for c in categories]
    if not homes or not categories:
        return _report_page(form, homes, categories, status=200 if request.method == "GET" else 422)
    if request.method == "GET":
        return _report_page(form, homes, categories)
    return submit(form, lambda: _report(form, homes),
                  success=lambda order: _("Repair %(number)s reported. We will let you know when someone takes it.",
                                          number=order.number),
                  next_url=lambda order: url_for(".owner_show", order_id=order.id)) \
        or _report_page(form, homes, categories, status=422)


def _report(form: OwnerReportForm, homes: list[Household]) -> WorkOrder:
    home = _chosen_home(form, homes)
    if home is None:
        raise services.WorkOrderError(_("Choose the home this repair is for."), "household_id")
    return services.create_order(services.Report(
        source=Source.PORTAL, area=Area(form.area.data), category_id=form.category_id.data,
        description=form.description.data or "", priority=Priority(form.priority.data),
        preferred_time=form.preferred_time.data or "", household=home,
    ), actor=current_user, membership=current_membership, files=form.photos.data)


def _chosen_home(form: OwnerReportForm, homes: list[Household]) -> Household | None:
    """The only home, or the posted one if it is one of mine (a forged id is simply not found)."""
    if len(homes) == 1:
        return homes[0]
    return next((h for h in homes if str(h.id) == (form.household_id.data or "")), None)


# --- one job ------------------------------------------------------------------------------------------------


def _load(order_id) -> WorkOrder:
    return permissions.order_or_404(order_id)


def owner_timeline(order: WorkOrder):
    """The events an owner may see, in order, and their photos by event (photos of hidden events stay hidden)."""
    events = db.session.execute(
        select(WorkOrderEvent).where(WorkOrderEvent.work_order_id == order.id, WorkOrderEvent.internal.is_(False))
        .order_by(WorkOrderEvent.seq)).scalars().all()
    seqs = {e.seq for e in events}
    by_seq: dict[int, list] = {}
    for photo in db.session.execute(select(WorkOrderPhoto).where(WorkOrderPhoto.work_order_id == order.id)
                                    .order_by(WorkOrderPhoto.created_at, WorkOrderPhoto.id)).scalars():
        if photo.event_seq in seqs:
            by_seq.setdefault(photo.event_seq, []).append(photo)
    return events, by_seq


def _show(order: WorkOrder, *, status: int = 200, error=None, block: str | None = None, **forms):
    now = utcnow()
    viewer = services.viewer_for(order, current_membership)
    actions = services.available_actions(order, viewer, now)
    events, photos_by_seq = owner_timeline(order)
    context = {
        "order": order, "now": now, "actions": actions, "Action": Action,
        "can_urge": order.is_open and services.can_urge(order, now),
        "events": events, "photos_by_seq": photos_by_seq, "show_internal": False, "error": error,
        "max_photos": photos.MAX_PHOTOS, "yuan": format_yuan,
        "reopen_until": order.completed_at + timedelta(days=REOPEN_DAYS) if order.completed_at else None,
        "comment_form": _or(forms.get("comment_form"), lambda: OwnerCommentForm(formdata=None)),
        "rate_form": _or(forms.get("rate_form"), lambda: RateForm(formdata=None)),
        "cancel_form": _or(forms.get("cancel_form"), lambda: CancelForm(prefix="cancel", formdata=None)),
        "reopen_form": _or(forms.get("reopen_form"), lambda: ReopenForm(prefix="reopen", formdata=None)),
    }
    for form in forms.values():
        _focus_first_error(form)
    response = render("tenants/work_orders/owner/show.html", block, status=status, **context)
    if request.method == "POST":
        # A refused boosted POST would leave /actions/... in the address bar; reloading that is a 405.
        response.headers["HX-Replace-Url"] = url_for(".owner_show", order_id=order.id)
        # And htmx would scroll a boosted page to the top, away from the message under a form low on the page.
        anchor = next((SECTIONS[name] for name, form in forms.items() if form.errors and not error), None)
        if anchor:
            response.headers["HX-Reswap"] = f"innerHTML show:#{anchor}:top"
    return response


def _focus_first_error(form) -> None:
    """Put the cursor (and the scroll) on the first field with a message: the form may be far down a phone page."""
    for field in form:
        if field.errors:
            if field.type == "RadioField":
                field.focus_first = True  # read by owner/_fields.html: render_kw would reach every option
            else:
                field.render_kw = {**(field.render_kw or {}), "autofocus": True}
            return


def _or(form, make):
    """The posted form (with its errors) if there is one, else a blank one."""
    return form if form is not None else make()


@bp.get("/my/repairs/<order_id>")
@require_role(Role.OWNER)
def owner_show(order_id):
    order = _load(order_id)
    polling = htmx and not htmx.boosted and htmx.target == "wo-live"
    return _show(order, block=LIVE_BLOCK if polling else None)


def _refused(order_id, exc, **forms):
    """Back to the job page with the refusal: at its field when a form on the page has it, else above."""
    db.session.rollback()
    for form in forms.values():
        if getattr(exc, "field", None) and getattr(form, exc.field, None) is not None:
            show_error(form, exc)
            return _show(_load(order_id), status=422, **forms)
    return _show(_load(order_id), status=422, error=str(exc.message), **forms)


@bp.post("/my/repairs/<order_id>/comment")
@require_role(Role.OWNER)
def owner_comment(order_id):
    order = _load(order_id)
    form = OwnerCommentForm()
    if not form.validate_on_submit():
        return _show(order, status=422, comment_form=form)
    try:
        services.comment(order, actor=current_user, membership=current_membership, note=form.note.data or "",
                         files=form.photos.data)
    except ServiceError as exc:
        return _refused(order_id, exc, comment_form=form)
    flash(_("Comment added."), "success")
    return redirect_to(url_for(".owner_show", order_id=order.id))


@bp.post("/my/repairs/<order_id>/urge")
@require_role(Role.OWNER)
def owner_urge(order_id):
    order = _load(order_id)
    if not ConfirmForm().validate_on_submit():
        return _show(order, status=422, error=_("The form expired. Please try again."))
    try:
        services.urge(order, actor=current_user, membership=current_membership)
    except ServiceError as exc:
        return _refused(order_id, exc)
    flash(_("We have told the team that you are waiting."), "success")
    return redirect_to(url_for(".owner_show", order_id=order.id))


def _plain_refusal(order: WorkOrder, action: Action) -> str | None:
    """Two refusals an owner meets often, in their words rather than the state machine's."""
    if action == Action.CANCEL and order.is_open and order.started_at is not None:
        return _("Work on this repair has started, so it can no longer be cancelled here. "
                 "Please talk to the person doing it, or to your steward.")
    if action == Action.RATE and order.rated_at is not None:
        return _("You have already rated this repair. Thank you!")
    return None


_DONE_MESSAGES = {
    Action.CANCEL: lambda: _("Repair cancelled."),
    Action.RATE: lambda: _("Thank you for your rating."),
    Action.REOPEN: lambda: _("Repair reopened. It goes back to the person who did it."),
    Action.ACCEPT_QUOTE: lambda: _("Quote accepted. The work goes on."),
    Action.DECLINE_QUOTE: lambda: _("Quote declined. The repair is cancelled."),
}


@bp.post("/my/repairs/<order_id>/actions/<action>")
@require_role(Role.OWNER)
def owner_act(order_id, action):
    order = _load(order_id)
    action = permissions.action_or_404(action, permissions.OWNER_ACTIONS)
    forms, kwargs = {}, {}
    if action == Action.CANCEL:
        form = forms["cancel_form"] = CancelForm(prefix="cancel")
    elif action == Action.REOPEN:
        form = forms["reopen_form"] = ReopenForm(prefix="reopen")
    elif action == Action.RATE:
        form = forms["rate_form"] = RateForm()
    else:
        form = ConfirmForm()
    if not form.validate_on_submit():
        error = None if forms else _("The form expired. Please try again.")
        return _show(order, status=422, error=error, **forms)
    refusal = _plain_refusal(order, action)
    if refusal:
        return _show(order, status=422, error=refusal, **forms)
    if action in (Action.CANCEL, Action.REOPEN):
        kwargs["note"] = form.note.data or ""
    elif action == Action.RATE:
        kwargs["ratings"] = services.Ratings(form.overall.data, form.speed.data, form.attitude.data,
                                             form.comment.data or "")
    try:
        services.perform(order, action, actor=current_user, membership=current_membership, **kwargs)
    except ServiceError as exc:
        return _refused(order_id, exc, **forms)
    flash(_DONE_MESSAGES[action](), "success")
    return redirect_to(url_for(".owner_show", order_id=order.id))
