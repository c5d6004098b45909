"""Disclosure tables.

- ``DisclosureProfile``: one per community, what the 明码标价 board says that the fees module does not hold
  (service grade, price form, basis document, billing start, the price-complaint phone, 12315 by default).
- ``Publication``: one version of one disclosure (a board snapshot, a statement, a rate-change notice). A draft can
  be edited; once published it never changes again (only ``superseded_at``/``superseded_by_id`` are set when a
  correction replaces it). Versions of the same disclosure share ``series_id``; ``version`` counts from 1. Nothing
  is deleted.
- ``PublicationLine``: a line of a statement, amounts in integer fen.
- ``Objection``: an owner's question on a published line, answered in public. The owner is stored for the company
  (who asked) but the public pages show only the building ("3 号楼业主"), copied at the time.
- ``DisclosureReminder``: which due disclosures the admins were already reminded of (the job is idempotent).
"""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
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
)
from sqlalchemy.orm import Mapped, mapped_column

from saas.clock import AwareDateTime
from saas.extensions import db
from saas.i18n import _l
from saas.models import _enum
from saas.tenancy import CompanyScoped
from saas.tenancy import company_relationship as _in_company
from tenants.roster.models import Community  # noqa: F401  (relationship target)

MAX_FEN = 100_000_000_000  # ¥1,000,000,000: far above any community's yearly accounts, far below BIGINT


def _fk(column: str, table: str) -> ForeignKeyConstraint:
    return ForeignKeyConstraint(["company_id", column], [f"{table}.company_id", f"{table}.id"])


class _Labelled(enum.StrEnum):
    @property
    def label(self) -> str:
        return str(type(self)._labels()[self])

    @classmethod
    def _labels(cls) -> dict:
        raise NotImplementedError


class Kind(_Labelled):
    BOARD = "board"  # 明码标价: generated from the fee items and rates
    RATE_CHANGE = "rate_change"  # a new rate, announced ≥ 30 days before it takes effect
    COMMON_INCOME = "common_income"  # 公共收益: ads, parking on common land, venue rent
    SERVICE_ACCOUNTS = "service_accounts"  # 物业服务收支 (酬金制: budget and final accounts)
    MAINTENANCE_FUND = "maintenance_fund"  # 维修资金使用
    SHARED_ENERGY = "shared_energy"  # 公共能耗分摊
    PARKING = "parking"  # 车位出售、出租
    ANNUAL_REPORT = "annual_report"  # 年度报告, by the end of Q1

    @classmethod
    def _labels(cls):
        return {cls.BOARD: _l("Price board (明码标价)"), cls.RATE_CHANGE: _l("Rate change notice"),
                cls.COMMON_INCOME: _l("Common-area income"), cls.SERVICE_ACCOUNTS: _l("Service income and spending"),
                cls.MAINTENANCE_FUND: _l("Maintenance fund use"), cls.SHARED_ENERGY: _l("Shared energy split"),
                cls.PARKING: _l("Parking spaces sold and rented"), cls.ANNUAL_REPORT: _l("Annual report")}

    @property
    def is_statement(self) -> bool:
        return self not in (Kind.BOARD, Kind.RATE_CHANGE)


STATEMENT_KINDS = tuple(k for k in Kind if k.is_statement)


class Status(_Labelled):
    DRAFT = "draft"
    PUBLISHED = "published"
    SUPERSEDED = "superseded"  # a correction replaced it; it stays public in the history

    @classmethod
    def _labels(cls):
        return {cls.DRAFT: _l("Draft"), cls.PUBLISHED: _l("Published"), cls.SUPERSEDED: _l("Superseded")}


class Direction(_Labelled):
    INCOME = "income"
    SPENDING = "spending"

    @classmethod
    def _labels(cls):
        return {cls.INCOME: _l("Income"), cls.SPENDING: _l("Spending")}


class PriceForm(_Labelled):
    GOVERNMENT = "government"  # 政府指导价
    MARKET = "market"  # 市场调节价

    @classmethod
    def _labels(cls):
        return {cls.GOVERNMENT: _l("Government-guided price"), cls.MARKET: _l("Market price")}


