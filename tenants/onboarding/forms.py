"""The company profile: licence number (统一社会信用代码), price-complaint phone, service phone, address."""

from __future__ import annotations

import re
import unicodedata

from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from saas.i18n import _l
from saas.validators import CleanText, normalise_mobile

# 18 characters: registration authority and type (2), administrative division (6), organisation code (9) and
# check character (1), from digits and capital letters without I, O, S, V, Z (GB 32100-2015).
LICENCE_RE = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$")
# Landline with area code (0991-1234567, 09911234567, 010-12345678) or a 400/800 service number.
_LANDLINE_RE = re.compile(r"^0\d{2,3}-?\d{7,8}$")
_SERVICE_RE = re.compile(r"^[48]00-?\d{3}-?\d{4}$")


def normalise_licence(raw: str) -> str:
    return re.sub(r"\s", "", unicodedata.normalize("NFKC", raw or "")).upper()


def normalise_complaint_phone(raw: str) -> str | None:
    """A mainland mobile (13800138000), landline (0991-1234567) or 400/800 number as written; None if not one."""
    text = unicodedata.normalize("NFKC", raw or "").strip()
    text = re.sub(r"[\s()（）]", "", text).replace("—", "-").replace("－", "-")
    mobile = normalise_mobile(text)
    if mobile:
        return mobile
    if _LANDLINE_RE.match(text) or _SERVICE_RE.match(text):
        return text
    return None


class LicenceNumber:
    def __call__(self, form, field):
        field.data = normalise_licence(field.data)
        if len(field.data) != 18:
            raise ValidationError(_l("The unified social credit code has 18 characters; this has %(n)s.",
                                     n=len(field.data)))
        if not LICENCE_RE.match(field.data):
            raise ValidationError(_l("This is not a unified social credit code: use the 18 digits and capital "
                                     "letters on your business licence (never I, O, S, V or Z)."))


class ComplaintPhone:
    def __call__(self, form, field):
        value = normalise_complaint_phone(field.data)
        if value is None:
            raise ValidationError(_l("Enter a mobile number, a landline with area code (e.g. 0991-1234567) or a "
                                     "400 number."))
        field.data = value


class ProfileForm(FlaskForm):
    licence_number = StringField(
        _l("Unified social credit code"),
        validators=[DataRequired(_l("Enter the 18-character code from your business licence.")), LicenceNumber()],
        description=_l("The 18-character code on your business licence (统一社会信用代码)."))
    complaint_phone = StringField(
        _l("Complaint phone"),
        validators=[DataRequired(_l("Enter the phone number owners can call with complaints.")), ComplaintPhone()],
        description=_l("Shown on fee disclosures as the price-complaint phone."))
    service_phone = StringField(
        _l("Service phone"), validators=[Optional(), ComplaintPhone()],  # the same kinds of number
        description=_l("The number owners call for repairs and questions, shown on their portal. Optional."))
    address = StringField(_l("Office address"), validators=[CleanText(), Optional(), Length(max=200)])
