"""The disclosure editor, /c/<slug>/disclosures/ (admins), and the owner's objection form. Views are thin: load
(scoped), call a service, render."""

from __future__ import annotations

from flask import abort, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from saas.clock import local_today
from saas.errors import ServiceError
from saas.extensions import db, htmx
from saas.forms import attempt, show_error, submit
from saas.htmx import redirect_to, render, render_partial
from saas.models import Role
from saas.tenancy import get_or_404
from tenants.access import require_role
from tenants.disclosures import attachments, bp, queries, services
from tenants.disclosures import board as board_module
from tenants.disclosures.forms import (
    AttachForm,
    BoardForm,
    CorrectionForm,
    DraftForm,
    LineForm,
    ObjectionForm,
    ProfileForm,
    ReplyForm,
)
from tenants.disclosures.models import (
    Attachment,
    Kind,
    Objection,
    ObjectionStatus,
    Publication,
    PublicationLine,
    Status,
)
from tenants.roster.models import Community


@bp.get("/")
@require_role(Role.ADMIN)
def index():
    communities = queries.communities()
    profiles = queries.profiles_by_community()
    today = local_today()
    published = queries.first_published_by_period(list(profiles))
    rows = []
    for community in communities:
        profile = profiles.get(community.id)
        states = queries.calendar(profile, today, published) if profile else []
        rows.append({"community": community, "profile": profile,
                     "overdue": sum(s.state == "overdue" for s in states),
                     "soon": sum(s.state == "soon" for s in states)})
    open_objections = db.session.execute(select(Objection).where(Objection.status == ObjectionStatus.OPEN)
                                         .order_by(Objection.reply_due_on)).scalars().all()
    return render("tenants/disclosures/index.html", rows=rows, open_objections=open_objections, today=today)


def _community_page(community: Community, *, status: int = 200, **forms):
    profile = queries.profile_of(community.id)
    if profile is None:
        profile = services.profile_of(community)
        # Made with its defaults on the first visit. Only then: a commit expires every loaded object (the
        # company, the membership, the user), which the page would read again, five statements more.
        db.session.commit()
    from saas.models import Company

    company = db.session.get(Company, community.company_id)  # the resolver's: no statement
    today = local_today()
    preview = board_module.generate(community, profile, company, today)
    pubs = queries.community_publications(community.id)  # one statement for the five lists below
    pf = forms.get("profile_form")  # drawn only when asked for, or sent back with errors (see community())
    return render("tenants/disclosures/community.html", community=community, profile=profile, preview=preview,
                  board=pubs.board, current=pubs.current, drafts=pubs.drafts,
                  calendar=queries.calendar(profile, today, pubs.published),
                  profile_form=pf, board_form=forms.get("board_form") or BoardForm(),
                  draft_form=forms.get("draft_form"), status=status,
                  rule_applies=pubs.board_published, Kind=Kind)


@bp.get("/communities/<community_id>")
@require_role(Role.ADMIN)
def community(community_id):
    community = get_or_404(Community, community_id)
    for name in ("profile_form", "draft_form"):
        if request.args.get(name) == "1":  # its panel opened: the form alone (htmx), or the page with it drawn
            if name == "profile_form":  # with what the profile says now
                profile = queries.profile_of(community.id)
                form = ProfileForm(obj=profile) if profile else ProfileForm()
            else:
                form = DraftForm()
            if htmx:
                return render_partial(f"tenants/disclosures/_{name}.html", community=community, **{name: form})
            return _community_page(community, **{name: form})
    return _community_page(community)


@bp.post("/communities/<community_id>/profile")
@require_role(Role.ADMIN)
def update_profile(community_id):
    community = get_or_404(Community, community_id)
    form = ProfileForm()
    return submit(form, lambda: services.update_profile(
        community, charged_party=form.charged_party.data, service_grade=form.service_grade.data,
        price_form=form.price_form.data, basis_document=form.basis_document.data,
        billing_start=form.billing_start.data, complaint_phone=form.complaint_phone.data,
        calendar_from=form.calendar_from.data, actor=current_user),
        success=_("Saved."), next_url=url_for(".community", community_id=community.id)) \
        or _community_page(community, profile_form=form, status=422)


@bp.post("/communities/<community_id>/board")
@require_role(Role.ADMIN)
def publish_board(community_id):
    community = get_or_404(Community, community_id)
    form = BoardForm()
    return submit(form, lambda: services.publish_board(community, reason=form.correction_reason.data,
                                                       actor=current_user),
                  success=_("The price board is published."),
                  next_url=url_for(".community", community_id=community.id)) \
        or _community_page(community, board_form=form, status=422)


