"""Jobs as the board shows them: a few columns read into small rows, not WorkOrder objects with their category,
assignee and user. The board draws about 70 jobs on every view and every 20-second refresh; loading them as ORM
objects (four entities a row, joined) was a third of its time."""

from __future__ import annotations

from sqlalchemy import and_, select

from saas.models import Membership, User
from tenants.work_orders.models import Deadlines, WorkOrder, WorkOrderCategory

_FIELDS = ("id", "number", "status", "priority", "location", "in_pool", "created_at", "accepted_at",
           "response_due_at", "resolution_due_at", "paused_at")


class JobCard(Deadlines):
    """What a board card shows of a job (badges.time_left reads the clock from it as from a WorkOrder)."""

    __slots__ = (*_FIELDS, "category_name", "assignee_name")

    def __init__(self, row):
        for name, value in zip(self.__slots__, row, strict=True):
            setattr(self, name, value)


def select_cards():
    """The select of JobCard rows (a caller adds where and order): the category's name always, the assignee's
    name when someone holds the job. Both joins are filtered to the current company like any query."""
    return (select(*(getattr(WorkOrder, name) for name in _FIELDS), WorkOrderCategory.name, User.name)
            .join(WorkOrderCategory, and_(WorkOrderCategory.company_id == WorkOrder.company_id,
                                          WorkOrderCategory.id == WorkOrder.category_id))
            .outerjoin(Membership, and_(Membership.company_id == WorkOrder.company_id,
                                        Membership.id == WorkOrder.assignee_id))
            .outerjoin(User, User.id == Membership.user_id))


def cards(stmt) -> list[JobCard]:
    from saas.extensions import db

    return [JobCard(row) for row in db.session.execute(stmt)]
