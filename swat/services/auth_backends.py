"""Where a password is checked: a small interface, one backend per source of accounts.

`authenticate(session, username, password, now)` answers the active account or None, and
nothing else: the throttle, the attempt log and the session stay in services.signin, the
views never see which backend answered. "local" is the desk's own password hashes, "ldap"
the directory (services.directory); another (OpenID Connect) can be added here without
touching the views.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from ..models import User
from . import directory

log = logging.getLogger("swat.signin")

# Checked against when the user name does not exist (or the attempt must wait), so every
# "no" takes as long as a wrong password: made once per hash method, the one the desk's own
# hashes use (a fast stand-in beside scrypt hashes told which names exist by ~100 ms).
_STAND_INS: dict[str, str] = {}


def stand_in_check(password: str, method: str) -> None:
    """Spend the time a password check takes, on no account."""
    if method not in _STAND_INS:
        _STAND_INS[method] = generate_password_hash("not-a-real-password", method=method)
    check_password_hash(_STAND_INS[method], password or "")


class AuthBackend(Protocol):
    @property
    def name(self) -> str: ...

    def authenticate(self, session: Session, username: str, password: str, now: datetime) -> User | None: ...


def _account(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(func.lower(User.username) == username.lower()))


@dataclass(frozen=True)
class LocalBackend:
    """The desk's own accounts and password hashes. The hash is always checked (a stand-in
    for a missing account), so the answer takes as long whatever the reason for a no."""

    directory: directory.DirectorySettings | None = None
    hash_method: str = "scrypt"
    name: str = "local"

    def authenticate(self, session: Session, username: str, password: str, now: datetime) -> User | None:
        user = _account(session, username)
        if user is None:
            stand_in_check(password, self.hash_method)
            return None
        ok = check_password_hash(user.password_hash, password or "")
        if user is None or not ok or not user.active or user.auth_source != "local":
            return None
        if not directory.local_allowed(self.directory, user):
            return None
        return user


@dataclass(frozen=True)
class LdapBackend:
    """The directory's accounts: the password is checked by binding to it, and the desk's
    account is created or brought up to date from the entry (services.directory)."""

    cfg: directory.DirectorySettings
    name: str = "ldap"

    def authenticate(self, session: Session, username: str, password: str, now: datetime) -> User | None:
        try:
            person = directory.check_credentials(self.cfg, username, password)
            if person is None:
                self._gone(session, username, now)
                return None
        except directory.DirectoryError:
            log.exception("the directory could not check the sign-in of %r", username[:64])
            return None
        return directory.apply_person(session, now, self.cfg, username, person)

    def _gone(self, session: Session, username: str, now: datetime) -> None:
        """A directory account whose user the directory no longer has is deactivated."""
        user = _account(session, username)
        if user is None or user.auth_source != "ldap" or not user.active:
            return
        if directory.person_exists(self.cfg, username) is False:
            directory.deactivate(session, now, user)


def backend_for(
    session: Session, username: str, cfg: directory.DirectorySettings | None, hash_method: str = "scrypt"
) -> AuthBackend:
    """The backend that checks this user name: a local account's own password; everyone
    else (directory accounts, names the desk does not know) the directory when one is set."""
    if cfg is not None:
        user = _account(session, username)
        if user is None or user.auth_source == "ldap":
            return LdapBackend(cfg)
    return LocalBackend(cfg, hash_method)


def authenticate(
    session: Session,
    username: str,
    password: str,
    now: datetime,
    cfg: directory.DirectorySettings | None,
    hash_method: str = "scrypt",
) -> User | None:
    """The active account with these credentials, or None, from the backend for the name."""
    return backend_for(session, username, cfg, hash_method).authenticate(session, username, password, now)
