"""Slowing down wrong passwords, per user name and source address together.

Each attempt first claims its place in `sign_in_throttles` with one statement (an INSERT … ON
CONFLICT DO UPDATE … WHERE): the row of (user name, address) counts the attempt before the
password is checked, and the WHERE lets it through only while the count is under the limit or
the wait after the last failure has passed. The database evaluates that on the latest row, so
fifty simultaneous attempts on any number of workers check at most the limit; the others are
told to wait. After `max_failures` the next try waits `delay_seconds`, doubling with each
further failure up to `window_minutes`; a failure older than the window starts the count
again, and a success clears it. Refused attempts change nothing, so waiting never grows by
trying, and another address (the real user at their desk) is not slowed by an attacker's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, delete, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ..domain import audit as kinds
from ..models import LoginAttempt, SignInThrottle, User
from . import audit
from .statements import rows_matched

# How many doublings of the wait are spelled out in the claim's WHERE; past them the wait is
# the window (a delay of one minute reaches a window of fifteen in four doublings).
_DOUBLINGS = 8


def _key(username: str, ip: str) -> tuple[str, str]:
    return (username or "").strip().lower()[:64], (ip or "")[:64]


def wait_after(failures: int, cfg: Any) -> timedelta:
    """How long the next try waits after this many failures in a row."""
    if failures < cfg.max_failures:
        return timedelta(0)
    seconds = cfg.delay_seconds * 2 ** min(failures - cfg.max_failures, _DOUBLINGS)
    return min(timedelta(seconds=seconds), timedelta(minutes=cfg.window_minutes))


def _may_try(now: datetime, cfg: Any):
    """The claim's WHERE over the row already there: under the limit, past the window, or past
    the wait its count of failures gives."""
    t = SignInThrottle.__table__.c
    stale = now - timedelta(minutes=cfg.window_minutes)
    terms = [t.failures < cfg.max_failures, t.last_failure_at <= stale]
    for failures in range(cfg.max_failures, cfg.max_failures + _DOUBLINGS):
        terms.append(and_(t.failures == failures, t.last_failure_at <= now - wait_after(failures, cfg)))
    terms.append(
        and_(
            t.failures >= cfg.max_failures + _DOUBLINGS,
            t.last_failure_at <= now - wait_after(cfg.max_failures + _DOUBLINGS, cfg),
        )
    )
    return or_(*terms)


def claim(session: Session, now: datetime, username: str, ip: str, cfg: Any) -> timedelta | None:
    """Count this attempt before its password is checked: None when it may go on, otherwise
    how long until the next try may (nothing is written then). Also refused while the address
    has failed `max_failures_per_ip` times in the window, whatever the names (a sum read first:
    approximate under concurrency, unlike the per-name limit)."""
    name, address = _key(username, ip)
    since = now - timedelta(minutes=cfg.window_minutes)
    by_address = session.scalar(
        select(func.count())
        .select_from(LoginAttempt)
        .where(LoginAttempt.ip == address, LoginAttempt.at >= since, LoginAttempt.success.is_(False))
    )
    if (by_address or 0) >= cfg.max_failures_per_ip:
        return timedelta(seconds=cfg.delay_seconds)
    t = SignInThrottle.__table__.c
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = (
        dialect.insert(SignInThrottle.__table__)
        .values(username=name, ip=address, failures=1, last_failure_at=now)
        .on_conflict_do_update(
            index_elements=["username", "ip"],
            set_={
                "failures": case((t.last_failure_at <= since, 1), else_=t.failures + 1),
                "last_failure_at": now,
            },
            where=_may_try(now, cfg),
        )
        .returning(t.id)
    )
    if session.execute(statement).first() is not None:  # a row inserted or updated: go on
        return None
    row = session.execute(
        select(SignInThrottle.failures, SignInThrottle.last_failure_at).where(
            SignInThrottle.username == name, SignInThrottle.ip == address
        )
    ).one()
    left = (row.last_failure_at or now) + wait_after(row.failures, cfg) - now
    return max(left, timedelta(seconds=1))


def succeeded(session: Session, username: str, ip: str) -> None:
    """The password was right: this name and address start from nothing again."""
    name, address = _key(username, ip)
    session.execute(delete(SignInThrottle).where(SignInThrottle.username == name, SignInThrottle.ip == address))


def forget_name(session: Session, username: str) -> None:
    """The account proved itself another way (a reset link from its mailbox): no waits on its
    name from any address."""
    name, _address = _key(username, "")
    session.execute(delete(SignInThrottle).where(SignInThrottle.username == name))


@dataclass(frozen=True)
class Wait:
    username: str
    ip: str
    failures: int
    last_failure_at: datetime
    until: datetime
    user_id: int | None


def waits(session: Session, now: datetime, cfg: Any, limit: int = 200) -> list[Wait]:
    """The names and addresses past the limit whose failures are still counted, newest first,
    with when their next try may come (in the past: they may try now, once)."""
    rows = session.execute(
        select(SignInThrottle, User.id)
        .outerjoin(User, func.lower(User.username) == SignInThrottle.username)
        .where(
            SignInThrottle.failures >= cfg.max_failures,
            SignInThrottle.last_failure_at > now - timedelta(minutes=cfg.window_minutes),
        )
        .order_by(SignInThrottle.last_failure_at.desc(), SignInThrottle.id.desc())
        .limit(limit)
    ).all()
    found = []
    for r, user_id in rows:
        last = r.last_failure_at or now  # written with every claim; the column allows none
        found.append(Wait(r.username, r.ip, r.failures, last, last + wait_after(r.failures, cfg), user_id))
    return found


def lift(session: Session, now: datetime, *, actor: Any, username: str, ip: str | None = None, source: str = "") -> int:
    """Clear the failures of a user name (from one address, or from all): how many rows were
    cleared. Each lifted wait is an audit event (who lifted which, and its count)."""
    name = (username or "").strip().lower()[:64]
    where = [SignInThrottle.username == name]
    if ip:
        where.append(SignInThrottle.ip == ip[:64])
    rows = session.scalars(select(SignInThrottle).where(*where).order_by(SignInThrottle.id)).all()
    account = session.scalar(select(User).where(func.lower(User.username) == name)) if name else None
    for row in rows:
        audit.record(
            session,
            now,
            actor=actor,
            kind=kinds.LOCK_LIFTED,
            subject=account,
            source=source,
            before={"username": row.username, "ip": row.ip, "failures": row.failures},
        )
        session.delete(row)
    session.flush()
    return len(rows)


def forget_old(session: Session, now: datetime, cfg: Any) -> int:
    """Housekeeping: failures older than the window count for nothing any more; the attempt
    log keeps a day (the audit trail keeps every sign-in)."""
    gone = rows_matched(
        session,
        delete(SignInThrottle).where(SignInThrottle.last_failure_at <= now - timedelta(minutes=cfg.window_minutes)),
    )
    gone += rows_matched(session, delete(LoginAttempt).where(LoginAttempt.at <= now - timedelta(days=1)))
    return gone
