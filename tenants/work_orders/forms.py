"""Forms of the work-order pages. The services validate everything again; these give the messages at the fields
before a service is even asked, and carry CSRF."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import MultipleFileField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from saas.i18n import _l
from saas.validators import CleanText
from tenants.work_orders.models import Area, Priority
from tenants.work_orders.photos import MAX_PHOTOS, uploads

# --- the owner's forms (portal) ------------------------------------------------------------------------------


def _photo_count(form, field):
    # Counted here too, so too many photos is said at the field even when another field is also wrong.
    if len(uploads(field.data)) > MAX_PHOTOS:
        raise ValidationError(_l("Attach at most %(n)d photos.", n=MAX_PHOTOS))


def no_control_chars(form, field):
    """Like CleanText, but a description or comment may have line breaks."""
    if isinstance(field.data, str):
        field.data = field.data.strip()
        if any(ord(ch) < 32 and ch not in "\r\n\t" for ch in field.data):
            raise ValidationError(_l("Remove control characters."))


class OwnerReportForm(FlaskForm):
    """An owner reporting a repair from the portal."""

    # Only shown (and required) when the owner has more than one current home; choices set by the view.
    household_id = SelectField(_l("Which home"), validate_choice=False)
    area = RadioField(_l("Where is the problem?"),
                      choices=[(Area.HOME.value, _l("In my home")), (Area.COMMON.value, _l("Common area"))],
                      default=Area.HOME.value, validators=[InputRequired(_l("Say where the problem is."))])
    category_id = SelectField(_l("What needs repairing?"), validate_choice=False,
                              validators=[InputRequired(_l("Choose a category."))])
    priority = RadioField(_l("How urgent is it?"),
                          choices=[(Priority.NORMAL.value, _l("Normal")), (Priority.URGENT.value, _l("Urgent"))],
                          default=Priority.NORMAL.value, validators=[InputRequired(_l("Choose a priority."))])
    description = TextAreaField(
        _l("Describe the problem"),
        validators=[no_control_chars, InputRequired(_l("Describe the problem in a few words.")),
                    Length(max=2000, message=_l("Keep the description under %(max)d characters."))],
        render_kw={"rows": 4, "maxlength": 2000})
    preferred_time = StringField(
        _l("When can we come?"),
        validators=[CleanText(), Optional(),
                    Length(max=100, message=_l("Keep the preferred time under %(max)d characters."))],
        render_kw={"maxlength": 100})
    photos = MultipleFileField(_l("Photos"), validators=[_photo_count])


class OwnerCommentForm(FlaskForm):
    note = TextAreaField(_l("Add a comment"), validators=[
        no_control_chars, Optional(), Length(max=1000, message=_l("Keep the comment under %(max)d characters."))],
        render_kw={"rows": 3, "maxlength": 1000})
    photos = MultipleFileField(_l("Photos"), validators=[_photo_count])


STAR_CHOICES = [(n, str(n)) for n in range(1, 6)]


def _stars(label):
    return RadioField(label, choices=STAR_CHOICES, coerce=int,
                      validators=[InputRequired(_l("Give 1 to 5 stars."))])


class RateForm(FlaskForm):
    overall = _stars(_l("Overall"))
    speed = _stars(_l("Speed"))
    attitude = _stars(_l("Attitude"))
    comment = TextAreaField(_l("Anything to add? (optional)"), validators=[
        no_control_chars, Optional(), Length(max=500, message=_l("Keep the comment under %(max)d characters."))],
        render_kw={"rows": 2, "maxlength": 500})


class CancelForm(FlaskForm):
    """Used with prefix="cancel" (and ReopenForm with "reopen") so both fit on one page with distinct ids."""

    note = TextAreaField(_l("Why do you want to cancel?"), validators=[
        no_control_chars, InputRequired(_l("Say why the job is cancelled.")),
        Length(max=1000, message=_l("Keep the reason under %(max)d characters."))],
        render_kw={"rows": 2, "maxlength": 1000})


class ReopenForm(FlaskForm):
    note = TextAreaField(_l("What is still wrong?"), validators=[
        no_control_chars, InputRequired(_l("Say what is still wrong.")),
        Length(max=1000, message=_l("Keep the reason under %(max)d characters."))],
        render_kw={"rows": 2, "maxlength": 1000})


class ConfirmForm(FlaskForm):
    """A button and its CSRF token: urging, accepting or declining a quote."""
