"""Owner fees (物业费): what a company charges its households and how they pay. The ledger.

Money is integer fen everywhere (saas/money.py); unit prices are integer hundredths of a fen (``*_cfen``:
¥1.85/m² is 18500, ¥0.5283/kWh is 5283) because supplier prices carry four decimals; a line's amount is rounded
half-up to the fen once, by saas.money.round_fen.

The rules the tables enforce, so no code path can break them:
- A bill is never edited or deleted. A wrong bill gets a ``BillAdjustment``: a credit (part or all of it), or a
  reissue (a full credit plus a new bill of the next ``generation`` for the same charge).
- A household is billed once per charge and period: ``uq_bills_charge`` (household, period_start, charge_key,
  generation) in the database, so a re-run or two admins issuing at once cannot double-bill.
- A bill's ``paid_fen`` + ``credited_fen`` never exceed its ``amount_fen`` (CHECK); money beyond what is owed
  becomes a ``CreditEntry`` of the household (overpayment, prepayment), applied to later bills.
- Receipt numbers come from ``ReceiptCounter`` (per company and year, UPDATE … RETURNING): no gaps, no repeats.
- A payment's status changes only through the payment state machine (tenants/fees/payment_states.py), each
  change a ``PaymentEvent``.

Balance of a household = Σ bills (amount − credited − paid) − Σ credit entries; the property test checks that it
equals billed − credited − paid + refunded over any sequence of operations.
"""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime, timedelta

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    Uuid,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from saas.clock import AwareDateTime
from saas.extensions import db
from saas.i18n import _l
from saas.models import _enum
from saas.soft_delete import SoftDeletable
from saas.tenancy import CompanyScoped
from saas.tenancy import company_relationship as _in_company
from tenants.roster.models import Building, Community, Household  # noqa: F401  (relationship targets)


def _fk(column: str, table: str) -> ForeignKeyConstraint:
    return ForeignKeyConstraint(["company_id", column], [f"{table}.company_id", f"{table}.id"])


class _Labelled(enum.StrEnum):
    @property
    def label(self) -> str:
        return str(type(self)._labels()[self])

    @classmethod
    def _labels(cls) -> dict:
        raise NotImplementedError


# --- settings -------------------------------------------------------------------------------------------------


class FeeSettings(CompanyScoped, db.Model):
    """A company's fee rules. Late fees (违约金) stay off unless the company enters the clause of its service
    contract that sets them: no national rate exists, so the app assumes none."""

    __tablename__ = "fee_settings"
    __table_args__ = (
        Index("uq_fee_settings_company", "company_id", unique=True),
        CheckConstraint("late_fee_daily_permyriad BETWEEN 0 AND 100", name="late_fee_rate_range"),
        CheckConstraint("late_fee_cap_percent BETWEEN 0 AND 100", name="late_fee_cap_range"),
        CheckConstraint("prepay_cap_months BETWEEN 0 AND 36", name="prepay_cap_range"),
        CheckConstraint("auto_remind_min_fen IS NULL OR auto_remind_min_fen >= 0", name="auto_remind_min_range"),
    )

    late_fees_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    late_fee_clause: Mapped[str] = mapped_column(Text, default="")  # the contract's words, shown on each such bill
    late_fee_daily_permyriad: Mapped[int] = mapped_column(SmallInteger, default=0)  # 5 = 0.05% a day
    late_fee_grace_days: Mapped[int] = mapped_column(SmallInteger, default=0)
    late_fee_cap_percent: Mapped[int] = mapped_column(SmallInteger, default=0)  # of the bill's amount
    prepay_cap_months: Mapped[int] = mapped_column(SmallInteger, default=12)
    contract_ends_on: Mapped[date | None] = mapped_column(Date)  # prepayment never reaches past it
    due_days: Mapped[int] = mapped_column(SmallInteger, default=15)  # a bill is due this long after issue
    reminder_interval_days: Mapped[int] = mapped_column(SmallInteger, default=7)  # at most one reminder per home
    # The daily job reminds every home owing more than this past due; None: off (the company chooses).
    auto_remind_min_fen: Mapped[int | None] = mapped_column(BigInteger)
    offline_instructions: Mapped[str] = mapped_column(Text, default="")  # bank account, office hours, counter


# --- what is charged ------------------------------------------------------------------------------------------


