from email_validator import EmailNotValidError, validate_email
from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, Length, ValidationError

from saas.i18n import _l
from saas.signup.slugs import normalise_slug, slug_problem
from saas.validators import MIN_PASSWORD, CleanText, NewPassword, normalise_mobile


class SlugField(StringField):
    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        self.data = normalise_slug(self.data)


def _valid_slug(form, field):
    problem = slug_problem(field.data)
    if problem is not None:
        raise ValidationError(str(problem))


class SignupLogin:
    """A mainland mobile number or an e-mail address; sets form.phone / form.email."""

    def __call__(self, form, field):
        raw = (field.data or "").strip()
        form.phone, form.email = None, None
        if "@" in raw:
            try:
                form.email = validate_email(raw, check_deliverability=False).normalized
            except EmailNotValidError:
                raise ValidationError(_l("Enter a valid e-mail address, e.g. wang@example.com.")) from None
            if len(form.email) > 254:
                raise ValidationError(_l("This e-mail address is too long."))
            return
        form.phone = normalise_mobile(raw)
        if form.phone is None:
            raise ValidationError(_l("Enter a mainland mobile number (11 digits starting with 1) or an e-mail "
                                     "address."))


class SignupForm(FlaskForm):
    company_name = StringField(_l("Company name"), validators=[
        CleanText(), DataRequired(_l("Enter the company name.")), Length(max=100)])
    slug = SlugField(_l("Web address"), validators=[_valid_slug],
                     description=_l("Your company's pages will be at /c/your-address/. Lowercase letters, digits "
                                    "and hyphens."))
    # The last address the server proposed: while the slug still equals it, typing the name updates it.
    slug_suggested = HiddenField()
    admin_name = StringField(_l("Your name"), validators=[
        CleanText(), DataRequired(_l("Enter your name.")), Length(max=50)])
    login = StringField(_l("Mobile number or e-mail"), validators=[
        DataRequired(_l("Enter a mobile number or e-mail address.")), SignupLogin()],
        description=_l("You sign in with this."))
    password = PasswordField(_l("Password"), validators=[NewPassword()],
                             description=_l("At least %(n)s characters.", n=MIN_PASSWORD))

    ACCOUNT_FIELDS = ("admin_name", "login", "password")

    def __init__(self, *args, signed_in: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.phone, self.email = None, None
        self.signed_in = signed_in
        if signed_in:  # the company gets the signed-in account as its admin
            for name in self.ACCOUNT_FIELDS:
                delattr(self, name)
