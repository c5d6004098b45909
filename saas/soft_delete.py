"""Soft delete: business records are never removed, only marked deleted (with who and when) and restorable.

``Model.live()`` is the clause for "not deleted": write ``.where(Household.live())``, not the column test by hand.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from saas.clock import AwareDateTime, utcnow


class SoftDeletable:
    deleted_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    deleted_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))

    @classmethod
    def live(cls):
        """The WHERE clause for rows that are not deleted."""
        return cls.deleted_at.is_(None)

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    def mark_deleted(self, actor_id: uuid.UUID | None, now: datetime | None = None) -> None:
        self.deleted_at = now or utcnow()
        self.deleted_by_id = actor_id

    def restore(self) -> None:
        self.deleted_at = None
        self.deleted_by_id = None
