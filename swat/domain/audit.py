"""The audit trail's vocabulary and rules, without a database: the kinds of event, what an
event keeps of a change, how a typed name is kept, and how long events must be kept."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from .errors import ValidationError
from .tz import TOKYO

ACCOUNT_CREATED = "account_created"
PROFILE_CHANGED = "profile_changed"  # display name or e-mail
ROLE_CHANGED = "role_changed"
DEPARTMENT_CHANGED = "department_changed"
SKILLS_CHANGED = "skills_changed"
ACTIVATED = "activated"
DEACTIVATED = "deactivated"
PASSWORD_SET = "password_set"  # by the account's own holder
PASSWORD_RESET = "password_reset"  # by someone else (an admin)
PASSWORD_RESET_MAILED = "password_reset_mailed"  # a reset link sent to the account's address
LOCK_LIFTED = "lock_lifted"
SIGNED_IN = "signed_in"
SIGN_IN_FAILED = "sign_in_failed"
REFERENCE_LOADED = "reference_loaded"
SETTING_CHANGED = "setting_changed"
TWO_FACTOR_ENROLLED = "2fa_enrolled"
TWO_FACTOR_RESET = "2fa_reset"
PRUNED = "audit_pruned"
OUTBOX_RETRIED = "outbox_retried"  # a message that gave up, sent again (the status page)
OUTBOX_DISCARDED = "outbox_discarded"  # a message that gave up, left unsent for good

KINDS = (
    ACCOUNT_CREATED,
    PROFILE_CHANGED,
    ROLE_CHANGED,
    DEPARTMENT_CHANGED,
    SKILLS_CHANGED,
    ACTIVATED,
    DEACTIVATED,
    PASSWORD_SET,
    PASSWORD_RESET,
    PASSWORD_RESET_MAILED,
    LOCK_LIFTED,
    TWO_FACTOR_ENROLLED,
    TWO_FACTOR_RESET,
    SIGNED_IN,
    SIGN_IN_FAILED,
    REFERENCE_LOADED,
    SETTING_CHANGED,
    OUTBOX_RETRIED,
    OUTBOX_DISCARDED,
    PRUNED,
)

# Which account fields each kind of change covers (an edit that changes several writes one
# event per kind, so the trail can be filtered by kind).
ACCOUNT_FIELD_KINDS = {
    "display_name": PROFILE_CHANGED,
    "email": PROFILE_CHANGED,
    "role": ROLE_CHANGED,
    "department": DEPARTMENT_CHANGED,
    "themes": SKILLS_CHANGED,
}

# What a typed user name of a failed sign-in keeps: no control characters, at most this long.
TYPED_NAME_MAX = 64
_CONTROL_OR_FORMAT = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2064\ufeff]")

# Tickets are never deleted (the desk has no ticket retention), and a prefecture keeps its
# case files for years: audit events are kept forever (0), or, when a retention is set, for
# at least ten years, the longest retention class short of permanent (see config/default.toml).
RETENTION_FLOOR_DAYS = 3650


def changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Only the fields whose value differs, as (before, after); a field missing on one side
    is None there."""
    keys = [k for k in dict.fromkeys([*before, *after]) if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after.get(k) for k in keys}


def typed_name(text: str) -> str:
    """A user name as someone typed it, safe to keep and show: control and invisible
    formatting characters removed, at most TYPED_NAME_MAX characters."""
    return _CONTROL_OR_FORMAT.sub("", text or "").strip()[:TYPED_NAME_MAX]


def retention_problem(days: int) -> str | None:
    """Why an audit retention of this many days is not allowed, or None when it is."""
    if days == 0:
        return None
    if days < 0:
        return "audit_retention_days must be 0 (keep forever) or a number of days"
    if days < RETENTION_FLOOR_DAYS:
        return (
            f"audit_retention_days must be 0 (keep forever) or at least {RETENTION_FLOOR_DAYS} "
            "(audit events are kept at least as long as the consultations)"
        )
    return None


@dataclass(frozen=True)
class AuditQuery:
    """Which events to list: of a subject and of an actor (user names), of one kind, in
    [start, end) (Tokyo days, as UTC-aware instants); empty means any."""

    user: str = ""
    actor: str = ""
    kind: str = ""
    start: datetime | None = None
    end: datetime | None = None
    date_from: str = ""
    date_to: str = ""


def _day(text: str, field: str) -> date | None:
    text = (text or "").strip()
    if not text:
        return None
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text, flags=re.ASCII):
            raise ValueError(text)
        day = date.fromisoformat(text)
        if not 1900 <= day.year <= 9998:  # beyond, an instant in Tokyo time cannot be stored
            raise ValueError(text)
        return day
    except ValueError:
        raise ValidationError("Enter the date as YYYY-MM-DD (for example 2026-04-01).", field=field) from None


def parse_query(
    *, user: str = "", actor: str = "", kind: str = "", date_from: str = "", date_to: str = ""
) -> AuditQuery:
    """The filters as typed, checked: ValidationError (naming the field) when one is wrong."""
    user, actor, kind = (user or "").strip(), (actor or "").strip(), (kind or "").strip()
    if len(user) > TYPED_NAME_MAX:
        raise ValidationError("A user name is at most %(max)d characters.", field="user", max=TYPED_NAME_MAX)
    if len(actor) > TYPED_NAME_MAX:
        raise ValidationError("A user name is at most %(max)d characters.", field="actor", max=TYPED_NAME_MAX)
    if kind and kind not in KINDS:
        raise ValidationError("Choose a kind of event from the list.", field="kind")
    first, last = _day(date_from, "from"), _day(date_to, "to")
    if first and last and first > last:
        raise ValidationError("The period's first day is after its last day.", field="from")
    start = datetime.combine(first, time(0), TOKYO) if first else None
    end = datetime.combine(last + timedelta(days=1), time(0), TOKYO) if last and last < date.max else None
    return AuditQuery(
        user=user,
        actor=actor,
        kind=kind,
        start=start,
        end=end,
        date_from=first.isoformat() if first else "",
        date_to=last.isoformat() if last else "",
    )
