"""The platform admin's forms: manual plan activation, trial extension, suspension."""

from __future__ import annotations

from datetime import date

from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length

from saas.i18n import _l
from saas.subscriptions.plans import PLANS
from saas.subscriptions.services import MAX_MANUAL_MONTHS, MAX_TRIAL_EXTENSION_DAYS
from saas.validators import CleanText


def _whole_number(raw: str | None) -> int | None:
    text = (raw or "").strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 4 else None


class ManualActivationForm(FlaskForm):
    plan = SelectField(_l("Plan"), choices=[(p.code, p.name) for p in PLANS], default="standard")
    months = StringField(_l("Months paid"), render_kw={"inputmode": "numeric"},
                         description=_l("1 to 36, counted from the end of the current paid period or from today."))
    period_end = StringField(_l("Or: paid until"), render_kw={"type": "date"},
                             description=_l("The last day the plan is paid for."))
    reference = StringField(_l("Bank-transfer reference (流水号)"), validators=[
        CleanText(), DataRequired(_l("Enter the bank-transfer reference so the payment can be traced.")),
        Length(max=100)])

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        months_raw = (self.months.data or "").strip()
        end_raw = (self.period_end.data or "").strip()
        self.months_value = self.period_end_value = None
        if months_raw and end_raw:
            self.months.errors = [*self.months.errors, str(_l("Enter the months or the end date, not both."))]
            return False
        if not months_raw and not end_raw:
            self.months.errors = [*self.months.errors,
                                  str(_l("Enter the number of months paid or the date the plan is paid until."))]
            return False
        if months_raw:
            value = _whole_number(months_raw)
            if value is None or not 1 <= value <= MAX_MANUAL_MONTHS:
                self.months.errors = [*self.months.errors, str(_l(
                    "Enter a whole number of months from 1 to %(max)s.", max=MAX_MANUAL_MONTHS))]
                return False
            self.months_value = value
        else:
            try:
                self.period_end_value = date.fromisoformat(end_raw)
            except ValueError:
                self.period_end.errors = [*self.period_end.errors,
                                          str(_l("Enter the date as YYYY-MM-DD, e.g. 2026-12-31."))]
                return False
        return ok


class TrialExtensionForm(FlaskForm):
    days = StringField(_l("Days to add"), render_kw={"inputmode": "numeric"}, default="14",
                       description=_l("1 to 90. An ended trial restarts from today."))

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        self.days_value = _whole_number(self.days.data)
        if self.days_value is None or not 1 <= self.days_value <= MAX_TRIAL_EXTENSION_DAYS:
            self.days.errors = [*self.days.errors, str(_l(
                "Enter a whole number of days from 1 to %(max)s.", max=MAX_TRIAL_EXTENSION_DAYS))]
            return False
        return ok


class SuspensionForm(FlaskForm):
    reason = StringField(_l("Reason"), validators=[CleanText(), DataRequired(_l("Enter the reason.")),
                                                   Length(max=200)])
