"""The SWAT queue's memory: the filters a member used last, and the views they saved.

Both store a canonical query string (see canonical_query), so the same filters are
always the same text: a page view writes only when the filters really changed, and
the view whose filters are on screen can be found by comparing strings.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import parse_qsl, urlencode

from sqlalchemy import bindparam, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..domain import permissions, states
from ..domain.errors import Forbidden, NotFound, ValidationError
from ..models import QueueView
from . import statements
from .listing import MAX_QUERY, SORTS, assignee_id

# The query arguments that are a member's filters (the page number is not one).
FILTER_KEYS = ("status", "theme", "department", "assignee", "priority", "q", "sort", "dir", "per_page")
QUERY_MAX = 1000
NAME_MAX = 60
MAX_VIEWS = 30


def may_use(actor) -> bool:
    """Queue views are for whoever may open the queue: the desk and managers."""
    return permissions.can_use_queue(actor)


def canonical_query(pairs: Iterable[tuple[str, str]]) -> str:
    """The filters among query arguments as one canonical query string ("" = the default queue).

    Keys come in a fixed order, values the queue would ignore are dropped, and values that
    equal the defaults (the open statuses, urgency order ascending) are left out, so two
    URLs showing the same list give the same string. Reads arguments the way the queue
    does (listing_params.filters_from_request): the first value of each single filter.
    """
    args: dict[str, list[str]] = {}
    for key, value in pairs:
        if key in FILTER_KEYS:
            args.setdefault(key, []).append(value)

    def first(key: str, limit: int) -> str:
        return (args.get(key) or [""])[0][:limit]

    out: list[tuple[str, str]] = []
    if "status" in args:
        chosen = set(args["status"]) & set(states.STATUSES)
        if not chosen:
            # "status=" (or only statuses the queue does not know) lists every status.
            out.append(("status", ""))
        elif chosen != set(states.OPEN_STATUSES):
            out += [("status", s) for s in states.STATUSES if s in chosen]
    for key in ("theme", "department"):
        if value := first(key, 64):
            out.append((key, value))
    assignee = first("assignee", 20)
    if assignee in ("me", "none") or assignee_id(assignee) is not None:
        out.append(("assignee", assignee))
    if (priority := first("priority", 16)) in states.PRIORITY_RANK:
        out.append(("priority", priority))
    if q := first("q", MAX_QUERY).strip():
        out.append(("q", q))
    if (sort := first("sort", 16)) in SORTS and sort != "priority":
        out.append(("sort", sort))
    if first("dir", 8) == "desc":
        out.append(("dir", "desc"))
    per_page = first("per_page", 8)
    if per_page.isascii() and per_page.isdigit():
        out.append(("per_page", str(max(1, min(200, int(per_page))))))
    return urlencode(out)


def canonical(query: str) -> str:
    """canonical_query of a stored or posted query string."""
    return canonical_query(parse_qsl(query or "", keep_blank_values=True))


def remember_filters(session: Session, actor, query: str) -> bool:
    """Keep the actor's current queue filters for next time.

    Writes only when they differ from what is stored (so paging through a list writes
    nothing), and never a string too long for the column (then the old one stays).
    Returns whether anything changed; the caller commits.
    """
    query = canonical(query)
    if len(query) > QUERY_MAX or actor.queue_query == query:
        return False
    actor.queue_query = query
    session.flush()
    return True


def forget_filters(session: Session, actor) -> bool:
    """Drop the remembered filters (the queue opens with the defaults again)."""
    if not actor.queue_query:
        return False
    actor.queue_query = ""
    session.flush()
    return True


@dataclass(frozen=True, slots=True)
class SavedView:
    """What the queue shows of a saved view (plain values, not a mapped QueueView)."""

    id: int
    name: str
    query: str


_VIEWS = (
    select(QueueView.id, QueueView.name, QueueView.query)
    .where(QueueView.user_id == bindparam("user_id"))
    .order_by(QueueView.name, QueueView.id)
)


def list_views(session: Session, actor) -> list[SavedView]:
    """The actor's own saved views, by name."""
    return [SavedView(*row) for row in statements.read(session, _VIEWS, {"user_id": actor.id})]


def _name_taken(session: Session, user_id: int, name: str) -> bool:
    return session.scalar(select(QueueView.id).where(QueueView.user_id == user_id, QueueView.name == name)) is not None


def save_view(session: Session, actor, now: datetime, name: str, query: str) -> QueueView:
    """Save the filters `query` under `name` for the actor.

    Names are unique per user: checked first for a clear message, and guaranteed by the
    UNIQUE constraint when two saves race (the insert runs in a savepoint, so the
    caller's transaction stays usable). At most MAX_VIEWS views per user.
    """
    if not may_use(actor):
        raise Forbidden("Only the SWAT team and managers can save queue views.")
    name = (name or "").strip()
    if not name:
        raise ValidationError("Enter a name for the view.", field="name")
    if len(name) > NAME_MAX:
        raise ValidationError("A view name can be at most %(max)d characters.", field="name", max=NAME_MAX)
    query = canonical(query)
    if len(query) > QUERY_MAX:
        raise ValidationError("These filters are too long to save as a view.", field="name")
    if _name_taken(session, actor.id, name):
        raise ValidationError("You already have a view with that name.", field="name")
    saved = session.execute(
        select(func.count()).select_from(QueueView).where(QueueView.user_id == actor.id)
    ).scalar_one()
    if saved >= MAX_VIEWS:
        raise ValidationError("You can save at most %(max)d views.", field="name", max=MAX_VIEWS)
    view = QueueView(user_id=actor.id, name=name, query=query, created_at=now)
    try:
        with session.begin_nested():
            session.add(view)
    except IntegrityError:
        raise ValidationError("You already have a view with that name.", field="name") from None
    return view


def delete_view(session: Session, actor, view_id: int) -> QueueView:
    """Delete one of the actor's views. Anyone else's view is NotFound, as if it did not exist."""
    if not may_use(actor):
        raise Forbidden("Only the SWAT team and managers can save queue views.")
    view = session.scalar(select(QueueView).where(QueueView.id == view_id, QueueView.user_id == actor.id))
    if view is None:
        raise NotFound()
    session.delete(view)
    session.flush()
    return view
