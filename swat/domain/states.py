"""Ticket statuses, priorities and the one transition table.

Every status change in the product goes through `transition()`, so the rules
live here and nowhere else. A row says: this action, from these statuses, by
these kinds of actor, leads to that status.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import InvalidTransition

NEW = "new"
ASSIGNED = "assigned"
IN_PROGRESS = "in_progress"
WAITING = "waiting"
RESOLVED = "resolved"
CLOSED = "closed"

STATUSES = (NEW, ASSIGNED, IN_PROGRESS, WAITING, RESOLVED, CLOSED)
OPEN_STATUSES = (NEW, ASSIGNED, IN_PROGRESS, WAITING)

PRIORITIES = ("urgent", "high", "normal", "low")
PRIORITY_RANK = {p: i for i, p in enumerate(PRIORITIES)}

# Who may perform an action: the requester side (staff of the ticket's
# department) or the desk (SWAT members, leads, admins).
REQUESTER = "requester"
DESK = "desk"


@dataclass(frozen=True)
class Transition:
    action: str
    sources: tuple[str, ...]
    target: str
    sides: tuple[str, ...]


TRANSITIONS: tuple[Transition, ...] = (
    Transition("claim", (NEW,), ASSIGNED, (DESK,)),
    Transition("assign", (NEW, ASSIGNED, IN_PROGRESS, WAITING), ASSIGNED, (DESK,)),
    Transition("unassign", (ASSIGNED, IN_PROGRESS, WAITING), NEW, (DESK,)),
    Transition("start", (ASSIGNED, WAITING), IN_PROGRESS, (DESK,)),
    Transition("wait", (ASSIGNED, IN_PROGRESS), WAITING, (DESK,)),
    # A requester's reply while the desk waits for them hands the ticket back.
    Transition("requester_replied", (WAITING,), IN_PROGRESS, (REQUESTER,)),
    Transition("resolve", (NEW, ASSIGNED, IN_PROGRESS, WAITING), RESOLVED, (DESK,)),
    Transition("close", (NEW, ASSIGNED, IN_PROGRESS, WAITING, RESOLVED), CLOSED, (DESK, REQUESTER)),
    Transition("reopen", (RESOLVED, CLOSED), IN_PROGRESS, (DESK, REQUESTER)),
)

_BY_KEY = {(t.action, s): t for t in TRANSITIONS for s in t.sources}

# The actions an agent picks from the status menu, keyed by target status.
# (Handing a ticket back to the queue is done by assigning it to nobody.)
STATUS_ACTIONS = {
    IN_PROGRESS: ("start", "reopen"),
    WAITING: ("wait",),
    RESOLVED: ("resolve",),
    CLOSED: ("close",),
}


def transition(status: str, action: str, side: str, has_assignee: bool = True) -> str:
    """Return the status that `action` by `side` leads to from `status`.

    Raises InvalidTransition when the table has no such row, so a caller can
    never invent a transition the table does not allow. A reopened ticket
    nobody holds goes back to the queue as new rather than "in progress".
    """
    row = _BY_KEY.get((action, status))
    if row is None or side not in row.sides:
        raise InvalidTransition("This consultation cannot be changed that way in its current status.")
    if row.target == IN_PROGRESS and not has_assignee:
        return NEW
    return row.target


def allowed_actions(status: str, side: str) -> list[str]:
    """Actions that `side` may take from `status`, in table order."""
    return [t.action for t in TRANSITIONS if status in t.sources and side in t.sides]


def action_for_target(status: str, target: str, side: str) -> str:
    """The action that moves a ticket from `status` to `target`, for the status menu."""
    for action in STATUS_ACTIONS.get(target, ()):
        row = _BY_KEY.get((action, status))
        if row is not None and side in row.sides:
            return action
    raise InvalidTransition("This consultation cannot be changed that way in its current status.")


def target_statuses(status: str, side: str) -> list[str]:
    """Statuses an agent may choose from the status menu for a ticket in `status`."""
    out = []
    for target, actions in STATUS_ACTIONS.items():
        if target == status:
            continue
        if any((a, status) in _BY_KEY and side in _BY_KEY[(a, status)].sides for a in actions):
            out.append(target)
    return [s for s in STATUSES if s in out]


def is_open(status: str) -> bool:
    return status in OPEN_STATUSES
