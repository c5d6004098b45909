"""Forms of the staff pages (the owner's forms are in forms.py)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from saas.i18n import _l
from saas.validators import CleanText
from tenants.work_orders.forms import no_control_chars  # textareas keep their line breaks
from tenants.work_orders.models import PRIORITY_LABELS, Area


class PhoneReportForm(FlaskForm):
    """A job entered by staff from an owner's phone call."""

    household_id = HiddenField()
    area = RadioField(_l("Where"), choices=[(Area.HOME.value, _l("In the home")),
                                            (Area.COMMON.value, _l("Common area near the home"))],
                      default=Area.HOME.value, validators=[InputRequired(_l("Choose where."))])
    category_id = SelectField(_l("Category"), validate_choice=False)
    priority = SelectField(_l("Priority"), choices=[(p.value, label) for p, label in PRIORITY_LABELS.items()],
                           default="normal")
    description = TextAreaField(_l("What is wrong"), validators=[no_control_chars, Length(max=2000)])
    preferred_time = StringField(_l("Preferred visit time"), validators=[CleanText(), Optional(), Length(max=100)])
    reporter_name = StringField(_l("Caller's name"), validators=[CleanText(), Optional(), Length(max=50)])
    reporter_phone = StringField(_l("Caller's mobile"), validators=[CleanText(), Optional(), Length(max=20)])


class FollowUpForm(FlaskForm):
    reached = RadioField(_l("Did you reach the owner?"), choices=[("yes", _l("Reached")), ("no", _l("Not reached"))],
                         validators=[InputRequired(_l("Say whether you reached the owner."))])
    satisfied = RadioField(_l("Satisfied?"), choices=[("yes", _l("Satisfied")), ("no", _l("Not satisfied"))],
                           validators=[Optional()])
    note = TextAreaField(_l("Note"), validators=[no_control_chars, Optional(), Length(max=1000)])
