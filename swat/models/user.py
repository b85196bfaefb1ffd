"""Accounts, their server-side sessions and sign-in attempts."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Boolean, Column, ForeignKey, Index, Integer, String, Table, Text, UniqueConstraint, false, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..domain.permissions import ROLES
from .base import Base, one_of
from .reference import ID, Department, Theme

user_themes = Table(
    "user_themes",
    Base.metadata,
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("theme_id", ID, ForeignKey("themes.id", ondelete="CASCADE"), primary_key=True),
)


class User(Base):
    __tablename__ = "users"
    __table_args__ = (one_of("role", ROLES), Index("uq_users_directory_key", "directory_key", unique=True))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    email: Mapped[str] = mapped_column(String(254), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    department_id: Mapped[str | None] = mapped_column(ID, ForeignKey("departments.id"), nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    locale: Mapped[str] = mapped_column(String(8), default="")
    created_at: Mapped[datetime]
    last_login_at: Mapped[datetime | None] = mapped_column(nullable=True)
    # When the member was last given a ticket: ties in assignment go to whoever waited longest.
    last_assigned_at: Mapped[datetime | None] = mapped_column(nullable=True)
    # Notification choices: in the app (the bell), by e-mail, and kinds the user muted.
    notify_inapp: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    notify_email: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    muted_kinds: Mapped[str] = mapped_column(String(500), default="", server_default="")
    # The queue filters the member used last (a canonical query string, "" for the default).
    queue_query: Mapped[str] = mapped_column(String(1000), default="", server_default="")
    # When mail to the address last came back undelivered (a bounce the desk received), and
    # what the bounce said; cleared when the address changes.
    mail_bounced_at: Mapped[datetime | None] = mapped_column(nullable=True)
    mail_bounce_reason: Mapped[str] = mapped_column(String(300), default="", server_default="")
    # Where the account signs in: "local" (its password here) or "ldap" (the directory, which
    # also keeps its role, department, name and address); `directory_key` is its stable id
    # there (objectGUID, or the DN when the directory has none).
    auth_source: Mapped[str] = mapped_column(String(16), default="local", server_default="local")
    directory_key: Mapped[str | None] = mapped_column(String(255), nullable=True)
    # The password was set by someone else (an admin's reset, an import): change it first.
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    password_changed_at: Mapped[datetime | None] = mapped_column(nullable=True)
    # Two-factor sign-in (TOTP): the shared secret (base32), when enrolment was confirmed (None:
    # not enrolled), and the last time step accepted, so one code signs in once.
    totp_secret: Mapped[str | None] = mapped_column(String(64), nullable=True)
    totp_enabled_at: Mapped[datetime | None] = mapped_column(nullable=True)
    totp_last_step: Mapped[int | None] = mapped_column(Integer, nullable=True)

    department: Mapped[Department | None] = relationship(lazy="raise")
    themes: Mapped[list[Theme]] = relationship(secondary=user_themes, lazy="raise", order_by=Theme.sort_order)

    # Flask-Login protocol. The session id, not the user id, identifies a login,
    # so a logout or a deactivation ends it on the server.
    # Set per request by services.accounts.resume_session; not a column (declared for the
    # type checker only, since declarative mapping reads every class annotation as a column).
    if TYPE_CHECKING:
        session_id: str | None
    else:
        session_id = None

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str | None:
        return self.session_id


class UserSession(Base):
    """A signed-in browser. The cookie holds a random token; the table holds its hash."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None] = mapped_column(nullable=True)
    ip: Mapped[str] = mapped_column(String(64), default="")

    user: Mapped[User] = relationship(lazy="raise")


class LoginAttempt(Base):
    """Sign-in attempts, for throttling across every worker and host."""

    __tablename__ = "login_attempts"
    __table_args__ = (
        Index("ix_login_attempts_username_at", "username", "at"),
        Index("ix_login_attempts_ip_at", "ip", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    ip: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]
    success: Mapped[bool] = mapped_column(Boolean)


class SignInThrottle(Base):
    """Failed sign-ins of one user name (lower case) from one source address since the last
    success. An attempt claims its place here (one atomic UPDATE) before the password is
    checked, so concurrent attempts cannot evaluate more than the limit."""

    __tablename__ = "sign_in_throttles"
    __table_args__ = (UniqueConstraint("username", "ip", name="uq_sign_in_throttles_username"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    ip: Mapped[str] = mapped_column(String(64))
    failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_failure_at: Mapped[datetime | None] = mapped_column(nullable=True)


class PasswordReset(Base):
    """A password reset asked for by mail: the token's hash (the token is only in the mail),
    when it stops working, and when it was used (once)."""

    __tablename__ = "password_resets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None] = mapped_column(nullable=True)
    ip: Mapped[str] = mapped_column(String(64), default="", server_default="")


class PasswordResetRequest(Base):
    """A reset asked for at /password/reset, as typed, waiting for the delivery job: the page
    writes this one row whoever was named (so it answers alike, in the same time), and the
    job looks the account up and queues its mail."""

    __tablename__ = "password_reset_requests"
    __table_args__ = (Index("ix_password_reset_requests_ip", "ip"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(254))
    ip: Mapped[str] = mapped_column(String(64), default="", server_default="")
    at: Mapped[datetime]


class RecoveryCode(Base):
    """A one-time code for signing in when the authenticator is lost (its SHA-256 only)."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    used_at: Mapped[datetime | None] = mapped_column(nullable=True)


class SchedulerHeartbeat(Base):
    """The scheduler's sign of life, written each minute: which host and process, since when,
    and its last beat. `/readyz`, the status page and /metrics read how old the beat is."""

    __tablename__ = "scheduler_heartbeats"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime]
    beat_at: Mapped[datetime]


class JobRun(Base):
    """A scheduled job's last run, rewritten after each: where and when it ran, how long it
    took, whether it went well (and when it last did), what it counted, why it failed."""

    __tablename__ = "job_runs"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    host: Mapped[str] = mapped_column(String(255))
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime]
    duration_ms: Mapped[int] = mapped_column(Integer)
    ok: Mapped[bool] = mapped_column(Boolean)
    counts: Mapped[str] = mapped_column(Text, default="{}")
    error: Mapped[str] = mapped_column(String(500), default="")
    ok_at: Mapped[datetime | None] = mapped_column(nullable=True)
