from flask_wtf import FlaskForm
from wtforms import EmailField, SelectField, StringField
from wtforms.validators import DataRequired, Email, Length, Optional

from saas.i18n import _l
from saas.models import ROLE_LABELS, STAFF_ROLES, Role
from saas.validators import CleanText, MainlandMobile

STAFF_ROLE_CHOICES = [(r.value, ROLE_LABELS[r]) for r in STAFF_ROLES]
# Stewards and technicians first: they are whom an admin invites most.
INVITE_ROLE_CHOICES = [(r.value, ROLE_LABELS[r]) for r in (Role.STEWARD, Role.TECHNICIAN, Role.ADMIN)]


class InviteForm(FlaskForm):
    name = StringField(_l("Name"), validators=[CleanText(), DataRequired(_l("Enter a name.")), Length(max=50)])
    role = SelectField(_l("Role"), choices=INVITE_ROLE_CHOICES, default="steward")
    phone = StringField(_l("Mobile number"), validators=[MainlandMobile(optional=True)],
                        description=_l("The invitation goes by SMS to this number."))
    email = EmailField(_l("E-mail"), validators=[CleanText(), Optional(), Length(max=254),
                                                 Email(_l("Enter a valid e-mail address, e.g. name@example.com."))],
                       description=_l("Or by e-mail, if the person has no mobile number here."))

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        if ok and not self.phone.data and not self.email.data:
            self.phone.errors = [*self.phone.errors, str(_l("Enter a mobile number or an e-mail address."))]
            return False
        if ok and self.email.data:
            self.email.data = self.email.data.lower()
        return ok


class ChangeRoleForm(FlaskForm):
    role = SelectField(_l("Role"), choices=STAFF_ROLE_CHOICES)