class FeeKind(_Labelled):
    PER_AREA = "per_area"  # floor area × price per m² per month
    FIXED = "fixed"  # per household per month
    PARKING = "parking"  # per parking space per month, billed to its holder
    METERED = "metered"  # usage × the supplier's unit price, no markup (物业管理条例 44)
    ONE_OFF = "one_off"  # a paid repair, or a charge staff add with a reason

    @classmethod
    def _labels(cls):
        return {cls.PER_AREA: _l("Per m² of floor area"), cls.FIXED: _l("Fixed per household"),
                cls.PARKING: _l("Per parking space"), cls.METERED: _l("Metered (pass-through)"),
                cls.ONE_OFF: _l("One-off")}


class AreaBasis(_Labelled):
    GROSS = "gross"  # 建筑面积
    INNER = "inner"  # 套内面积

    @classmethod
    def _labels(cls):
        return {cls.GROSS: _l("Gross floor area"), cls.INNER: _l("Inner floor area")}


class MeterKind(_Labelled):
    WATER = "water"
    ELECTRICITY = "electricity"
    GAS = "gas"
    HEATING = "heating"

    @classmethod
    def _labels(cls):
        return {cls.WATER: _l("Water"), cls.ELECTRICITY: _l("Electricity"), cls.GAS: _l("Gas"),
                cls.HEATING: _l("Heating")}


class FeeItem(CompanyScoped, db.Model):
    """A fee item of one community (物业费, 停车服务费, 水费…). Archived, never deleted: its bills keep it."""

    __tablename__ = "fee_items"
    __table_args__ = (
        _fk("community_id", "communities"),
        Index("uq_fee_items_live_name", "company_id", "community_id", "name", unique=True,
              sqlite_where=text("archived_at IS NULL"), postgresql_where=text("archived_at IS NULL")),
        CheckConstraint("vacant_percent BETWEEN 0 AND 100", name="vacant_percent_range"),
        CheckConstraint("(kind = 'per_area') = (area_basis IS NOT NULL)", name="area_basis_for_per_area"),
        CheckConstraint("(kind = 'metered') = (meter_kind IS NOT NULL)", name="meter_kind_for_metered"),
    )

    community_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    name: Mapped[str] = mapped_column(String(40))
    kind: Mapped[FeeKind] = mapped_column(_enum(FeeKind, "fee_kind"))
    area_basis: Mapped[AreaBasis | None] = mapped_column(_enum(AreaBasis, "fee_area_basis"))
    meter_kind: Mapped[MeterKind | None] = mapped_column(_enum(MeterKind, "fee_meter_kind"))
    vacant_percent: Mapped[int] = mapped_column(SmallInteger, default=100)  # of the rate charged to a vacant home
    position: Mapped[int] = mapped_column(Integer, default=0)
    archived_at: Mapped[datetime | None] = mapped_column(AwareDateTime())

    community: Mapped[Community] = _in_company("FeeItem", "community_id", "Community")


class FeeRate(CompanyScoped, db.Model):
    """A price of a fee item from a date on. Rates are versions: one already used by a bill is never edited, a
    new one succeeds it (the bill keeps pointing at the rate it used)."""

    __tablename__ = "fee_rates"
    __table_args__ = (
        _fk("fee_item_id", "fee_items"),
        Index("uq_fee_rates_item_from", "company_id", "fee_item_id", "effective_from", unique=True),
        CheckConstraint("unit_price_cfen >= 0 AND unit_price_cfen <= 100000000", name="unit_price_range"),
    )

    fee_item_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    effective_from: Mapped[date] = mapped_column(Date)
    unit_price_cfen: Mapped[int] = mapped_column(BigInteger)  # hundredths of a fen per unit (m²·month, month, kWh…)
    note: Mapped[str] = mapped_column(String(200), default="")  # e.g. the price-bureau document, the vote
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))

    fee_item: Mapped[FeeItem] = _in_company("FeeRate", "fee_item_id", "FeeItem")


class ParkingSpace(SoftDeletable, CompanyScoped, db.Model):
    """A chargeable parking space of a community and the household that holds it (None: nobody, not billed)."""

    __tablename__ = "parking_spaces"
    __table_args__ = (
        _fk("community_id", "communities"),
        _fk("holder_household_id", "households"),
        Index("uq_parking_spaces_live_name", "company_id", "community_id", "name", unique=True,
              sqlite_where=text("deleted_at IS NULL"), postgresql_where=text("deleted_at IS NULL")),
    )

    community_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    name: Mapped[str] = mapped_column(String(20))  # e.g. "B1-023"
    holder_household_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)

    community: Mapped[Community] = _in_company("ParkingSpace", "community_id", "Community")
    holder: Mapped[Household | None] = _in_company("ParkingSpace", "holder_household_id", "Household")


