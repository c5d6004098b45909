"""The work-order state machine: which action may move a job from which status, and to where.

Pure and small on purpose: ``services.perform`` is the only caller that changes a job's status, and it asks
``next_status`` first, so an illegal move (rating an unfinished job, completing a cancelled one) is refused
with the same clear message wherever it comes from. Who may take an action is the service's question;
whether the action makes sense in this status is this module's.

    NEW ──assign──▶ ASSIGNED ──accept──▶ ACCEPTED ──on the way──▶ ON_THE_WAY ──start──▶ IN_PROGRESS ──complete──▶ DONE
     │  ◀──decline──┘   (grab: NEW → ACCEPTED)                                              │                     │
     │                        wait/quote ⇄ WAITING_OWNER ⇄ resume/accept quote ◀────────────┘             rate/close
     └──cancel──▶ CANCELLED (before work starts for owners; any open status for admins)                  ▼
                                                          DONE/CLOSED ──reopen (within 7 days)──▶ ASSIGNED  CLOSED
"""

from __future__ import annotations

import enum

from saas.errors import ServiceError
from saas.i18n import _l


class Status(enum.StrEnum):
    NEW = "new"  # waiting for dispatch: unassigned, or in the grab pool
    ASSIGNED = "assigned"  # given to someone who has not accepted yet
    ACCEPTED = "accepted"
    ON_THE_WAY = "on_the_way"
    IN_PROGRESS = "in_progress"
    WAITING_OWNER = "waiting_owner"  # SLA clocks paused: a quote to accept, or the owner is not available
    DONE = "done"  # the work is finished; the owner may rate or reopen
    CLOSED = "closed"
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        return str(STATUS_LABELS[self])

    @property
    def is_open(self) -> bool:
        return self in OPEN

    @property
    def work_started(self) -> bool:
        return self in (Status.IN_PROGRESS, Status.WAITING_OWNER, Status.DONE, Status.CLOSED)


STATUS_LABELS = {
    Status.NEW: _l("Awaiting dispatch"),
    Status.ASSIGNED: _l("Assigned"),
    Status.ACCEPTED: _l("Job accepted"),
    Status.ON_THE_WAY: _l("On the way"),
    Status.IN_PROGRESS: _l("In progress"),
    Status.WAITING_OWNER: _l("Waiting for owner"),
    Status.DONE: _l("Done"),
    Status.CLOSED: _l("Closed"),
    Status.CANCELLED: _l("Cancelled"),
}

OPEN = frozenset({Status.NEW, Status.ASSIGNED, Status.ACCEPTED, Status.ON_THE_WAY, Status.IN_PROGRESS,
                  Status.WAITING_OWNER})
# Owners may cancel only before work starts.
BEFORE_WORK = frozenset({Status.NEW, Status.ASSIGNED, Status.ACCEPTED, Status.ON_THE_WAY})
WORKING = frozenset({Status.ACCEPTED, Status.ON_THE_WAY, Status.IN_PROGRESS})

# Days after completion during which the owner (or an admin) can reopen a job.
REOPEN_DAYS = 7


class Action(enum.StrEnum):
    ASSIGN = "assign"
    GRAB = "grab"
    ACCEPT = "accept"
    DECLINE = "decline"
    ON_THE_WAY = "on_the_way"
    START = "start"
    WAIT = "wait"
    RESUME = "resume"
    QUOTE = "quote"
    ACCEPT_QUOTE = "accept_quote"
    DECLINE_QUOTE = "decline_quote"
    COMPLETE = "complete"
    RATE = "rate"
    CLOSE = "close"
    REOPEN = "reopen"
    CANCEL = "cancel"
    RELEASE = "release"  # the system only: the assignee left the company or is no longer staff

    @property
    def label(self) -> str:
        return str(ACTION_LABELS[self])


