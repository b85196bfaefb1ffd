"""`swat demo` and `swat seed`: made-up data from swat.devdata (never in production)."""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import with_appcontext

from .common import now


@click.command()
@click.option("--force", is_flag=True, help="Add demo data even if there are tickets already.")
@with_appcontext
def demo(force):
    """Create demo accounts and consultations (in Japanese) if the database is empty."""
    from ..devdata.demo import load_demo
    from ..extensions import db

    result = load_demo(db.session(), now(), current_app.config["SWAT"], force=force)
    db.session.commit()
    click.echo(result)


@click.command("seed")
@click.option("--tickets", required=True, type=click.IntRange(min=0), help="How many consultations to add.")
@click.option("--seed", "rng_seed", default=42, show_default=True, help="Random seed (same seed, same data).")
@click.option(
    "--years",
    default=2,
    show_default=True,
    type=click.IntRange(min=1),
    help="Fiscal years (April start) to spread them over, up to now.",
)
@with_appcontext
def seed(tickets, rng_seed, years):
    """Generate realistic consultations with history, replies and SLA facts (never in production).

    Commits the `seed-*` accounts and the reserved ticket numbers first, then the tickets
    one batch at a time, or on PostgreSQL a large seed in one transaction with the indexes
    rebuilt at the end (see devdata.seed.seed); the reported time is the whole load. The
    `seed-*` accounts share the password swat-seed-2026.
    """
    import time

    from ..devdata.seed import SeedRefused
    from ..devdata.seed import seed as run_seed
    from ..extensions import db

    shown = [time.perf_counter()]

    def progress(done, total):
        if done == total or time.perf_counter() - shown[0] >= 1.0:
            shown[0] = time.perf_counter()
            click.echo(f"  {done:,}/{total:,} tickets")

    try:
        report = run_seed(db.session(), now(), current_app.config["SWAT"], tickets, rng_seed, years, progress=progress)
    except SeedRefused as exc:
        db.session.rollback()
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    click.echo(report.summary())
