"""`swat search`: rebuild or check the search index."""

from __future__ import annotations

import sys
import time

import click
from flask.cli import with_appcontext


@click.group("search")
def search_group():
    """The search index of consultations."""


@search_group.command("reindex")
@click.option("--check", is_flag=True, help="Compare the index with the tickets instead of rebuilding it.")
@with_appcontext
def search_reindex(check):
    """Rebuild the search index from the tickets (in one transaction: searches keep the old
    index until it commits), or with --check say where it differs from them."""
    from ..extensions import db
    from ..services import search_index

    if check:
        if db.engine.dialect.name == "postgresql":
            # One snapshot for the index and the tickets, so writes committed meanwhile
            # cannot show up as differences.
            db.session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        result = search_index.check(db.session.connection())
        db.session.rollback()
        for label, ids in (("missing", result.missing), ("orphaned", result.orphaned), ("stale", result.stale)):
            if ids:
                click.echo(
                    f"{label}: ticket ids {', '.join(map(str, ids[:20]))}{' …' if len(ids) > 20 else ''}", err=True
                )
        if not result.ok:
            click.echo("error: the search index differs from the tickets; run `swat search reindex`", err=True)
            sys.exit(1)
        click.echo(f"search index agrees with the tickets ({result.tickets:,} documents)")
        return
    started = time.perf_counter()
    n = search_index.rebuild(db.session.connection())
    db.session.commit()
    click.echo(f"search index rebuilt: {n:,} documents in {time.perf_counter() - started:.1f} s")
