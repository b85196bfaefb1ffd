"""Accounts: creating and changing users, signing in, server-side sessions."""

from __future__ import annotations

import csv
import io
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session, selectinload
from werkzeug.security import generate_password_hash

from ..domain import permissions
from ..domain.errors import NotFound, ValidationError
from ..domain.permissions import ROLES
from ..domain.text import control_character
from ..models import Department, Theme, User, UserSession
from ..models.user import user_themes
from . import audit, search_index
from .passwords import check_strength, inputs_of, spend_resets

USERNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{1,63}$")


def _check_username(session: Session, username: str, exclude_id: int | None = None) -> str:
    username = (username or "").strip()
    if not USERNAME_RE.match(username):
        raise ValidationError(
            "A user name is 2–64 letters, digits or . _ @ - and starts with a letter or digit.",
            field="username",
        )
    stmt = select(User.id).where(func.lower(User.username) == username.lower())
    if exclude_id is not None:
        stmt = stmt.where(User.id != exclude_id)
    if session.scalar(stmt) is not None:
        raise ValidationError("That user name is already taken.", field="username")
    return username


def _check_role_department(session: Session, role: str, department_id: str | None) -> str | None:
    if role not in ROLES:
        raise ValidationError("Choose a valid role.", field="role")
    department_id = department_id or None
    if department_id is not None:
        dep = session.get(Department, department_id)
        if dep is None or not dep.active:
            raise ValidationError("Choose a valid department.", field="department")
    if role == permissions.STAFF and department_id is None:
        raise ValidationError("Department staff need a department.", field="department")
    return department_id


def _check_themes(session: Session, theme_ids: Sequence[str]) -> list[str]:
    ids = list(dict.fromkeys(t for t in theme_ids if t))
    if ids:
        found = set(session.scalars(select(Theme.id).where(Theme.id.in_(ids))))
        missing = [t for t in ids if t not in found]
        if missing:
            raise ValidationError("Unknown theme: %(ids)s", field="themes", ids=", ".join(missing))
    return ids


def _set_themes(session: Session, user: User, theme_ids: list[str]) -> None:
    session.execute(delete(user_themes).where(user_themes.c.user_id == user.id))
    if theme_ids:
        session.execute(insert(user_themes), [{"user_id": user.id, "theme_id": t} for t in theme_ids])


@dataclass(frozen=True)
class UserPage:
    """One page of the user list, with the total that matched."""

    users: Sequence[User]
    total: int
    page: int
    pages: int


