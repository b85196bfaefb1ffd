"""Telling people: the bell list and the outbox, written in the caller's transaction.

A notification is a Notification row (the bell) and, for e-mail and the chat
webhook, an OutboxMessage that the delivery job sends later. Because both are
written in the same transaction as the event, nothing is told that did not
happen and nothing that happened goes untold. Reading the bell and keeping
each person's choices is `services.notifications`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import cast

from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session

from ..domain import permissions
from ..models import Notification, OutboxMessage, Ticket, User

# What the requester did (a reply, with or without files; reopening or closing) is told to
# the desk as "requester": to the assignee, or to the team leads while nobody is assigned.
REQUESTER = "requester"
# A desk member named with @ in an internal note.
MENTION = "mention"
# The requester's receipt for a consultation they filed (on the web or by mail).
RECEIPT = "receipt"
KINDS = ("reply", "status", "merged", RECEIPT, "assigned", REQUESTER, MENTION, "triage", "escalation")
# Kinds told by e-mail only: the bell does not tell anyone what they just did themselves.
MAIL_ONLY_KINDS = (RECEIPT,)
# Params only a message's e-mail uses (the text of a reply, its files' ids): the bell's rows
# and the chat post are written without them, and show what they showed before.
MAIL_ONLY_PARAMS = ("text", "file_ids")
# Kinds that also go to the team's chat channel (when a webhook is configured).
WEBHOOK_KINDS = ("triage", "escalation")
WEBHOOK = "webhook"
DESK_KINDS = ("assigned", REQUESTER, MENTION, "triage", "escalation")
# One e-mail per recipient (and one chat post) per SLA sweep, listing its escalations.
DIGEST = "escalation_digest"


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
    users = session.scalars(select(User).where(User.id.in_(ids), User.active).order_by(User.id)) if ids else ()
    return _tell(session, now, users, kind, ticket, params, escalation_id)


def notify_roles(
    session: Session,
    now: datetime,
    roles: Iterable[str],
    kind: str,
    ticket: Ticket | None,
    params: dict,
    exclude: int | None = None,
    team_chat: bool = False,
) -> int:
    """Tell the active users of these roles as each of them chose (`notify` to
    `user_ids_with_role`, in one query), minus `exclude`; `team_chat` posts it to the team's
    chat channel too, whatever its kind. Returns how many."""
    users = session.scalars(
        select(User).where(User.active, User.role.in_(list(roles)), User.id != (exclude or 0)).order_by(User.id)
    )
    return _tell(session, now, users, kind, ticket, params, None, team_chat)


def tell_desk_of_requester(session: Session, now: datetime, actor: User, ticket: Ticket, **what) -> int:
    """What the requester did, told once to whoever works the ticket: its assignee, or the
    team leads (and the team's chat) while nobody is assigned or the assignee's account is
    switched off. `what` says it: `reply` (with its `text`, and `files` and `file_ids`, the
    names and ids of its files), and `old`/`new` when the status changed with it."""
    params = ticket_params(ticket, author=actor.display_name, **what)
    assignee = session.get(User, ticket.assignee_id) if ticket.assignee_id is not None else None
    if assignee is not None and assignee.active:
        told = notify(session, now, [assignee.id], REQUESTER, ticket, params, exclude=actor.id)
        if told:
            return told
    # Nobody assigned, or the assignee cannot be told (an account switched off): the leads.
    return notify_roles(
        session, now, permissions.TRIAGE_LEADS, REQUESTER, ticket, params, exclude=actor.id, team_chat=True
    )


_NOTIFICATIONS = insert(cast(Table, Notification.__table__))
_OUTBOX = insert(cast(Table, OutboxMessage.__table__))


def mentioned_members(session: Session, usernames: Iterable[str]) -> dict[str, tuple[int, str]]:
    """The active desk members (agents, leads, administrators) with these user names, as
    user name -> (id, display name): whom an @mention reaches and links to. Anyone else's
    name, or nobody's, is left out (it stays text)."""
    names = list(dict.fromkeys(usernames))[:50]
    if not names:
        return {}
    rows = session.execute(
        select(User.username, User.id, User.display_name).where(
            User.active, User.role.in_(permissions.DESK_ROLES), User.username.in_(names)
        )
    )
    return {username: (uid, display) for username, uid, display in rows}


class Digest:
    """What one SLA sweep tells. The bell gets its entry per ticket and level as each one
    fires (`tell`); e-mail and the team's chat are gathered and written by `send` as one
    message per recipient, and one chat post, listing them all (one sweep fired 27 separate
    e-mails to the lead before). Each item's params say how late, who is assigned and which
    department; the message says how to acknowledge."""

    def __init__(self) -> None:
        self._mail: dict[str, tuple[str, list[dict]]] = {}  # address -> (locale, items)
        self._chat: list[dict] = []
        self._bell: list[dict] = []

    def tell(
        self, session: Session, now: datetime, users: Iterable[User], ticket: Ticket, params: dict, escalation_id: int
    ) -> int:
        """Tell these (active) users of one escalation as each chose: their bell entry, and
        the item of their e-mail and of the chat post, all written by `send`."""
        return _tell(session, now, users, "escalation", ticket, params, escalation_id, digest=self)

    def bell(self, rows: list[dict]) -> None:
        self._bell.extend(rows)

    def mail(self, user: User, params: dict) -> None:
        self._mail.setdefault(user.email, (user.locale or "ja", []))[1].append(params)

    def chat(self, params: dict) -> None:
        self._chat.append(params)

    def send(self, session: Session, now: datetime) -> int:
        """Write the gathered bell entries (one INSERT) and messages to the outbox (in the
        sweep's transaction); returns how many messages."""
        rows = [
            outbox_row("email", address, locale, DIGEST, _digest_payload(items), now)
            for address, (locale, items) in sorted(self._mail.items())
        ]
        if self._chat and chat_configured():
            rows.append(outbox_row(WEBHOOK, "", "ja", DIGEST, _digest_payload(self._chat), now))
        if self._bell:
            session.execute(_NOTIFICATIONS, self._bell)
        if rows:
            session.execute(_OUTBOX, rows)
        self._mail, self._chat, self._bell = {}, [], []
        return len(rows)


def _digest_payload(items: list[dict]) -> str:
    # "count": the consultations listed (a ticket may be there with a warning and a breach).
    return json.dumps({"count": len({i.get("number") for i in items}), "items": items}, ensure_ascii=False)


def _tell(
    session: Session,
    now: datetime,
    users: Iterable[User],
    kind: str,
    ticket: Ticket | None,
    params: dict,
    escalation_id: int | None,
    team_chat: bool = False,
    digest: Digest | None = None,
) -> int:
    # The bell's rows and the outbox's are each written in one INSERT, however many are told.
    told = 0
    payload = json.dumps(params, ensure_ascii=False)
    short = {k: v for k, v in params.items() if k not in MAIL_ONLY_PARAMS}
    bell_payload = json.dumps(short, ensure_ascii=False) if len(short) < len(params) else payload
    bell: list[dict] = []
    outbox: list[dict] = []
    for user in users:
        # Never tell anyone of a ticket they may not open (a moved requester, a scoped
        # manager), and desk matters only to the desk.
        if ticket is not None and not permissions.can_view_ticket(user, ticket.department_id):
            continue
        if kind in DESK_KINDS and not (permissions.is_desk(user) or permissions.can_see_internal(user)):
            continue
        muted = {k for k in (user.muted_kinds or "").split(",") if k}
        if kind in muted:
            continue
        if user.notify_inapp and kind not in MAIL_ONLY_KINDS:
            bell.append(
                {
                    "user_id": user.id,
                    "kind": kind,
                    "ticket_id": ticket.id if ticket else None,
                    "escalation_id": escalation_id,
                    "params": bell_payload,
                    "created_at": now,
                }
            )
        if user.notify_email and user.email:
            if digest is not None:
                digest.mail(user, params)
            else:
                outbox.append(outbox_row("email", user.email, user.locale or "ja", kind, payload, now))
        told += 1
    if digest is not None:
        if kind in WEBHOOK_KINDS:
            digest.chat(params)
        digest.bell(bell)
        bell = []
    elif (kind in WEBHOOK_KINDS or team_chat) and chat_configured():
        outbox.append(outbox_row(WEBHOOK, "", "ja", kind, bell_payload, now))
    if bell:
        session.execute(_NOTIFICATIONS, bell)
    if outbox:
        session.execute(_OUTBOX, outbox)
    return told


def _no_chat() -> bool:
    return False


# How this process tells whether the desk has a chat webhook: the app installs its check
# (`use_chat_check`), reading its settings; services do not read the web framework's config.
_chat_check: list[Callable[[], bool]] = [_no_chat]


def use_chat_check(check: Callable[[], bool]) -> None:
    _chat_check[0] = check


def chat_configured() -> bool:
    """Whether the desk has a chat webhook (`webhook_url`): without one nothing is queued for
    it, rather than queued to fail."""
    return _chat_check[0]()


def outbox_row(channel: str, recipient: str, locale: str, kind: str, payload: str, now: datetime) -> dict:
    """The columns of one outbox message, due at once."""
    return {
        "channel": channel,
        "recipient": recipient,
        "locale": locale,
        "kind": kind,
        "params": payload,
        "created_at": now,
        "next_attempt_at": now,
    }


def user_ids_with_role(session: Session, *roles: str) -> list[int]:
    return list(session.scalars(select(User.id).where(User.active, User.role.in_(roles))))
