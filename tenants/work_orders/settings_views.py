"""The admin's work-order settings: the SLA calendar, the category list and one category's page (how its jobs are
handed out, who is qualified, its deadlines). Writes go through settings_services."""

from __future__ import annotations

from datetime import time

from flask import flash, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, RadioField, SelectField, SelectMultipleField, StringField
from wtforms.validators import InputRequired, Length, ValidationError
from wtforms.widgets import TimeInput

from saas.extensions import htmx
from saas.forms import attempt, show_error, submit
from saas.htmx import redirect_to, render
from saas.i18n import _l
from saas.models import Role
from saas.validators import CleanText
from tenants.access import require_role
from tenants.work_orders import bp, permissions, queries, services
from tenants.work_orders import settings_services as ss
from tenants.work_orders.models import DEFAULT_SLA_MINUTES, DispatchMode, Priority

TEMPLATES = "tenants/work_orders/settings"

MODE_HELP = {
    DispatchMode.ASSIGN: _l("Each new job goes straight to one person: the default assignee if you choose one, "
                            "otherwise the qualified person with the fewest open jobs."),
    DispatchMode.POOL: _l("New jobs wait in the grab pool (抢单) and any qualified person may take one; "
                          "the first to take it gets it."),
}


# --- forms ------------------------------------------------------------------------------------------------


class ClockField(StringField):
    """A wall-clock time (08:30) from an <input type="time">, with our own message for anything else."""

    widget = TimeInput()

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return self.data.strftime("%H:%M") if isinstance(self.data, time) else ""

    def process_formdata(self, valuelist):
        if not valuelist:
            return
        raw = (valuelist[0] or "").strip()
        try:
            hours, minutes = (int(part) for part in raw.split(":")[:2]) if raw.count(":") in (1, 2) else (-1, 0)
            self.data = time(hours, minutes)
        except ValueError:
            self.data = None
            raise ValueError(_l("Enter a time like 08:30.")) from None


class CalendarForm(FlaskForm):
    clock = RadioField(_l("The SLA clock runs"), choices=[
        ("always", _l("Around the clock (24/7)")),
        ("business", _l("Only in working hours on working days")),
    ], default="always")
    day_start = ClockField(_l("Working day starts"))
    day_end = ClockField(_l("Working day ends"))
    observe_holidays = BooleanField(_l("Skip Chinese public holidays (and count 调休 make-up weekends as working "
                                       "days)"))
    warn_minutes = IntegerField(_l("Warn the assignee this many minutes before a deadline"),
                                validators=[InputRequired(_l("Enter a number of minutes."))])

    # The service checks these too; here they let every mistake show at once.
    def validate_day_end(self, field):
        if isinstance(self.day_start.data, time) and isinstance(field.data, time) \
                and not self.day_start.data < field.data:
            raise ValidationError(_l("The working day must end after it starts."))

    def validate_warn_minutes(self, field):
        if field.data is not None and not ss.WARN_MIN <= field.data <= ss.WARN_MAX:
            raise ValidationError(_l("Warn between %(low)d and %(high)d minutes before a deadline.",
                                     low=ss.WARN_MIN, high=ss.WARN_MAX))


class Duration:
    """Reads "30m / 4h / 3d" into ``field.minutes`` (None when blank)."""

    def __call__(self, form, field):
        try:
            field.minutes = ss.parse_duration(field.data)
        except ss.SettingsError as exc:
            field.minutes = None
            raise ValidationError(str(exc.message)) from None


class CategoryForm(FlaskForm):
    name = StringField(_l("Category name"), validators=[
        CleanText(), InputRequired(_l("Enter a name for the category.")),
        Length(max=ss.NAME_MAX, message=_l("Keep the name under %(n)d characters.", n=ss.NAME_MAX))])
    # The services check these against the company's people: the message is theirs, not WTForms' generic one.
    # Choices are set per request in _category_form: a label read here, at import, would stay English.
    dispatch_mode = RadioField(_l("How jobs are handed out"), validate_choice=False, choices=[],
                               default=DispatchMode.ASSIGN.value)
    default_assignee_id = SelectField(_l("Default assignee"), validate_choice=False,
                                      description=_l("Assign mode only. Leave empty to give each job to the "
                                                     "qualified person with the fewest open jobs."))
    technician_ids = SelectMultipleField(_l("Qualified people"), validate_choice=False)

    def sla_fields(self):
        """[(priority, response field, resolution field)] in priority order, for the grid."""
        return [(p, self[ss.sla_field(p, "response")], self[ss.sla_field(p, "resolution")]) for p in Priority]

    def sla_values(self) -> dict:
        return {p: (response.minutes, resolution.minutes) for p, response, resolution in self.sla_fields()}


