"""Bill run pages (出账): start a preview, watch its progress, issue it; the run history. Admins only."""

from __future__ import annotations

from flask import flash, url_for
from flask_babel import gettext as _
from flask_login import current_user
from jinja2_fragments.flask import render_block

from saas.clock import local_today
from saas.extensions import db
from saas.forms import attempt, submit
from saas.htmx import redirect_to, render
from saas.models import User
from saas.tenancy import get_or_404
from tenants.access import Role, require_role
from tenants.fees import billing, bp, runs
from tenants.fees.item_forms import ConfirmForm, RunForm
from tenants.fees.item_views import _communities
from tenants.fees.models import BillRun, BillRunStatus, PeriodKind
from tenants.inbox.routes import links_subject
from tenants.roster.models import Community


def _period_options() -> dict:
    today = local_today()
    return {kind.value: [(p.start.isoformat(), p.label) for p in billing.period_choices(kind, today)]
            for kind in PeriodKind}


def _index_page(form=None, *, status=200):
    communities = _communities()
    form = form or RunForm(period_start=billing.period_containing(PeriodKind.MONTH, local_today()).start)
    form.community_id.choices = [("", _("Choose…"))] + [(str(c.id), c.name) for c in communities]
    if len(communities) == 1 and not form.community_id.data:
        form.community_id.data = str(communities[0].id)
    names = {c.id: c.name for c in communities}
    return render("tenants/fees/runs/index.html", status=status, form=form, runs=runs.runs_list(),
                  communities=communities, names=names, periods=_period_options(), Status=BillRunStatus,
                  period_label=lambda r: billing.Period(r.period_kind, r.period_start, r.period_end).label)


@bp.get("/fees/runs")
@require_role(Role.ADMIN)
def runs_index():
    return _index_page()


@bp.post("/fees/runs")
@require_role(Role.ADMIN)
def start_run():
    form = RunForm()
    form.community_id.choices = [(str(c.id), c.name) for c in _communities()]

    def action():
        community = next((c for c in _communities() if str(c.id) == (form.community_id.data or "")), None)
        if community is None:
            raise runs.BillRunError(_("Choose a community."), "community_id")
        return runs.start_preview(community, period_kind=form.period_kind.data,
                                  period_start=form.period_start.data, actor=current_user)

    return submit(form, action, next_url=lambda run: url_for(".run", run_id=run.id)) \
        or _index_page(form, status=422)


def _context(run: BillRun) -> dict:
    return {"run": run, "community": db.session.get(Community, (run.company_id, run.community_id)),
            "period": billing.Period(run.period_kind, run.period_start, run.period_end),
            "creator": db.session.get(User, run.created_by_id) if run.created_by_id else None,
            "running": run.status in runs.RUNNING, "Status": BillRunStatus, "confirm_form": ConfirmForm(),
            "reason_label": billing.skip_reason_label}


@bp.get("/fees/runs/<run_id>")
@require_role(Role.ADMIN)
def run(run_id):
    return render("tenants/fees/runs/show.html", **_context(get_or_404(BillRun, run_id)))


@bp.get("/fees/runs/<run_id>/status")
@require_role(Role.ADMIN)
def run_status(run_id):
    """The progress while a job runs; once done, the preview or the result replaces it."""
    return render_block("tenants/fees/runs/show.html", "result", **_context(get_or_404(BillRun, run_id)))


@bp.post("/fees/runs/<run_id>/issue")
@require_role(Role.ADMIN)
def issue_run(run_id):
    run = get_or_404(BillRun, run_id)
    back = url_for(".run", run_id=run.id)
    if not ConfirmForm().validate_on_submit():
        flash(_("Your form expired. Reload the page and try again."), "danger")
        return redirect_to(back)
    return attempt(lambda: runs.start_issue(run, actor=current_user), next_url=back)


@links_subject(runs.NOTICE)
def _run_link(run_id, role):
    if role == Role.ADMIN and run_id is not None:
        return url_for("company.fees.run", run_id=run_id)
    if role == Role.OWNER:
        from flask import current_app

        if "company.fees.my_bills" in current_app.view_functions:
            return url_for("company.fees.my_bills")
    return None


