"""Reading the bell and choosing what to be told (writing notifications is `services.notify`).

Every read here goes through the ticket visibility rule: a notification about a
ticket the reader may no longer open (a requester who moved department, a
manager whose scope changed) is neither counted nor listed, exactly as the
ticket itself is hidden.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from sqlalchemy import Integer, Select, bindparam, func, select, update
from sqlalchemy.orm import Session

from ..domain import permissions
from ..domain.errors import NotFound, ValidationError
from ..models import Escalation, Notification, Ticket, User
from . import statements
from .notify import KINDS
from .statements import rows_matched
from .visibility import bound_notification_scope, scope_binding
from .weekly_summary import KIND as WEEKLY_SUMMARY

INBOX_SIZE = 100
# The bell counts unread notifications up to this many and then says "99+": its cost stays
# the same however many a manager has left unread.
UNREAD_CAP = 99


@lru_cache(maxsize=2)
def _unread_statement(scoped: bool) -> Select:
    unread = (
        select(Notification.id)
        .where(bound_notification_scope(scoped), Notification.read_at.is_(None))
        .limit(UNREAD_CAP + 1)
        .subquery()
    )
    return select(func.count()).select_from(unread)


def _scope_params(actor) -> tuple[bool, dict]:
    scope = scope_binding(actor)
    return scope is not None, {"scope_user": actor.id, **(scope or {})}


def unread_count(session: Session, actor) -> int:
    """How many of the actor's visible notifications are unread (the number on the bell),
    counted up to UNREAD_CAP + 1: anything above UNREAD_CAP is shown as "99+". The statement
    is built once per form (every page shows the bell)."""
    scoped, params = _scope_params(actor)
    return statements.read(session, _unread_statement(scoped), params).scalar_one()


@dataclass(frozen=True)
class InboxItem:
    """One line of the bell: the notification, its ticket's number, and the escalation it asks to acknowledge."""

    notification: Notification
    number: str | None
    escalation: Escalation | None


@lru_cache(maxsize=2)
def _inbox_statement(scoped: bool) -> Select:
    return (
        select(Notification, Ticket.number, Escalation)
        .outerjoin(Ticket, Ticket.id == Notification.ticket_id)
        .outerjoin(Escalation, Escalation.id == Notification.escalation_id)
        .where(bound_notification_scope(scoped))
        .order_by(Notification.created_at.desc(), Notification.id.desc())
        .limit(bindparam("limit", type_=Integer))
    )


def inbox(session: Session, actor, limit: int = INBOX_SIZE) -> list[InboxItem]:
    """The actor's newest visible notifications, newest first, each with its ticket number and escalation."""
    scoped, params = _scope_params(actor)
    rows = session.execute(_inbox_statement(scoped), {**params, "limit": limit}).all()
    return [InboxItem(notification=n, number=number, escalation=esc) for n, number, esc in rows]


def mark_all_read(session: Session, actor, now: datetime) -> int:
    """Mark every unread notification of the actor read at `now`; returns how many were unread."""
    return rows_matched(
        session,
        update(Notification)
        .where(Notification.user_id == actor.id, Notification.read_at.is_(None))
        .values(read_at=now)
        .execution_options(synchronize_session=False),
    )


def choosable_kinds(actor) -> tuple[str, ...]:
    """The kinds this person can switch on or off: everyone's, plus the weekly summary for managers."""
    if permissions.receives_weekly_summary(actor):
        return (*KINDS, WEEKLY_SUMMARY)
    return KINDS


@dataclass(frozen=True)
class Preferences:
    """How a person is told (in the app, by e-mail), which kinds they can choose, and which they muted."""

    inapp: bool
    email: bool
    kinds: tuple[str, ...]
    muted: frozenset[str]


def preferences(actor) -> Preferences:
    """The actor's current notification choices."""
    return Preferences(
        inapp=bool(actor.notify_inapp),
        email=bool(actor.notify_email),
        kinds=choosable_kinds(actor),
        muted=frozenset(k for k in (actor.muted_kinds or "").split(",") if k),
    )


def save_preferences(session: Session, actor, *, inapp: bool, email: bool, kinds: Iterable[str]) -> Preferences:
    """Keep the actor's channels and the kinds they want; every choosable kind not wanted is muted.

    A kind the actor cannot choose (unknown, or the managers' weekly summary
    for anyone else) is refused with a ValidationError and nothing changes.
    """
    choosable = choosable_kinds(actor)
    wanted = set(kinds)
    unknown = sorted(wanted - set(choosable))
    if unknown:
        raise ValidationError("Unknown kind of notification: %(kinds)s", field="kinds", kinds=", ".join(unknown))
    user = session.get(User, actor.id)
    if user is None:
        raise NotFound()
    user.notify_inapp = bool(inapp)
    user.notify_email = bool(email)
    user.muted_kinds = ",".join(k for k in choosable if k not in wanted)
    session.flush()
    return preferences(user)
