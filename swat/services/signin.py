"""Signing in and server-side sessions: the failure limits, the session token, its idle and
absolute expiry, the user's language."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from ..domain import audit as kinds
from ..domain.errors import NotFound, ValidationError
from ..models import LoginAttempt, User, UserSession
from . import audit, auth_backends, directory, signin_throttle


@dataclass
class AccountSettings:
    hash_method: str = "scrypt"
    max_failures: int = 5
    window_minutes: int = 15
    max_failures_per_ip: int = 50
    delay_seconds: int = 60
    reset_minutes: int = 30
    two_factor_required: bool = False
    two_factor_issuer: str = "SWAT Desk"
    idle_minutes: int = 120
    absolute_hours: int = 12
    # The directory to sign in against (None: local accounts only); see services.auth_backends.
    directory: directory.DirectorySettings | None = None


class LoginThrottled(Exception):
    """This user name from this address must wait `retry_after` before its next try."""

    def __init__(self, retry_after: timedelta):
        super().__init__(retry_after)
        self.retry_after = retry_after


def authenticate(
    session: Session, now: datetime, username: str, password: str, ip: str, cfg: AccountSettings
) -> User | None:
    """The active user with these credentials, or None.

    The attempt first claims its place in the throttle (services.signin_throttle: per user
    name and address, in the database so every worker shares it); one that must wait raises
    LoginThrottled, even with the right password, after spending the time a check takes. A
    success clears the count. The answer never tells whether the user name exists.
    """
    username = (username or "").strip()[:64]
    ip = (ip or "")[:64]
    wait = signin_throttle.claim(session, now, username, ip, cfg)
    if wait is not None:
        auth_backends.stand_in_check(password, cfg.hash_method)
        raise LoginThrottled(wait)
    user = auth_backends.authenticate(session, username, password or "", now, cfg.directory, cfg.hash_method)
    session.add(LoginAttempt(username=username, ip=ip, at=now, success=user is not None))
    if user is None:
        return None
    signin_throttle.succeeded(session, username, ip)
    user.last_login_at = now
    return user


@dataclass(frozen=True)
class SignIn:
    """How a sign-in went: the user and their new session token, or nobody (and whether it was throttled)."""

    user: User | None
    token: str = ""
    throttled: bool = False
    retry_after: timedelta = timedelta(0)  # when throttled: until the next try may come
    # The password was right and the account uses two-factor sign-in: no session yet, the
    # one-time code comes next (then `complete_sign_in`).
    second_factor: bool = False


def sign_in(session: Session, now: datetime, username: str, password: str, ip: str, cfg: AccountSettings) -> SignIn:
    """Check the credentials (`authenticate`) and, when they hold, start a new server-side session.

    Every outcome writes the attempt and its audit event, so the caller commits in all
    three cases: that is what makes the failure count (and the throttle) work.
    """
    try:
        user = authenticate(session, now, username, password, ip, cfg)
    except LoginThrottled as wait:
        audit.record_sign_in(session, now, username=username, ip=ip, user=None, throttled=True)
        return SignIn(user=None, throttled=True, retry_after=wait.retry_after)
    if user is not None and user.totp_enabled_at is not None:
        return SignIn(user=user, second_factor=True)
    audit.record_sign_in(session, now, username=username, ip=ip, user=user)
    if user is None:
        return SignIn(user=None)
    return SignIn(user=user, token=start_session(session, now, user, ip))


def complete_sign_in(session: Session, now: datetime, user: User, ip: str, *, method: str = "app") -> str:
    """The sign-in of an account whose second step is done (`method`: "app" or "recovery",
    the kind of code): its audit event, its time, and its new session."""
    if method == "recovery":
        audit.record(
            session, now, actor=user, kind=kinds.SIGNED_IN, subject=user, source=ip, after={"reason": "recovery_code"}
        )
    else:
        audit.record_sign_in(session, now, username=user.username, ip=ip, user=user)
    user.last_login_at = now
    return start_session(session, now, user, ip)


def set_locale(session: Session, user: User, locale: str) -> None:
    """Keep the language the user chose for every page and e-mail (a code such as "ja"; "" follows the default)."""
    if len(locale) > 8:
        raise ValidationError("Choose a valid language.", field="locale")
    account = session.get(User, user.id)
    if account is None:
        raise NotFound()
    account.locale = locale
    session.flush()


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(session: Session, now: datetime, user: User, ip: str) -> str:
    """A new server-side session for the user; returns the token for the cookie."""
    token = secrets.token_urlsafe(32)
    session.add(
        UserSession(token_hash=_hash_token(token), user_id=user.id, created_at=now, last_seen_at=now, ip=ip[:64])
    )
    session.flush()
    return token


# Read on every request: built once.
_SESSION_BY_TOKEN = (
    select(UserSession, User)
    .join(User, UserSession.user_id == User.id)
    .where(UserSession.token_hash == bindparam("token_hash"))
)


def resume_session(session: Session, now: datetime, token: str, cfg: AccountSettings) -> User | None:
    """The user of a live session token, or None (revoked, idle too long, too old, user inactive)."""
    if not token or len(token) > 100:
        return None
    row = session.execute(_SESSION_BY_TOKEN, {"token_hash": _hash_token(token)}).one_or_none()
    if row is None:
        return None
    us, user = row
    if (
        us.revoked_at is not None
        or not user.active
        or now - us.last_seen_at > timedelta(minutes=cfg.idle_minutes)
        or now - us.created_at > timedelta(hours=cfg.absolute_hours)
    ):
        return None
    # Write the last-seen time at most once a minute, not on every request; the
    # caller commits it (session.dirty tells), since a page view commits nothing else.
    if now - us.last_seen_at > timedelta(minutes=1):
        us.last_seen_at = now
    user.session_id = token
    return user


def end_sessions(session: Session, now: datetime, user_id: int, *, keep_token: str | None = None) -> None:
    """End every session of the account but the one `keep_token` opens (the holder's own
    browser, after they changed their password there)."""
    statement = update(UserSession).where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
    if keep_token:
        statement = statement.where(UserSession.token_hash != _hash_token(keep_token))
    session.execute(statement.values(revoked_at=now))


def end_session(session: Session, now: datetime, token: str) -> None:
    session.execute(update(UserSession).where(UserSession.token_hash == _hash_token(token)).values(revoked_at=now))
