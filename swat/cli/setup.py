"""`swat setup`: what `make run` does before serving (upgrade, reference data, demo data)."""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import with_appcontext

from .common import load_all_reference, now


@click.command()
@with_appcontext
def setup():
    """Upgrade the database, load reference data and, on an empty database, demo data."""
    from flask_migrate import upgrade

    from ..devdata.demo import load_demo
    from ..extensions import db
    from ..services.reference import ReferenceDataError

    upgrade()
    try:
        directory = current_app.config["SWAT"]["reference_dir"]
        report = load_all_reference(directory)[0]
    except ReferenceDataError as exc:
        db.session.rollback()
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    click.echo(report.summary())
    click.echo(load_demo(db.session(), now(), current_app.config["SWAT"]))
    db.session.commit()
