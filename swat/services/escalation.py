"""The SLA sweep: warn, escalate along the governance chain, re-notify.

Run by the scheduler every minute. Each (ticket, target, level) fires once:
the escalation row is inserted with ON CONFLICT DO NOTHING under a UNIQUE
constraint, and only the process whose insert created it notifies. Two
schedulers at once, or one restarted after a crash, cannot fire a level twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.orm import Session, joinedload

from ..domain import permissions
from ..domain.errors import DomainError, NotFound, ValidationError
from ..models import Department, Escalation, EscalationStep, Notification, SlaEvent, Ticket, TicketSla, User
from . import notify, sla
from .history import record
from .statements import insert_or_nothing, rows_matched

REMARK_MAX = 500
LEVEL_EVENT = {sla.WARN: "warned", sla.BREACH: "breached", sla.DOUBLE: "escalated"}
BATCH = 500


@dataclass
class SweepResult:
    checked: int = 0  # SLA clocks due for a look
    fired: int = 0
    renotified: int = 0


def _insert_once(session: Session, values: dict) -> int | None:
    stmt = insert_or_nothing(session, Escalation, values).returning(Escalation.id)
    return session.execute(stmt).scalar_one_or_none()


_CHAIN = {
    "assignee": ["assignee", "lead", "managers"],
    "lead": ["lead", "managers"],
    "cio": ["cio", "managers"],
    "body": ["managers"],
}


class _People:
    """The escalation chain's people as one sweep reads them: each step's kind and the
    active accounts of the leads, the CIO and the desk-wide managers, read once for all of
    the sweep's tickets instead of once per escalation."""

    def __init__(self, session: Session, rules: sla.SlaRules) -> None:
        self.session, self.rules = session, rules
        self._kinds: dict[int, str] = {}
        self._links: dict[str, list[User]] = {}

    def kind(self, level: int) -> str:
        if level not in self._kinds:
            step = self.session.get(EscalationStep, level)
            self._kinds[level] = step.kind if step is not None else ("assignee", "lead", "cio")[min(level, 3) - 1]
        return self._kinds[level]

    def link(self, name: str) -> list[User]:
        if name not in self._links:
            where: ColumnElement[bool]
            if name == "lead":
                where = User.role.in_(permissions.TRIAGE_LEADS)
            elif name == "cio":
                where = User.username.in_(self.rules.cio_usernames or [""])
            else:
                where = (User.role == permissions.MANAGER) & User.department_id.is_(None)
            self._links[name] = list(self.session.scalars(select(User).where(where, User.active).order_by(User.id)))
        return self._links[name]

    def of(self, ticket: Ticket, level: int) -> list[User]:
        """Who hears of this level of this ticket (see recipients)."""
        for link in _CHAIN.get(self.kind(level), ["managers"]):
            if link == "assignee":
                holder = self.session.get(User, ticket.assignee_id) if ticket.assignee_id else None
                users = [holder] if holder is not None and holder.active else []
            else:
                users = self.link(link)
            found = [u for u in users if permissions.can_view_ticket(u, ticket.department_id)]
            if found:
                return found
        return []


def recipients(session: Session, rules: sla.SlaRules, ticket: Ticket, level: int) -> list[int]:
    """Who hears of an escalation level, by the escalation chain of governance.yaml:
    the step of that level names the assignee, the SWAT lead, the CIO or a body.
    Whoever of them is not an active account that may see the ticket is skipped,
    and an empty step falls through to the next (assignee -> leads -> desk-wide
    managers), so a level never fires to nobody."""
    return [u.id for u in _People(session, rules).of(ticket, level)]


