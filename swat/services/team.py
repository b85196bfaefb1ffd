"""The SWAT team: who can be assigned, their workload, and their absences."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from ..domain import permissions, states
from ..domain.errors import Forbidden, NotFound, ValidationError
from ..domain.tz import TOKYO
from ..models import MemberAbsence, Ticket, User
from . import routing_rules, statements

NOTE_MAX = 200


@dataclass(frozen=True, slots=True)
class Member:
    """A person a consultation can be handed to, as a choice in a list (no mapped User)."""

    id: int
    display_name: str


_ASSIGNABLE = (
    select(User.id, User.display_name)
    .where(User.active, User.role.in_(permissions.ASSIGNABLE_ROLES))
    .order_by(User.display_name, User.id)
)


def assignable_members(session: Session) -> list[Member]:
    """Active SWAT members and leads, by display name: the people a consultation can be handed to."""
    return [Member(uid, name) for uid, name in statements.read(session, _ASSIGNABLE)]


def members_with_themes(session: Session) -> Sequence[User]:
    """The assignable members (as `assignable_members`) with their themes loaded, for pages that list skills."""
    return session.scalars(
        select(User)
        .where(User.active, User.role.in_(permissions.ASSIGNABLE_ROLES))
        .options(selectinload(User.themes))
        .order_by(User.display_name)
    ).all()


def workload(session: Session) -> dict[int, int]:
    """Open consultations per assignee id (members holding none are absent from the map)."""
    rows = session.execute(
        select(Ticket.assignee_id, func.count())
        .where(Ticket.status.in_(states.OPEN_STATUSES), Ticket.assignee_id.is_not(None))
        .group_by(Ticket.assignee_id)
    ).all()
    return {assignee_id: count for assignee_id, count in rows if assignee_id is not None}


def caps(session: Session, members: Sequence[User]) -> dict[int, int | None]:
    """Each member's cap of open consultations from the loaded routing rules (None before any rules are loaded)."""
    loaded = routing_rules.current_rules(session)
    if loaded is None:
        return {m.id: None for m in members}
    rules = loaded[0]
    return {m.id: rules.members.get(m.username, {}).get("cap", rules.default_cap) for m in members}


def absences_from(session: Session, today: date) -> dict[int, list[MemberAbsence]]:
    """Absences that have not ended before `today`, per member id, earliest first."""
    by_user: dict[int, list[MemberAbsence]] = {}
    for absence in session.scalars(
        select(MemberAbsence).where(MemberAbsence.ends_on >= today).order_by(MemberAbsence.starts_on)
    ):
        by_user.setdefault(absence.user_id, []).append(absence)
    return by_user


@dataclass(frozen=True)
class TeamPage:
    """What the team page shows: members, their load and caps, their absences, and whose the actor may set."""

    members: Sequence[User]
    workload: dict[int, int]
    caps: dict[int, int | None]
    absences: dict[int, list[MemberAbsence]]
    today: date
    manageable: frozenset[int]


def team_page(session: Session, actor: User, now: datetime) -> TeamPage:
    """The team's availability as the actor may see it; Forbidden outside the desk.

    `today` is the Tokyo date, the calendar absences are entered in.
    """
    if not permissions.can_view_team(actor):
        raise Forbidden("You do not have permission to open this page.")
    members = members_with_themes(session)
    today = now.astimezone(TOKYO).date()
    return TeamPage(
        members=members,
        workload=workload(session),
        caps=caps(session, members),
        absences=absences_from(session, today),
        today=today,
        manageable=frozenset(m.id for m in members if permissions.can_manage_absence(actor, m)),
    )


def _member_for_absence(session: Session, actor: User, member_id: int) -> User:
    """The team member whose absences the actor wants to change.

    Someone who could not keep this person's absences even if they were on the
    team (a member asking for a colleague) is refused (Forbidden) before the
    lookup, as the page never offered it; otherwise a person who is not an
    assignable member is NotFound.
    """
    if not (permissions.can_manage_team(actor) or actor.id == member_id):
        raise Forbidden("You may only set your own absences.")
    member = session.get(User, member_id)
    if member is None or not permissions.can_manage_absence(actor, member):
        raise NotFound()
    return member


def _day(value: str | None, field: str) -> date:
    try:
        return date.fromisoformat(value or "")
    except (TypeError, ValueError):
        raise ValidationError("Enter a valid date (YYYY-MM-DD).", field=field) from None


def add_absence(
    session: Session,
    actor: User,
    now: datetime,
    member_id: int,
    starts_on: str | None,
    ends_on: str | None = None,
    note: str = "",
) -> MemberAbsence:
    """Record a period a member is away (both days included), so assignment skips them.

    The lead or an admin may set anyone's; a member only their own
    (`permissions.can_manage_absence`). Dates are ISO (YYYY-MM-DD); without a
    last day the absence is the first day alone; the last day may not be
    before the first; the note is at most 200 characters.
    """
    member = _member_for_absence(session, actor, member_id)
    first = _day(starts_on, "starts_on")
    last = _day(ends_on, "ends_on") if ends_on else first
    if last < first:
        raise ValidationError("The last day cannot be before the first day.", field="ends_on")
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise ValidationError("A note can be at most %(max)d characters.", field="note", max=NOTE_MAX)
    absence = MemberAbsence(
        user_id=member.id,
        starts_on=first,
        ends_on=last,
        note=note,
        created_by_id=actor.id,
        created_at=now,
    )
    session.add(absence)
    session.flush()
    return absence


def delete_absence(session: Session, actor: User, absence_id: int) -> None:
    """Remove an absence the actor may keep; NotFound for any other (it looks like a missing one)."""
    absence = session.get(MemberAbsence, absence_id)
    if absence is None:
        raise NotFound()
    member = session.get(User, absence.user_id)
    if member is None or not permissions.can_manage_absence(actor, member):
        raise NotFound()
    session.delete(absence)
    session.flush()
