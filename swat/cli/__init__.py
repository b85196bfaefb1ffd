"""The `swat` command: a Flask CLI group (swat db upgrade, swat reference load, ...).

One module per command group; `register_cli` adds them all to the app's CLI. The `db`
group (upgrade, downgrade, ...) is Flask-Migrate's.
"""

from __future__ import annotations

import click
from flask.cli import FlaskGroup

from .attachments import attachments
from .audit import audit_group
from .backup import backup_command, restore_command
from .common import plain_text
from .devdata import demo, seed
from .jobs import jobs_group, scheduler
from .mail import mail_group
from .reference import reference
from .reports import reports_group
from .routing import routing_group
from .search import search_group
from .setup import setup
from .sla import sla_group
from .users import users
from .users_manage import users_list  # noqa: F401 (adds its commands to `swat users`)

__all__ = ["main", "plain_text", "register_cli"]


def _create_app():
    from ..app import create_app
    from ..settings import SettingsError

    try:
        return create_app()
    except SettingsError as exc:  # a configuration problem: its sentence, not a traceback
        click.echo(f"swat: {exc}", err=True)
        raise SystemExit(2) from None


@click.group(cls=FlaskGroup, create_app=_create_app, add_version_option=False, load_dotenv=False, set_debug_flag=False)
def main():
    """SWAT Desk administration."""


def register_cli(app) -> None:
    app.cli.add_command(reference)
    app.cli.add_command(users)
    app.cli.add_command(demo)
    app.cli.add_command(setup)
    app.cli.add_command(attachments)
    app.cli.add_command(routing_group)
    app.cli.add_command(sla_group)
    app.cli.add_command(scheduler)
    app.cli.add_command(jobs_group)
    app.cli.add_command(reports_group)
    app.cli.add_command(mail_group)
    app.cli.add_command(search_group)
    app.cli.add_command(seed)
    app.cli.add_command(audit_group)
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)
