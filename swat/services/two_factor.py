"""Two-factor sign-in: a TOTP authenticator (RFC 6238, with pyotp) and recovery codes.

Enrolment keeps a new secret on the account, not yet in force, until the user types a code
their app shows for it; then the secret is in force and ten recovery codes are handed out
once (only their SHA-256 is kept). At sign-in a code is accepted once: the time step it
belongs to is written with a conditional UPDATE, so the same code cannot sign in twice, not
even by two requests at the same moment; a recovery code is spent the same way.

Every wrong code is an audit event on the account (a failed sign-in, reason "second_factor"),
and CODE_FAILURES of them in the window stop every use of a code for that account until the
window passes: someone who has the password cannot try the million codes, not even by signing
in again and again. The count is read with the account's row locked (PostgreSQL), so parallel
tries cannot pass it. Nothing typed at the sign-in form can add to that count.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import unicodedata
from datetime import datetime, timedelta
from typing import Any

import pyotp
import segno
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from ..domain import audit as kinds
from ..domain.errors import ValidationError
from ..models import AuditEvent, RecoveryCode, User, UserSession
from . import audit
from .statements import rows_matched

RECOVERY_CODES = 10
CODE_FAILURES = 10
# A code from the step before or after the current one is accepted too (a clock 30 s off).
VALID_WINDOW = 1
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read off paper without doubt


def enrolled(user: User) -> bool:
    return user.totp_enabled_at is not None


def _hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def _normal(code: str) -> str:
    """A code as typed, less what a person adds: full-width digits and letters (a Japanese
    keyboard), spaces and hyphens."""
    return "".join(ch for ch in unicodedata.normalize("NFKC", code or "").lower() if ch.isascii() and ch.isalnum())


def _new_recovery_code() -> str:
    raw = "".join(secrets.choice(_ALPHABET) for _ in range(10))
    return f"{raw[:5]}-{raw[5:]}"


def start_enrolment(session: Session, user: User) -> str:
    """A new secret waiting for confirmation. Each showing of the set-up page makes a new one,
    so a key someone copied from an earlier showing is never the one the holder confirms."""
    if enrolled(user):
        raise ValidationError("Two-factor sign-in is already set up.")
    user.totp_secret = pyotp.random_base32()
    session.flush()
    return user.totp_secret


def provisioning_uri(user: User, issuer: str) -> str:
    return pyotp.TOTP(user.totp_secret or "").provisioning_uri(name=user.username, issuer_name=issuer)


def qr_svg(uri: str) -> str:
    """The otpauth:// link as an inline SVG QR code (drawn here; nothing is fetched)."""
    return segno.make(uri, error="m").svg_inline(scale=5, border=2, dark="#000", light="#fff")


def _code_digits(code: str) -> str:
    digits = _normal(code)
    if not (len(digits) == 6 and digits.isascii() and digits.isdigit()):
        raise ValidationError("Enter the six-digit one-time code.", field="code")
    return digits


def _step_of(secret: str, code: str, now: datetime) -> int | None:
    """The time step the code belongs to (the current one or a neighbour), or None."""
    totp = pyotp.TOTP(secret)
    step = int(now.timestamp()) // totp.interval
    for offset in range(-VALID_WINDOW, VALID_WINDOW + 1):
        if secrets.compare_digest(totp.generate_otp(step + offset), code):
            return step + offset
    return None


def confirm_enrolment(session: Session, now: datetime, user: User, code: str, source: str) -> list[str]:
    """Put the waiting secret in force when the code matches; the new recovery codes."""
    digits = _code_digits(code)
    if enrolled(user) or not user.totp_secret:
        raise ValidationError("Start setting up two-factor sign-in again.")
    step = _step_of(user.totp_secret, digits, now)
    if step is None:
        raise ValidationError("That code does not match. Check the time on your phone and try again.", field="code")
    # Conditional, so two confirmations at once put one set of recovery codes in force.
    won = rows_matched(
        session,
        update(User)
        .where(User.id == user.id, User.totp_enabled_at.is_(None), User.totp_secret == user.totp_secret)
        .values(totp_enabled_at=now, totp_last_step=step)
        .execution_options(synchronize_session=False),
    )
    if won != 1:
        raise ValidationError("Start setting up two-factor sign-in again.")
    session.refresh(user)
    codes = _replace_recovery_codes(session, now, user)
    audit.record(session, now, actor=user, kind=kinds.TWO_FACTOR_ENROLLED, subject=user, source=source)
    session.flush()
    return codes