def sweep(session: Session, now: datetime) -> SweepResult:
    """Fire every escalation level that is due, and re-notify unacknowledged ones."""
    rules = sla.current(session)
    result = SweepResult()
    if rules is None:
        return result
    digest = notify.Digest()  # one e-mail per recipient and one chat post for the whole sweep
    people = _People(session, rules)
    rows = session.scalars(
        select(TicketSla).where(TicketSla.next_check_at <= now).order_by(TicketSla.next_check_at).limit(BATCH)
    ).all()
    # The batch's tickets in one read (each escalation below finds its ticket in the session).
    session.scalars(select(Ticket).where(Ticket.id.in_({r.ticket_id for r in rows}))).all() if rows else None
    result.checked = len(rows)
    for row in rows:
        ticket = session.get_one(Ticket, row.ticket_id)
        since = row.running_since
        for level, instant in sorted(sla.level_instants(rules, row).items()):
            if instant > now or since is None:  # only a running clock has levels (and a start)
                continue
            esc_id = _insert_once(
                session,
                {
                    "ticket_id": row.ticket_id,
                    "target": row.target,
                    "level": level,
                    "fired_at": now,
                    "last_notified_at": now,
                    "times_notified": 1,
                },
            )
            if esc_id is None:
                continue  # fired before, here or by another scheduler
            result.fired += 1
            used = row.used_minutes + rules.calendar.elapsed(since, now)
            session.add(
                SlaEvent(
                    ticket_id=row.ticket_id,
                    target=row.target,
                    kind=LEVEL_EVENT[level],
                    at=now,
                    used_minutes=used,
                    target_minutes=row.target_minutes,
                    due_at=row.due_at,
                    note=f"level {level}",
                )
            )
            params = _params(session, ticket, row.target, level, used, row.target_minutes)
            digest.tell(session, now, people.of(ticket, level), ticket, params, esc_id)
        sla.refresh_next_check(session, rules, row)
    result.renotified = _renotify(session, rules, now, digest, people)
    digest.send(session, now)
    session.flush()
    return result


def _params(session: Session, ticket: Ticket, target: str, level: int, used: int, target_minutes: int, **extra) -> dict:
    """What an escalation says of its ticket: the level, how late (business minutes used
    against the target), who is assigned and which department."""
    department = session.get(Department, ticket.department_id)
    assignee = session.get(User, ticket.assignee_id) if ticket.assignee_id else None
    return notify.ticket_params(
        ticket,
        target=target,
        level=level,
        used=used,
        target_minutes=target_minutes,
        assignee=assignee.display_name if assignee else "",
        department={"ja": department.name, "en": department.name_en} if department else {},
        **extra,
    )


def _renotify(session: Session, rules: sla.SlaRules, now: datetime, digest: notify.Digest, people: _People) -> int:
    """Unacknowledged escalations of clocks still running are told again after the interval."""
    cutoff = now - timedelta(minutes=rules.renotify_minutes)
    stale = session.scalars(
        select(Escalation)
        .join(TicketSla, (TicketSla.ticket_id == Escalation.ticket_id) & (TicketSla.target == Escalation.target))
        .where(
            Escalation.acknowledged_at.is_(None), Escalation.last_notified_at <= cutoff, TicketSla.state == "running"
        )
        .order_by(Escalation.last_notified_at)
        .limit(BATCH)
    ).all()
    count = 0
    for esc in stale:
        # Claim the re-notification: only the process whose update matched tells again.
        claimed = rows_matched(
            session,
            update(Escalation)
            .where(Escalation.id == esc.id, Escalation.last_notified_at == esc.last_notified_at)
            .values(last_notified_at=now, times_notified=Escalation.times_notified + 1)
            .execution_options(synchronize_session=False),
        )
        if claimed != 1:
            continue
        ticket = session.get_one(Ticket, esc.ticket_id)
        clock = session.get_one(TicketSla, (esc.ticket_id, esc.target))
        used = clock.used_minutes + (rules.calendar.elapsed(clock.running_since, now) if clock.running_since else 0)
        params = _params(session, ticket, esc.target, esc.level, used, clock.target_minutes, again=True)
        digest.tell(session, now, people.of(ticket, esc.level), ticket, params, esc.id)
        count += 1
    return count


