"""`swat users list|show|set-role|set-department|deactivate|reactivate|reset-password`: the
administration an operator does from the shell, through the same services (and the same audit
trail, with source "cli") as the users page. A password is read from a prompt (typed twice,
not shown) or, with --password-stdin, from the first line of stdin; never from the command
line, where the shell's history and the process list would keep it."""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import with_appcontext

from ..domain.errors import DomainError
from ..domain.permissions import ROLES
from .common import now, plain_text
from .users import users


def read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


def _account(username: str):
    from sqlalchemy import func, select
    from sqlalchemy.orm import selectinload

    from ..extensions import db
    from ..models import User

    user = db.session.scalar(
        select(User).where(func.lower(User.username) == username.strip().lower()).options(selectinload(User.themes))
    )
    if user is None:
        raise click.ClickException(f"no account is named {username!r}")
    return user


def _change(username: str, **changes) -> None:
    """update_user with the account's current values but `changes` (audited; a change of role,
    department or active ends the account's sessions)."""
    from ..extensions import db
    from ..services import accounts

    user = _account(username)
    values = {
        "role": user.role,
        "display_name": user.display_name,
        "department_id": user.department_id,
        "theme_ids": [t.id for t in user.themes],
        "active": user.active,
        "email": user.email,
    }
    values.update(changes)
    try:
        accounts.update_user(db.session(), now(), user, **values, actor=None, source="cli")
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        raise click.ClickException(plain_text(exc)) from None


def _when(value) -> str:
    from ..domain.tz import TOKYO

    return value.astimezone(TOKYO).strftime("%Y-%m-%d %H:%M") if value else "-"


@users.command("list")
@click.option("--role", type=click.Choice(ROLES), default=None)
@click.option("--department", default=None, help="Department id.")
@click.option("--inactive", is_flag=True, help="Deactivated accounts only.")
@with_appcontext
def users_list(role, department, inactive):
    """Accounts, one per line: user name, role, department, active, where they sign in, last sign-in."""
    from sqlalchemy import select

    from ..extensions import db
    from ..models import User

    query = select(User).order_by(User.username)
    if role:
        query = query.where(User.role == role)
    if department:
        query = query.where(User.department_id == department)
    if inactive:
        query = query.where(User.active.is_(False))
    rows = db.session.scalars(query).all()
    for u in rows:
        state = "active" if u.active else "inactive"
        click.echo(
            f"{u.username:<24} {u.role:<8} {u.department_id or '-':<20} {state:<8} {u.auth_source:<5} {_when(u.last_login_at)}"
        )
    click.echo(f"{len(rows)} account(s)")


@users.command("show")
@click.argument("username")
@with_appcontext
def users_show(username):
    """One account: every field an admin sees, never a secret."""
    u = _account(username)
    for label, value in (
        ("user name", u.username),
        ("display name", u.display_name),
        ("e-mail", u.email or "-"),
        ("role", u.role),
        ("department", u.department_id or "-"),
        ("themes", ", ".join(t.id for t in u.themes) or "-"),
        ("active", "yes" if u.active else "no"),
        ("signs in with", "the directory" if u.auth_source == "ldap" else "a password here"),
        ("must change password", "yes" if u.must_change_password else "no"),
        ("two-factor sign-in", f"since {_when(u.totp_enabled_at)}" if u.totp_enabled_at else "off"),
        ("password changed", _when(u.password_changed_at)),
        ("last sign-in", _when(u.last_login_at)),
        ("created", _when(u.created_at)),
    ):
        click.echo(f"{label + ':':<22}{value}")


@users.command("set-role")
@click.argument("username")
@click.argument("role", type=click.Choice(ROLES))
@with_appcontext
def users_set_role(username, role):
    """Give the account another role (its sessions end, so it applies at once)."""
    _change(username, role=role)
    click.echo(f"{username.strip().lower()} is now {role}; their sessions have ended")


@users.command("set-department")
@click.argument("username")
@click.argument("department")
@with_appcontext
def users_set_department(username, department):
    """Move the account to a department (an id; "-" for none, which only non-staff may have)."""
    _change(username, department_id=None if department == "-" else department)
    click.echo(f"{username.strip().lower()} is now in {department}; their sessions have ended")


@users.command("deactivate")
@click.argument("username")
@with_appcontext
def users_deactivate(username):
    """Switch the account off: it cannot sign in and its sessions end (nothing is deleted)."""
    _change(username, active=False)
    click.echo(f"{username.strip().lower()} is deactivated; their sessions have ended")


@users.command("reactivate")
@click.argument("username")
@with_appcontext
def users_reactivate(username):
    """Switch a deactivated account on again."""
    _change(username, active=True)
    click.echo(f"{username.strip().lower()} is active again")


@users.command("reset-password")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the new password from the first line of stdin.")
@with_appcontext
def users_reset_password(username, password_stdin):
    """Set a new password for the account (read from a prompt or stdin): its sessions end and
    its holder must choose their own at the next sign-in."""
    from ..extensions import db
    from ..services import accounts

    user = _account(username)
    if user.auth_source != "local":
        raise click.ClickException(f"{user.username} signs in with the directory: reset it there")
    password = read_password(password_stdin)
    try:
        accounts.set_password(
            db.session(), user, password, current_app.config["SWAT"]["password_hash_method"], now=now(), source="cli"
        )
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        raise click.ClickException(plain_text(exc)) from None
    click.echo(
        f"password of {user.username} reset; their sessions have ended and they choose their own at the next sign-in"
    )
