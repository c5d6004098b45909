from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from saas.i18n import _l
from saas.validators import MAX_PASSWORD, MIN_PASSWORD, NewPassword


class LoginForm(FlaskForm):
    login = StringField(_l("Mobile number or e-mail"),
                        validators=[DataRequired(_l("Enter your mobile number or e-mail.")), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(_l("Enter your password.")),
                                                         Length(max=128)])
    remember = BooleanField(_l("Keep me signed in on this device"))


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[
        DataRequired(_l("Enter your current password.")), Length(max=MAX_PASSWORD)])
    new_password = PasswordField(_l("New password"), validators=[NewPassword()],
                                 description=_l("At least %(n)s characters.", n=MIN_PASSWORD))
    confirm = PasswordField(_l("New password again"), validators=[
        EqualTo("new_password", message=_l("The two passwords are not the same."))])
