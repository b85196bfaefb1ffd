"""Telling people: the bell list and the outbox, written in the caller's transaction.

A notification is a Notification row (the bell) and, for e-mail and the chat
webhook, an OutboxMessage that the delivery job sends later. Because both are
written in the same transaction as the event, nothing is told that did not
happen and nothing that happened goes untold. Reading the bell and keeping
each person's choices is `services.notifications`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..domain import permissions
from ..models import Notification, OutboxMessage, Ticket, User

KINDS = ("reply", "status", "assigned", "triage", "escalation")
# Kinds that also go to the team's chat channel (when a webhook is configured).
WEBHOOK_KINDS = ("triage", "escalation")
WEBHOOK = "webhook"
DESK_KINDS = ("assigned", "triage", "escalation")


def ticket_params(ticket: Ticket, **extra) -> dict:
    return {"number": ticket.number, "title": ticket.title, **extra}


def notify(
    session: Session,
    now: datetime,
    user_ids: Iterable[int],
    kind: str,
    ticket: Ticket | None,
    params: dict,
    escalation_id: int | None = None,
    exclude: int | None = None,
) -> int:
    """Tell these users (minus `exclude`, usually the actor) as each of them chose; returns how many."""
    ids = sorted({uid for uid in user_ids if uid is not None and uid != exclude})
    told = 0
    payload = json.dumps(params, ensure_ascii=False)
    if ids:
        for user in session.scalars(select(User).where(User.id.in_(ids), User.active)):
            # Never tell anyone of a ticket they may not open (a moved requester, a scoped
            # manager), and desk matters only to the desk.
            if ticket is not None and not permissions.can_view_ticket(user, ticket.department_id):
                continue
            if kind in DESK_KINDS and not (permissions.is_desk(user) or permissions.can_see_internal(user)):
                continue
            muted = {k for k in (user.muted_kinds or "").split(",") if k}
            if kind in muted:
                continue
            if user.notify_inapp:
                session.add(
                    Notification(
                        user_id=user.id,
                        kind=kind,
                        ticket_id=ticket.id if ticket else None,
                        escalation_id=escalation_id,
                        params=payload,
                        created_at=now,
                    )
                )
            if user.notify_email and user.email:
                session.add(
                    OutboxMessage(
                        channel="email",
                        recipient=user.email,
                        locale=user.locale or "ja",
                        kind=kind,
                        params=payload,
                        created_at=now,
                        next_attempt_at=now,
                    )
                )
            told += 1
    if kind in WEBHOOK_KINDS:
        session.add(
            OutboxMessage(
                channel=WEBHOOK,
                recipient="",
                locale="ja",
                kind=kind,
                params=payload,
                created_at=now,
                next_attempt_at=now,
            )
        )
    return told


def user_ids_with_role(session: Session, *roles: str) -> list[int]:
    return list(session.scalars(select(User.id).where(User.active, User.role.in_(roles))))
