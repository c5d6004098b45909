"""The work-order badges (status, priority, SLA time left), as HTML built in Python with their words translated
once per page rather than once per row.

A list or the board shows up to 70 jobs, each with a status, a priority and a time-left badge; worded in the
template, each badge asked for its translations again (a gettext through Jinja and Flask-Babel is about 20 µs, and
the time-left badge has up to six of them): a third of the board's time. ``page_badges()`` builds one ``Badges``
per request (and locale) and the macros in templates/tenants/work_orders/_macros.html call it. The output is the
same markup the macros used to write; tests/test_speed.py compares the two.
"""

from __future__ import annotations

import functools
from datetime import datetime, timedelta

from flask import g, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from markupsafe import Markup, escape

from saas.clock import aware
from saas.templating import ROW_ID, localtime
from tenants.work_orders.models import Priority
from tenants.work_orders.sla import format_time_left, urgency_of
from tenants.work_orders.states import Status

_ZERO = timedelta(0)


@functools.lru_cache(maxsize=8)
def _words(locale: str) -> dict:
    """Every word and fixed badge of one language, made once per process: translations do not change while it
    runs, and making them on each request was a quarter of a millisecond on every work-order page."""
    return {
        "_status": {s: Markup('<span class="badge wo-status wo-status-{}">{}</span>').format(s.value, s.label)
                    for s in Status},
        "_priority": {
            Priority.URGENT: Markup('<span class="badge text-bg-danger">{}</span>').format(Priority.URGENT.label),
            Priority.LOW: Markup('<span class="badge text-bg-light">{}</span>').format(Priority.LOW.label),
        },
        "_paused": Markup('<span class="badge text-bg-secondary" title="{}">{}</span>').format(
            _("Clock paused while waiting for the owner"), _("Paused")),
        # The raw translations, filled in with % (values escaped): what Jinja's i18n extension did with them. Plain
        # strings here, made Markup once per badge (Markup's own % and format cost several times more per row).
        "_due": {"response": _("Response due %(t)s"), "resolution": _("Resolution due %(t)s")},
        "_days": _("%(n)dd"), "_hours": _("%(n)dh"), "_minutes": _("%(n)dm"),
        "_overdue": str(escape(_("Overdue"))),
        "_to": {"response": str(escape(_("to accept"))), "resolution": str(escape(_("to finish")))},
        "in_pool": escape(_("In the grab pool")),
        "nobody": escape(_("Nobody assigned")),
        "_week": (_("Week of %(day)s: %(n)s opened"), _("Week of %(day)s: %(n)s done")),
    }


class Badges:
    """The badges of one page in the request's locale (its words made once per process, see _words)."""

    def __init__(self) -> None:
        self.__dict__.update(_words(str(get_locale())))
        self._show = None  # the job's link: the company's, made on first use

    def week_title(self, week, *, done: bool) -> str:
        """The weekly chart's tooltip of one bar ("Week of 12/1: 40 opened"), its words translated once a page."""
        return self._week[done] % {"day": f"{week.start.month}/{week.start.day}",
                                   "n": week.closed if done else week.opened}

    def show_url(self, order_id) -> str:
        """A job's link: made once per page and filled in per row (saas.templating.ROW_ID)."""
        if self._show is None:
            self._show = url_for("company.work_orders.show", order_id=ROW_ID)
        return self._show.replace(ROW_ID, str(order_id))

    def status(self, status: Status) -> Markup:
        return self._status[status]

    def priority(self, priority: Priority) -> Markup:
        return self._priority.get(priority, Markup(""))

    def time_left(self, order, now: datetime) -> Markup:
        """The deadline the job runs against: how long is left (or how long overdue), coloured by urgency."""
        deadline = order.active_deadline()
        if not deadline:
            return Markup("")
        which, due = deadline
        if order.paused_at:
            return self._paused
        # Stored times come back aware (saas.clock.AwareDateTime), so they subtract as they are: sla.time_left's
        # checks and conversions, twice a job (the time left and its colour), were a tenth of the board's time.
        delta = due - now
        left = format_time_left(delta)
        level = urgency_of(delta, max(due - aware(order.created_at), _ZERO))  # created_at: naive on SQLite
        text = ""
        if left.overdue:
            text += self._overdue + " "
        if left.days:
            text += self._days % {"n": left.days} + " "
        if left.days or left.hours:
            text += self._hours % {"n": left.hours} + " "
        if not left.days:
            text += self._minutes % {"n": left.minutes}
        if not left.overdue:
            text += " " + self._to[which]
        title = self._due[which] % {"t": escape(localtime(due))}
        return Markup(f'<span class="badge wo-sla wo-sla-{level}" title="{title}">{text}</span>')

    def duration(self, seconds: float | None) -> Markup:
        """A median time on the dashboard: "1d 17h", "3h 5m" or "12m", each unit unbroken; "—" for none."""
        if seconds is None:
            return Markup("—")
        minutes = round(seconds / 60)
        days, hours, mins = minutes // 1440, minutes % 1440 // 60, minutes % 60
        unit = '<span class="text-nowrap">{}</span>'.format
        if days:
            return Markup(unit(self._days % {"n": days}) + " " + unit(self._hours % {"n": hours}))
        if hours:
            return Markup(unit(self._hours % {"n": hours}) + " " + unit(self._minutes % {"n": mins}))
        return Markup(unit(self._minutes % {"n": mins}))


def page_badges() -> Badges:
    """This request's badges (built on first use, again if the locale changes)."""
    # The locale object, compared by identity: the request keeps one (a forced locale is another object), and
    # turning it into its name on each of a list's 60 calls cost more than the badges it drew.
    locale = get_locale()
    cached = g.get("wo_badges")
    if cached is None or cached[0] is not locale:
        cached = g.wo_badges = (locale, Badges())
    return cached[1]
