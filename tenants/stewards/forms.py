import re

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, Regexp

from saas.i18n import _l
from saas.validators import CleanText
from tenants.stewards.models import CONTACT_KIND_LABELS, MAX_CAPACITY

# A mobile or a landline with area code and extension: digits, spaces, dashes, a leading +.
_PHONE = re.compile(r"^\+?[0-9][0-9 \-]{5,18}[0-9]$")


class CapacityForm(FlaskForm):
    capacity = IntegerField(
        _l("Households per steward"),
        validators=[InputRequired(_l("Enter a number.")),
                    NumberRange(1, MAX_CAPACITY, _l("Enter a whole number from 1 to %(max)s.", max=MAX_CAPACITY))])


NOBODY = "none"  # the assign form's choice that takes the households off their steward


class AssignForm(FlaskForm):
    # "" is "not chosen yet" (without it the select silently picks the first steward); NOBODY unassigns.
    steward_id = SelectField(_l("Steward"), validate_choice=True, validators=[
        InputRequired(_l("Choose a steward, or “Nobody” to take the households off their steward."))])
    notify = BooleanField(_l("Tell the owners by SMS who their steward is"))

    def set_steward_choices(self, stewards, *, allow_none: bool = True) -> None:
        choices = [("", _l("Choose…"))] + [(str(s.id), s.user.name) for s in stewards]
        if allow_none:
            choices.append((NOBODY, str(_l("Nobody (unassign)"))))
        self.steward_id.choices = choices


class AutoAssignForm(FlaskForm):
    community_id = HiddenField()
    rebalance = HiddenField()
    digest = HiddenField(validators=[DataRequired()])
    notify = BooleanField(_l("Tell the owners whose steward changes by SMS"))


class ProfileForm(FlaskForm):
    work_phone = StringField(_l("Work phone shown to owners"), validators=[
        CleanText(), Optional(), Length(max=20),
        Regexp(_PHONE, message=_l("Enter a phone number: digits, spaces or dashes, e.g. 0571-8888 6666."))])
    working_hours = StringField(_l("Working hours"), validators=[CleanText(), Optional(), Length(max=100)],
                                description=_l("For example: 周一至周五 9:00–18:00"))
    photo = FileField(_l("Photo (JPEG, PNG or WebP, up to 5 MB)"))
    remove_photo = BooleanField(_l("Remove the photo"))


class AdminProfileForm(ProfileForm):
    capacity = IntegerField(
        _l("Capacity (households)"),
        validators=[Optional(), NumberRange(1, MAX_CAPACITY,
                                            _l("Enter a whole number from 1 to %(max)s.", max=MAX_CAPACITY))],
        description=_l("Leave empty to use the company's default."))


def save_profile(steward, form: ProfileForm, *, set_capacity: bool, actor):
    """Save a profile form (the steward's own, or an admin's with the capacity). The photo is checked before
    anything is saved, so a bad upload changes nothing; a refusal is a StewardError at its field."""
    from tenants.stewards import services

    photo = services.prepare_photo(form.photo.data) if form.photo.data else None
    return services.update_profile(
        steward, work_phone=form.work_phone.data, working_hours=form.working_hours.data,
        capacity=form.capacity.data if set_capacity else None, set_capacity=set_capacity, photo=photo,
        remove_photo=bool(form.remove_photo.data), actor=actor)


class HandoverForm(FlaskForm):
    to_steward_id = SelectField(_l("Hand over to"), validate_choice=True,
                                validators=[InputRequired(_l("Choose a steward."))])
    note = StringField(_l("Reason"), validators=[CleanText(), Optional(), Length(max=200)],
                       description=_l("For example: 休产假 3 个月, 离职"))
    confirm = HiddenField()

    def set_steward_choices(self, stewards, exclude) -> None:
        self.to_steward_id.choices = [("", _l("Choose…"))] + [
            (str(s.id), s.user.name) for s in stewards if s.id != exclude]


class ContactForm(FlaskForm):
    kind = RadioField(_l("How"), choices=[(k.value, v) for k, v in CONTACT_KIND_LABELS.items()], default="call",
                      validators=[InputRequired(_l("Choose call, visit or WeChat."))])
    contacted_on = DateField(_l("Date"), validators=[InputRequired(_l("Enter the date."))])
    note = TextAreaField(_l("What was said or done"), validators=[
        DataRequired(_l("Write what was said or done.")), Length(max=2000)])
