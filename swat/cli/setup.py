"""`swat setup`: what `make run` does before serving (upgrade, reference data, demo data)."""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import with_appcontext

from .common import now


@click.command()
@with_appcontext
def setup():
    """Upgrade the database, load reference data and, on an empty database, demo data."""
    from flask_migrate import upgrade

    from ..devdata.demo import load_demo
    from ..extensions import db
    from ..services.audit import record_reference_load
    from ..services.reference import ReferenceDataError, load_reference
    from ..services.routing_rules import load_routing
    from ..services.sla import load_sla

    upgrade()
    try:
        directory = current_app.config["SWAT"]["reference_dir"]
        report = load_reference(db.session(), directory)
        routing_changed = load_routing(db.session(), directory, now())
        sla_changed = load_sla(db.session(), directory, now())
        record_reference_load(
            db.session(),
            now(),
            directory=directory,
            report=report,
            routing_changed=routing_changed,
            sla_changed=sla_changed,
        )
    except ReferenceDataError as exc:
        db.session.rollback()
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    click.echo(report.summary())
    click.echo(load_demo(db.session(), now(), current_app.config["SWAT"]))
    db.session.commit()
