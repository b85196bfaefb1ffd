"""`swat sla`: business-time arithmetic on the working calendar."""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import with_appcontext


@click.group("sla")
def sla_group():
    """Business-time arithmetic on the working calendar (config/reference/sla.yaml)."""


def _calendar(directory):
    from ..services.reference import ReferenceDataError
    from ..services.sla import SlaRules, read_sla

    try:
        return SlaRules(read_sla(directory or current_app.config["SWAT"]["reference_dir"])).calendar
    except ReferenceDataError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)


def _instant(value: str, name: str):
    from ..domain.calendar import parse_instant

    try:
        return parse_instant(value)
    except ValueError:
        click.echo(f"error: {name}: not an ISO 8601 date and time: {value!r}", err=True)
        sys.exit(2)


@sla_group.command("due")
@click.option("--start", required=True, help="ISO 8601 instant; without an offset it is Tokyo time.")
@click.option("--minutes", required=True, type=click.IntRange(min=0))
@click.option("--dir", "directory", default=None, help="Reference folder with sla.yaml.")
@with_appcontext
def sla_due(start, minutes, directory):
    """The earliest instant at which MINUTES business minutes have passed since START."""
    from ..domain.calendar import format_instant

    click.echo(format_instant(_calendar(directory).due(_instant(start, "--start"), minutes)))


@sla_group.command("elapsed")
@click.option("--start", required=True)
@click.option("--end", required=True)
@click.option("--dir", "directory", default=None, help="Reference folder with sla.yaml.")
@with_appcontext
def sla_elapsed(start, end, directory):
    """Business minutes between START and END."""
    click.echo(_calendar(directory).elapsed(_instant(start, "--start"), _instant(end, "--end")))
