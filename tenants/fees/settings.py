"""A company's fee rules (FeeSettings): due days, prepayment, reminders, offline payment instructions, late fees.

Late fees (违约金) are off unless the company enters the clause of its service contract that sets them, with the
daily rate (in ‱ of the bill), the grace days and a cap: no national rate exists, so the app assumes none."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from saas import audit
from saas.errors import ServiceError
from saas.extensions import db
from saas.i18n import _l
from saas.money import parse_yuan
from saas.tenancy import built_once
from tenants.fees.models import FeeSettings


class FeeSettingsError(ServiceError):
    """A fee setting refused."""


CLAUSE_MAX = 2000
INSTRUCTIONS_MAX = 2000


_SETTINGS = built_once(select(FeeSettings))  # the company filter makes it this company's row


def get_settings() -> FeeSettings:
    """This company's settings; the defaults (unsaved) when it has none yet."""
    found = db.session.execute(_SETTINGS).scalar_one_or_none()
    if found is not None:
        return found
    return FeeSettings(late_fees_enabled=False, late_fee_clause="", late_fee_daily_permyriad=0,
                       late_fee_grace_days=0, late_fee_cap_percent=0, prepay_cap_months=12, contract_ends_on=None,
                       due_days=15, reminder_interval_days=7, offline_instructions="", auto_remind_min_fen=None)


def _in_range(value, low: int, high: int, message, field: str) -> int:
    if value is None or not isinstance(value, int) or not low <= value <= high:
        raise FeeSettingsError(message, field)
    return value


AUTO_REMIND_MAX_FEN = 100_000_000  # ¥1,000,000: past this the setting can only be a typing mistake


def _auto_remind_min(typed: str | None) -> int | None:
    typed = (typed or "").strip()
    if not typed:
        return None
    fen = parse_yuan(typed)
    if fen is None or not 0 <= fen <= AUTO_REMIND_MAX_FEN:
        raise FeeSettingsError(_l("Enter an amount in yuan between 0 and 1,000,000, such as 500, or leave it empty "
                                  "to send reminders only by hand."), "auto_remind_min")
    return fen


def update_settings(*, due_days: int, prepay_cap_months: int, contract_ends_on: date | None,
                    reminder_interval_days: int, offline_instructions: str, late_fees_enabled: bool,
                    late_fee_clause: str, late_fee_daily_permyriad: int | None, late_fee_grace_days: int | None,
                    late_fee_cap_percent: int | None, actor, auto_remind_min: str | None = None) -> FeeSettings:
    """``auto_remind_min`` is the amount in yuan as typed (empty: automatic reminders off)."""
    values = {
        "due_days": _in_range(due_days, 0, 365, _l("Enter between 0 and 365 days."), "due_days"),
        "prepay_cap_months": _in_range(prepay_cap_months, 0, 36, _l("Enter between 0 and 36 months."),
                                       "prepay_cap_months"),
        "contract_ends_on": contract_ends_on,
        "reminder_interval_days": _in_range(reminder_interval_days, 1, 365, _l("Enter between 1 and 365 days."),
                                            "reminder_interval_days"),
        "offline_instructions": (offline_instructions or "").strip()[:INSTRUCTIONS_MAX],
        "auto_remind_min_fen": _auto_remind_min(auto_remind_min),
        "late_fees_enabled": bool(late_fees_enabled),
    }
    clause = (late_fee_clause or "").strip()
    if len(clause) > CLAUSE_MAX:
        raise FeeSettingsError(_l("Keep the clause under %(n)d characters.", n=CLAUSE_MAX), "late_fee_clause")
    if late_fees_enabled:
        if not clause:
            raise FeeSettingsError(_l("Late fees can be switched on only with the clause of your service contract "
                                      "that sets them. Copy it here."), "late_fee_clause")
        values["late_fee_daily_permyriad"] = _in_range(
            late_fee_daily_permyriad, 1, 100,
            _l("Enter the daily rate in ‱, between 1 and 100 (5 ‱ is 0.05 percent a day)."),
            "late_fee_daily_permyriad")
        values["late_fee_grace_days"] = _in_range(late_fee_grace_days, 0, 365,
                                                  _l("Enter between 0 and 365 days."), "late_fee_grace_days")
        values["late_fee_cap_percent"] = _in_range(
            late_fee_cap_percent, 1, 100, _l("Enter the cap as a percent of the bill, between 1 and 100."),
            "late_fee_cap_percent")
    values["late_fee_clause"] = clause
    settings = get_settings()
    if settings not in db.session:
        db.session.add(settings)
    changes = {}
    for name, value in values.items():
        old = getattr(settings, name)
        if old != value:
            changes[name] = [old, value]
            setattr(settings, name, value)
    if changes:
        audit.record("fee_settings.update", actor=actor, object_type="fee_settings", object_label="",
                     changes={k: v for k, v in changes.items() if k not in ("late_fee_clause",
                                                                             "offline_instructions")}
                     | {k: [None, "…"] for k in changes if k in ("late_fee_clause", "offline_instructions")})
    db.session.commit()
    return settings