@bp.post("/communities/<community_id>/publications")
@require_role(Role.ADMIN)
def create_draft(community_id):
    community = get_or_404(Community, community_id)
    form = DraftForm()
    return submit(form, lambda: services.create_draft(
        community, kind=form.kind.data, title=form.title.data, period_start=form.period_start.data,
        period_end=form.period_end.data, note=form.note.data, actor=current_user),
        success=_("Draft made: add its lines, then publish it."),
        next_url=lambda pub: url_for(".publication", publication_id=pub.id)) \
        or _community_page(community, draft_form=form, status=422)


def _line_form(pub: Publication, form: LineForm | None = None) -> LineForm:
    form = form or LineForm()
    if pub.kind == Kind.RATE_CHANGE:
        from tenants.fees.items import items_of

        form.fee_item_id.choices = [("", _("Choose…"))] + [(str(i.id), i.name) for i in items_of(pub.community_id)]
    return form


def _publication_page(pub: Publication, *, status: int = 200, **forms):
    lines = queries.lines_by_publication([pub.id])[pub.id]
    return render("tenants/disclosures/publication.html", pub=pub, lines=lines,
                  versions=queries.versions(pub.series_id), objections=queries.objections_by_line([pub.id]),
                  line_form=_line_form(pub, forms.get("line_form")),
                  attachments=attachments.attachments_of(pub.id),
                  attach_form=forms.get("attach_form") or AttachForm(),
                  correction_form=forms.get("correction_form") or CorrectionForm(),
                  reply_form=ReplyForm(), Kind=Kind, Status=Status, status=status)


@bp.get("/publications/<publication_id>")
@require_role(Role.ADMIN)
def publication(publication_id):
    return _publication_page(get_or_404(Publication, publication_id))


@bp.post("/publications/<publication_id>/lines")
@require_role(Role.ADMIN)
def add_line(publication_id):
    pub = get_or_404(Publication, publication_id)
    form = _line_form(pub)
    return submit(form, lambda: services.add_line(
        pub, label=form.label.data, direction=form.direction.data, amount=form.amount.data, cost=form.cost.data,
        owners_share=form.owners_share.data, detail=form.detail.data, fee_item_id=form.fee_item_id.data,
        price=form.price.data, effective_from=form.effective_from.data, actor=current_user),
        success=_("Line added."), next_url=url_for(".publication", publication_id=pub.id)) \
        or _publication_page(pub, line_form=form, status=422)


@bp.post("/publications/<publication_id>/lines/<line_id>/remove")
@require_role(Role.ADMIN)
def remove_line(publication_id, line_id):
    pub = get_or_404(Publication, publication_id)
    line = get_or_404(PublicationLine, line_id)
    return attempt(lambda: services.remove_line(pub, line, actor=current_user), success=_("Line removed."),
                   next_url=url_for(".publication", publication_id=pub.id))


@bp.post("/publications/<publication_id>/attachments")
@require_role(Role.ADMIN)
def attach(publication_id):
    pub = get_or_404(Publication, publication_id)
    form = AttachForm()
    return submit(form, lambda: attachments.add(pub, form.files.data, actor=current_user),
                  success=_("Attached."), next_url=url_for(".publication", publication_id=pub.id)) \
        or _publication_page(pub, attach_form=form, status=422)


@bp.post("/publications/<publication_id>/attachments/<attachment_id>/remove")
@require_role(Role.ADMIN)
def remove_attachment(publication_id, attachment_id):
    pub = get_or_404(Publication, publication_id)
    att = get_or_404(Attachment, attachment_id)
    return attempt(lambda: attachments.remove(pub, att, actor=current_user), success=_("File removed."),
                   next_url=url_for(".publication", publication_id=pub.id))


@bp.get("/attachments/<attachment_id>")
@require_role(Role.ADMIN)
def attachment_file(attachment_id):
    """The admin's copy (drafts included): private, never cached by anyone else."""
    att = get_or_404(Attachment, attachment_id)
    response = serve(att)
    response.headers["Cache-Control"] = "private, no-store"
    return response


def serve(att: Attachment):
    """A PDF only ever as a download; an image (our own re-encoded JPEG) may show inline. Never sniffed."""
    path = attachments.file_of(att)
    if path is None:
        abort(404)
    response = send_file(path, mimetype=att.content_type, as_attachment=att.is_pdf, download_name=att.filename,
                         max_age=0)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.post("/publications/<publication_id>/publish")
