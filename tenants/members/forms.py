from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional

from saas.i18n import _l
from saas.models import ROLE_LABELS, STAFF_ROLES, Role
from saas.validators import MIN_PASSWORD, CleanText, MainlandMobile, NewPassword

STAFF_ROLE_CHOICES = [(r.value, ROLE_LABELS[r]) for r in STAFF_ROLES]
# Stewards and technicians first: they are whom an admin invites most.
INVITE_ROLE_CHOICES = [(r.value, ROLE_LABELS[r]) for r in (Role.STEWARD, Role.TECHNICIAN, Role.CASHIER, Role.ADMIN)]


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


# --- joining (public pages): accepting an invitation, an owner's household code ----------------------


class AcceptNewAccountForm(FlaskForm):
    """Accept an invitation with a new account: the phone/e-mail comes from the invitation."""

    name = StringField(_l("Your name"), validators=[CleanText(), DataRequired(_l("Enter your name.")),
                                                    Length(max=50)])
    password = PasswordField(_l("Choose a password"), validators=[NewPassword()],
                             description=_l("At least %(n)s characters.", n=MIN_PASSWORD))
    confirm = PasswordField(_l("Password again"), validators=[
        EqualTo("password", message=_l("The two passwords are not the same."))])


class AcceptExistingAccountForm(FlaskForm):
    password = PasswordField(_l("Your password"), validators=[DataRequired(_l("Enter your password.")),
                                                              Length(max=128)])


class JoinForm(FlaskForm):
    phone = StringField(_l("Mobile number"), validators=[MainlandMobile()])
    code = StringField(_l("Household code"), validators=[CleanText(), DataRequired(_l("Enter the household code "
                                                                                      "from your notice.")),
                                                         Length(max=20)],
                       description=_l("8 letters and digits, printed on the notice from your property company."))
    password = PasswordField(_l("Password"), validators=[DataRequired(_l("Enter a password.")), Length(max=128)],
                             description=_l("New here? Choose a password of at least %(n)s characters. Already "
                                            "have an account? Enter its password.", n=MIN_PASSWORD))
    name = StringField(_l("Your name (optional)"), validators=[CleanText(), Optional(), Length(max=50)])
