"""`swat reference`: the reference data from config/reference/."""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import with_appcontext

from .common import load_all_reference


@click.group()
def reference():
    """Reference data from config/reference/."""


@reference.command("load")
@click.option("--dir", "directory", default=None, help="Folder of the YAML files (default: the configured one).")
@with_appcontext
def reference_load(directory):
    """Load departments, governance, themes and initiatives. Safe to run again."""
    from ..extensions import db
    from ..services.reference import ReferenceDataError

    directory = directory or current_app.config["SWAT"]["reference_dir"]
    try:
        report, routing_changed, sla_changed = load_all_reference(directory)
        db.session.commit()
    except ReferenceDataError as exc:
        db.session.rollback()
        click.echo(f"error: {exc}", err=True)
        click.echo("nothing was loaded", err=True)
        sys.exit(1)
    click.echo(report.summary())
    click.echo(f"routing: {'updated' if routing_changed else 'unchanged'}")
    click.echo(f"sla: {'updated' if sla_changed else 'unchanged'}")
