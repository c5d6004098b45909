"""Forms of the fee settings, items, rates, parking spaces, meter readings and one-off charges."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, NumberRange, Optional

from saas.i18n import _l
from saas.validators import CleanText
from tenants.fees.models import AreaBasis, FeeKind, MeterKind, PeriodKind

_INT = _l("Enter a whole number.")


class FeeSettingsForm(FlaskForm):
    due_days = IntegerField(_l("Bills are due after (days)"), validators=[InputRequired(_INT)], default=15)
    prepay_cap_months = IntegerField(_l("Prepayment up to (months)"), validators=[InputRequired(_INT)], default=12)
    contract_ends_on = DateField(_l("Service contract ends on"), validators=[Optional()])
    reminder_interval_days = IntegerField(_l("At most one reminder every (days)"), validators=[InputRequired(_INT)],
                                          default=7)
    auto_remind_min = StringField(_l("Remind automatically every home owing more than (yuan)"),
                                  validators=[Optional()],
                                  description=_l("Each morning at 10:00, homes owing more than this past due get the "
                                                 "polite reminder, at most once per interval. Empty: reminders "
                                                 "are sent only by hand."))
    offline_instructions = TextAreaField(_l("How to pay offline (bank account, office hours, counter)"),
                                         validators=[Optional()])
    late_fees_enabled = BooleanField(_l("Charge late fees under our service contract"))
    late_fee_clause = TextAreaField(_l("The contract's clause on late fees (its exact words)"),
                                    validators=[Optional()])
    late_fee_daily_permyriad = IntegerField(_l("Daily rate (‱ of the bill)"), validators=[Optional()])
    late_fee_grace_days = IntegerField(_l("Grace days"), validators=[Optional()])
    late_fee_cap_percent = IntegerField(_l("Cap (percent of the bill)"), validators=[Optional()])


class FeeItemForm(FlaskForm):
    name = StringField(_l("Item name"), validators=[CleanText(), InputRequired(_l("Enter a name."))])
    kind = SelectField(_l("Charged"), choices=[(k.value, k.label) for k in FeeKind], default=FeeKind.PER_AREA.value)
    area_basis = SelectField(_l("Floor area"), choices=[(k.value, k.label) for k in AreaBasis],
                             default=AreaBasis.GROSS.value)
    meter_kind = SelectField(_l("Meter"), choices=[(k.value, k.label) for k in MeterKind],
                             default=MeterKind.WATER.value)
    vacant_percent = IntegerField(_l("Vacant homes pay (%)"), default=100,
                                  validators=[InputRequired(_INT), NumberRange(0, 100, _l("Enter 0 to 100."))])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Labels in the request's language (an enum's .label is a plain string made when it is read).
        for f, enum in ((self.kind, FeeKind), (self.area_basis, AreaBasis), (self.meter_kind, MeterKind)):
            f.choices = [(k.value, k.label) for k in enum]


class RenameItemForm(FlaskForm):
    name = StringField(_l("Item name"), validators=[CleanText(), InputRequired(_l("Enter a name."))])
    vacant_percent = IntegerField(_l("Vacant homes pay (%)"),
                                  validators=[Optional(), NumberRange(0, 100, _l("Enter 0 to 100."))])


class RateForm(FlaskForm):
    price = StringField(_l("Price (yuan per unit, up to 4 decimals)"),
                        validators=[InputRequired(_l("Enter the price in yuan, e.g. 1.85."))])
    effective_from = DateField(_l("Takes effect on"), validators=[InputRequired(_l("Enter a date."))])
    note = StringField(_l("Basis (price document, owners' vote…)"), validators=[CleanText(), Optional()])


class SpaceForm(FlaskForm):
    name = StringField(_l("Space"), validators=[CleanText(), InputRequired(_l("Enter a name, e.g. B1-023."))])
    holder = SelectField(_l("Held by"), choices=[], validate_choice=False)


class InnerAreaForm(FlaskForm):
    inner_area = StringField(_l("Inner floor area (m²)"), validators=[Optional()])


class ReadingForm(FlaskForm):
    fee_item_id = SelectField(_l("Meter"), choices=[], validate_choice=False)
    read_on = DateField(_l("Read on"), validators=[InputRequired(_l("Enter a date."))])
    reading = StringField(_l("Reading"), validators=[InputRequired(_l("Enter the meter's figure, e.g. 1234.5."))])
    reset = BooleanField(_l("New meter (starts a new series)"))


class ChargeForm(FlaskForm):
    title = StringField(_l("What for"), validators=[CleanText(), InputRequired(_l("Say what the charge is for."))])
    amount = StringField(_l("Amount (yuan)"), validators=[InputRequired(_l("Enter an amount in yuan."))])
    reason = StringField(_l("Reason"), validators=[CleanText(), InputRequired(_l("Say why the household is "
                                                                                  "charged."))])


class RunForm(FlaskForm):
    community_id = SelectField(_l("Community"), choices=[], validate_choice=False)
    period_kind = SelectField(_l("Period"), choices=[(k.value, k.label) for k in PeriodKind],
                              default=PeriodKind.MONTH.value)
    period_start = DateField(_l("Period starts on"), validators=[InputRequired(_l("Choose a period."))])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.period_kind.choices = [(k.value, k.label) for k in PeriodKind]


class ConfirmForm(FlaskForm):
    pass
