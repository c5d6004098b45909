from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, StringField
from wtforms.validators import DataRequired, Length

from saas.i18n import _l


class LoginForm(FlaskForm):
    login = StringField(_l("Mobile number or e-mail"),
                        validators=[DataRequired(_l("Enter your mobile number or e-mail.")), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(_l("Enter your password.")),
                                                         Length(max=128)])
    remember = BooleanField(_l("Keep me signed in on this device"))
