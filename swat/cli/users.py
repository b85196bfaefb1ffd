"""`swat users`: accounts from the shell."""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import with_appcontext

from ..domain.errors import DomainError
from ..domain.permissions import ROLES
from .common import now, plain_text


@click.group()
def users():
    """Accounts."""


@users.command("create")
@click.option("--username", required=True)
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from the first line of stdin (else a prompt asks)."
)
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--department", default=None, help="Department id (required for staff).")
@click.option("--themes", default="", help="Comma-separated theme ids (skills of SWAT members).")
@click.option("--display-name", default="")
@click.option("--email", default="")
@with_appcontext
def users_create(username, password_stdin, role, department, themes, display_name, email):
    """Create a user; the password is read from a prompt or stdin, never the command line, and
    its holder chooses their own at the first sign-in."""
    from ..extensions import db
    from ..services.accounts import create_user
    from .users_manage import read_password

    password = read_password(password_stdin)
    try:
        user = create_user(
            db.session(),
            now(),
            username=username,
            password=password,
            role=role,
            display_name=display_name,
            department_id=department,
            theme_ids=[t.strip() for t in themes.split(",") if t.strip()],
            email=email,
            hash_method=current_app.config["SWAT"]["password_hash_method"],
            actor=None,
            source="cli",
        )
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        click.echo(f"error: {plain_text(exc)}", err=True)
        sys.exit(1)
    click.echo(f"created {user.role} {user.username} (id {user.id})")


@users.command("sync")
@click.option("--force", is_flag=True, help="Take out accounts even when more than a tenth would go at once.")
@with_appcontext
def users_sync(force):
    """Bring every directory account in line with the directory (ldap_* settings): role,
    department, name and address, and out when it left the directory or every mapped group."""
    from ..extensions import db
    from ..services.directory import DirectoryError, settings_from
    from ..services.directory_sync import sync

    cfg = settings_from(current_app.config["SWAT"])
    if cfg is None:
        raise click.ClickException("no directory is configured (ldap_url)")
    try:
        report = sync(db.session(), now(), cfg, force=force)
        db.session.commit()
    except DirectoryError as exc:
        db.session.rollback()
        raise click.ClickException(f"the directory could not be read: {exc}")
    for line in report.lines():
        click.echo(line)


@users.command("reset-2fa")
@click.argument("username")
@with_appcontext
def users_reset_2fa(username):
    """Take two-factor sign-in off an account whose holder lost the authenticator and the
    recovery codes: their sessions end, and they sign in with the password alone (and set it
    up again when their role requires it)."""
    from sqlalchemy import func, select

    from ..extensions import db
    from ..models import User
    from ..services import two_factor

    user = db.session.scalar(select(User).where(func.lower(User.username) == username.strip().lower()))
    if user is None:
        raise click.ClickException(f"no account is named {username!r}")
    if not two_factor.reset(db.session(), now(), user, actor=None, source="cli", end_sessions=True):
        db.session.rollback()
        raise click.ClickException(f"{user.username} has no two-factor sign-in to reset")
    db.session.commit()
    click.echo(f"two-factor sign-in reset for {user.username}; their sessions have ended")


@users.command("unlock")
@click.argument("username")
@click.option("--ip", default="", help="Only the wait of this source address (default: every address).")
@with_appcontext
def users_unlock(username, ip):
    """Lift the sign-in wait of a user name after wrong passwords (from one address or all),
    as /admin/sign-in-waits does; it is recorded in the audit trail."""
    from ..extensions import db
    from ..services import signin_throttle

    lifted = signin_throttle.lift(db.session(), now(), actor=None, username=username, ip=ip or None, source="cli")
    if not lifted:
        db.session.rollback()
        raise click.ClickException(f"{username!r} has no sign-in wait to lift")
    db.session.commit()
    click.echo(f"lifted {lifted} sign-in wait(s) of {username.strip().lower()}")
