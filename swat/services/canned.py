"""Canned replies (定型文): kept, offered in a reply box with their placeholders filled in,
and counted each time a reply is sent with one.

Shared replies (no owner) are kept by the team leads (and administrators) and offered to
every desk member; each member keeps their own, offered to them alone. Either kind is for
every theme or for one, and is offered on a consultation of that theme (or of any, for
those without one). A text may hold placeholders, filled in for the consultation when it is
inserted: {相談者} {番号} {件名} {担当者} {今日} {回答希望日} (or {requester} {number}
{title} {assignee} {today} {due}); a brace that names none of them is refused on saving.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from ..domain import permissions
from ..domain.errors import Forbidden, NotFound, ValidationError
from ..domain.tz import TOKYO
from ..models import CannedReply, Theme, Ticket, User
from .filing import BODY_MAX, clean_body, clean_title

TITLE_MAX = 100
# Per owner (and for the shared ones): enough for a desk's habits, few enough for one list.
MAX_PER_OWNER = 200
# Each placeholder's names, Japanese first: what it is filled with comes from fill().
PLACEHOLDERS = {
    "requester": ("相談者", "requester"),
    "number": ("番号", "number"),
    "title": ("件名", "title"),
    "assignee": ("担当者", "assignee"),
    "today": ("今日", "today"),
    "due": ("回答希望日", "due"),
}
_NAMES = {name: key for key, names in PLACEHOLDERS.items() for name in names}
_BRACED = re.compile(r"\{([^{}\n]{1,20})\}")


@dataclass(frozen=True, slots=True)
class Offered:
    """A canned reply as a reply box offers it: its text filled in for the consultation."""

    id: int
    title: str
    text: str
    shared: bool


def _visible(actor: User):
    """The replies the actor may use: the shared ones and their own."""
    return or_(CannedReply.owner_id.is_(None), CannedReply.owner_id == actor.id)


def listing(session: Session, actor: User) -> list[CannedReply]:
    """The shared replies and the actor's own, shared first, by title (the management page)."""
    _require_desk(actor)
    return list(
        session.scalars(
            select(CannedReply)
            .where(_visible(actor))
            .order_by(CannedReply.owner_id.is_not(None), CannedReply.title, CannedReply.id)
        )
    )


def offered(
    session: Session, actor: User, ticket: Ticket, now: datetime, requester: str, assignee: str
) -> list[Offered]:
    """What the reply box of this consultation offers the actor: the shared replies and their
    own, for its theme or for every theme, those of its theme first, then the most used."""
    if not permissions.is_desk(actor):
        return []
    rows = session.scalars(
        select(CannedReply)
        .where(
            _visible(actor),
            or_(CannedReply.theme_id.is_(None), CannedReply.theme_id == ticket.theme_id),
        )
        .order_by(CannedReply.theme_id.is_(None), CannedReply.uses.desc(), CannedReply.title, CannedReply.id)
        .limit(MAX_PER_OWNER * 2)
    )
    values = fill(ticket, now, requester, assignee or actor.display_name)
    return [Offered(r.id, r.title, expand(r.body, values), r.owner_id is None) for r in rows]


def fill(ticket: Ticket, now: datetime, requester: str, assignee: str) -> dict[str, str]:
    """Each placeholder's value for this consultation (dates as the desk writes them)."""
    today = now.astimezone(TOKYO).date()
    return {
        "requester": requester,
        "number": ticket.number,
        "title": ticket.title,
        "assignee": assignee,
        "today": f"{today.year}年{today.month}月{today.day}日",
        "due": f"{ticket.due_date.year}年{ticket.due_date.month}月{ticket.due_date.day}日" if ticket.due_date else "",
    }


def expand(text: str, values: dict[str, str]) -> str:
    """The text with each placeholder replaced by its value (anything else in braces kept)."""

    def one(m: re.Match[str]) -> str:
        key = _NAMES.get(m.group(1).strip())
        return values.get(key, m.group(0)) if key else m.group(0)

    return _BRACED.sub(one, text)


