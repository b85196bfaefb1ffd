"""`swat scheduler` and `swat jobs`: the background work, as a process or by hand."""

from __future__ import annotations

import click
from flask.cli import with_appcontext
from flask.globals import app_ctx


@click.command()
@with_appcontext
def scheduler():
    """The one background process: SLA sweep every minute, outbox delivery every 30 s."""
    from ..jobs.runner import run_scheduler

    run_scheduler(app_ctx.app)


@click.group("jobs")
def jobs_group():
    """Run background jobs by hand (or from cron instead of `swat scheduler`)."""


@jobs_group.command("run")
@with_appcontext
def jobs_run():
    """Run the SLA sweep, last week's summary to managers (once per week) and one delivery pass."""
    from ..jobs.runner import run_delivery, run_sweep, run_weekly_summary

    app = app_ctx.app
    result = run_sweep(app)
    click.echo(f"sweep: {result.fired} escalations fired, {result.renotified} re-notified")
    weekly = run_weekly_summary(app)
    click.echo(f"weekly summary {weekly.week}: {weekly.queued} queued, {weekly.already} sent before")
    click.echo(f"delivery: {run_delivery(app)}")