class DisclosureProfile(CompanyScoped, db.Model):
    __tablename__ = "disclosure_profiles"
    __table_args__ = (
        _fk("community_id", "communities"),
        Index("uq_disclosure_profiles_community", "company_id", "community_id", unique=True),
    )

    community_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    charged_party: Mapped[str] = mapped_column(String(100), default="")  # 收费对象, e.g. 全体业主
    service_grade: Mapped[str] = mapped_column(Text, default="")  # 服务内容与标准
    price_form: Mapped[PriceForm] = mapped_column(_enum(PriceForm, "disclosure_price_form"),
                                                  default=lambda: PriceForm.MARKET)
    basis_document: Mapped[str] = mapped_column(String(200), default="")  # 收费依据: contract, price-bureau doc
    billing_start: Mapped[date | None] = mapped_column(Date)  # 计费起始日期
    complaint_phone: Mapped[str] = mapped_column(String(20), default="12315")  # 价格举报电话
    calendar_from: Mapped[date] = mapped_column(Date)  # statements are due for periods from this day on

    community: Mapped[Community] = _in_company("DisclosureProfile", "community_id", "Community")


class Publication(CompanyScoped, db.Model):
    __tablename__ = "disclosure_publications"
    __table_args__ = (
        _fk("community_id", "communities"),
        _fk("superseded_by_id", "disclosure_publications"),
        Index("uq_disclosure_publications_version", "company_id", "series_id", "version", unique=True),
        Index("ix_disclosure_publications_community", "company_id", "community_id", "kind", "status"),
        CheckConstraint("period_end >= period_start", name="period_order"),
        CheckConstraint("version >= 1", name="version_positive"),
    )

    community_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    series_id: Mapped[uuid.UUID] = mapped_column(Uuid)  # the first version's id: every version shares it
    version: Mapped[int] = mapped_column(SmallInteger, default=1)
    kind: Mapped[Kind] = mapped_column(_enum(Kind, "disclosure_kind"))
    status: Mapped[Status] = mapped_column(_enum(Status, "disclosure_status"), default=lambda: Status.DRAFT)
    title: Mapped[str] = mapped_column(String(100))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)  # inclusive: the last day covered, as printed on the notice
    note: Mapped[str] = mapped_column(Text, default="")
    correction_reason: Mapped[str] = mapped_column(String(300), default="")  # version ≥ 2: why
    board: Mapped[dict | None] = mapped_column(JSON)  # BOARD: the snapshot of the fee items and rates
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))
    published_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    published_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))
    published_by_name: Mapped[str] = mapped_column(String(64), default="")  # the role shown publicly, not a name
    superseded_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    superseded_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)

    community: Mapped[Community] = _in_company("Publication", "community_id", "Community")

    @property
    def is_draft(self) -> bool:
        return self.status == Status.DRAFT


class PublicationLine(CompanyScoped, db.Model):
    __tablename__ = "disclosure_lines"
    __table_args__ = (
        _fk("publication_id", "disclosure_publications"),
        _fk("fee_item_id", "fee_items"),
        Index("ix_disclosure_lines_publication", "company_id", "publication_id", "position"),
        CheckConstraint(f"amount_fen >= 0 AND amount_fen <= {MAX_FEN}", name="amount_range"),
        CheckConstraint("cost_fen IS NULL OR (cost_fen >= 0 AND cost_fen <= amount_fen)", name="cost_range"),
        CheckConstraint(f"owners_share_fen IS NULL OR (owners_share_fen >= 0 AND owners_share_fen <= {MAX_FEN})",
                        name="share_range"),
    )

    publication_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    position: Mapped[int] = mapped_column(Integer, default=0)
    label: Mapped[str] = mapped_column(String(100))  # the item, project or account
    direction: Mapped[Direction] = mapped_column(_enum(Direction, "disclosure_direction"),
                                                 default=lambda: Direction.INCOME)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    cost_fen: Mapped[int | None] = mapped_column(BigInteger)  # 公共收益: the reasonable cost
    owners_share_fen: Mapped[int | None] = mapped_column(BigInteger)  # 公共收益: the owners' share
    detail: Mapped[str] = mapped_column(String(300), default="")  # basis, where it went, approval, contractor
    # RATE_CHANGE: which item gets which price from which day (the fees rule checks these).
    fee_item_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    unit_price_cfen: Mapped[int | None] = mapped_column(BigInteger)
    effective_from: Mapped[date | None] = mapped_column(Date)
    # A line taken off a draft before it was ever published. Rows are never deleted (the app's database role may
    # not DELETE); a removed line is simply not read.
    removed_at: Mapped[datetime | None] = mapped_column(AwareDateTime())

    @property
    def net_fen(self) -> int:
        return self.amount_fen - (self.cost_fen or 0)