class MeterReading(CompanyScoped, db.Model):
    """A meter's reading for one household and metered item on a day; usage is the difference from the one
    before. A reading lower than the previous one is refused (a replaced meter starts a new series by a reset
    reading with ``reset`` set)."""

    __tablename__ = "meter_readings"
    __table_args__ = (
        _fk("household_id", "households"),
        _fk("fee_item_id", "fee_items"),
        Index("uq_meter_readings_day", "company_id", "household_id", "fee_item_id", "read_on", unique=True),
        CheckConstraint("reading_milli >= 0", name="reading_not_negative"),
    )

    household_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    fee_item_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    read_on: Mapped[date] = mapped_column(Date)
    reading_milli: Mapped[int] = mapped_column(BigInteger)  # the meter's figure × 1000
    reset: Mapped[bool] = mapped_column(Boolean, default=False)  # a new meter: no usage before this reading
    source: Mapped[str] = mapped_column(String(10), default="phone")  # phone | import
    recorded_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))

    household: Mapped[Household] = _in_company("MeterReading", "household_id", "Household")
    fee_item: Mapped[FeeItem] = _in_company("MeterReading", "fee_item_id", "FeeItem")


# --- bills ------------------------------------------------------------------------------------------------------


class PeriodKind(_Labelled):
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"

    @classmethod
    def _labels(cls):
        return {cls.MONTH: _l("Month"), cls.QUARTER: _l("Quarter"), cls.YEAR: _l("Year")}


class BillRunStatus(_Labelled):
    PREVIEWING = "previewing"  # the job is working out who gets what
    PREVIEWED = "previewed"  # the preview is ready; nothing issued yet
    ISSUING = "issuing"
    ISSUED = "issued"
    FAILED = "failed"

    @classmethod
    def _labels(cls):
        return {cls.PREVIEWING: _l("Preparing the preview"), cls.PREVIEWED: _l("Preview ready"),
                cls.ISSUING: _l("Issuing"), cls.ISSUED: _l("Issued"), cls.FAILED: _l("Failed")}


class BillRun(CompanyScoped, db.Model):
    """出账: billing one community for one period, previewed then issued by background jobs."""

    __tablename__ = "bill_runs"
    __table_args__ = (
        _fk("community_id", "communities"),
        Index("ix_bill_runs_community", "company_id", "community_id", "period_start"),
        CheckConstraint("period_end > period_start", name="period_order"),
    )

    community_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    period_kind: Mapped[PeriodKind] = mapped_column(_enum(PeriodKind, "fee_period_kind"))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)  # exclusive: a month is [1 Dec, 1 Jan)
    status: Mapped[BillRunStatus] = mapped_column(_enum(BillRunStatus, "bill_run_status"),
                                                  default=lambda: BillRunStatus.PREVIEWING)
    progress: Mapped[int] = mapped_column(Integer, default=0)  # households done
    total: Mapped[int] = mapped_column(Integer, default=0)  # households to do
    # {"households": n, "bills": n, "total_fen": n, "skipped": [{"household_id", "label", "reason"}], "items": …}
    preview: Mapped[dict] = mapped_column(JSON, default=dict)
    issued_bills: Mapped[int] = mapped_column(Integer, default=0)
    total_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    job_id: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))
    issued_at: Mapped[datetime | None] = mapped_column(AwareDateTime())

    community: Mapped[Community] = _in_company("BillRun", "community_id", "Community")


class BillKind(_Labelled):
    RUN = "run"  # from a bill run: per area, fixed, parking, metered
    ONE_OFF = "one_off"  # added by staff with a reason
    REPAIR = "repair"  # an accepted work-order quote
    LATE_FEE = "late_fee"  # 违约金 under the contract clause, on an overdue bill
    OPENING = "opening"  # arrears carried over from the old ledger

    @classmethod
    def _labels(cls):
        return {cls.RUN: _l("Periodic fee"), cls.ONE_OFF: _l("One-off charge"), cls.REPAIR: _l("Paid repair"),
                cls.LATE_FEE: _l("Late fee"), cls.OPENING: _l("Opening balance")}


