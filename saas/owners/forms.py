from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Optional

from saas.i18n import _l
from saas.validators import MIN_PASSWORD, CleanText, MainlandMobile, NewPassword


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
