"""Passwords: one strength rule, changing your own, and resetting a forgotten one by mail.

The link in a reset mail carries a token derived from the desk's secret key and a random
salt (HMAC-SHA256). The outbox row keeps only the salt and the reset row only the token's
SHA-256, so neither a copy of the database nor one of the outbox opens the link; the mail is
the one place the token is written. A reset works once, before it expires, and ends every
session of the account.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import secrets
from datetime import datetime, timedelta
from email import message_from_bytes
from typing import Any
from urllib.parse import unquote

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash
from zxcvbn import zxcvbn  # type: ignore[import-untyped]

from ..domain import audit as kinds
from ..domain.errors import ValidationError
from ..models import OutboxMessage, PasswordReset, PasswordResetRequest, User
from . import audit, signin_throttle
from .notify import outbox_row
from .statements import rows_matched

log = logging.getLogger(__name__)

PASSWORD_MIN = 10
PASSWORD_MAX = 256
# zxcvbn's score, 0–4: 3 is "safely unguessable" for an online attack that is throttled.
MIN_SCORE = 3
# zxcvbn reads at most 72 characters (it refuses longer ones); a passphrase longer than that
# is scored by its start, which is where a guessable one shows.
_SCORED_LENGTH = 72
RESET_KIND = "password_reset"
# Reset mails asked for in an hour: per account, and per source address over all accounts.
RESETS_PER_ACCOUNT = 3
RESETS_PER_ADDRESS = 20
# Words a password on this desk must not lean on, besides the account's own name and address.
_DESK_WORDS = ("swat", "corona", "osaka", "desk", "pref", "password")


def inputs_of(user: Any) -> list[str]:
    """What a guesser knows of the account: its name, display name and address, split."""
    values = [getattr(user, "username", "") or "", getattr(user, "display_name", "") or ""]
    email = getattr(user, "email", "") or ""
    values += [email, email.partition("@")[0]]
    words = [w for v in values for w in v.replace(".", " ").replace("-", " ").replace("_", " ").split()]
    return [v for v in dict.fromkeys(values + words + list(_DESK_WORDS)) if v][:40]


def check_strength(password: str, user_inputs: list[str] | tuple[str, ...] = ()) -> str:
    """The password when it is long enough and hard enough to guess (zxcvbn: common passwords,
    words, names, dates, keyboard patterns and the account's own details); ValidationError
    on the field "password" otherwise."""
    password = password or ""
    if len(password) < PASSWORD_MIN:
        raise ValidationError("A password needs at least %(min)d characters.", field="password", min=PASSWORD_MIN)
    if len(password) > PASSWORD_MAX:
        raise ValidationError("That password is too long.", field="password")
    if zxcvbn(password[:_SCORED_LENGTH], user_inputs=list(user_inputs))["score"] < MIN_SCORE:
        raise ValidationError(
            "That password is too easy to guess: it leans on a common password, a word, a name,"
            " a date or a keyboard pattern. A few unrelated words together work well.",
            field="password",
        )
    return password


# --- changing your own -------------------------------------------------------------------

CHANGED, WAIT, WRONG, SAME, DIRECTORY = "changed", "wait", "wrong", "same", "directory"


def change_own(
    session: Session,
    now: datetime,
    user: User,
    *,
    current: str,
    new: str,
    hash_method: str,
    ip: str,
    cfg: Any,
    keep_token: str | None,
) -> tuple[str, timedelta | None]:
    """Change the holder's own password: (`CHANGED`, None), or why not (`WAIT` with how long,
    `WRONG`, `SAME`, `DIRECTORY`). The typed current password is checked as a sign-in is
    (counted per name and address before the check, so guessing here is as slow as at the
    sign-in page); commit whatever comes back. A weak new password raises ValidationError
    before anything is counted. Every other session of the account ends."""
    from .accounts import set_password

    if user.auth_source != "local":
        return DIRECTORY, None
    check_strength(new, inputs_of(user))
    wait = signin_throttle.claim(session, now, user.username, ip, cfg)
    if wait is not None:
        return WAIT, wait
    if not check_password_hash(user.password_hash, current or ""):
        return WRONG, None
    signin_throttle.succeeded(session, user.username, ip)
    if new == current:
        return SAME, None
    set_password(session, user, new, hash_method, now=now, actor=user, source=ip, keep_token=keep_token)
    return CHANGED, None


# --- resetting a forgotten one -------------------------------------------------------------


def reset_token(secret: str, salt: str) -> str:
    """The token a reset mail's link carries (only the mail holds it)."""
    return hmac.new(secret.encode(), b"password-reset:" + salt.encode(), hashlib.sha256).hexdigest()


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _account_asked_for(session: Session, name_or_email: str) -> User | None:
    text = " ".join((name_or_email or "").split())
    if not text or len(text) > 254:
        return None
    if "@" in text:
        # An address several accounts share names none of them: the user name does.
        found = list(session.scalars(select(User).where(func.lower(User.email) == text.lower()).limit(2)))
        account = found[0] if len(found) == 1 else None
        if account is None:
            account = session.scalar(select(User).where(func.lower(User.username) == text.lower()))
        return account
    return session.scalar(select(User).where(func.lower(User.username) == text.lower()))