class Bill(CompanyScoped, db.Model):
    """One charge to one household for one period. Immutable once issued except for the running totals
    ``paid_fen`` and ``credited_fen``, which change with row locks in the same transaction as the allocation or
    adjustment that moves them.

    ``charge_key`` names what is charged, so the unique index makes each charge once per period:
    "item:<fee item>" (per area, fixed, metered), "item:<fee item>:space:<parking space>", "repair:<work order>",
    "once:<uuid>", "late:<bill>", "opening". A reissue is the same charge and period with ``generation`` + 1."""

    __tablename__ = "bills"
    # Database triggers on this table keep the fee figures (migration 0016_fees, tenants/fees/figures.py). A SQLite
    # batch migration (op.batch_alter_table) rebuilds the table and DROPS them: such a migration must create them
    # again (tests/test_fee_figures.py checks they exist at head).
    __table_args__ = (
        _fk("household_id", "households"),
        _fk("community_id", "communities"),
        _fk("building_id", "buildings"),
        _fk("fee_item_id", "fee_items"),
        _fk("rate_id", "fee_rates"),
        _fk("bill_run_id", "bill_runs"),
        _fk("parking_space_id", "parking_spaces"),
        _fk("replaces_id", "bills"),
        Index("uq_bills_charge", "company_id", "household_id", "period_start", "charge_key", "generation",
              unique=True),
        # Arrears and collection reports scan by community/building and period; the owner's page by household.
        Index("ix_bills_community_period", "company_id", "community_id", "period_start"),
        Index("ix_bills_household", "company_id", "household_id", "period_start"),
        Index("ix_bills_run", "company_id", "bill_run_id"),
        # Arrears read only the bills still open (a few percent of them once a company has years of history),
        # with what the sums need in the index itself.
        Index("ix_bills_open", "company_id", "due_on",
              postgresql_include=["community_id", "building_id", "household_id", "amount_fen", "paid_fen",
                                  "credited_fen"],
              postgresql_where=text("amount_fen > paid_fen + credited_fen"),
              sqlite_where=text("amount_fen > paid_fen + credited_fen")),
        CheckConstraint("amount_fen >= 0", name="amount_not_negative"),
        CheckConstraint("paid_fen >= 0 AND credited_fen >= 0 AND paid_fen + credited_fen <= amount_fen",
                        name="never_paid_beyond_amount"),
        CheckConstraint("period_end > period_start", name="period_order"),
    )

    household_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    community_id: Mapped[uuid.UUID] = mapped_column(Uuid)  # the household's, copied for reports
    building_id: Mapped[uuid.UUID] = mapped_column(Uuid)  # the household's, copied for reports
    kind: Mapped[BillKind] = mapped_column(_enum(BillKind, "bill_kind"))
    fee_item_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    rate_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    bill_run_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    parking_space_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    work_order_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)  # REPAIR: the job whose quote it is
    charge_key: Mapped[str] = mapped_column(String(100))
    generation: Mapped[int] = mapped_column(SmallInteger, default=0)
    replaces_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)  # a reissue: the bill it corrects
    title: Mapped[str] = mapped_column(String(60))  # the item's name when billed
    detail: Mapped[str] = mapped_column(String(200), default="")  # "89.50 m² × ¥1.85 × 1 个月"
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)  # exclusive
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    paid_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    credited_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    due_on: Mapped[date] = mapped_column(Date)
    late_fee_clause: Mapped[str] = mapped_column(Text, default="")  # LATE_FEE: the contract's words
    reason: Mapped[str] = mapped_column(String(200), default="")  # ONE_OFF / OPENING: why
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))

    household: Mapped[Household] = _in_company("Bill", "household_id", "Household")
    community: Mapped[Community] = _in_company("Bill", "community_id", "Community")
    building: Mapped[Building] = _in_company("Bill", "building_id", "Building")
    fee_item: Mapped[FeeItem | None] = _in_company("Bill", "fee_item_id", "FeeItem")
    rate: Mapped[FeeRate | None] = _in_company("Bill", "rate_id", "FeeRate")

    @property
    def outstanding_fen(self) -> int:
        return self.amount_fen - self.paid_fen - self.credited_fen

    @property
    def period_last_day(self) -> date:
        """The last day the bill covers (period_end is exclusive), as a person writes a period."""
        return self.period_end - timedelta(days=1)


class AdjustmentKind(_Labelled):
    CREDIT = "credit"  # part or all of the bill is waived (减免, a correction)
    REISSUE = "reissue"  # the bill is credited in full and a corrected one issued

    @classmethod
    def _labels(cls):
        return {cls.CREDIT: _l("Credit"), cls.REISSUE: _l("Reissue")}