for _priority in Priority:
    for _kind, _label in (("response", _l("Accept within")), ("resolution", _l("Finish within"))):
        setattr(CategoryForm, ss.sla_field(_priority, _kind),
                StringField(_label, validators=[Length(max=30), Duration()]))


def _category_form(category=None) -> CategoryForm:
    if request.method == "POST":
        form = CategoryForm()
    elif category is None:
        form = CategoryForm()
    else:
        form = CategoryForm(data={"name": category.name, "dispatch_mode": category.dispatch_mode.value,
                                  "default_assignee_id": str(category.default_assignee_id or ""),
                                  "technician_ids": [str(i) for i in ss.qualified_ids(category.id)]})
        own = ss.sla_table().get(category.id, {})
        for priority, (response, resolution) in own.items():
            form[ss.sla_field(priority, "response")].data = ss.format_duration(response)
            form[ss.sla_field(priority, "resolution")].data = ss.format_duration(resolution)
    form.dispatch_mode.choices = [(m.value, m.label) for m in DispatchMode]
    form.default_assignee_id.choices = [("", _("Nobody in particular"))] + [
        (str(m.id), f"{m.user.name} · {m.role.label}") for m in queries.staff_members()]
    form.technician_ids.choices = [(str(m.id), f"{m.user.name} · {m.role.label}")
                                   for m in ss.technician_candidates()]
    return form


# --- display helpers ----------------------------------------------------------------------------------------


@bp.app_template_filter("wo_duration")
def wo_duration(minutes: int | None) -> str:
    """30 → "30 min", 1710 → "1 day 4 h 30 min" (in the user's language)."""
    if not minutes:
        return ""
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = []
    if days:
        parts.append(ngettext("%(num)d day", "%(num)d days", days))
    if hours:
        parts.append(_("%(num)d h", num=hours))
    if mins:
        parts.append(_("%(num)d min", num=mins))
    return " ".join(parts)


# --- the settings page ------------------------------------------------------------------------------------


def _calendar_form() -> CalendarForm:
    row = services.settings()
    return CalendarForm(data={"clock": "business" if row.business_hours else "always", "day_start": row.day_start,
                              "day_end": row.day_end, "observe_holidays": row.observe_holidays,
                              "warn_minutes": row.warn_minutes})


def _settings_page(calendar_form=None, *, status=200, block=None, calendar_saved=None, dispatch_form=None):
    if block == "calendar":  # the card alone needs none of the category queries
        return render(f"{TEMPLATES}/index.html", block, status=status, calendar_saved=calendar_saved,
                      calendar_form=calendar_form or _calendar_form())
    sla = ss.sla_table()
    categories = queries.live_categories()
    staff = queries.staff_members()
    return render(f"{TEMPLATES}/index.html", block, status=status, categories=categories,
                  archived=ss.archived_categories(), calendar_form=calendar_form or _calendar_form(),
                  sla={c.id: ss.effective_sla(sla.get(c.id)) for c in categories},
                  counts=ss.technician_counts(), people={m.id: m.user.name for m in staff},
                  priorities=list(Priority), staff=staff, dispatch_form=dispatch_form or FlaskForm(),
                  chosen=_dispatch_chosen(categories, dispatch_form),
                  unreached=ss.unreached_categories(), has_technicians=ss.has_technicians(),
                  offer=ss.technician_offer())


def _dispatch_chosen(categories, form) -> dict:
    """The value each category's "who fixes it" select shows: what was posted (after a refusal), else saved."""
    if form is not None:
        return {c.id: request.form.get(f"who_{c.id}", ss.dispatch_choice(c)) for c in categories}
    return {c.id: ss.dispatch_choice(c) for c in categories}


@bp.get("/work-orders/settings")
@require_role(Role.ADMIN)
def settings():
    return _settings_page()


@bp.post("/work-orders/settings/calendar")
@require_role(Role.ADMIN)
def save_calendar():
    # From the page, htmx swaps just the calendar card: on a phone it sits below the long category list, and a
    # whole new page would leave its message out of sight.
    block = "calendar" if htmx and htmx.target == "wo-calendar" else None
    form = CalendarForm()
    if form.validate_on_submit():
        try:
            ss.save_calendar(business_hours=form.clock.data == "business", day_start=form.day_start.data,
                             day_end=form.day_end.data, observe_holidays=form.observe_holidays.data,
                             warn_minutes=form.warn_minutes.data, actor=current_user)
        except ss.SettingsError as exc:
            show_error(form, exc)
        else:
            message = _("SLA calendar saved. New deadlines follow it; running jobs keep the deadlines they have.")
            if block:
                return _settings_page(block=block, calendar_saved=message)
            flash(message, "success")
            return redirect_to(url_for(".settings"))
    return _settings_page(form, status=422, block=block)


