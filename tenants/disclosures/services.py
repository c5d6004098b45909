"""Every write of the disclosure module. A published publication is never changed: a correction is a new version
(with its reason) that supersedes it when it is itself published; nothing is ever deleted. The guard in
``_refuse_edits_after_publish`` (a before_flush listener) enforces that for any code path, not only these."""

from __future__ import annotations

import re
import uuid
from datetime import date, timedelta

from sqlalchemy import event, func, inspect, select
from sqlalchemy.orm import Session

from saas import audit
from saas.clock import local_today, utcnow
from saas.errors import ServiceError
from saas.extensions import db
from saas.i18n import _l
from saas.models import Company, User
from saas.money import parse_yuan
from saas.tenancy import new_id
from saas.workdays import add_working_days
from tenants.disclosures import board as board_module
from tenants.disclosures.models import (
    MAX_FEN,
    Attachment,
    Direction,
    DisclosureProfile,
    Kind,
    Objection,
    ObjectionStatus,
    PriceForm,
    Publication,
    PublicationLine,
    Status,
)
from tenants.roster.models import Building, Community, Household

NOTICE_DAYS = 30  # a rate change is announced at least this long before it takes effect
REPLY_WORKING_DAYS = 15
MAX_LINES = 200
EARLIEST = date(2000, 1, 1)
LATEST = date(2100, 12, 31)


class DisclosureError(ServiceError):
    """A disclosure change refused, with the reason."""


# --- input checks ------------------------------------------------------------------------------------------------


def parse_fen(raw, field: str, *, required: bool = True) -> int | None:
    """'1,234.50' → 123450. Negative, more than two decimals, '1e30', text → a clear message at ``field``."""
    text = str(raw if raw is not None else "").strip()
    if not text:
        if required:
            raise DisclosureError(_l("Enter an amount in yuan, e.g. 1200.50."), field)
        return None
    if text.lstrip().startswith("-"):
        raise DisclosureError(_l("The amount cannot be negative."), field)
    fen = parse_yuan(text)
    if fen is None:
        raise DisclosureError(_l("Enter an amount in yuan with at most two decimals, e.g. 1200.50."), field)
    if fen > MAX_FEN:
        raise DisclosureError(_l("The amount must be at most ¥1,000,000,000."), field)
    return fen


def _text(raw, max_len: int, field: str, *, required: bool = False) -> str:
    text = " ".join(str(raw or "").split())
    if required and not text:
        raise DisclosureError(_l("This field is required."), field)
    if len(text) > max_len:
        raise DisclosureError(_l("Keep it under %(n)d characters.", n=max_len), field)
    return text


def _day(value, field: str) -> date:
    if not isinstance(value, date):
        raise DisclosureError(_l("Enter a date, e.g. 2026-03-31."), field)
    if not EARLIEST <= value <= LATEST:
        raise DisclosureError(_l("Enter a date between 2000 and 2100."), field)
    return value


def _period(start, end) -> tuple[date, date]:
    start, end = _day(start, "period_start"), _day(end, "period_end")
    if end < start:
        raise DisclosureError(_l("The period must end on or after the day it starts."), "period_end")
    if (end - start).days > 3 * 366:
        raise DisclosureError(_l("A period covers at most three years."), "period_end")
    return start, end


# --- the community's profile -------------------------------------------------------------------------------------


