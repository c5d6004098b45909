"""Forms of the disclosure editor and the owner's objection. Amounts are text: the services parse yuan to fen and
say what is wrong (negative, too many decimals, absurdly large) at the field."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, MultipleFileField
from wtforms import DateField, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Optional

from saas.i18n import _l
from saas.validators import CleanText
from tenants.disclosures.models import STATEMENT_KINDS, Direction, Kind, PriceForm

_DATE = _l("Enter a date, e.g. 2026-03-31.")


class ProfileForm(FlaskForm):
    charged_party = StringField(_l("Who is charged"), validators=[CleanText(), Optional()],
                                description=_l("e.g. all owners of the community"))
    service_grade = TextAreaField(_l("Service content and standard"), validators=[Optional()])
    price_form = SelectField(_l("Price form"), choices=[(k.value, PriceForm._labels()[k]) for k in PriceForm],
                             default=PriceForm.MARKET.value)
    basis_document = StringField(_l("Basis of the charge"), validators=[CleanText(), Optional()],
                                 description=_l("e.g. the service contract, the price bureau's document"))
    billing_start = DateField(_l("Billing start date"), validators=[Optional()])
    complaint_phone = StringField(_l("Price complaint phone"), validators=[CleanText(), Optional()], default="12315")
    calendar_from = DateField(_l("Statements due from"), validators=[Optional()],
                              description=_l("Statements are due for periods from this day on."))


class BoardForm(FlaskForm):
    correction_reason = StringField(_l("Why the board changes"), validators=[CleanText(), Optional()])


class DraftForm(FlaskForm):
    kind = SelectField(_l("What is published"),
                       choices=[(k.value, Kind._labels()[k]) for k in (*STATEMENT_KINDS, Kind.RATE_CHANGE)],
                       default=Kind.COMMON_INCOME.value)
    title = StringField(_l("Title"), validators=[CleanText(), Optional()])
    period_start = DateField(_l("Period from"), validators=[InputRequired(_DATE)])
    period_end = DateField(_l("Period to (inclusive)"), validators=[InputRequired(_DATE)])
    note = TextAreaField(_l("Note"), validators=[Optional()])


class LineForm(FlaskForm):
    label = StringField(_l("Item"), validators=[CleanText(), Optional()])
    direction = SelectField(_l("Income or spending"), choices=[(k.value, Direction._labels()[k]) for k in Direction],
                            default=Direction.INCOME.value)
    amount = StringField(_l("Amount (yuan)"), validators=[CleanText(), Optional()])
    cost = StringField(_l("Reasonable cost (yuan)"), validators=[CleanText(), Optional()])
    owners_share = StringField(_l("Owners' share (yuan)"), validators=[CleanText(), Optional()])
    detail = StringField(_l("Basis, where it went, approval or contractor"), validators=[CleanText(), Optional()])
    fee_item_id = SelectField(_l("Fee item"), choices=[], validate_choice=False)
    price = StringField(_l("New price (yuan per unit)"), validators=[CleanText(), Optional()])
    effective_from = DateField(_l("Takes effect on"), validators=[Optional()])


class CorrectionForm(FlaskForm):
    correction_reason = StringField(_l("Why it is corrected"), validators=[CleanText(), Optional()])


class ReplyForm(FlaskForm):
    reply = TextAreaField(_l("Public reply"), validators=[Optional()])


class ObjectionForm(FlaskForm):
    household_id = SelectField(_l("Your home"), choices=[], validate_choice=False)
    question = TextAreaField(_l("Your question"), validators=[Optional()],
                             description=_l("Shown publicly with the company's reply, as “owner in building X”: "
                                            "your name, phone and room are never shown."))
    photo = FileField(_l("Photo (optional)"))


class AttachForm(FlaskForm):
    files = MultipleFileField(_l("Scanned files"),
                              description=_l("PDF, JPEG, PNG or WebP; at most 5 files, a PDF up to 10 MB, an image up "
                                             "to 8 MB. Images are re-encoded and their metadata (EXIF, location) "
                                             "removed."))