def save(
    session: Session,
    actor: User,
    now: datetime,
    *,
    reply_id: int | None,
    title: str,
    body: str,
    shared: bool,
    theme_id: str | None,
) -> CannedReply:
    """Add a canned reply (reply_id None) or change one the actor keeps. Shared ones are the
    leads' to keep; a member's own are theirs alone (anyone else's is as if it did not exist)."""
    _require_desk(actor)
    if shared and not permissions.can_triage(actor):
        raise Forbidden("Only the SWAT lead can keep shared canned replies.")
    title = clean_title(title)
    if not title:
        raise ValidationError("Enter a title.", field="title")
    if len(title) > TITLE_MAX:
        raise ValidationError("The title can be at most %(max)d characters.", field="title", max=TITLE_MAX)
    body = clean_body(body)
    unknown = [m.group(0) for m in _BRACED.finditer(body) if m.group(1).strip() not in _NAMES]
    if unknown:
        raise ValidationError(
            "Unknown placeholder: %(found)s. These can be used: %(known)s",
            field="body",
            found=" ".join(dict.fromkeys(unknown)),
            known=" ".join("{" + names[0] + "}" for names in PLACEHOLDERS.values()),
        )
    if theme_id:
        theme = session.get(Theme, theme_id)
        if theme is None or not theme.active:
            raise ValidationError("Choose a valid theme.", field="theme")
    owner = None if shared else actor.id
    if reply_id is None:
        kept = session.scalar(
            select(CannedReply.id)
            .where(CannedReply.owner_id.is_(None) if owner is None else CannedReply.owner_id == owner)
            .offset(MAX_PER_OWNER - 1)
            .limit(1)
        )
        if kept is not None:
            raise ValidationError("At most %(max)d canned replies can be kept.", field="title", max=MAX_PER_OWNER)
        reply = CannedReply(owner_id=owner, uses=0, created_at=now, title=title, body=body)
        session.add(reply)
    else:
        reply = kept_by(session, actor, reply_id)
        if (reply.owner_id is None) != shared:
            raise ValidationError("A shared canned reply stays shared, and your own stays yours.", field="title")
        reply.title, reply.body = title, body
    reply.theme_id = theme_id or None
    reply.updated_at = now
    session.flush()
    return reply


def delete(session: Session, actor: User, reply_id: int) -> None:
    session.delete(kept_by(session, actor, reply_id))
    session.flush()


def count_uses(session: Session, actor: User, reply_ids: Sequence[int]) -> None:
    """A reply was sent with these canned replies: each the actor may use counts once more
    (one UPDATE each, so two members sending at once both count)."""
    for reply_id in dict.fromkeys(reply_ids):
        session.execute(
            update(CannedReply)
            .where(CannedReply.id == reply_id, _visible(actor))
            .values(uses=CannedReply.uses + 1)
            .execution_options(synchronize_session=False)
        )


def usable(session: Session, actor: User, reply_id: str | int) -> CannedReply:
    """A canned reply the actor may send (a shared one, or their own), by its id."""
    _require_desk(actor)
    text = str(reply_id)
    reply = session.get(CannedReply, int(text)) if text.isascii() and text.isdigit() and len(text) <= 9 else None
    if reply is None or reply.owner_id not in (None, actor.id):
        raise ValidationError("Choose a canned reply.", field="value")
    return reply


def kept_by(session: Session, actor: User, reply_id: int) -> CannedReply:
    """A canned reply the actor keeps: a shared one for a lead, their own for anyone."""
    _require_desk(actor)
    reply = session.get(CannedReply, reply_id)
    if reply is None or (reply.owner_id is not None and reply.owner_id != actor.id):
        raise NotFound()
    if reply.owner_id is None and not permissions.can_triage(actor):
        raise Forbidden("Only the SWAT lead can keep shared canned replies.")
    return reply


def _require_desk(actor: User) -> None:
    if not permissions.is_desk(actor):
        raise Forbidden("You do not have permission to open this page.")


__all__ = [
    "BODY_MAX",
    "PLACEHOLDERS",
    "Offered",
    "count_uses",
    "delete",
    "expand",
    "kept_by",
    "usable",
    "listing",
    "offered",
    "save",
]
