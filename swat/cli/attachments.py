"""`swat attachments`: housekeeping of the stored files."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext


@click.group()
def attachments():
    """Uploaded files."""


@attachments.command("sweep")
@click.option("--older-than", default=3600, help="Seconds a file without a row must be old.")
@with_appcontext
def attachments_sweep(older_than):
    """Remove stored files that no attachment points at (left by a crash before commit)."""
    from ..extensions import db
    from ..services.storage import AttachmentStore

    n = AttachmentStore(current_app.config["SWAT"]["attachment_dir"]).sweep_orphans(db.session(), older_than)
    click.echo(f"removed {n} orphaned files")
