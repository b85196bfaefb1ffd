"""What an operator watches: the scheduler's heartbeat, each job's last run, the outbox (what
waits, what gave up) and the open consultations by status; and what an admin does about a
message that gave up: send it again, or discard it (both in the audit trail).

/metrics (`web.metrics`) and the status page (`web.operations`) read the same figures here.
"""

from __future__ import annotations

import json
import platform
import socket
import sys
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from importlib import metadata

from sqlalchemy import func, select, text, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from ..domain import audit as kinds
from ..domain import states
from ..domain.errors import NotFound, ValidationError
from ..models import JobRun, OutboxMessage, SchedulerHeartbeat, Ticket
from . import audit, statements
from .passwords import RESET_KIND

CHANNELS = ("email", "webhook")
FAILED_PAGE = 50
AUDITED_IDS = 200  # message numbers a "send all again" event lists


def record_run(
    session: Session,
    name: str,
    started_at: datetime,
    finished_at: datetime,
    duration_ms: int,
    counted: dict,
    error: str,
) -> None:
    """Rewrite job `name`'s row with this run (one upsert): a run that went well also moves
    `ok_at`; one that failed keeps when the job last went well."""
    values = {
        "host": socket.gethostname()[:255],
        "started_at": started_at,
        "finished_at": finished_at,
        "duration_ms": duration_ms,
        "ok": not error,
        "counts": json.dumps(counted, ensure_ascii=False, default=str),
        "error": error[:500],
    }
    if not error:
        values["ok_at"] = finished_at
    session.execute(statements.insert_or_update(session, JobRun, {"name": name, **values}, ["name"], values))


def counted(run: JobRun) -> dict:
    """What a job's last run counted, as its row keeps it."""
    return json.loads(run.counts or "{}")


@dataclass(frozen=True)
class Outbox:
    """One channel's messages not sent: waiting (`pending`, of which `retrying` failed at least
    once and `due` may go now), the oldest of them, and those that gave up (`failed`)."""

    channel: str
    pending: int = 0
    retrying: int = 0
    due: int = 0
    oldest_pending_at: datetime | None = None
    failed: int = 0

    def oldest_age_seconds(self, now: datetime) -> float:
        return max(0.0, (now - self.oldest_pending_at).total_seconds()) if self.oldest_pending_at else 0.0


def outbox(session: Session, now: datetime) -> list[Outbox]:
    """Each channel's figures (two grouped reads on the pending index)."""
    m = OutboxMessage
    waiting = session.execute(
        select(
            m.channel,
            func.count(),
            func.count().filter(m.attempts > 0),
            func.count().filter(m.next_attempt_at <= now),
            func.min(m.created_at),
        )
        .where(m.sent_at.is_(None), m.failed_at.is_(None))
        .group_by(m.channel)
    ).all()
    failed = dict(
        session.execute(
            select(m.channel, func.count())
            .where(m.sent_at.is_(None), m.failed_at.is_not(None), m.discarded_at.is_(None))
            .group_by(m.channel)
        ).all()
    )
    found = {c: Outbox(c, failed=failed.get(c, 0)) for c in CHANNELS}
    for channel, pending, retrying, due, oldest in waiting:
        found[channel] = Outbox(channel, pending, retrying, due, oldest, failed.get(channel, 0))
    for channel in set(failed) - set(found):
        found[channel] = Outbox(channel, failed=failed[channel])
    return [found[c] for c in sorted(found)]


def heartbeat(session: Session) -> SchedulerHeartbeat | None:
    """The newest heartbeat of any scheduler, or None if none ever beat."""
    return session.scalars(select(SchedulerHeartbeat).order_by(SchedulerHeartbeat.beat_at.desc()).limit(1)).first()


def job_runs(session: Session) -> list[JobRun]:
    return list(session.scalars(select(JobRun).order_by(JobRun.name)))


def open_by_status(session: Session) -> dict[str, int]:
    """The open consultations by status, every open status present (0 when none)."""
    counted = dict(
        session.execute(
            select(Ticket.status, func.count()).where(Ticket.status.in_(states.OPEN_STATUSES)).group_by(Ticket.status)
        ).all()
    )
    return {s: counted.get(s, 0) for s in states.OPEN_STATUSES}


@dataclass(frozen=True)
class Versions:
    desk: str
    python: str
    database: str
    schema: str  # the migration the database is at
    head: str  # the newest the code ships
    platform: str = field(default_factory=platform.platform)


def versions(session: Session, head: str) -> Versions:
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        database = str(session.scalar(text("SHOW server_version")) or "")
        database = f"PostgreSQL {database}"
    else:
        database = f"SQLite {session.scalar(text('select sqlite_version()'))}"
    try:
        desk = metadata.version("swat-desk")
    except metadata.PackageNotFoundError:
        desk = "unknown"
    schema = session.scalar(text("SELECT version_num FROM alembic_version")) or ""
    return Versions(desk, sys.version.split()[0], database, schema, head)


# --- messages that gave up ---------------------------------------------------------------


