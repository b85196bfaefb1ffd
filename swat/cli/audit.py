"""`swat audit`: the audit trail's retention."""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import with_appcontext

from ..domain.errors import DomainError
from .common import now, plain_text


@click.group("audit")
def audit_group():
    """The audit trail."""


@audit_group.command("prune")
@with_appcontext
def audit_prune():
    """Delete audit events older than audit_retention_days (only when it is set), and record it."""
    from ..extensions import db
    from ..services.audit import prune

    days = current_app.config["SWAT"]["audit_retention_days"]
    if days == 0:
        click.echo("audit_retention_days is 0: audit events are kept forever, nothing was deleted")
        return
    try:
        deleted = prune(db.session(), now(), days)
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        click.echo(f"error: {plain_text(exc)}", err=True)
        sys.exit(1)
    click.echo(f"deleted {deleted} audit events older than {days} days")
