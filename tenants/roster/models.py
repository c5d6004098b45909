"""The household roster: communities (小区) → buildings (楼栋) → households (户), and owner links."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKeyConstraint, Index, Integer, String, Uuid, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from saas.clock import AwareDateTime
from saas.extensions import db
from saas.i18n import _l
from saas.models import Membership, _enum
from saas.soft_delete import SoftDeletable
from saas.tenancy import CompanyScoped

if TYPE_CHECKING:
    from tenants.stewards.models import StewardAssignment


def _live_unique(name: str, *columns: str) -> Index:
    """Unique among rows that are not soft-deleted (a deleted room number can be reused)."""
    return Index(
        name,
        *columns,
        unique=True,
        sqlite_where=text("deleted_at IS NULL"),
        postgresql_where=text("deleted_at IS NULL"),
    )


class Community(CompanyScoped, SoftDeletable, db.Model):
    __tablename__ = "communities"
    __table_args__ = (_live_unique("uq_communities_live_name", "company_id", "name"),)

    name: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(String(200), default="")

    buildings: Mapped[list[Building]] = relationship(
        back_populates="community", primaryjoin="and_(Community.company_id == Building.company_id, "
        "Community.id == Building.community_id, Building.deleted_at.is_(None))",
        order_by="Building.name", viewonly=True,
    )

    @property
    def label(self) -> str:
        return self.name


class Building(CompanyScoped, SoftDeletable, db.Model):
    __tablename__ = "buildings"
    __table_args__ = (
        ForeignKeyConstraint(["company_id", "community_id"], ["communities.company_id", "communities.id"]),
        _live_unique("uq_buildings_live_name", "company_id", "community_id", "name"),
    )

    community_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    name: Mapped[str] = mapped_column(String(32))

    community: Mapped[Community] = relationship(
        back_populates="buildings", lazy="joined", innerjoin=True, overlaps="buildings"
    )
    # Live and deleted alike (filter with Household.live()); for joins, never loaded by a page.
    households: Mapped[list[Household]] = relationship(viewonly=True)

    @property
    def label(self) -> str:
        return f"{self.community.name} {self.name}"


class Occupancy(enum.StrEnum):
    OCCUPIED = "occupied"
    VACANT = "vacant"
    UNDELIVERED = "undelivered"

    @property
    def label(self) -> str:
        return str(OCCUPANCY_LABELS[self])


OCCUPANCY_LABELS = {
    Occupancy.OCCUPIED: _l("Occupied"),
    Occupancy.VACANT: _l("Vacant"),
    Occupancy.UNDELIVERED: _l("Not yet delivered"),
}


def room_label(building: str, unit: str | None, room: str) -> str:
    """"3号楼 2单元 1201": a home as the pages write it (also for rows read without a Household object)."""
    return f"{building} {unit}单元 {room}" if unit else f"{building} {room}"


class Household(CompanyScoped, SoftDeletable, db.Model):
    """One home. Floor area is kept in dm² (0.01 m²) as an integer, so it is exact like money in fen."""

    __tablename__ = "households"
    __table_args__ = (
        ForeignKeyConstraint(["company_id", "building_id"], ["buildings.company_id", "buildings.id"]),
        _live_unique("uq_households_live_room", "company_id", "building_id", "unit", "room"),
        Index("ix_households_company_owner_phone", "company_id", "owner_phone"),
        Index("uq_households_code", "company_id", "household_code", unique=True),
    )

    building_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    unit: Mapped[str] = mapped_column(String(16), default="")
    room: Mapped[str] = mapped_column(String(16))
    floor_area_dm2: Mapped[int] = mapped_column(Integer)  # gross (建筑面积)
    inner_area_dm2: Mapped[int | None] = mapped_column(Integer)  # inner (套内面积), for fees billed on it
    occupancy: Mapped[Occupancy] = mapped_column(_enum(Occupancy, "household_occupancy"))
    owner_name: Mapped[str] = mapped_column(String(32), default="")
    owner_phone: Mapped[str] = mapped_column(String(11), default="")
    # 房屋认证码: printed on the household notice; an owner types it to join. Random, regenerable.
    household_code: Mapped[str | None] = mapped_column(String(12))

    building: Mapped[Building] = relationship(lazy="joined", innerjoin=True)
    # Every steward period of the home (tenants.stewards); ``.and_(StewardAssignment.ended_at.is_(None))`` for
    # the current one. For joins: the pages load periods through tenants.stewards.queries.
    steward_periods: Mapped[list[StewardAssignment]] = relationship(back_populates="household", viewonly=True)

    @property
    def floor_area(self) -> Decimal:
        return (Decimal(self.floor_area_dm2) / 100).quantize(Decimal("0.01"))

    @floor_area.setter
    def floor_area(self, value: Decimal) -> None:
        self.floor_area_dm2 = int((Decimal(value) * 100).to_integral_value())

    @property
    def room_label(self) -> str:
        return room_label(self.building.name, self.unit, self.room)

    @property
    def label(self) -> str:
        return f"{self.building.community.name} {self.room_label}"


class HouseholdOwner(CompanyScoped, db.Model):
    """Links an owner's membership to a household they own. Ended, never deleted."""

    __tablename__ = "household_owners"
    __table_args__ = (
        ForeignKeyConstraint(["company_id", "household_id"], ["households.company_id", "households.id"]),
        ForeignKeyConstraint(["company_id", "membership_id"], ["memberships.company_id", "memberships.id"]),
        Index(
            "uq_household_owners_current",
            "company_id",
            "household_id",
            "membership_id",
            unique=True,
            sqlite_where=text("ended_at IS NULL"),
            postgresql_where=text("ended_at IS NULL"),
        ),
    )

    household_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    membership_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    verified_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(AwareDateTime())

    household: Mapped[Household] = relationship(lazy="joined", innerjoin=True)
    membership: Mapped[Membership] = relationship(viewonly=True)


from tenants.roster import figures as _figures  # noqa: E402,F401  (the roster's counts: their table and listeners)
