"""Field rules shared by forms and imports: mainland mobile numbers, floor areas, names, passwords."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from wtforms.validators import ValidationError

from saas.i18n import _l

_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_SEPARATORS = re.compile(r"[\s\-()]")

MIN_AREA = Decimal("1")
MAX_AREA = Decimal("2000")

# The one password rule, for every way a password is set (signup, invitation, owner join, password change, CLI).
MIN_PASSWORD = 10
MAX_PASSWORD = 128


def normalise_mobile(raw: str) -> str | None:
    """'+86 138-0013-8000' → '13800138000'; None when it is not a mainland mobile number."""
    value = _SEPARATORS.sub("", raw or "")
    if value.startswith("+86"):
        value = value[3:]
    elif value.startswith("0086"):
        value = value[4:]
    return value if _MOBILE.match(value) else None


def parse_area(raw: str) -> Decimal:
    """Floor area in m²: 1–2,000 with at most two decimals. Raises ValueError with a user message."""
    text = (raw or "").strip().replace("，", ".").replace("㎡", "").replace("m²", "").strip()
    if not text:
        raise ValueError(_l("Enter the floor area in m²."))
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(_l("Floor area must be a number, e.g. 89.50.")) from None
    if not value.is_finite():
        raise ValueError(_l("Floor area must be a number, e.g. 89.50."))
    if value.as_tuple().exponent < -2:
        raise ValueError(_l("Floor area can have at most two decimals."))
    if value < MIN_AREA or value > MAX_AREA:
        raise ValueError(_l("Floor area must be between 1 and 2,000 m²."))
    return value.quantize(Decimal("0.01"))


class MainlandMobile:
    """WTForms validator that also normalises the field's data."""

    def __init__(self, optional: bool = False):
        self.optional = optional

    def __call__(self, form, field):
        raw = (field.data or "").strip()
        if not raw and self.optional:
            field.data = ""
            return
        value = normalise_mobile(raw)
        if value is None:
            raise ValidationError(_l("Enter a mainland mobile number: 11 digits starting with 1, e.g. 13800138000."))
        field.data = value


class FloorArea:
    def __call__(self, form, field):
        try:
            field.data = parse_area(field.data if isinstance(field.data, str) else str(field.data or ""))
        except ValueError as exc:
            raise ValidationError(str(exc)) from None


class CleanText:
    """Strip surrounding whitespace and refuse control characters."""

    def __call__(self, form, field):
        if isinstance(field.data, str):
            field.data = field.data.strip()
            if any(ord(ch) < 32 for ch in field.data):
                raise ValidationError(_l("Remove line breaks and control characters."))


def password_problem(password: str | None):
    """Why this new password is refused (a translated message), or None when it is acceptable."""
    if len(password or "") < MIN_PASSWORD:
        return _l("Choose a password of at least %(n)s characters.", n=MIN_PASSWORD)
    if len(password) > MAX_PASSWORD:
        return _l("Use a password of at most %(n)s characters.", n=MAX_PASSWORD)
    return None


class NewPassword:
    """WTForms validator for a password being set: the one rule above (an empty field gets the same message)."""

    def __call__(self, form, field):
        problem = password_problem(field.data)
        if problem is not None:
            raise ValidationError(str(problem))