@require_role(Role.ADMIN)
def publish(publication_id):
    pub = get_or_404(Publication, publication_id)
    return attempt(lambda: services.publish(pub, actor=current_user), success=_("Published."),
                   next_url=url_for(".publication", publication_id=pub.id))


@bp.post("/publications/<publication_id>/correction")
@require_role(Role.ADMIN)
def correct(publication_id):
    pub = get_or_404(Publication, publication_id)
    form = CorrectionForm()
    return submit(form, lambda: services.correct(pub, reason=form.correction_reason.data, actor=current_user),
                  success=_("Correction drafted: change its lines, then publish it."),
                  next_url=lambda new: url_for(".publication", publication_id=new.id)) \
        or _publication_page(pub, correction_form=form, status=422)


@bp.post("/objections/<objection_id>/reply")
@require_role(Role.ADMIN)
def reply(objection_id):
    objection = get_or_404(Objection, objection_id)
    form = ReplyForm()
    next_url = url_for(".publication", publication_id=objection.publication_id)
    if not form.validate_on_submit():
        return redirect_to(next_url)
    return attempt(lambda: services.reply(objection, text=form.reply.data, actor=current_user),
                   success=_("Reply published."), next_url=next_url)


@bp.post("/objections/<objection_id>/close")
@require_role(Role.ADMIN)
def close_objection(objection_id):
    objection = get_or_404(Objection, objection_id)
    return attempt(lambda: services.close(objection, actor=current_user), success=_("Objection closed."),
                   next_url=url_for(".publication", publication_id=objection.publication_id))


@bp.get("/objections/<objection_id>/photo")
@require_role(Role.ADMIN)
def objection_photo(objection_id):
    objection = get_or_404(Objection, objection_id)
    if not objection.photo_path:
        abort(404)
    from tenants.work_orders import photos

    path = photos.absolute_path(objection.photo_path)
    if not path.is_file():
        abort(404)
    return send_file(path, mimetype="image/jpeg", max_age=0)


# --- the owner's objection -----------------------------------------------------------------------------------


def _owner_homes(community_id):
    from tenants.work_orders.permissions import my_homes

    return [h for h in my_homes() if h.building.community_id == community_id]


def _objection_target(line_id):
    line = get_or_404(PublicationLine, line_id)
    pub = db.session.get(Publication, (line.company_id, line.publication_id))
    if pub is None or pub.status != Status.PUBLISHED:
        abort(404)
    return line, pub


def _objection_page(line, pub, homes, form=None, status: int = 200):
    form = form or ObjectionForm()
    form.household_id.choices = [("", _("Choose…"))] + [(str(h.id), h.label) for h in homes]
    return render("tenants/disclosures/objection.html", line=line, pub=pub, form=form, homes=homes, status=status)


@bp.get("/lines/<line_id>/objection")
@require_role(Role.OWNER)
def objection_form(line_id):
    line, pub = _objection_target(line_id)
    return _objection_page(line, pub, _owner_homes(pub.community_id))


@bp.post("/lines/<line_id>/objection")
@require_role(Role.OWNER)
def raise_objection(line_id):
    line, pub = _objection_target(line_id)
    homes = _owner_homes(pub.community_id)
    form = ObjectionForm()
    form.household_id.choices = [("", _("Choose…"))] + [(str(h.id), h.label) for h in homes]
    if not form.validate_on_submit():
        return _objection_page(line, pub, homes, form, 422)
    home = next((h for h in homes if str(h.id) == (form.household_id.data or "")), None)
    try:
        if home is None:
            raise services.DisclosureError(_("Only owners of this community can raise an objection here."),
                                           "household_id")
        from tenants.work_orders import photos

        prepared = photos.prepare_all([form.photo.data] if form.photo.data else [])
        services.raise_objection(line, household=home, question=form.question.data,
                                 photo=prepared[0] if prepared else None, actor=current_user)
    except ServiceError as exc:
        db.session.rollback()
        show_error(form, exc)
        return _objection_page(line, pub, homes, form, 422)
    from flask import flash

    flash(_("Your objection is sent. The company replies publicly by the date shown."), "success")
    from tenants.disclosures.public import community_url

    return redirect_to(community_url(pub.community_id))




@bp.app_template_global("display_board")
def display_board(snapshot):
    return board_module.display(snapshot)