# Requests waiting from one address at most: the page keeps no more (and says the same).
WAITING_PER_ADDRESS = 20


def ask_reset(session: Session, now: datetime, name_or_email: str, ip: str) -> None:
    """Keep a reset asked for at the page, as typed, for the delivery job (`take_requests`):
    this one row whoever was named, so the page answers alike and in the same time, and says
    nothing of which accounts exist. An address with `WAITING_PER_ADDRESS` requests waiting
    adds none (the same count is read whoever is named)."""
    text = " ".join((name_or_email or "").split())[:254]
    ip = (ip or "")[:64]
    if not text:
        return
    waiting = session.scalar(
        select(func.count()).select_from(PasswordResetRequest).where(PasswordResetRequest.ip == ip)
    )
    if (waiting or 0) >= WAITING_PER_ADDRESS:
        return
    session.add(PasswordResetRequest(name=text, ip=ip, at=now))
    session.flush()


def take_requests(
    session: Session, now: datetime, *, secret: str, minutes: int, directory: Any = None, batch: int = 200
) -> int:
    """The delivery job's part: take the waiting requests (one DELETE … RETURNING, so two jobs
    never take the same one) and mail each account they name its link; how many were mailed.
    A request older than a link would live is dropped unmailed (nobody waits for it any more);
    one that fails is dropped and logged, so it cannot stop the others."""
    if session.scalar(select(PasswordResetRequest.id).limit(1)) is None:
        return 0
    waiting = select(PasswordResetRequest.id).order_by(PasswordResetRequest.id).limit(batch).scalar_subquery()
    taken = session.execute(
        delete(PasswordResetRequest)
        .where(PasswordResetRequest.id.in_(waiting))
        .returning(PasswordResetRequest.id, PasswordResetRequest.name, PasswordResetRequest.ip, PasswordResetRequest.at)
        .execution_options(synchronize_session=False)
    ).all()
    stale = now - timedelta(minutes=minutes)
    mailed = 0
    for row in sorted(taken):
        if row.at <= stale:
            continue
        try:
            with session.begin_nested():
                mailed += request_reset(
                    session, now, row.name, row.ip, secret=secret, minutes=minutes, directory=directory
                )
        except Exception:
            log.exception("password-reset request %s could not be handled; it is dropped", row.id)
    return mailed


def request_reset(
    session: Session,
    now: datetime,
    name_or_email: str,
    ip: str,
    *,
    secret: str,
    minutes: int,
    directory: Any = None,
) -> bool:
    """Mail a reset link to the account named (by user name or e-mail address) when it is an
    active local account with an address that may sign in here (`directory`: the directory's
    settings, which may keep non-admins from local sign-in) and has not asked too often; True
    when a mail was queued. (The page does not call this itself: see `ask_reset`.)"""
    from .directory import local_allowed

    user = _account_asked_for(session, name_or_email)
    if user is None or not user.active or user.auth_source != "local" or not user.email:
        return False
    if not local_allowed(directory, user):
        return False
    hour = now - timedelta(hours=1)
    recent = select(func.count()).select_from(PasswordReset).where(PasswordReset.created_at >= hour)
    if (session.scalar(recent.where(PasswordReset.user_id == user.id)) or 0) >= RESETS_PER_ACCOUNT:
        return False
    if (session.scalar(recent.where(PasswordReset.ip == ip[:64])) or 0) >= RESETS_PER_ADDRESS:
        return False
    salt = secrets.token_urlsafe(16)
    session.add(
        PasswordReset(
            user_id=user.id,
            token_hash=_token_hash(reset_token(secret, salt)),
            created_at=now,
            expires_at=now + timedelta(minutes=minutes),
            ip=ip[:64],
        )
    )
    params = {"salt": salt, "minutes": minutes, "name": user.display_name, "username": user.username}
    session.execute(
        insert(OutboxMessage),
        [outbox_row("email", user.email, user.locale or "ja", RESET_KIND, json.dumps(params, ensure_ascii=False), now)],
    )
    audit.record(session, now, actor=None, kind=kinds.PASSWORD_RESET_MAILED, subject=user, source=ip)
    session.flush()
    return True