ACTION_LABELS = {
    Action.ASSIGN: _l("Assign"),
    Action.GRAB: _l("Take this job"),
    Action.ACCEPT: _l("Accept"),
    Action.DECLINE: _l("Decline"),
    Action.ON_THE_WAY: _l("On my way"),
    Action.START: _l("Start work"),
    Action.WAIT: _l("Wait for owner"),
    Action.RESUME: _l("Resume"),
    Action.QUOTE: _l("Send a quote"),
    Action.ACCEPT_QUOTE: _l("Accept the quote"),
    Action.DECLINE_QUOTE: _l("Decline the quote"),
    Action.COMPLETE: _l("Mark done"),
    Action.RATE: _l("Rate"),
    Action.CLOSE: _l("Close"),
    Action.REOPEN: _l("Reopen"),
    Action.CANCEL: _l("Cancel"),
    Action.RELEASE: _l("Back to dispatch"),
}

# action → (statuses it may start from, status it leads to). None: decided by the job (see next_status).
TRANSITIONS: dict[Action, tuple[frozenset[Status], Status | None]] = {
    Action.ASSIGN: (OPEN - {Status.WAITING_OWNER}, Status.ASSIGNED),
    Action.GRAB: (frozenset({Status.NEW}), Status.ACCEPTED),
    Action.ACCEPT: (frozenset({Status.ASSIGNED}), Status.ACCEPTED),
    Action.DECLINE: (frozenset({Status.ASSIGNED}), Status.NEW),
    Action.ON_THE_WAY: (frozenset({Status.ACCEPTED}), Status.ON_THE_WAY),
    Action.START: (frozenset({Status.ACCEPTED, Status.ON_THE_WAY}), Status.IN_PROGRESS),
    Action.WAIT: (WORKING, Status.WAITING_OWNER),
    Action.QUOTE: (WORKING, Status.WAITING_OWNER),
    Action.RESUME: (frozenset({Status.WAITING_OWNER}), None),  # back to where it paused
    Action.ACCEPT_QUOTE: (frozenset({Status.WAITING_OWNER}), None),  # the same, once the quote is accepted
    Action.DECLINE_QUOTE: (frozenset({Status.WAITING_OWNER}), Status.CANCELLED),
    Action.COMPLETE: (frozenset({Status.IN_PROGRESS}), Status.DONE),
    Action.RATE: (frozenset({Status.DONE}), Status.CLOSED),
    Action.CLOSE: (frozenset({Status.DONE}), Status.CLOSED),
    Action.REOPEN: (frozenset({Status.DONE, Status.CLOSED}), Status.ASSIGNED),
    Action.CANCEL: (OPEN, Status.CANCELLED),
    Action.RELEASE: (OPEN - {Status.NEW}, Status.NEW),
}


class IllegalMove(ServiceError):
    """The action makes no sense in the job's current status. ``message`` is shown to the user."""


# Why an action is refused, by the status the job is in; a specific sentence beats "illegal transition".
_REFUSALS = {
    Action.RATE: _l("Only a finished job can be rated."),
    Action.COMPLETE: _l("Only a job in progress can be marked done."),
    Action.REOPEN: _l("Only a finished job can be reopened."),
    Action.ACCEPT_QUOTE: _l("There is no quote waiting for an answer."),
    Action.DECLINE_QUOTE: _l("There is no quote waiting for an answer."),
    Action.GRAB: _l("Someone else has already taken this job."),
    Action.ACCEPT: _l("This job is not waiting to be accepted."),
    Action.DECLINE: _l("This job is not waiting to be accepted."),
}


def next_status(status: Status, action: Action, *, resume_status: Status | None = None) -> Status:
    """The status ``action`` leads to from ``status``, or IllegalMove with a message for the user."""
    sources, target = TRANSITIONS[action]
    if status not in sources:
        if status == Status.CANCELLED:
            raise IllegalMove(_l("This job was cancelled; nothing more can be done to it."))
        if status == Status.CLOSED and action != Action.REOPEN:
            raise IllegalMove(_l("This job is closed."))
        raise IllegalMove(_REFUSALS.get(action, _l("“%(action)s” is not possible while the job is “%(status)s”.",
                                                   action=action.label, status=status.label)))
    if target is None:
        return resume_status or Status.ACCEPTED
    return target


def allowed(status: Status) -> list[Action]:
    """Every action the state machine allows from ``status`` (who may take them is decided elsewhere)."""
    return [action for action, (sources, _) in TRANSITIONS.items() if status in sources]