def failed_pages(total: int, per_page: int = FAILED_PAGE) -> int:
    return max(1, -(-total // per_page))


def failed_messages(
    session: Session, page: int = 1, per_page: int = FAILED_PAGE
) -> tuple[list[OutboxMessage], int, int]:
    """The messages that gave up and were not discarded, newest first, one page; how many; and
    the page shown (the last one when `page` is past it, as after the last of a page went)."""
    m = OutboxMessage
    where = (m.sent_at.is_(None), m.failed_at.is_not(None), m.discarded_at.is_(None))
    total = session.scalar(select(func.count()).select_from(m).where(*where)) or 0
    page = min(page, failed_pages(total, per_page))
    rows = session.scalars(
        select(m).where(*where).order_by(m.failed_at.desc(), m.id.desc()).offset((page - 1) * per_page).limit(per_page)
    )
    return list(rows), total, page


def _failed(session: Session, message_id: int) -> OutboxMessage:
    m = OutboxMessage
    found = session.scalars(
        select(m)
        .where(m.id == message_id, m.sent_at.is_(None), m.failed_at.is_not(None), m.discarded_at.is_(None))
        .with_for_update()
    ).first()
    if found is None:
        raise NotFound("This message is not among the undelivered ones (it was sent again or discarded).")
    return found


def _described(message: OutboxMessage) -> dict:
    return {
        "message": message.id,
        "channel": message.channel,
        "recipient": message.recipient,
        "kind": message.kind,
        "attempts": message.attempts,
        "last_error": message.last_error,
    }


def link_expired(kind: str, params: str, created_at: datetime, now: datetime) -> bool:
    """Whether the message is a password-reset mail whose link no longer works: sent now, it
    would only lead its reader to an error (they ask for a new link instead). Parameters that
    cannot be read count as expired: such a mail is never sent."""
    if kind != RESET_KIND:
        return False
    try:
        return created_at + timedelta(minutes=int(json.loads(params or "{}").get("minutes", 0))) <= now
    except (ValueError, TypeError, AttributeError, OverflowError):
        return True


# What delivery writes as the reason of a reset mail it did not send (the status page says it
# in the reader's language).
EXPIRED_LINK = "not sent: the password-reset link in it expired before it could be sent"

_REQUEUED = {"failed_at": None, "attempts": 0, "claimed_until": None, "claim_token": None}


def retry(session: Session, now: datetime, actor, message_id: int, source: str = "") -> OutboxMessage:
    """Send a message that gave up again, from its first attempt, at the next delivery run.
    A password-reset mail whose link has expired is refused: discard it."""
    message = _failed(session, message_id)
    if link_expired(message.kind, message.params, message.created_at, now):
        raise ValidationError(
            "The password-reset link in this message has expired, so it is not sent again; discard it. "
            "The person can ask for a new link on the sign-in page."
        )
    before = _described(message)
    session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message.id, OutboxMessage.failed_at.is_not(None))
        .values(next_attempt_at=now, **_REQUEUED)
        .execution_options(synchronize_session="fetch")
    )
    audit.record(
        session, now, actor=actor, kind=kinds.OUTBOX_RETRIED, source=source, before=before, after={"state": "queued"}
    )
    return message


def retry_all(session: Session, now: datetime, actor, source: str = "") -> tuple[int, int]:
    """Send every message that gave up again (after an outage of the mail server, say), but not
    password-reset mails whose link has expired; one audit event says how many and which.
    Returns (sent again, left because their link expired)."""
    m = OutboxMessage
    where = (m.sent_at.is_(None), m.failed_at.is_not(None), m.discarded_at.is_(None))
    chosen, expired = [], 0
    for mid, kind, params, created_at in session.execute(
        select(m.id, m.kind, m.params, m.created_at).where(*where).order_by(m.id)
    ):
        if link_expired(kind, params, created_at, now):
            expired += 1
        else:
            chosen.append(mid)
    requeued = 0
    for start in range(0, len(chosen), 500):
        requeued += statements.rows_matched(
            session,
            update(m)
            .where(m.id.in_(chosen[start : start + 500]), *where)
            .values(next_attempt_at=now, **_REQUEUED)
            .execution_options(synchronize_session=False),
        )
    if requeued:  # another admin's click may have sent some of them again first
        shown = ", ".join(str(i) for i in chosen[:AUDITED_IDS]) + (", …" if len(chosen) > AUDITED_IDS else "")
        audit.record(
            session,
            now,
            actor=actor,
            kind=kinds.OUTBOX_RETRIED,
            source=source,
            before={"count": requeued, "message": shown},
            after={"state": "queued"},
        )
    return requeued, expired


def discard(session: Session, now: datetime, actor, message_id: int, source: str = "") -> OutboxMessage:
    """Leave a message that gave up unsent for good; it stays on record, off the failed list."""
    message = _failed(session, message_id)
    before = _described(message)
    message.discarded_at = now
    audit.record(
        session,
        now,
        actor=actor,
        kind=kinds.OUTBOX_DISCARDED,
        source=source,
        before=before,
        after={"state": "discarded"},
    )
    return message


@dataclass(frozen=True)
class Snapshot:
    """Everything /metrics says of the desk, read at once."""

    versions: Versions
    outbox: list[Outbox]
    heartbeat: SchedulerHeartbeat | None
    runs: list[JobRun]
    open_by_status: dict[str, int]


def snapshot(session: Session, now: datetime, head: str) -> Snapshot | None:
    """The figures, or None when the database does not answer (the read is rolled back)."""
    try:
        return Snapshot(
            versions(session, head),
            outbox(session, now),
            heartbeat(session),
            job_runs(session),
            open_by_status(session),
        )
    except SQLAlchemyError:
        session.rollback()
        return None
