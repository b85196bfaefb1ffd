"""Drafts: what a member has typed in a reply or an internal note and not sent, kept on the
server per user, consultation and kind, so that leaving the page, a crash or signing out
loses nothing. Sending the text discards the draft (in the same transaction); so does
emptying the box or the 破棄 button."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ..domain import permissions
from ..domain.errors import NotFound, ValidationError
from ..models import Draft, Ticket, User
from .filing import BODY_MAX
from .statements import insert_or_update

KINDS = ("reply", "note")


def _check(actor: User, ticket: Ticket, kind: str) -> None:
    if kind not in KINDS:
        raise ValidationError("Unknown kind of draft.", field="kind")
    if kind == "note" and not permissions.is_desk(actor):
        raise NotFound()  # requesters are told nothing of notes
    if kind == "reply" and not (
        permissions.is_desk(actor) or permissions.can_act_as_requester(actor, ticket.department_id)
    ):
        raise NotFound()


def keep(session: Session, actor: User, now: datetime, ticket: Ticket, kind: str, body: str) -> bool:
    """Keep the text as the actor's draft of this kind on this consultation (an empty one is
    discarded); returns whether a draft is now kept. The ticket is not changed."""
    _check(actor, ticket, kind)
    body = (body or "").replace("\r\n", "\n")
    if len(body) > BODY_MAX:
        raise ValidationError("The text can be at most %(max)d characters.", field="body", max=BODY_MAX)
    if not body.strip():
        discard(session, actor, ticket, kind)
        return False
    session.execute(
        insert_or_update(
            session,
            Draft,
            {"user_id": actor.id, "ticket_id": ticket.id, "kind": kind, "body": body, "updated_at": now},
            ["user_id", "ticket_id", "kind"],
            {"body": body, "updated_at": now},
        )
    )
    return True


def discard(session: Session, actor: User, ticket: Ticket, kind: str) -> None:
    session.execute(
        delete(Draft)
        .where(Draft.user_id == actor.id, Draft.ticket_id == ticket.id, Draft.kind == kind)
        .execution_options(synchronize_session=False)
    )


def of(session: Session, actor: User, ticket_id: int) -> dict[str, Draft]:
    """The actor's drafts on this consultation, by kind (the page shows them in its boxes)."""
    rows = session.scalars(select(Draft).where(Draft.user_id == actor.id, Draft.ticket_id == ticket_id))
    return {d.kind: d for d in rows}