class BillAdjustment(CompanyScoped, db.Model):
    """A correction of a bill, with its reason; the bill itself is never changed but for its credited total."""

    __tablename__ = "bill_adjustments"
    __table_args__ = (
        _fk("bill_id", "bills"),
        _fk("replacement_bill_id", "bills"),
        Index("ix_bill_adjustments_bill", "company_id", "bill_id"),
        CheckConstraint("amount_fen > 0", name="amount_positive"),
    )

    bill_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    kind: Mapped[AdjustmentKind] = mapped_column(_enum(AdjustmentKind, "bill_adjustment_kind"))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(200))
    replacement_bill_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))

    bill: Mapped[Bill] = _in_company("BillAdjustment", "bill_id", "Bill")


# --- payments -----------------------------------------------------------------------------------------------


class PaymentMethod(_Labelled):
    CASH = "cash"
    BANK_TRANSFER = "bank_transfer"
    POS = "pos"
    WECHAT_TRANSFER = "wechat_transfer"  # a transfer to the company's own WeChat account, recorded by staff
    ALIPAY_TRANSFER = "alipay_transfer"
    WECHAT_PAY = "wechat_pay"  # online, through the platform's service-provider account

    @classmethod
    def _labels(cls):
        return {cls.CASH: _l("Cash"), cls.BANK_TRANSFER: _l("Bank transfer"), cls.POS: _l("Card (POS)"),
                cls.WECHAT_TRANSFER: _l("WeChat transfer"), cls.ALIPAY_TRANSFER: _l("Alipay transfer"),
                cls.WECHAT_PAY: _l("WeChat Pay")}

    @property
    def offline(self) -> bool:
        return self != PaymentMethod.WECHAT_PAY


class PaymentStatus(_Labelled):
    CREATED = "created"  # an online order made, not yet shown to the payer
    PENDING = "pending"  # waiting for WeChat Pay
    PAID = "paid"
    FAILED = "failed"
    CLOSED = "closed"  # expired or closed unpaid
    PARTLY_REFUNDED = "partly_refunded"
    REFUNDED = "refunded"

    @classmethod
    def _labels(cls):
        return {cls.CREATED: _l("Created"), cls.PENDING: _l("Waiting for payment"), cls.PAID: _l("Paid"),
                cls.FAILED: _l("Failed"), cls.CLOSED: _l("Closed"), cls.PARTLY_REFUNDED: _l("Partly refunded"),
                cls.REFUNDED: _l("Refunded")}


class Payment(CompanyScoped, db.Model):
    """Money from (or for) one household: recorded by staff (offline) or paid through WeChat Pay (online)."""

    __tablename__ = "payments"
    # Database triggers on this table keep the fee figures (migration 0016_fees, keyed on community_id since
    # 0018_payment_community; tenants/fees/figures.py). A SQLite batch migration (op.batch_alter_table) rebuilds the
    # table and DROPS them: such a migration must create them again (tests/test_fee_figures.py checks they exist).
    __table_args__ = (
        _fk("household_id", "households"),
        _fk("community_id", "communities"),
        Index("ix_payments_household", "company_id", "household_id", "created_at"),
        Index("uq_payments_receipt", "company_id", "receipt_number", unique=True),
        Index("uq_payments_out_trade_no", "out_trade_no", unique=True),
        Index("uq_payments_wechat_transaction", "wechat_transaction_id", unique=True),
        Index("ix_payments_pending", "company_id", "status", "created_at"),
        Index("ix_payments_paid", "company_id", "paid_at", "id", postgresql_where=text("receipt_number IS NOT NULL"),
              sqlite_where=text("receipt_number IS NOT NULL")),  # the payments list, newest first
        Index("ix_payments_community_paid", "company_id", "community_id", "paid_at", "id",
              postgresql_where=text("receipt_number IS NOT NULL"),
              sqlite_where=text("receipt_number IS NOT NULL")),  # the same, filtered by community
        CheckConstraint("amount_fen > 0 AND amount_fen <= 100000000000", name="amount_range"),
        CheckConstraint("refunded_fen >= 0 AND refunded_fen <= amount_fen", name="refund_within_amount"),
    )

    household_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    # The household's community when the payment was made, copied like a bill's: the figures and the payments
    # list count a payment there even after the household moves to another building (migration 0018).
    community_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    method: Mapped[PaymentMethod] = mapped_column(_enum(PaymentMethod, "payment_method"))
    status: Mapped[PaymentStatus] = mapped_column(_enum(PaymentStatus, "payment_status"))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    refunded_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    reference: Mapped[str] = mapped_column(String(64), default="")  # the bank's or POS slip's reference
    note: Mapped[str] = mapped_column(String(200), default="")
    receipt_number: Mapped[str | None] = mapped_column(String(20))  # SJ-2026-000123, given when paid
    paid_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    recorded_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))  # offline: the cashier
    payer_user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))  # online: the owner
    # WeChat Pay (service-provider mode): the order we made and what WeChat last told us.
    out_trade_no: Mapped[str | None] = mapped_column(String(32))
    wechat_transaction_id: Mapped[str | None] = mapped_column(String(32))
    wechat_channel: Mapped[str | None] = mapped_column(String(10))  # native | h5
    wechat_code_url: Mapped[str | None] = mapped_column(String(512))  # Native: the QR's content; H5: the h5_url
    wechat_trade_state: Mapped[str | None] = mapped_column(String(20))
    wechat_state_at: Mapped[datetime | None] = mapped_column(AwareDateTime())  # when WeChat's state was true
    expires_at: Mapped[datetime | None] = mapped_column(AwareDateTime())

    household: Mapped[Household] = _in_company("Payment", "household_id", "Household")
    community: Mapped[Community] = _in_company("Payment", "community_id", "Community")