@bp.post("/work-orders/settings/dispatch")
@require_role(Role.ADMIN)
def save_dispatch():
    """Who fixes what: one select per category (a person, the grab pool, or no default), saved together."""
    form = FlaskForm()
    choices = {key.removeprefix("who_"): value for key, value in request.form.items() if key.startswith("who_")}
    return submit(form, lambda: ss.set_dispatch(choices, actor=current_user),
                  success=lambda changed: ngettext("%(num)d category changed.", "%(num)d categories changed.",
                                                   changed) if changed else _("Nothing to change."),
                  next_url=url_for(".settings")) \
        or _settings_page(status=422, dispatch_form=form)


@bp.post("/work-orders/settings/technician-offer")
@require_role(Role.ADMIN)
def apply_technician_offer():
    """The admin accepts the offer to make the first technician the default where a category reaches nobody."""
    back = (url_for("company.onboarding.index") if request.form.get("back") == "onboarding"
            else url_for(".settings"))
    # (the CSRF token is checked for every POST before the view runs)
    return attempt(lambda: ss.apply_technician_offer(request.form.get("membership_id"), actor=current_user),
                   success=_offer_applied, next_url=back)


def _offer_applied(result) -> str:
    membership, changed = result
    if not changed:
        return _("Every category already reaches someone.")
    return ngettext("%(name)s is now the default technician for %(num)d category.",
                    "%(name)s is now the default technician for %(num)d categories.", changed,
                    name=membership.user.name)


# --- one category ------------------------------------------------------------------------------------------


def _category_page(form, category=None, *, status=200):
    return render(f"{TEMPLATES}/category.html", status=status, form=form, category=category,
                  mode_help=MODE_HELP, defaults=DEFAULT_SLA_MINUTES, clock=services.settings(),
                  open_jobs=ss.open_job_count(category.id) if category is not None else 0,
                  format_duration=ss.format_duration)


def _save(form, category=None):
    """Create or update from a valid form (the service refuses with a message at its field)."""
    values = {"name": form.name.data, "dispatch_mode": form.dispatch_mode.data,
              "default_assignee_id": form.default_assignee_id.data or None,
              "technician_ids": form.technician_ids.data or [], "sla": form.sla_values(), "actor": current_user}
    if category is None:
        return ss.create_category(**values)
    return ss.update_category(category, **values)


@bp.route("/work-orders/categories/new", methods=["GET", "POST"])
@require_role(Role.ADMIN)
def category_new():
    form = _category_form()
    return submit(form, lambda: _save(form), next_url=url_for(".settings"),
                  success=lambda category: _("Category %(name)s added.", name=category.name)) \
        or _category_page(form, status=422 if request.method == "POST" else 200)


@bp.route("/work-orders/categories/<category_id>", methods=["GET", "POST"])
@require_role(Role.ADMIN)
def category_edit(category_id):
    category = permissions.category_or_404(category_id)
    form = _category_form(category)
    return submit(form, lambda: _save(form, category), next_url=url_for(".settings"),
                  success=lambda category: _("Category %(name)s saved.", name=category.name)) \
        or _category_page(form, category, status=422 if request.method == "POST" else 200)


@bp.post("/work-orders/categories/<category_id>/archive")
@require_role(Role.ADMIN)
def category_archive(category_id):
    category = permissions.category_or_404(category_id)
    return attempt(lambda: ss.archive_category(category, actor=current_user),
                   success=lambda still_open: ngettext(
                       "Category %(name)s archived. Its %(num)d open job keeps running.",
                       "Category %(name)s archived. Its %(num)d open jobs keep running.", still_open,
                       name=category.name) if still_open else _("Category %(name)s archived.", name=category.name),
                   next_url=url_for(".settings"), failure_url=url_for(".category_edit", category_id=category.id))


@bp.post("/work-orders/categories/<category_id>/restore")
@require_role(Role.ADMIN)
def category_restore(category_id):
    category = permissions.category_or_404(category_id)
    return attempt(lambda: ss.restore_category(category, actor=current_user),
                   success=_("Category %(name)s is back on the report forms.", name=category.name),
                   next_url=url_for(".settings"))


@bp.post("/work-orders/categories/<category_id>/move")
@require_role(Role.ADMIN)
def category_move(category_id):
    category = permissions.category_or_404(category_id)
    try:
        ss.move_category(category, request.form.get("direction", ""), actor=current_user)
    except ss.SettingsError as exc:
        if htmx:
            return _settings_page(block="categories", status=422)
        flash(str(exc.message), "danger")
    if htmx and htmx.target == "wo-categories":
        return _settings_page(block="categories")
    return redirect_to(url_for(".settings"))