def _replace_recovery_codes(session: Session, now: datetime, user: User) -> list[str]:
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODES)]
    session.add_all(RecoveryCode(user_id=user.id, code_hash=_hash(_normal(c)), created_at=now) for c in codes)
    return codes


def recovery_codes_left(session: Session, user: User) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(RecoveryCode)
            .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
        )
        or 0
    )


def too_many_failures(session: Session, now: datetime, user: User, window_minutes: int) -> bool:
    """Whether the account's wrong codes in the window reached the limit. Locks the account's
    row first (PostgreSQL), so tries running at once are counted one after the other."""
    session.execute(select(User.id).where(User.id == user.id).with_for_update())
    failures = session.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(
            AuditEvent.subject_id == user.id,
            AuditEvent.at >= now - timedelta(minutes=window_minutes),
            AuditEvent.kind == kinds.SIGN_IN_FAILED,
            AuditEvent.after == _FAILED,
        )
    )
    return (failures or 0) >= CODE_FAILURES


def check_code(session: Session, now: datetime, user: User, code: str, *, recovery: bool = True) -> str:
    """How the code signs in, spending it: "app" (the authenticator's), "recovery" (a
    recovery code, when `recovery`), or "" for no."""
    if not enrolled(user) or not user.totp_secret:
        return ""
    digits = _normal(code)
    if len(digits) == 6 and digits.isdigit():
        step = _step_of(user.totp_secret, digits, now)
        if step is None:
            return ""
        taken = rows_matched(
            session,
            update(User)
            .where(User.id == user.id, (User.totp_last_step.is_(None)) | (User.totp_last_step < step))
            .values(totp_last_step=step)
            .execution_options(synchronize_session=False),
        )
        return "app" if taken == 1 else ""
    normal = digits
    if not recovery or len(normal) != 10:
        return ""
    spent = rows_matched(
        session,
        update(RecoveryCode)
        .where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == _hash(normal),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False),
    )
    return "recovery" if spent == 1 else ""


FAILED_AFTER = {"reason": "second_factor"}
_FAILED = json.dumps(FAILED_AFTER, ensure_ascii=False)  # as services.audit writes `after`


def record_failure(session: Session, now: datetime, user: User, ip: str) -> None:
    """A wrong code: an audit event that `too_many_failures` counts."""
    audit.record(session, now, actor=None, kind=kinds.SIGN_IN_FAILED, subject=user, source=ip, after=FAILED_AFTER)


def new_recovery_codes(session: Session, now: datetime, user: User, source: str) -> list[str]:
    """Ten fresh recovery codes (the old ones stop working); the caller checked a code."""
    codes = _replace_recovery_codes(session, now, user)
    audit.record(
        session,
        now,
        actor=user,
        kind=kinds.TWO_FACTOR_ENROLLED,
        subject=user,
        source=source,
        after={"reason": "recovery_codes_renewed"},
    )
    session.flush()
    return codes


def reset(
    session: Session, now: datetime, user: User, *, actor: Any, source: str, end_sessions: bool, reason: str = ""
) -> bool:
    """Take two-factor sign-in off the account (the authenticator was lost, or its holder
    turns it off); False when it was not set up. An admin's reset ends the user's sessions."""
    was = enrolled(user) or bool(user.totp_secret)
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    if end_sessions:
        session.execute(
            update(UserSession)
            .where(UserSession.user_id == user.id, UserSession.revoked_at.is_(None))
            .values(revoked_at=now)
        )
    if was:
        after = {"reason": reason} if reason else None
        audit.record(session, now, actor=actor, kind=kinds.TWO_FACTOR_RESET, subject=user, source=source, after=after)
    session.flush()
    return was