def profile_of(community: Community) -> DisclosureProfile:
    """The community's profile, made with the defaults the first time (12315; statements due from this quarter)."""
    profile = db.session.execute(select(DisclosureProfile).where(
        DisclosureProfile.community_id == community.id)).scalar_one_or_none()
    if profile is None:
        today = local_today()
        profile = DisclosureProfile(community_id=community.id, complaint_phone="12315", charged_party="",
                                    price_form=PriceForm.MARKET,
                                    calendar_from=date(today.year, (today.month - 1) // 3 * 3 + 1, 1))
        db.session.add(profile)
        db.session.flush()
    return profile


def update_profile(community: Community, *, charged_party, service_grade, price_form, basis_document,
                   billing_start, complaint_phone, calendar_from, actor) -> DisclosureProfile:
    profile = profile_of(community)
    try:
        price_form = PriceForm(price_form)
    except ValueError:
        raise DisclosureError(_l("Choose the price form."), "price_form") from None
    phone = _text(complaint_phone, 20, "complaint_phone") or "12315"
    if not all(c.isdigit() or c in "-() " for c in phone):
        raise DisclosureError(_l("Enter a phone number, e.g. 12315."), "complaint_phone")
    new = {"charged_party": _text(charged_party, 100, "charged_party"),
           "service_grade": str(service_grade or "").strip()[:2000],
           "price_form": price_form,
           "basis_document": _text(basis_document, 200, "basis_document"),
           "billing_start": _day(billing_start, "billing_start") if billing_start else None,
           "complaint_phone": phone,
           "calendar_from": _day(calendar_from, "calendar_from") if calendar_from else profile.calendar_from}
    before = {key: getattr(profile, key) for key in new}
    for key, value in new.items():
        setattr(profile, key, value)
    changes = audit.diff(before, new)
    if changes:
        audit.record("disclosure.profile", actor=actor, object_type="community", object_id=community.id,
                     object_label=community.name, changes=changes)
    db.session.commit()
    return profile


# --- publications ------------------------------------------------------------------------------------------------


def _open_draft(series_id) -> Publication | None:
    return db.session.execute(select(Publication).where(
        Publication.series_id == series_id, Publication.status == Status.DRAFT)).scalar_one_or_none()


def create_draft(community: Community, *, kind, title, period_start, period_end, note="", actor) -> Publication:
    try:
        kind = Kind(kind)
    except ValueError:
        raise DisclosureError(_l("Choose what is published."), "kind") from None
    if kind == Kind.BOARD:
        raise DisclosureError(_l("The price board is generated from the fee items: publish it from its page."),
                              "kind")
    start, end = _period(period_start, period_end)
    title = _text(title, 100, "title") or f"{kind.label} {start.isoformat()} – {end.isoformat()}"
    pub_id = new_id()
    pub = Publication(id=pub_id, series_id=pub_id, version=1, community_id=community.id, kind=kind, title=title,
                      period_start=start, period_end=end, note=str(note or "").strip()[:4000],
                      created_by_id=actor.id if actor else None, status=Status.DRAFT)
    db.session.add(pub)
    db.session.flush()
    audit.record("disclosure.draft", actor=actor, object_type="disclosure", object_id=pub.id,
                 object_label=f"{community.name} {title}", changes={"kind": [None, kind.value]})
    db.session.commit()
    return pub


def _require_draft(pub: Publication) -> None:
    if pub.status != Status.DRAFT:
        raise DisclosureError(_l("A published disclosure cannot be changed. Publish a correction instead."))


def update_draft(pub: Publication, *, title, period_start, period_end, note, actor) -> Publication:
    _require_draft(pub)
    start, end = _period(period_start, period_end)
    pub.title = _text(title, 100, "title", required=True)
    pub.period_start, pub.period_end = start, end
    pub.note = str(note or "").strip()[:4000]
    if pub.version > 1 and not pub.correction_reason:
        raise DisclosureError(_l("Say why this correction is made."), "correction_reason")
    db.session.commit()
    return pub


def lines_of(pub_id) -> list[PublicationLine]:
    return list(db.session.execute(select(PublicationLine).where(PublicationLine.publication_id == pub_id,
                                                                 PublicationLine.removed_at.is_(None))
                                   .order_by(PublicationLine.position, PublicationLine.id)).scalars())


def add_line(pub: Publication, *, label, direction="income", amount, cost=None, owners_share=None, detail="",
             fee_item_id=None, price=None, effective_from=None, actor) -> PublicationLine:
    _require_draft(pub)
    label = _text(label, 100, "label", required=True)
    try:
        direction = Direction(direction or "income")
    except ValueError:
        raise DisclosureError(_l("Choose income or spending."), "direction") from None
    item_id = cfen = eff = None
    if pub.kind == Kind.RATE_CHANGE:
        from tenants.fees.items import FeeItemError, parse_price
        from tenants.fees.models import FeeItem

        try:
            item_id = uuid.UUID(str(fee_item_id or ""))
        except ValueError:
            raise DisclosureError(_l("Choose the fee item whose rate changes."), "fee_item_id") from None
        item = db.session.execute(select(FeeItem).where(FeeItem.id == item_id, FeeItem.archived_at.is_(None),
                                                        FeeItem.community_id == pub.community_id)).scalar()
        if item is None:
            raise DisclosureError(_l("Choose the fee item whose rate changes."), "fee_item_id")
        try:
            cfen = parse_price(price)
        except FeeItemError as exc:
            raise DisclosureError(exc.message, "price") from None
        eff = _day(effective_from, "effective_from")
        amount_fen = 0
    else:
        amount_fen = parse_fen(amount, "amount")
    cost_fen = parse_fen(cost, "cost", required=False)
    share_fen = parse_fen(owners_share, "owners_share", required=False)
    if cost_fen is not None and cost_fen > amount_fen:
        raise DisclosureError(_l("The cost cannot be more than the income."), "cost")
    count = db.session.execute(select(func.count()).select_from(PublicationLine)
                               .where(PublicationLine.publication_id == pub.id)).scalar_one()
    if len(lines_of(pub.id)) >= MAX_LINES:
        raise DisclosureError(_l("A disclosure has at most %(n)d lines.", n=MAX_LINES))
    line = PublicationLine(publication_id=pub.id, position=count + 1, label=label, direction=direction,
                           amount_fen=amount_fen, cost_fen=cost_fen, owners_share_fen=share_fen,
                           detail=_text(detail, 300, "detail"), fee_item_id=item_id, unit_price_cfen=cfen,
                           effective_from=eff)
    db.session.add(line)
    db.session.commit()
    return line


def remove_line(pub: Publication, line: PublicationLine, *, actor) -> None:
    """Only from a draft, which nobody outside the company has seen."""
    _require_draft(pub)
    if line.publication_id != pub.id or line.removed_at is not None:
        raise DisclosureError(_l("That line is not on this draft."))
    line.removed_at = utcnow()
    db.session.commit()


def publish(pub: Publication, *, actor, now=None) -> Publication:
    _require_draft(pub)
    now = now or utcnow()
    if pub.kind != Kind.BOARD and not lines_of(pub.id):
        raise DisclosureError(_l("Add at least one line before publishing."))
    if pub.version > 1 and not pub.correction_reason:
        raise DisclosureError(_l("Say why this correction is made."), "correction_reason")
    earlier = db.session.execute(select(Publication).where(
        Publication.series_id == pub.series_id, Publication.status == Status.PUBLISHED)).scalars().all()
    # Read everything first: touching an expired object mid-way autoflushes half a change, which the guard refuses.
    actor_id, actor_name = (actor.id, actor.name[:64]) if actor else (None, "")
    with db.session.no_autoflush:
        pub.status = Status.PUBLISHED
        pub.published_at = now
        pub.published_by_id = actor_id
        pub.published_by_name = actor_name
    db.session.flush()
    for old in earlier:
        old.status = Status.SUPERSEDED
        old.superseded_at = now
        old.superseded_by_id = pub.id
    audit.record("disclosure.publish", actor=actor, object_type="disclosure", object_id=pub.id,
                 object_label=pub.title, changes={"version": [None, pub.version]})
    db.session.commit()
    return pub


def correct(pub: Publication, *, reason, actor) -> Publication:
    """A new draft version of a published disclosure, with its lines copied and the reason for the correction."""
    if pub.status != Status.PUBLISHED:
        raise DisclosureError(_l("Only the current published version can be corrected."))
    reason = _text(reason, 300, "correction_reason", required=True)
    if _open_draft(pub.series_id) is not None:
        raise DisclosureError(_l("A correction of this disclosure is already being drafted."))
    last = db.session.execute(select(func.max(Publication.version))
                              .where(Publication.series_id == pub.series_id)).scalar_one()
    new = Publication(series_id=pub.series_id, version=last + 1, community_id=pub.community_id, kind=pub.kind,
                      title=pub.title, period_start=pub.period_start, period_end=pub.period_end, note=pub.note,
                      correction_reason=reason, board=pub.board, created_by_id=actor.id if actor else None,
                      status=Status.DRAFT)
    db.session.add(new)
    db.session.flush()
    for line in lines_of(pub.id):
        db.session.add(PublicationLine(
            publication_id=new.id, position=line.position, label=line.label, direction=line.direction,
            amount_fen=line.amount_fen, cost_fen=line.cost_fen, owners_share_fen=line.owners_share_fen,
            detail=line.detail, fee_item_id=line.fee_item_id, unit_price_cfen=line.unit_price_cfen,
            effective_from=line.effective_from))
    from tenants.disclosures import attachments

    attachments.copy_to(pub, new)
    audit.record("disclosure.correct", actor=actor, object_type="disclosure", object_id=new.id,
                 object_label=new.title, changes={"version": [pub.version, new.version], "reason": [None, reason]})
    db.session.commit()
    return new


def publish_board(community: Community, *, reason: str = "", actor, now=None) -> Publication:
    """Snapshot the fee items and rates into a new board version and publish it (the earlier one is superseded)."""
    profile = profile_of(community)
    company = db.session.get(Company, community.company_id)
    snapshot = board_module.generate(community, profile, company, local_today(now))
    current = db.session.execute(select(Publication).where(
        Publication.community_id == community.id, Publication.kind == Kind.BOARD,
        Publication.status == Status.PUBLISHED)).scalar_one_or_none()
    if current is not None and current.board == snapshot:
        raise DisclosureError(_l("Nothing changed since the board was last published."))
    reason = _text(reason, 300, "correction_reason")
    if current is not None and not reason:
        raise DisclosureError(_l("Say why the board changes (e.g. a new rate takes effect)."), "correction_reason")
    today = local_today(now)
    pub_id = new_id()
    pub = Publication(id=pub_id, series_id=current.series_id if current else pub_id,
                      version=current.version + 1 if current else 1, community_id=community.id, kind=Kind.BOARD,
                      title=str(Kind.BOARD.label), period_start=today, period_end=today, board=snapshot,
                      correction_reason=reason, created_by_id=actor.id if actor else None, status=Status.DRAFT)
    db.session.add(pub)
    db.session.flush()
    return publish(pub, actor=actor, now=now)


# --- the 30-day rate rule (the hook in tenants/fees/items.py) ----------------------------------------------------


def board_published(community_id) -> bool:
    return db.session.execute(select(func.count()).select_from(Publication).where(
        Publication.community_id == community_id, Publication.kind == Kind.BOARD,
        Publication.status != Status.DRAFT)).scalar_one() > 0


def check_new_rate(item, unit_price_cfen: int, effective_from: date) -> None:
    """Refuse a new rate that was not announced at least 30 days before it takes effect. Rates entered before the
    community's first price board is published are its initial rates (a new community), and exempt."""
    if not board_published(item.community_id):
        return
    notices = db.session.execute(
        select(Publication.published_at).join(PublicationLine, PublicationLine.publication_id == Publication.id)
        .where(Publication.community_id == item.community_id, Publication.kind == Kind.RATE_CHANGE,
               Publication.status != Status.DRAFT, PublicationLine.fee_item_id == item.id,
               PublicationLine.removed_at.is_(None),
               PublicationLine.unit_price_cfen == unit_price_cfen, PublicationLine.effective_from == effective_from)
    ).scalars().all()
    if any(local_today(at) + timedelta(days=NOTICE_DAYS) <= effective_from for at in notices):
        return
    raise DisclosureError(_l(
        "A new rate must be announced publicly at least %(n)d days before it takes effect: publish a rate change "
        "notice for this item, price and day first (Disclosures). Only the rates entered before a community's "
        "first price board is published (its initial rates) are exempt.", n=NOTICE_DAYS), "effective_from")


def install_rate_rule() -> None:
    from tenants.fees.items import add_rate_check

    add_rate_check(check_new_rate)


# --- objections --------------------------------------------------------------------------------------------------


def reply_due(day: date) -> date:
    """``REPLY_WORKING_DAYS`` Chinese working days after ``day`` (weekends, holidays, 调休: saas/workdays.py)."""
    return add_working_days(day, REPLY_WORKING_DAYS)


_LONG_NUMBER = re.compile(r"\d[\d\s-]{5,}\d")


def _markers(household: Household | None, user) -> list[str]:
    """What would identify the asker: their name and phone, the home's owners, room and unit."""
    out = []
    if user is not None:
        out += [user.name, user.phone]
    if household is not None:
        out += [household.owner_name, household.owner_phone, household.room_label, household.room]
    return [m for m in out if m and len(m.strip()) >= 2]


def mask(text: str, markers: list[str]) -> str:
    """The public copy of an owner's words or a reply: known personal data and any long number (a phone, an ID,
    a bank account) become ＊＊＊. Room numbers like 1-2-301 are long numbers too."""
    for marker in sorted(set(markers), key=len, reverse=True):
        text = text.replace(marker, "＊＊＊")
    return _LONG_NUMBER.sub("＊＊＊", text)


def raise_objection(line: PublicationLine, *, household: Household, question, photo=None, actor,
                    now=None) -> Objection:
    pub = db.session.get(Publication, (line.company_id, line.publication_id))
    if pub is None or pub.status != Status.PUBLISHED:
        raise DisclosureError(_l("Objections are raised on the current published version."))
    building = db.session.get(Building, (household.company_id, household.building_id))
    if building is None or building.community_id != pub.community_id:
        raise DisclosureError(_l("Only owners of this community can raise an objection here."), "household_id")
    question = str(question or "").strip()
    if not question:
        raise DisclosureError(_l("Write your question."), "question")
    if len(question) > 1000:
        raise DisclosureError(_l("Keep it under %(n)d characters.", n=1000), "question")
    now = now or utcnow()
    public = mask(question, _markers(household, actor))
    objection = Objection(public_question=public, publication_id=pub.id, line_id=line.id, household_id=household.id,
                          building_label=building.name[:32], raised_by_id=actor.id if actor else None,
                          question=question, reply_due_on=reply_due(local_today(now)), status=ObjectionStatus.OPEN)
    objection.created_at = now
    db.session.add(objection)
    db.session.flush()
    if photo is not None:
        from tenants.work_orders import photos

        _, objection.photo_path = photos.write(pub.company_id, objection.id, photo)
    audit.record("disclosure.objection", actor=actor, object_type="disclosure", object_id=pub.id,
                 object_label=f"{pub.title} · {line.label}")
    from tenants.disclosures import notify

    notify.objection_raised(objection, pub, line, actor=actor)
    db.session.commit()
    return objection


def reply(objection: Objection, *, text, actor, now=None) -> Objection:
    if objection.status == ObjectionStatus.CLOSED:
        raise DisclosureError(_l("This objection is closed."))
    text = str(text or "").strip()
    if not text:
        raise DisclosureError(_l("Write the reply."), "reply")
    if len(text) > 2000:
        raise DisclosureError(_l("Keep it under %(n)d characters.", n=2000), "reply")
    if objection.status == ObjectionStatus.ANSWERED:
        raise DisclosureError(_l("This objection has been answered; the public reply is not edited."))
    now = now or utcnow()
    objection.reply = text
    household = db.session.get(Household, (objection.company_id, objection.household_id))
    asker = db.session.get(User, objection.raised_by_id) if objection.raised_by_id else None
    objection.public_reply = mask(text, _markers(household, asker))
    objection.replied_at = now
    objection.replied_on = local_today(now)
    objection.replied_by_id = actor.id if actor else None
    objection.status = ObjectionStatus.ANSWERED
    audit.record("disclosure.reply", actor=actor, object_type="disclosure", object_id=objection.publication_id,
                 object_label=objection.question[:60],
                 changes={"late": [None, objection.answered_late]})
    from tenants.disclosures import notify

    notify.objection_answered(objection, actor=actor)
    db.session.commit()
    return objection


def close(objection: Objection, *, actor, now=None) -> Objection:
    if objection.status == ObjectionStatus.OPEN:
        raise DisclosureError(_l("Reply before closing the objection."))
    if objection.status != ObjectionStatus.CLOSED:
        objection.status = ObjectionStatus.CLOSED
        objection.closed_at = now or utcnow()
        audit.record("disclosure.objection_close", actor=actor, object_type="disclosure",
                     object_id=objection.publication_id, object_label=objection.question[:60])
        db.session.commit()
    return objection


# --- the guard: published rows never change ----------------------------------------------------------------------

_SUPERSEDE_FIELDS = {"status", "superseded_at", "superseded_by_id"}


@event.listens_for(Session, "before_flush")
def _refuse_edits_after_publish(session, flush_context, instances) -> None:
    for obj in session.deleted:
        if isinstance(obj, Publication):
            raise DisclosureError(_l("A disclosure is never deleted."))
        if isinstance(obj, PublicationLine):
            pub = session.get(Publication, (obj.company_id, obj.publication_id))
            if pub is not None and inspect(pub).attrs.status.loaded_value != Status.DRAFT:
                raise DisclosureError(_l("A published disclosure cannot be changed. Publish a correction instead."))
    for obj in session.new:
        # A file added to a published version: refused like a line would be (attachments.add checks first).
        if isinstance(obj, Attachment):
            pub = session.get(Publication, (obj.company_id, obj.publication_id))
            if pub is not None and pub.status != Status.DRAFT:
                raise DisclosureError(_l("A published disclosure cannot be changed. Publish a correction instead."))
    for obj in session.deleted:
        if isinstance(obj, Attachment):
            raise DisclosureError(_l("A disclosure is never deleted."))
    for obj in session.dirty:
        if isinstance(obj, Attachment) and inspect(obj).modified:
            changed = {a.key for a in inspect(obj).attrs if a.history.has_changes()}
            pub = session.get(Publication, (obj.company_id, obj.publication_id))
            if changed and pub is not None and inspect(pub).attrs.status.loaded_value != Status.DRAFT:
                raise DisclosureError(_l("A published disclosure cannot be changed. Publish a correction instead."))
        if isinstance(obj, Publication):
            state = inspect(obj)
            was = state.attrs.status.history.deleted or [obj.status]
            if was[0] == Status.DRAFT:
                continue
            changed = {a.key for a in state.attrs if a.history.has_changes()}
            if changed - _SUPERSEDE_FIELDS or obj.status == Status.DRAFT:
                raise DisclosureError(_l("A published disclosure cannot be changed. Publish a correction instead."))
        elif isinstance(obj, PublicationLine) and inspect(obj).modified:
            changed = {a.key for a in inspect(obj).attrs if a.history.has_changes()}
            pub = session.get(Publication, (obj.company_id, obj.publication_id))
            if changed and pub is not None and pub.status != Status.DRAFT:
                raise DisclosureError(_l("A published disclosure cannot be changed. Publish a correction instead."))
