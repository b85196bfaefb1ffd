"""Who may see and do what: the one place that decides.

The same rules are applied to single objects here and turned into SQL
filters by `swat.services.visibility`, so lists, counts, search, exports and
files can never show more than the ticket page.
"""

from __future__ import annotations

from typing import Protocol

ROLES = ("staff", "agent", "lead", "manager", "admin")
DESK_ROLES = ("agent", "lead", "admin")


class Actor(Protocol):
    id: int
    role: str
    department_id: str | None


def is_desk(actor: Actor) -> bool:
    """SWAT members, leads and admins work the queue and act for the desk."""
    return actor.role in DESK_ROLES


def department_scope(actor: Actor) -> str | None:
    """The one department whose tickets the actor is limited to, or None for all.

    Staff always see their own department only; a manager with a department
    is that department's head and sees the same. Staff without a department
    see nothing (scope to an impossible department id).
    """
    if actor.role == "staff":
        return actor.department_id or "\x00none"
    if actor.role == "manager" and actor.department_id:
        return actor.department_id
    return None


def can_view_ticket(actor: Actor, ticket_department_id: str) -> bool:
    scope = department_scope(actor)
    return scope is None or scope == ticket_department_id


def can_see_internal(actor: Actor) -> bool:
    """Internal notes are for the desk and for desk-wide managers, never for requesters."""
    return is_desk(actor) or (actor.role == "manager" and not actor.department_id)


def side_of(actor: Actor) -> str:
    """Which column of the transition table the actor acts in."""
    from .states import DESK, REQUESTER

    if is_desk(actor):
        return DESK
    return REQUESTER


def can_file(actor: Actor) -> bool:
    """Consultations are filed by department staff, for their own department."""
    return actor.role == "staff" and bool(actor.department_id)


def can_act_as_requester(actor: Actor, ticket_department_id: str) -> bool:
    """Staff of the ticket's department may reply, add files, close and reopen."""
    return actor.role == "staff" and actor.department_id == ticket_department_id


def can_work_queue(actor: Actor) -> bool:
    return is_desk(actor)


def can_admin(actor: Actor) -> bool:
    return actor.role == "admin"


def can_assign_others(actor: Actor) -> bool:
    """Any SWAT member may hand a ticket to another; the queue is a shared desk."""
    return is_desk(actor)