def acknowledge(session: Session, actor: User, now: datetime, escalation_id: int, remark: str) -> Escalation:
    """A recipient (or a lead or admin) acknowledges: who, when, and a remark. Once only,
    even when two people press at the same moment."""
    esc = session.get(Escalation, escalation_id)
    if esc is None:
        raise NotFound()
    ticket = session.get_one(Ticket, esc.ticket_id)
    rules = sla.current(session)
    if not permissions.can_view_ticket(actor, ticket.department_id):
        raise NotFound()
    allowed = permissions.can_acknowledge_any_escalation(actor) or (
        rules and actor.id in recipients(session, rules, ticket, esc.level)
    )
    if not allowed:
        raise NotFound()  # as if it did not exist: nothing to learn from the answer
    remark = (remark or "").strip()
    if len(remark) > REMARK_MAX:
        raise ValidationError("The text can be at most %(max)d characters.", field="remark", max=REMARK_MAX)
    done = rows_matched(
        session,
        update(Escalation)
        .where(Escalation.id == esc.id, Escalation.acknowledged_at.is_(None))
        .values(acknowledged_at=now, acknowledged_by_id=actor.id, remark=remark)
        .execution_options(synchronize_session=False),
    )
    if done != 1:
        raise ValidationError("This escalation was already acknowledged.", field="remark")
    # Acknowledging answers the alert: it no longer counts as unread on the actor's bell.
    session.execute(
        update(Notification)
        .where(Notification.user_id == actor.id, Notification.escalation_id == esc.id, Notification.read_at.is_(None))
        .values(read_at=now)
        .execution_options(synchronize_session=False)
    )
    # In the ticket's history (the desk's side of it), where its assignee sees who took it up.
    record(
        session,
        ticket,
        actor,
        now,
        "escalation_acknowledged",
        old=f"{esc.target}:{esc.level}",
        new=remark,
        internal=True,
    )
    session.expire(esc)
    session.flush()
    return esc


@dataclass
class Acknowledged:
    """What acknowledging several escalations at once did: those acknowledged, each one
    refused with its consultation's number and why, and how many the actor may not
    acknowledge at all (gone, or not theirs: named by nothing, as if they did not exist)."""

    done: list[int]
    refused: list[tuple[int, str, DomainError]]
    not_theirs: int = 0


def acknowledge_many(
    session: Session, actor: User, now: datetime, escalation_ids: list[int], remark: str
) -> Acknowledged:
    """Acknowledge each escalation as `acknowledge` does, with one remark (checked once);
    one that cannot be is refused alone and the rest are kept."""
    remark = (remark or "").strip()
    if len(remark) > REMARK_MAX:
        raise ValidationError("The text can be at most %(max)d characters.", field="remark", max=REMARK_MAX)
    result = Acknowledged([], [])
    for esc_id in list(dict.fromkeys(escalation_ids))[:200]:
        try:
            with session.begin_nested():
                acknowledge(session, actor, now, esc_id, remark)
            result.done.append(esc_id)
        except NotFound:
            result.not_theirs += 1
        except DomainError as exc:
            esc = session.get(Escalation, esc_id)
            ticket = session.get(Ticket, esc.ticket_id) if esc is not None else None
            result.refused.append((esc_id, ticket.number if ticket is not None else "", exc))
    return result


def unacknowledged(session: Session, ticket_ids: list[int]) -> set[int]:
    """Which of these tickets have an escalation nobody has acknowledged (the queue's badge)."""
    if not ticket_ids:
        return set()
    return set(
        session.scalars(
            select(Escalation.ticket_id)
            .where(Escalation.ticket_id.in_(ticket_ids), Escalation.acknowledged_at.is_(None))
            .distinct()
        )
    )


def of_ticket(session: Session, ticket_id: int) -> list[Escalation]:
    """A ticket's escalations, oldest first, with who acknowledged each (the ticket page)."""
    return list(
        session.scalars(
            select(Escalation)
            .where(Escalation.ticket_id == ticket_id)
            .options(joinedload(Escalation.acknowledged_by))
            .order_by(Escalation.fired_at, Escalation.id)
        )
    )
