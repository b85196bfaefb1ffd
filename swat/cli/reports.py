"""`swat reports`: the weekly summary mail and the report facts."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext
from flask.globals import app_ctx

from .common import now


@click.group("reports")
def reports_group():
    """Manager reports."""


@reports_group.command("mail-weekly")
@click.option(
    "--week",
    default=None,
    help="A day (YYYY-MM-DD) of the Monday-to-Sunday week to send "
    "(default: last week). Each manager gets each week once.",
)
@with_appcontext
def reports_mail_weekly(week):
    """Queue the weekly summary e-mail to managers; the scheduler's delivery sends it."""
    from datetime import date

    from ..jobs.runner import run_weekly_summary
    from ..services.weekly_summary import week_of

    period = None
    if week:
        try:
            period = week_of(date.fromisoformat(week))
        except ValueError:
            click.echo(f"error: --week: not a date (YYYY-MM-DD): {week!r}", err=True)
            sys.exit(2)
        if period.bounds()[1] > now():
            click.echo(f"error: the week {period.key()} has not ended yet", err=True)
            sys.exit(1)
    result = run_weekly_summary(app_ctx.app, period)
    click.echo(f"weekly summary {result.week}: {result.queued} queued, {result.already} sent before")


@reports_group.command("facts")
@click.option(
    "--check",
    "mode",
    flag_value="check",
    default=True,
    help="Compare the stored report facts with a fresh computation (default).",
)
@click.option(
    "--rebuild", "mode", flag_value="rebuild", help="Replace the stored report facts with a fresh computation."
)
@with_appcontext
def reports_facts(mode):
    """Check or rebuild the per-day facts and per-month minute counts the reports read (kept
    by database triggers)."""
    from sqlalchemy import func, select

    from ..extensions import db
    from ..models import ReportTimeCount
    from ..services import report_facts

    if mode == "rebuild":
        n = report_facts.rebuild(db.session())
        counts = db.session.scalar(select(func.count()).select_from(ReportTimeCount)) or 0
        db.session.commit()
        click.echo(f"report facts rebuilt: {n:,} rows, and {counts:,} minute counts")
        return
    if db.engine.dialect.name == "postgresql" and not db.session().in_transaction():
        # One snapshot for the stored rows and the fresh computation, so writes committed
        # meanwhile by the running desk cannot show up as differences.
        db.session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    problems = report_facts.check(db.session())
    db.session.rollback()
    for line in problems[:50]:
        click.echo(line, err=True)
    if problems:
        click.echo(f"error: {len(problems):,} report fact rows differ; run `swat reports facts --rebuild`", err=True)
        sys.exit(1)
    click.echo("report facts agree with the tickets")
