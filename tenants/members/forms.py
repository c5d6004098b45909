from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length

from saas.models import ROLE_LABELS, STAFF_ROLES
from saas.validators import CleanText, MainlandMobile

STAFF_ROLE_CHOICES = [(r.value, ROLE_LABELS[r]) for r in STAFF_ROLES]


class AddMemberForm(FlaskForm):
    name = StringField(_l("Name"), validators=[CleanText(), DataRequired(_l("Enter a name.")), Length(max=50)])
    phone = StringField(_l("Mobile number"), validators=[MainlandMobile()])
    role = SelectField(_l("Role"), choices=STAFF_ROLE_CHOICES, default="steward")
    password = PasswordField(
        _l("Initial password (for a new account)"),
        validators=[Length(max=128)],
        description=_l("At least 8 characters. Needed only when this number has no account yet."),
    )


class ChangeRoleForm(FlaskForm):
    role = SelectField(_l("Role"), choices=STAFF_ROLE_CHOICES)