class PaymentAllocation(CompanyScoped, db.Model):
    """How much of a payment settles which bill (positive), or is taken back from it by a refund (negative)."""

    __tablename__ = "payment_allocations"
    __table_args__ = (
        _fk("payment_id", "payments"),
        _fk("bill_id", "bills"),
        _fk("refund_id", "payment_refunds"),
        Index("ix_payment_allocations_payment", "company_id", "payment_id"),
        Index("ix_payment_allocations_bill", "company_id", "bill_id"),
        CheckConstraint("amount_fen <> 0", name="amount_not_zero"),
    )

    payment_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    bill_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    refund_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)

    payment: Mapped[Payment] = _in_company("PaymentAllocation", "payment_id", "Payment")
    bill: Mapped[Bill] = _in_company("PaymentAllocation", "bill_id", "Bill")


class PaymentEvent(CompanyScoped, db.Model):
    """A payment's history: every status change, who or what made it (staff, the owner, WeChat's callback, the
    reconciliation job) and what WeChat said."""

    __tablename__ = "payment_events"
    __table_args__ = (
        _fk("payment_id", "payments"),
        Index("ix_payment_events_payment", "company_id", "payment_id", "created_at"),
    )

    payment_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(String(20))  # staff | owner | callback | reconcile | refund
    actor_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))
    details: Mapped[dict] = mapped_column(JSON, default=dict)


class RefundStatus(_Labelled):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"

    @classmethod
    def _labels(cls):
        return {cls.PENDING: _l("Refund in progress"), cls.SUCCEEDED: _l("Refunded"), cls.FAILED: _l("Refund failed")}


class PaymentRefund(CompanyScoped, db.Model):
    """Money given back from a payment: all or part, offline (staff hand it back) or through WeChat Pay."""

    __tablename__ = "payment_refunds"
    __table_args__ = (
        _fk("payment_id", "payments"),
        Index("ix_payment_refunds_payment", "company_id", "payment_id"),
        Index("uq_payment_refunds_out_refund_no", "out_refund_no", unique=True),
        CheckConstraint("amount_fen > 0", name="amount_positive"),
    )

    payment_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(200))
    status: Mapped[RefundStatus] = mapped_column(_enum(RefundStatus, "payment_refund_status"))
    out_refund_no: Mapped[str | None] = mapped_column(String(64))
    wechat_refund_id: Mapped[str | None] = mapped_column(String(64))
    refunded_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))

    payment: Mapped[Payment] = _in_company("PaymentRefund", "payment_id", "Payment")


class ReceiptCounter(CompanyScoped, db.Model):
    """The last receipt number per company and year (SJ-2026-000123 is (2026, 123)), bumped with
    UPDATE … RETURNING like work-order numbers: never repeated, no gaps."""

    __tablename__ = "receipt_counters"
    __table_args__ = (Index("uq_receipt_counters_year", "company_id", "year", unique=True),)

    year: Mapped[int] = mapped_column(Integer)
    last_number: Mapped[int] = mapped_column(Integer, default=0)


