"""`swat backup` and `swat restore`: the whole desk (database and stored files) into a folder
with a manifest, and back into an empty desk (services.backup)."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from .common import now


def _summary(outcome) -> str:
    rows = sum(outcome.tables.values())
    return (
        f"{outcome.engine} database at migration {outcome.head or '(none)'}: {len(outcome.tables)} tables, "
        f"{rows} rows; {outcome.files} files; {outcome.bytes} bytes in {outcome.folder}"
    )


@click.command("backup")
@click.option("--to", "folder", required=True, type=click.Path(file_okay=False), help="A new or empty folder.")
@with_appcontext
def backup_command(folder):
    """Back up the database and the stored files, safely while the desk runs."""
    from .. import __version__
    from ..extensions import db
    from ..services.backup import BackupError, backup

    try:
        outcome = backup(
            db.engine, current_app.config["SWAT"]["attachment_dir"], folder, version=__version__, now=now()
        )
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo("backed up " + _summary(outcome))


@click.command("restore")
@click.option("--from", "folder", required=True, type=click.Path(exists=True, file_okay=False), help="A backup folder.")
@click.option("--replace", is_flag=True, help="Replace what the database and the attachment folder hold.")
@with_appcontext
def restore_command(folder, replace):
    """Restore a backup into an empty database and attachment folder (stop the desk first)."""
    from ..extensions import db
    from ..services.backup import BackupError, restore

    db.session.remove()
    try:
        outcome = restore(db.engine, current_app.config["SWAT"]["attachment_dir"], folder, replace=replace)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo("restored " + _summary(outcome))
