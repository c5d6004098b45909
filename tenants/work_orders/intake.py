"""QR intake (扫码报修): the no-login report form behind a QR poster, /r/<token>, and the receipt after a report.
Its URLs are not under a company's /c/<slug>/, so it has its own blueprint (``intake``), registered by the app
factory; the poster pages for admins are point_views.py.

The poster's token is the only way in; it names no company, so the company is found through the global token
index (tenants.work_orders.points.resolve_token), and everything after happens inside that company. The pages
show the place and the company's name, and the receipt only the job just reported: nothing of other jobs,
homes, owners or staff. The abuse limits are in intake_guard.py.
"""

from __future__ import annotations

import logging

from flask import Blueprint, request, url_for
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import HiddenField, MultipleFileField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from saas.errors import ServiceError
from saas.extensions import db
from saas.forms import show_error
from saas.htmx import redirect_to, render
from saas.i18n import _l
from saas.models import Company
from saas.tenancy import company_context
from saas.validators import CleanText, MainlandMobile
from tenants.work_orders import intake_guard as guard
from tenants.work_orders import permissions, photos, services
from tenants.work_orders import points as point_services
from tenants.work_orders.models import Area, RepairPoint, Source, WorkOrderPhoto

bp = Blueprint("intake", __name__)
log = logging.getLogger(__name__)

TEMPLATES = "tenants/work_orders/intake"

MAX_PHOTOS = 3
# Three full-size phone photos and the text: above the app-wide request limit, which fits one photo.
MAX_REQUEST_BYTES = MAX_PHOTOS * photos.MAX_BYTES + 1024 * 1024
# The service's field names → this form's.
_FIELDS = {"reporter_phone": "phone", "reporter_name": "name"}


class IntakeForm(FlaskForm):
    phone = StringField(_l("Mobile number"), validators=[MainlandMobile()],
                        render_kw={"type": "tel", "inputmode": "tel", "maxlength": 20},
                        description=_l("We text you the job number, and call you if we need to know more."))
    name = StringField(_l("Your name (optional)"), validators=[CleanText(), Optional(), Length(max=50)])
    description = TextAreaField(_l("What is wrong?"), validators=[
        DataRequired(_l("Describe the problem in a few words.")),
        Length(max=services.DESCRIPTION_MAX, message=_l("Keep the description under %(n)d characters.",
                                                        n=services.DESCRIPTION_MAX))],
        render_kw={"rows": 4, "maxlength": services.DESCRIPTION_MAX})
    photos = MultipleFileField(_l("Photos (optional, up to 3)"))
    # The honeypot: hidden from people by CSS (not type=hidden, which bots skip), left empty by them.
    website = StringField(_l("Leave this empty"))
    ticket = HiddenField()


@bp.url_value_preprocessor
def _allow_photos(endpoint, values) -> None:
    # Runs before any before_request (the CSRF check reads the body first), so the larger limit applies to it.
    if request.method == "POST":
        request.max_content_length = MAX_REQUEST_BYTES