def spend_resets(session: Session, now: datetime, user_id: int) -> None:
    """No link mailed before now works any more: the password changed some other way, the
    address changed, or the account was switched off."""
    session.execute(
        update(PasswordReset)
        .where(PasswordReset.user_id == user_id, PasswordReset.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )


_LINK_RE = re.compile(r"/password/reset/([0-9a-f]{64})")


def _readable_parts(raw: bytes) -> list[str]:
    """Every part of a mail as text a link could be found in: each part decoded from its
    transfer encoding (forwarded messages inside it too), HTML as it is (its hrefs), and the
    raw bytes themselves, all with %-escapes undone (links rewritten by a mail filter)."""
    texts = [raw.decode("latin-1")]
    try:
        message = message_from_bytes(raw)
        for part in message.walk():
            if part.is_multipart():
                continue
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                texts.append(payload.decode(part.get_content_charset() or "latin-1", errors="replace"))
    except Exception:  # an unreadable mail: its raw bytes are still searched
        pass
    return [unquote(unquote(t)) for t in texts if "password" in t.lower()]


def spend_links_in(session: Session, now: datetime, raw: bytes, text: str = "") -> int:
    """A mail that reached the desk quoting a reset link (a reply to the reset mail, a forward
    asking "did I ask for this?", as text, HTML or an attached message): the link stops
    working before anyone at the desk reads it. How many links it spent."""
    hashes = {_token_hash(t) for part in [text, *_readable_parts(raw)] for t in _LINK_RE.findall(part)}
    if not hashes:
        return 0
    return rows_matched(
        session,
        update(PasswordReset)
        .where(PasswordReset.token_hash.in_(hashes), PasswordReset.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False),
    )


def reset_for(session: Session, now: datetime, token: str, directory: Any = None) -> tuple[PasswordReset, User] | None:
    """The reset a link's token opens and its account, while it still works: not used, not
    expired, the account active, local and still allowed to sign in here (`directory`)."""
    from .directory import local_allowed

    if not token or len(token) > 128:
        return None
    row = session.execute(
        select(PasswordReset, User)
        .join(User, PasswordReset.user_id == User.id)
        .where(PasswordReset.token_hash == _token_hash(token))
    ).one_or_none()
    if row is None:
        return None
    reset, user = row
    if reset.used_at is not None or reset.expires_at <= now or not user.active or user.auth_source != "local":
        return None
    if not local_allowed(directory, user):
        return None
    return reset, user


def use_reset(
    session: Session, now: datetime, token: str, new: str, *, hash_method: str, ip: str, directory: Any = None
) -> User | None:
    """Set the account's new password with a reset link's token, once: the reset is spent by a
    conditional UPDATE (two tabs, or a copy of the link, cannot both use it), every other
    reset of the account with it, and every session of the account ends. None when the link
    no longer works; ValidationError when the new password is weak or the old one."""
    from .accounts import set_password

    found = reset_for(session, now, token, directory)
    if found is None:
        return None
    reset, user = found
    check_strength(new, inputs_of(user))
    if check_password_hash(user.password_hash, new):
        raise ValidationError("Choose a password different from the one you had.", field="password")
    spent = rows_matched(
        session,
        update(PasswordReset)
        .where(PasswordReset.id == reset.id, PasswordReset.used_at.is_(None), PasswordReset.expires_at > now)
        .values(used_at=now)
        .execution_options(synchronize_session=False),
    )
    if spent != 1:
        return None
    set_password(session, user, new, hash_method, now=now, actor=user, source=ip, keep_token=None, reason="reset_link")
    # Whoever reads the account's mail chose this password: the waits on its name are lifted.
    signin_throttle.forget_name(session, user.username)
    return user