class CreditKind(_Labelled):
    OVERPAYMENT = "overpayment"  # paid more than the bills it was for (two payers at once, a round sum)
    PREPAYMENT = "prepayment"  # 预交: paid ahead on purpose
    APPLIED = "applied"  # used to settle a bill (negative)
    REFUNDED = "refunded"  # given back (negative)
    CREDIT_NOTE = "credit_note"  # a credit of an already paid bill: the paid part comes back as credit

    @classmethod
    def _labels(cls):
        return {cls.OVERPAYMENT: _l("Overpayment"), cls.PREPAYMENT: _l("Prepayment"),
                cls.APPLIED: _l("Applied to a bill"), cls.REFUNDED: _l("Refunded"),
                cls.CREDIT_NOTE: _l("Credit from a corrected bill")}


class CreditEntry(CompanyScoped, db.Model):
    """A household's credit balance as a ledger: positive entries add to it, negative ones use it up. The balance
    is their sum and never goes below zero (services lock the household's entries before spending)."""

    __tablename__ = "credit_entries"
    __table_args__ = (
        _fk("household_id", "households"),
        _fk("payment_id", "payments"),
        _fk("bill_id", "bills"),
        _fk("refund_id", "payment_refunds"),
        Index("ix_credit_entries_household", "company_id", "household_id", "created_at"),
        CheckConstraint("amount_fen <> 0", name="amount_not_zero"),
    )

    household_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    kind: Mapped[CreditKind] = mapped_column(_enum(CreditKind, "credit_kind"))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    payment_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    bill_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    refund_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    note: Mapped[str] = mapped_column(String(200), default="")
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))


class InvoiceStatus(_Labelled):
    REQUESTED = "requested"
    ISSUED = "issued"
    REJECTED = "rejected"

    @classmethod
    def _labels(cls):
        return {cls.REQUESTED: _l("Requested"), cls.ISSUED: _l("Issued"), cls.REJECTED: _l("Declined")}


class InvoiceRequest(CompanyScoped, db.Model):
    """An owner's request for a 发票 for a payment. A receipt (收据) is not an invoice: staff issue the invoice
    in the tax system themselves and record its number and file here (no tax-system integration)."""

    __tablename__ = "invoice_requests"
    __table_args__ = (
        _fk("payment_id", "payments"),
        _fk("household_id", "households"),
        Index("ix_invoice_requests_status", "company_id", "status", "created_at"),
    )

    payment_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    household_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    title: Mapped[str] = mapped_column(String(100))  # 抬头
    tax_number: Mapped[str] = mapped_column(String(20), default="")  # 税号 (a company's; empty for a person)
    email: Mapped[str] = mapped_column(String(254), default="")
    status: Mapped[InvoiceStatus] = mapped_column(_enum(InvoiceStatus, "invoice_status"),
                                                  default=lambda: InvoiceStatus.REQUESTED)
    invoice_number: Mapped[str] = mapped_column(String(40), default="")
    file_path: Mapped[str] = mapped_column(String(300), default="")
    reject_reason: Mapped[str] = mapped_column(String(200), default="")
    requested_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))
    handled_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))
    handled_at: Mapped[datetime | None] = mapped_column(AwareDateTime())

    payment: Mapped[Payment] = _in_company("InvoiceRequest", "payment_id", "Payment")


# --- collection -----------------------------------------------------------------------------------------------


class CollectionReminder(CompanyScoped, db.Model):
    """A reminder of what a household owes (催缴): an SMS and in-app notice, or a printed written demand
    (书面催缴通知书). At most one SMS per household per FeeSettings.reminder_interval_days. Collection never
    cuts water, power, heat, gas, lifts, door access or parking (民法典 944): nothing here offers it."""

    __tablename__ = "collection_reminders"
    __table_args__ = (
        _fk("household_id", "households"),
        Index("ix_collection_reminders_household", "company_id", "household_id", "created_at"),
    )

    household_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    channel: Mapped[str] = mapped_column(String(10))  # sms | letter
    owed_fen: Mapped[int] = mapped_column(BigInteger)
    sent_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))  # None: the reminder job


class PaymentRoute(db.Model):
    """Platform table (not company-scoped, no personal data): which company an online order number belongs to.
    WeChat Pay's callback names only the order, so this is how it finds the company whose context to set, as
    repair_point_tokens does for a QR poster. The payment itself is read in that company's context only."""

    __tablename__ = "fee_payment_routes"

    out_trade_no: Mapped[str] = mapped_column(String(32), primary_key=True)
    company_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("companies.id"), index=True)
    payment_id: Mapped[uuid.UUID] = mapped_column(Uuid)