@bp.errorhandler(413)
def _too_large(exc):
    return render(f"{TEMPLATES}/message.html", status=413, title=_("The photos are too large"),
                  message=_("Together the photos may be at most %(mb)d MB. Go back and choose fewer or smaller "
                            "photos.", mb=MAX_REQUEST_BYTES // (1024 * 1024)), back=True)


def _not_found():
    return render(f"{TEMPLATES}/message.html", status=404, title=_("This code is not valid"),
                  message=_("This QR code is not valid or no longer in use. Please call your property office "
                            "to report the problem."), back=False)


def _find(token: str):
    """(company, point, location words) of a live poster, or None."""
    found = point_services.resolve_token(token)
    if found is None:
        return None
    company_id, point_id = found
    company = db.session.get(Company, company_id)
    with company_context(company_id):
        point = db.session.get(RepairPoint, (company_id, point_id))
        return company, point, point_services.location_label(point)


@bp.route("/r/<token>", methods=["GET", "POST"])
def form(token):
    found = _find(token)
    if found is None:
        return _not_found()
    company, point, location = found
    if company.is_read_only():
        phone = f" {_('Phone: %(phone)s', phone=company.complaint_phone)}" if company.complaint_phone else ""
        return render(f"{TEMPLATES}/message.html", status=403, company=company, title=location, back=False,
                      message=_("%(company)s is not taking reports online at the moment. Please call the property "
                                "office.", company=company.name) + phone)
    form = IntakeForm()
    page = Page(form, company, point, location, token)
    if request.method == "GET":
        form.ticket.data = guard.issue_ticket(token)
        return page.render()
    with company_context(company.id):
        return _submit(page)


class Page:
    """The form page of one poster, rendered with a status and, when refused, a message above the form."""

    def __init__(self, form, company, point, location, token):
        self.form, self.company, self.point, self.location, self.token = form, company, point, location, token

    def render(self, status: int = 200, message: str | None = None, fresh_ticket: bool = False):
        if message:
            self.form.form_errors.append(message)
        if fresh_ticket:
            self.form.ticket.data = guard.issue_ticket(self.token)
        sent_photos = bool(photos.uploads(request.files.getlist("photos"))) if request.method == "POST" else False
        return render(f"{TEMPLATES}/form.html", status=status, form=self.form, company=self.company,
                      location=self.location, token=self.token, sent_photos=sent_photos and status != 200,
                      max_photos=MAX_PHOTOS)


_TICKET_MESSAGES = {
    guard.TicketProblem.TOO_FRESH: (429, _l("That was quick! Check what you wrote, then send it again."), False),
    guard.TicketProblem.USED: (422, _l("This form was already sent. To report something else, check the form "
                                       "and send it again."), True),
    guard.TicketProblem.INVALID: (422, _l("This form has expired. Check what you wrote and send it again."), True),
}


def _submit(page: Page):
    """Each refusal says why, creates nothing and counts only what the module docstring says it counts."""
    form, company, point, token = page.form, page.company, page.point, page.token
    if not guard.count_attempt("ip", f"{company.id}:{request.remote_addr or '-'}"):
        return page.render(429, _("Too many reports from this network today. Please call the property office."))
    try:
        nonce = guard.read_ticket(form.ticket.data, token)
    except guard.TicketRefused as exc:
        status, message, fresh = _TICKET_MESSAGES[exc.problem]
        return page.render(status, str(message), fresh_ticket=fresh)
    if not guard.count_attempt("point", str(point.id)):
        return page.render(429, _("This code has received a great many reports in the last hour, so it is paused "
                                  "for a while. Please call the property office."))
    if form.website.data:
        # A bot filled the field people never see: tell it "received", make nothing.
        guard.use_ticket(nonce)
        log.info("intake honeypot filled on point %s from %s", point.id, request.remote_addr)
        return redirect_to(url_for(".done", token=token, receipt=guard.receipt_for(token, None)))
    if not form.validate_on_submit():
        return page.render(422)
    files = photos.uploads(request.files.getlist("photos"))
    if len(files) > MAX_PHOTOS:
        form.photos.errors = [_("Attach at most %(n)d photos.", n=MAX_PHOTOS)]
        return page.render(422)
    phone, description = form.phone.data, (form.description.data or "").strip()
    refusal = guard.report_refusal(phone, description)
    if refusal == "phone":
        return page.render(429, _("This mobile number has sent the most reports a day allows. Please call the "
                                  "property office, or try again tomorrow."))
    if refusal == "identical":
        return page.render(429, _("You already sent this report today: it is on its way (the SMS has its job "
                                  "number). Please don't send it again."))
    category_id = point_services.intake_category_id(point)
    if category_id is None:
        return page.render(422, _("This form cannot take reports at the moment. Please call the property office."))
    if not guard.use_ticket(nonce):
        status, message, fresh = _TICKET_MESSAGES[guard.TicketProblem.USED]
        return page.render(status, str(message), fresh_ticket=fresh)
    try:
        order = services.create_order(
            services.Report(source=Source.QR, area=Area.COMMON, category_id=category_id, description=description,
                            repair_point=point, reporter_name=form.name.data or "", reporter_phone=phone),
            actor=None, membership=None, files=files)
    except ServiceError as exc:
        db.session.rollback()
        guard.release_ticket(nonce)  # nothing was made: the same form may be corrected and sent again
        exc.field = _FIELDS.get(exc.field, exc.field)
        show_error(form, exc)
        return page.render(422)
    except Exception:
        guard.release_ticket(nonce)  # e.g. the database was busy: nothing was made, the same form may be resent
        raise
    guard.count_report(phone, description)
    return redirect_to(url_for(".done", token=token, receipt=guard.receipt_for(token, order.id)))


@bp.get("/r/<token>/done/<receipt>")
def done(token, receipt):
    """The receipt: the job just reported, and nothing else. A honeypot catch gets the same page without a job."""
    found = _find(token)
    order_id = guard.read_receipt(receipt, token) if found else None
    if order_id is None:
        return _not_found()
    company, point, location = found
    order, photo_count = None, 0
    if order_id:
        with company_context(company.id):
            order = permissions.reported_at(order_id, point)
            if order is None:
                return _not_found()
            photo_count = db.session.execute(
                select(func.count()).select_from(WorkOrderPhoto).where(WorkOrderPhoto.work_order_id == order.id)
            ).scalar_one()
            return render(f"{TEMPLATES}/done.html", company=company, location=location, token=token, order=order,
                          category=order.category.name, photo_count=photo_count)
    return render(f"{TEMPLATES}/done.html", company=company, location=location, token=token, order=None,
                  category="", photo_count=0)