class ObjectionStatus(_Labelled):
    OPEN = "open"
    ANSWERED = "answered"
    CLOSED = "closed"

    @classmethod
    def _labels(cls):
        return {cls.OPEN: _l("Awaiting reply"), cls.ANSWERED: _l("Answered"), cls.CLOSED: _l("Closed")}


class Objection(CompanyScoped, db.Model):
    __tablename__ = "disclosure_objections"
    __table_args__ = (
        _fk("publication_id", "disclosure_publications"),
        _fk("line_id", "disclosure_lines"),
        _fk("household_id", "households"),
        Index("ix_disclosure_objections_publication", "company_id", "publication_id"),
        Index("ix_disclosure_objections_status", "company_id", "status", "reply_due_on"),
    )

    publication_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    line_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    household_id: Mapped[uuid.UUID] = mapped_column(Uuid)  # for the company only, never shown publicly
    building_label: Mapped[str] = mapped_column(String(32))  # "3 号楼": all the public sees of the asker
    raised_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))
    question: Mapped[str] = mapped_column(Text)
    # What the public pages show: the same words with the asker's name, phone, room and any long number masked.
    public_question: Mapped[str] = mapped_column(Text, default="")
    photo_path: Mapped[str | None] = mapped_column(String(300))  # re-encoded JPEG, seen by the company only
    status: Mapped[ObjectionStatus] = mapped_column(_enum(ObjectionStatus, "disclosure_objection_status"),
                                                    default=lambda: ObjectionStatus.OPEN)
    reply_due_on: Mapped[date] = mapped_column(Date)  # 15 working days on the SLA calendar
    reply: Mapped[str] = mapped_column(Text, default="")
    public_reply: Mapped[str] = mapped_column(Text, default="")  # masked like public_question
    replied_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    replied_on: Mapped[date | None] = mapped_column(Date)  # the Shanghai day of the reply, for the late count
    replied_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))
    closed_at: Mapped[datetime | None] = mapped_column(AwareDateTime())

    @property
    def answered_late(self) -> bool:
        return self.replied_on is not None and self.replied_on > self.reply_due_on


class DisclosureReminder(CompanyScoped, db.Model):
    __tablename__ = "disclosure_reminders"
    __table_args__ = (
        _fk("community_id", "communities"),
        Index("uq_disclosure_reminders_due", "company_id", "community_id", "kind", "period_start", unique=True),
    )

    community_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    kind: Mapped[Kind] = mapped_column(_enum(Kind, "disclosure_reminder_kind"))
    period_start: Mapped[date] = mapped_column(Date)


class Attachment(CompanyScoped, db.Model):
    """A scanned document on a statement (an invoice, a contract, the approval of a fund use): a PDF kept as
    uploaded, or an image re-encoded as JPEG without its metadata. Immutable with its publication; a correction
    copies the rows (the files are shared: a file is never rewritten). Removed from a draft = ``removed_at``."""

    __tablename__ = "disclosure_attachments"
    __table_args__ = (
        _fk("publication_id", "disclosure_publications"),
        Index("ix_disclosure_attachments_publication", "company_id", "publication_id", "position"),
    )

    publication_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    position: Mapped[int] = mapped_column(Integer, default=0)
    filename: Mapped[str] = mapped_column(String(100))  # as shown and offered on download (cleaned)
    content_type: Mapped[str] = mapped_column(String(40))  # application/pdf or image/jpeg, from the content
    size: Mapped[int] = mapped_column(Integer)
    file_path: Mapped[str] = mapped_column(String(300))  # under UPLOAD_FOLDER, from our own ids only
    removed_at: Mapped[datetime | None] = mapped_column(AwareDateTime())

    @property
    def is_pdf(self) -> bool:
        return self.content_type == "application/pdf"