# --- pre-aggregated figures (tenants/fees/figures.py) -----------------------------------------------------------
# Kept exact by database triggers on bills and payments (migration 0016_fees): any write, the app's or bulk SQL,
# moves them in the same transaction. Not CompanyScoped (no id of their own: the key is the primary key), so
# queries name company_id themselves; row-level security applies like everywhere (company_id leads the key).


class FeeMonthFigure(db.Model):
    """Per company, community and month (of ``period_start``): billed (amount − credited) and paid, late fees left
    out: the collection rate's sums (tenants/fees/collection.py)."""

    __tablename__ = "fee_month_figures"

    company_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("companies.id"), primary_key=True)
    community_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    month: Mapped[date] = mapped_column(Date, primary_key=True)  # the 1st
    billed_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    paid_fen: Mapped[int] = mapped_column(BigInteger, default=0)


class FeeArrearsState(db.Model):
    """The day the arrears figures below are counted for, and that day's age boundaries (so the triggers compare
    dates and never compute them). ``figures.ensure_fresh`` moves it to today, recounting once a day."""

    __tablename__ = "fee_arrears_state"

    company_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("companies.id"), primary_key=True)
    as_of: Mapped[date] = mapped_column(Date)  # a bill due before this day is overdue
    d30_from: Mapped[date] = mapped_column(Date)  # due on or after: up to 30 days overdue
    d90_from: Mapped[date] = mapped_column(Date)
    d365_from: Mapped[date] = mapped_column(Date)
    flag_cutoff: Mapped[date] = mapped_column(Date)  # oldest unpaid due on or before: the limitation flag


class FeeHouseholdArrears(db.Model):
    """What one household owes past due on ``fee_arrears_state.as_of``, by age. A household that no longer owes
    keeps a row of zeros (the app's database role may not delete): read with ``total > 0``."""

    __tablename__ = "fee_household_arrears"
    __table_args__ = (
        Index("ix_fee_household_arrears_total", "company_id", "total", "household_id"),
        Index("ix_fee_household_arrears_community", "company_id", "community_id", "total", "household_id"),
        Index("ix_fee_household_arrears_building", "company_id", "building_id", "total", "household_id"),
        Index("ix_fee_household_arrears_oldest", "company_id", "oldest_due", "household_id"),
    )

    company_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("companies.id"), primary_key=True)
    household_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    community_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    building_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    d30: Mapped[int] = mapped_column(BigInteger)
    d90: Mapped[int] = mapped_column(BigInteger)
    d365: Mapped[int] = mapped_column(BigInteger)
    older: Mapped[int] = mapped_column(BigInteger)
    total: Mapped[int] = mapped_column(BigInteger)
    oldest_due: Mapped[date | None] = mapped_column(Date)  # None: owes nothing now


class FeeBuildingArrears(db.Model):
    """The sums of a building's FeeHouseholdArrears (a row may stay with households = 0: read with > 0)."""

    __tablename__ = "fee_building_arrears"
    __table_args__ = (Index("ix_fee_building_arrears_community", "company_id", "community_id"),)

    company_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("companies.id"), primary_key=True)
    building_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    community_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    d30: Mapped[int] = mapped_column(BigInteger, default=0)
    d90: Mapped[int] = mapped_column(BigInteger, default=0)
    d365: Mapped[int] = mapped_column(BigInteger, default=0)
    older: Mapped[int] = mapped_column(BigInteger, default=0)
    total: Mapped[int] = mapped_column(BigInteger, default=0)
    households: Mapped[int] = mapped_column(Integer, default=0)
    flagged: Mapped[int] = mapped_column(Integer, default=0)


class FeePaymentDay(db.Model):
    """Payments with a receipt per company, Shanghai day of ``paid_at``, community, method and status: the
    payments list's count and sums under any of its filters."""

    __tablename__ = "fee_payment_days"

    company_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("companies.id"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    community_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    method: Mapped[str] = mapped_column(String(20), primary_key=True)
    status: Mapped[str] = mapped_column(String(20), primary_key=True)
    payments: Mapped[int] = mapped_column(Integer, default=0)
    amount_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    refunded_fen: Mapped[int] = mapped_column(BigInteger, default=0)
