"""Jobs as the board and the admin's list show them: a few columns read into small rows, not WorkOrder objects with
their category, assignee and user. The board draws about 70 jobs on every view and every 20-second refresh, the
list 25; loading them as ORM objects (four entities a row, joined) was a third of the board's time."""

from __future__ import annotations

from sqlalchemy import and_, select

from saas.extensions import db
from saas.models import Membership, User
from tenants.work_orders.models import Deadlines, WorkOrder, WorkOrderCategory

_FIELDS = ("id", "number", "status", "priority", "location", "in_pool", "created_at", "accepted_at",
           "response_due_at", "resolution_due_at", "paused_at")
_NAMES = ("category_name", "assignee_name")


class JobCard(Deadlines):
    """What a board card shows of a job (badges.time_left reads the clock from it as from a WorkOrder)."""

    __slots__ = (*_FIELDS, *_NAMES)

    def __init__(self, row):
        for name, value in zip(JobCard.__slots__, row, strict=True):
            setattr(self, name, value)


class _CardWithMore(JobCard):
    """A card and a few more of the job's columns (``MORE``), read after the card's."""

    __slots__ = ()
    MORE: tuple[str, ...] = ()

    def __init__(self, row):
        n = len(JobCard.__slots__)
        super().__init__(row[:n])
        for name, value in zip(self.MORE, row[n:], strict=True):
            setattr(self, name, value)


class ListCard(_CardWithMore):
    """What a row of the list shows (templates/tenants/work_orders/_macros.html: row): a card and the description."""

    __slots__ = MORE = ("description",)


class OwnerCard(_CardWithMore):
    """What a row of the owner's repairs shows (templates/tenants/work_orders/owner/index.html)."""

    __slots__ = MORE = ("area", "description", "quote_status", "rated_at")


def _with_names(stmt):
    """``stmt`` (of work orders) with the category's name always, the assignee's when someone holds the job. Both
    joins are filtered to the current company like any query."""
    return (stmt.join(WorkOrderCategory, and_(WorkOrderCategory.company_id == WorkOrder.company_id,
                                              WorkOrderCategory.id == WorkOrder.category_id))
            .outerjoin(Membership, and_(Membership.company_id == WorkOrder.company_id,
                                        Membership.id == WorkOrder.assignee_id))
            .outerjoin(User, User.id == Membership.user_id))


def _card_columns(more: tuple[str, ...] = ()) -> tuple:
    """A card's columns in JobCard's order (its fields, the category's name, the assignee's), then ``more``."""
    return (*(getattr(WorkOrder, name) for name in _FIELDS), WorkOrderCategory.name, User.name,
            *(getattr(WorkOrder, name) for name in more))


def select_cards():
    """The select of JobCard rows (a caller adds where and order)."""
    return _with_names(select(*_card_columns()))


def cards(stmt) -> list[JobCard]:
    return [JobCard(row) for row in db.session.execute(stmt)]


def _read(stmt, card: type[_CardWithMore]) -> list:
    """The jobs of ``stmt`` (a select of WorkOrder, filtered, ordered and limited: a page of a list) as ``card``s,
    in one statement: the same rows, read as columns."""
    return [card(row) for row in db.session.execute(_with_names(stmt.with_only_columns(*_card_columns(card.MORE))))]


def list_cards(stmt) -> list[ListCard]:
    return _read(stmt, ListCard)


def owner_cards(stmt) -> list[OwnerCard]:
    return _read(stmt, OwnerCard)
