"""The audit trail: one event per change to an account or a permission, per sign-in (and
failed sign-in), per reload of the reference data and per setting changed, appended in the
caller's transaction. Nothing here changes or deletes an event, and the ORM refuses to
(`AppendOnly`): the one deletion is `prune`, past a configured retention.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, event, func, select
from sqlalchemy.orm import ORMExecuteState, Session

from ..domain import audit as kinds
from ..domain.audit import ACCOUNT_FIELD_KINDS, changes, typed_name
from ..domain.errors import ValidationError
from ..models import AuditEvent, User

_PRUNE_OPTION = "swat_audit_prune"


class AppendOnly(RuntimeError):
    """Something tried to change or delete an audit event."""


def record(
    session: Session,
    now: datetime,
    *,
    actor: Any,
    kind: str,
    subject: Any = None,
    source: str = "",
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
) -> AuditEvent:
    """Append one event to the caller's transaction (it is committed or rolled back with the
    change it records). The actor's and the subject's names are copied, so the trail reads
    the same after a rename; `before` and `after` are kept as JSON (Japanese as it is)."""
    if kind not in kinds.KINDS:
        raise ValueError(f"unknown audit event kind {kind!r}")
    entry = AuditEvent(
        at=now,
        actor_id=getattr(actor, "id", None),
        actor_name=_name(actor),
        subject_id=getattr(subject, "id", None),
        subject_name=_name(subject),
        kind=kind,
        source=(source or "")[:64],
        before=_json(before),
        after=_json(after),
    )
    session.add(entry)
    return entry


def _name(person: Any) -> str:
    if person is None:
        return ""
    return str(getattr(person, "display_name", "") or getattr(person, "username", ""))[:100]


def _json(values: Mapping[str, Any] | None) -> str:
    return json.dumps(dict(values or {}), ensure_ascii=False, default=str)


# --- accounts ----------------------------------------------------------------------------


def account_fields(user: User, theme_ids: list[str]) -> dict[str, Any]:
    """What the trail keeps of an account (with its skills, `theme_ids`), to compare before
    and after a change."""
    themes = theme_ids
    return {
        "username": user.username,
        "display_name": user.display_name,
        "email": user.email,
        "role": user.role,
        "department": user.department_id,
        "themes": sorted(themes),
        "active": bool(user.active),
    }


def record_account_created(session: Session, now: datetime, actor: Any, user: User, fields: dict, source: str) -> None:
    record(session, now, actor=actor, kind=kinds.ACCOUNT_CREATED, subject=user, source=source, after=fields)


def record_account_changes(
    session: Session, now: datetime, actor: Any, user: User, before: dict, after: dict, source: str
) -> None:
    """One event per kind of change (profile, role, department, skills, activation), each
    with only the fields that changed."""
    by_kind: dict[str, list[str]] = {}
    for name, kind in ACCOUNT_FIELD_KINDS.items():
        if before.get(name) != after.get(name):
            by_kind.setdefault(kind, []).append(name)
    for kind, names in by_kind.items():
        old, new = changes({n: before.get(n) for n in names}, {n: after.get(n) for n in names})
        record(session, now, actor=actor, kind=kind, subject=user, source=source, before=old, after=new)
    if before.get("active") != after.get("active"):
        kind = kinds.ACTIVATED if after.get("active") else kinds.DEACTIVATED
        record(
            session,
            now,
            actor=actor,
            kind=kind,
            subject=user,
            source=source,
            before={"active": before.get("active")},
            after={"active": after.get("active")},
        )


def record_password(session: Session, now: datetime, actor: Any, user: User, source: str, reason: str = "") -> None:
    """A new password: set by its holder, or reset by someone else (never the password itself);
    `reason` says how, when it was not the usual way (a reset link)."""
    own = actor is not None and getattr(actor, "id", None) == user.id
    record(
        session,
        now,
        actor=actor,
        kind=kinds.PASSWORD_SET if own else kinds.PASSWORD_RESET,
        subject=user,
        source=source,
        after={"reason": reason} if reason else None,
    )


# --- signing in ---------------------------------------------------------------------------


def record_sign_in(
    session: Session, now: datetime, *, username: str, ip: str, user: User | None, throttled: bool = False
) -> None:
    """A sign-in, or a failed one: of a known account (its subject), or of a name nobody has
    (no subject; the name as typed, cleaned, in `after`)."""
    if user is not None:
        record(session, now, actor=user, kind=kinds.SIGNED_IN, subject=user, source=ip)
        return
    name = typed_name(username)
    account = session.scalar(select(User).where(func.lower(User.username) == name.lower())) if name else None
    if account is None:
        reason = "throttled" if throttled else "unknown_user"
        after: dict[str, Any] = {"username": name, "reason": reason}
    else:
        reason = "throttled" if throttled else ("inactive" if not account.active else "password")
        after = {"reason": reason}
    record(session, now, actor=None, kind=kinds.SIGN_IN_FAILED, subject=account, source=ip, after=after)


# --- reference data -----------------------------------------------------------------------


def reference_digest(directory: str | Path) -> str:
    """SHA-256 over the reference folder's files (their paths and bytes, in path order)."""
    root = Path(directory)
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file() and not p.name.startswith(".")):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def record_reference_load(
    session: Session,
    now: datetime,
    *,
    directory: str | Path,
    report: Any,
    routing_changed: bool,
    sla_changed: bool,
    source: str = "cli",
) -> None:
    """A reload of the reference data: the file set's digest and what the load changed
    (`report`, the reference load's counts per kind)."""
    after = {
        "digest": reference_digest(directory),
        "created": report.created,
        "updated": report.updated,
        "deactivated": report.deactivated,
        "deleted": report.deleted,
        "routing_changed": routing_changed,
        "sla_changed": sla_changed,
    }
    record(session, now, actor=None, kind=kinds.REFERENCE_LOADED, source=source, after=after)


# --- retention ----------------------------------------------------------------------------


def prune(session: Session, now: datetime, retention_days: int, *, source: str = "cli") -> int:
    """Delete the events older than the retention (the one deletion of the trail), and record
    that it happened; a retention of 0 keeps everything and deletes nothing."""
    problem = kinds.retention_problem(retention_days)
    if problem is not None:
        raise ValidationError(problem)
    if retention_days == 0:
        raise ValidationError("No audit retention is set: audit events are kept forever.")
    cutoff = now - timedelta(days=retention_days)
    result = session.execute(
        delete(AuditEvent).where(AuditEvent.at < cutoff).execution_options(**{_PRUNE_OPTION: True})
    )
    deleted = int(getattr(result, "rowcount", 0) or 0)
    record(
        session,
        now,
        actor=None,
        kind=kinds.PRUNED,
        source=source,
        after={"deleted": deleted, "older_than": cutoff.isoformat(), "retention_days": retention_days},
    )
    session.flush()
    return deleted


# --- append-only --------------------------------------------------------------------------


@event.listens_for(Session, "do_orm_execute")
def _refuse_bulk_changes(state: ORMExecuteState) -> None:
    if not (state.is_update or state.is_delete):
        return
    if not any(m.class_ is AuditEvent for m in state.all_mappers):
        return
    if state.is_delete and state.execution_options.get(_PRUNE_OPTION):
        return
    raise AppendOnly("audit events are never changed or deleted (only pruned past the retention)")


@event.listens_for(AuditEvent, "before_update")
@event.listens_for(AuditEvent, "before_delete")
def _refuse_row_changes(mapper, connection, target) -> None:
    raise AppendOnly("audit events are never changed or deleted")