def list_users(session: Session, query: str = "", page: int = 1, per_page: int = 50) -> UserPage:
    """Accounts whose user name or display name contains `query` (any case), by user name, one page of them.

    Each comes with its department and themes loaded; a page past the end is empty.
    """
    page = max(1, page)
    stmt = select(User).options(selectinload(User.department), selectinload(User.themes))
    if query:
        like = f"%{query.lower()}%"
        stmt = stmt.where(func.lower(User.username).like(like) | func.lower(User.display_name).like(like))
    total = session.scalar(select(func.count()).select_from(stmt.with_only_columns(User.id).subquery())) or 0
    rows = session.scalars(stmt.order_by(User.username).limit(per_page).offset((page - 1) * per_page)).all()
    return UserPage(users=rows, total=total, page=page, pages=max(1, -(-total // per_page)))


def get_user(session: Session, user_id: int) -> User:
    """The account with this id and its themes; NotFound if there is none."""
    user = session.scalar(select(User).where(User.id == user_id).options(selectinload(User.themes)))
    if user is None:
        raise NotFound()
    return user


def _check_plain_text(**fields: str) -> None:
    """Names and addresses hold no control characters (NUL cannot even be stored)."""
    for field, value in fields.items():
        if control_character(value or ""):
            raise ValidationError("This contains a control character that cannot be saved.", field=field)


def clean_email(email: str) -> str:
    """An address as typed, checked (email-validator: syntax only, no DNS lookup) and written
    in its normal form; "" stays "" (no address). ValidationError when it is not an address."""
    email = (email or "").strip()
    if not email:
        return ""
    try:
        return validate_email(email, check_deliverability=False).normalized[:254]
    except EmailNotValidError:
        raise ValidationError("Enter a valid e-mail address, such as name@pref.osaka.lg.jp.", field="email") from None


def create_user(
    session: Session,
    now: datetime,
    *,
    username: str,
    password: str,
    role: str,
    display_name: str = "",
    department_id: str | None = None,
    theme_ids: Sequence[str] = (),
    email: str = "",
    hash_method: str = "scrypt",
    actor: Any = None,
    source: str = "",
    must_change_password: bool = True,
) -> User:
    """Create an account after checking every field; the password is stored hashed. Whoever
    created it knows the password, so its holder changes it at the first sign-in unless
    `must_change_password` is False (the demo desk's accounts; directory accounts, whose
    password is the directory's). The audit trail records who created it (`actor`, None for
    a command) from where (`source`)."""
    username = _check_username(session, username)
    department_id = _check_role_department(session, role, department_id)
    theme_ids = _check_themes(session, theme_ids)
    _check_plain_text(display_name=display_name, email=email)
    display_name = " ".join((display_name or "").split())[:100] or username
    check_strength(password, inputs_of(User(username=username, display_name=display_name, email=email)))
    user = User(
        username=username,
        display_name=display_name,
        email=clean_email(email),
        password_hash=generate_password_hash(password, method=hash_method),
        role=role,
        department_id=department_id,
        active=True,
        locale="",
        created_at=now,
        must_change_password=must_change_password,
    )
    session.add(user)
    session.flush()
    _set_themes(session, user, theme_ids)
    audit.record_account_created(session, now, actor, user, audit.account_fields(user, theme_ids), source)
    return user


def update_user(
    session: Session,
    now: datetime,
    user: User,
    *,
    role: str,
    display_name: str,
    department_id: str | None,
    theme_ids: Sequence[str],
    active: bool,
    email: str = "",
    password: str = "",
    hash_method: str = "scrypt",
    actor: Any = None,
    source: str = "",
) -> User:
    """Change an account (and its password, when one is given). Deactivating it,
    or changing its role or department, ends its sessions at once, so a
    permission change applies immediately. Each kind of change writes its audit event."""
    if password and actor is not None and getattr(actor, "id", None) == user.id:
        # Your own password is changed where the current one is asked for.
        raise ValidationError("Change your own password on the “Change password” page.", field="password")
    department_id = _check_role_department(session, role, department_id)
    theme_ids = _check_themes(session, theme_ids)
    _check_plain_text(display_name=display_name, email=email)
    display_name = " ".join((display_name or "").split())[:100]
    if not display_name:
        raise ValidationError("Enter a display name.", field="display_name")
    current_themes = list(session.scalars(select(user_themes.c.theme_id).where(user_themes.c.user_id == user.id)))
    before = audit.account_fields(user, current_themes)
    rights_changed = (user.role, user.department_id, user.active) != (role, department_id, active)
    renamed = user.display_name != display_name
    user.role = role
    user.display_name = display_name
    user.department_id = department_id
    new_email = clean_email(email)
    if new_email != user.email:  # a new address has not bounced, and links sent to the old one die
        user.mail_bounced_at, user.mail_bounce_reason = None, ""
        spend_resets(session, now, user.id)
    user.email = new_email
    if user.active and not active:
        spend_resets(session, now, user.id)
    user.active = active
    _set_themes(session, user, theme_ids)
    if rights_changed:
        session.execute(
            update(UserSession)
            .where(UserSession.user_id == user.id, UserSession.revoked_at.is_(None))
            .values(revoked_at=now)
        )
    audit.record_account_changes(session, now, actor, user, before, audit.account_fields(user, theme_ids), source)
    if password:
        set_password(session, user, password, hash_method, now=now, actor=actor, source=source)
    session.flush()
    if renamed:  # the requester's name is found in their consultations
        search_index.reindex_requester(session, user.id)
    return user


def deactivate_account(session: Session, now: datetime, user: User, *, actor: Any = None, source: str = "") -> None:
    """Switch the account off and end its sessions, whatever else about it is out of date
    (the directory taking out someone whose department is no longer in the reference data)."""
    if not user.active:
        return
    user.active = False
    spend_resets(session, now, user.id)
    session.execute(
        update(UserSession)
        .where(UserSession.user_id == user.id, UserSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    audit.record(
        session,
        now,
        actor=actor,
        kind="deactivated",
        subject=user,
        source=source,
        before={"active": True},
        after={"active": False},
    )
    session.flush()


def set_password(
    session: Session,
    user: User,
    password: str,
    hash_method: str,
    *,
    now: datetime,
    actor: Any = None,
    source: str = "",
    keep_token: str | None = None,
    reason: str = "",
) -> None:
    """Replace the user's password after checking its strength; only the hash is stored. Every
    session of the account ends but the holder's own (`keep_token`, when they changed it
    there). A password someone else set (an admin, a command) is known to them, so the holder
    must change it at the next sign-in. The audit trail says it was set (by its holder) or
    reset (by anyone else)."""
    check_strength(password, inputs_of(user))
    own = actor is not None and getattr(actor, "id", None) == user.id
    user.password_hash = generate_password_hash(password, method=hash_method)
    user.must_change_password = not own
    user.password_changed_at = now
    end_sessions(session, now, user.id, keep_token=keep_token if own else None)
    spend_resets(session, now, user.id)  # a link mailed before opens nothing now
    audit.record_password(session, now, actor, user, source, reason)
    session.flush()


@dataclass
class ImportResult:
    created: list[tuple[User, str]]  # (user, generated password or "")


def import_staff_csv(
    session: Session, now: datetime, data: bytes, hash_method: str, *, actor: Any = None, source: str = ""
) -> ImportResult:
    """Create staff accounts from CSV (UTF-8, with or without BOM; Shift_JIS accepted).

    Columns: username, display_name, department, email (optional), password
    (optional: a random one is generated and shown once). Every row is checked
    first; one bad row imports nothing and the error names the row.
    """
    text = None
    for enc in ("utf-8-sig", "cp932"):
        try:
            text = data.decode(enc)
            break
        except UnicodeDecodeError:
            continue
    if text is None:
        raise ValidationError("The file is not UTF-8 or Shift_JIS text.", field="file")
    bad = control_character(text)
    if bad is not None:
        line = text[: text.index(bad)].count("\n") + 1
        raise ValidationError(
            "Line %(line)d: the file contains a control character that cannot be saved.", field="file", line=line
        )
    reader = csv.DictReader(io.StringIO(text))
    required = {"username", "display_name", "department"}
    if not reader.fieldnames or not required.issubset({(f or "").strip() for f in reader.fieldnames}):
        raise ValidationError("The CSV needs the columns username, display_name and department.", field="file")
    rows = []
    seen = set()
    for lineno, row in enumerate(reader, start=2):
        row = {(k or "").strip(): (v or "").strip() for k, v in row.items() if k}
        if not any(row.values()):
            continue
        name = row.get("username", "")
        if name.lower() in seen:
            raise ValidationError(
                "Line %(line)d: the user name %(name)s appears twice.", field="file", line=lineno, name=name
            )
        seen.add(name.lower())
        rows.append((lineno, row))
    if not rows:
        raise ValidationError("The CSV has no rows.", field="file")
    if len(rows) > 5000:
        raise ValidationError("Import at most 5000 rows at a time.", field="file")
    created = []
    for lineno, row in rows:
        password = row.get("password") or ""
        generated = ""
        if not password:
            generated = password = secrets.token_urlsafe(12)
        try:
            user = create_user(
                session,
                now,
                username=row["username"],
                password=password,
                role=permissions.STAFF,
                display_name=row.get("display_name", ""),
                department_id=row.get("department") or None,
                email=row.get("email", ""),
                hash_method=hash_method,
                actor=actor,
                source=source,
            )
        except ValidationError as exc:
            raise ValidationError("Line %(line)d:", field="file", line=lineno, cause=exc)
        created.append((user, generated))
    return ImportResult(created=created)


# --- signing in -----------------------------------------------------------


# Signing in and sessions live in services.signin; callers may still name them here.
from .signin import (  # noqa: E402, F401
    AccountSettings,
    LoginThrottled,
    SignIn,
    authenticate,
    end_session,
    end_sessions,
    resume_session,
    set_locale,
    sign_in,
    start_session,
)
