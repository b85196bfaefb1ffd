"""The `swat` command: a Flask CLI group (swat db upgrade, swat reference load, ...)."""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext

from .domain.errors import DomainError


def plain_text(exc: DomainError) -> str:
    """A domain error in English for the shell."""
    text = exc.message % exc.params if exc.params else exc.message
    cause = getattr(exc, "cause", None)
    return f"{text} {plain_text(cause)}" if cause is not None else text


def _create_app():
    from .app import create_app

    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_version_option=False, load_dotenv=False, set_debug_flag=False)
def main():
    """SWAT Desk administration."""


def register_cli(app) -> None:
    app.cli.add_command(reference)
    app.cli.add_command(users)
    app.cli.add_command(demo)
    app.cli.add_command(setup)
    app.cli.add_command(attachments)
    app.cli.add_command(routing_group)
    app.cli.add_command(sla_group)
    app.cli.add_command(scheduler)
    app.cli.add_command(jobs_group)
    app.cli.add_command(reports_group)
    app.cli.add_command(seed)


def _now():
    return current_app.extensions["swat.clock"].now()


@click.group()
def reference():
    """Reference data from config/reference/."""


@reference.command("load")
@click.option("--dir", "directory", default=None, help="Folder of the YAML files (default: the configured one).")
@with_appcontext
def reference_load(directory):
    """Load departments, governance, themes and initiatives. Safe to run again."""
    from .extensions import db
    from .services.reference import ReferenceDataError, load_reference
    from .services.routing import load_routing
    from .services.sla import load_sla

    directory = directory or current_app.config["SWAT"]["reference_dir"]
    try:
        report = load_reference(db.session, directory)
        routing_changed = load_routing(db.session, directory, _now())
        sla_changed = load_sla(db.session, directory, _now())
        db.session.commit()
    except ReferenceDataError as exc:
        db.session.rollback()
        click.echo(f"error: {exc}", err=True)
        click.echo("nothing was loaded", err=True)
        sys.exit(1)
    click.echo(report.summary())
    click.echo(f"routing: {'updated' if routing_changed else 'unchanged'}")
    click.echo(f"sla: {'updated' if sla_changed else 'unchanged'}")


@click.group()
def users():
    """Accounts."""


@users.command("create")
@click.option("--username", required=True)
@click.option("--password", required=True)
@click.option("--role", required=True, type=click.Choice(["staff", "agent", "lead", "manager", "admin"]))
@click.option("--department", default=None, help="Department id (required for staff).")
@click.option("--themes", default="", help="Comma-separated theme ids (skills of SWAT members).")
@click.option("--display-name", default="")
@click.option("--email", default="")
@with_appcontext
def users_create(username, password, role, department, themes, display_name, email):
    """Create a user."""
    from .extensions import db
    from .services.accounts import create_user

    try:
        user = create_user(
            db.session,
            _now(),
            username=username,
            password=password,
            role=role,
            display_name=display_name,
            department_id=department,
            theme_ids=[t.strip() for t in themes.split(",") if t.strip()],
            email=email,
            hash_method=current_app.config["SWAT"]["password_hash_method"],
        )
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        click.echo(f"error: {plain_text(exc)}", err=True)
        sys.exit(1)
    click.echo(f"created {user.role} {user.username} (id {user.id})")


@click.command()
@click.option("--force", is_flag=True, help="Add demo data even if there are tickets already.")
@with_appcontext
def demo(force):
    """Create demo accounts and consultations (in Japanese) if the database is empty."""
    from .devdata.demo import load_demo
    from .extensions import db

    result = load_demo(db.session, _now(), current_app.config["SWAT"], force=force)
    db.session.commit()
    click.echo(result)


@click.command()
@with_appcontext
def setup():
    """Upgrade the database, load reference data and, on an empty database, demo data."""
    from flask_migrate import upgrade

    from .devdata.demo import load_demo
    from .extensions import db
    from .services.reference import ReferenceDataError, load_reference
    from .services.routing import load_routing
    from .services.sla import load_sla

    upgrade()
    try:
        report = load_reference(db.session, current_app.config["SWAT"]["reference_dir"])
        load_routing(db.session, current_app.config["SWAT"]["reference_dir"], _now())
        load_sla(db.session, current_app.config["SWAT"]["reference_dir"], _now())
    except ReferenceDataError as exc:
        db.session.rollback()
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    click.echo(report.summary())
    click.echo(load_demo(db.session, _now(), current_app.config["SWAT"]))
    db.session.commit()


@click.group()
def attachments():
    """Uploaded files."""


@attachments.command("sweep")
@click.option("--older-than", default=3600, help="Seconds a file without a row must be old.")
@with_appcontext
def attachments_sweep(older_than):
    """Remove stored files that no attachment points at (left by a crash before commit)."""
    from .extensions import db
    from .services.storage import AttachmentStore

    n = AttachmentStore(current_app.config["SWAT"]["attachment_dir"]).sweep_orphans(db.session, older_than)
    click.echo(f"removed {n} orphaned files")


@click.group("routing")
def routing_group():
    """Routing rules: evaluate them on labelled consultations."""


@routing_group.command("evaluate")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option(
    "--dir", "directory", default=None, help="Reference folder with routing.yaml (default: the configured one)."
)
@click.option("--misses", is_flag=True, help="List the rows routed wrongly.")
@with_appcontext
def routing_evaluate(path, as_json, directory, misses):
    """Theme accuracy and initiative top-1/top-3 on a JSONL file like routing/dev.jsonl."""
    import json

    from .domain.routing import evaluate
    from .services.reference import ReferenceDataError
    from .services.routing import rules_from_directory

    rows = []
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError as exc:
                click.echo(f"error: {path}:{lineno}: not valid JSON ({exc})", err=True)
                sys.exit(1)
            if not isinstance(row, dict) or "theme" not in row or not ("title" in row or "body" in row):
                click.echo(f"error: {path}:{lineno}: needs title, body and theme", err=True)
                sys.exit(1)
            rows.append(row)
    if not rows:
        click.echo(f"error: {path}: no rows", err=True)
        sys.exit(1)
    try:
        # The rows under evaluation never teach the model that judges them.
        rules = rules_from_directory(
            directory or current_app.config["SWAT"]["reference_dir"],
            exclude={(r.get("title", ""), r.get("body", "")) for r in rows},
        )
    except ReferenceDataError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    ev = evaluate(rows, rules)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "theme_accuracy": round(ev.theme_accuracy, 4),
                    "initiative_top1": round(ev.initiative_top1, 4),
                    "initiative_top3": round(ev.initiative_top3, 4),
                    "n": ev.n,
                    "confusion": ev.confusion,
                },
                ensure_ascii=False,
            )
        )
        return
    click.echo(f"rows: {ev.n}")
    click.echo(f"theme accuracy:    {ev.theme_accuracy:.3f}")
    click.echo(f"initiative top-1:  {ev.initiative_top1:.3f}  (rows that list an initiative)")
    click.echo(f"initiative top-3:  {ev.initiative_top3:.3f}")
    themes = sorted(set(ev.confusion) | {g for row in ev.confusion.values() for g in row})
    width = max(len(t) for t in themes) + 1
    click.echo("")
    click.echo("confusion (rows: labelled theme, columns: routed theme)")
    click.echo(" " * width + " ".join(f"{t[:6]:>6}" for t in themes))
    for gold in themes:
        counts = ev.confusion.get(gold, {})
        click.echo(f"{gold:<{width}}" + " ".join(f"{counts.get(t, 0):>6}" for t in themes))
    if misses:
        click.echo("")
        for m in ev.misses:
            click.echo(
                f"{m['id']}: theme {m['theme']} -> {m['got']}; initiatives {m['initiatives']} -> {m['proposed']}"
            )


@click.group("sla")
def sla_group():
    """Business-time arithmetic on the working calendar (config/reference/sla.yaml)."""


def _calendar(directory):
    from .services.reference import ReferenceDataError
    from .services.sla import SlaRules, read_sla

    try:
        return SlaRules(read_sla(directory or current_app.config["SWAT"]["reference_dir"])).calendar
    except ReferenceDataError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)


def _instant(value: str, name: str):
    from .domain.calendar import parse_instant

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
    from .domain.calendar import format_instant

    click.echo(format_instant(_calendar(directory).due(_instant(start, "--start"), minutes)))


@sla_group.command("elapsed")
@click.option("--start", required=True)
@click.option("--end", required=True)
@click.option("--dir", "directory", default=None, help="Reference folder with sla.yaml.")
@with_appcontext
def sla_elapsed(start, end, directory):
    """Business minutes between START and END."""
    click.echo(_calendar(directory).elapsed(_instant(start, "--start"), _instant(end, "--end")))


@click.command()
@with_appcontext
def scheduler():
    """The one background process: SLA sweep every minute, outbox delivery every 30 s."""
    from .jobs.runner import run_scheduler

    run_scheduler(current_app._get_current_object())


@click.group("jobs")
def jobs_group():
    """Run background jobs by hand (or from cron instead of `swat scheduler`)."""


@jobs_group.command("run")
@with_appcontext
def jobs_run():
    """Run the SLA sweep, last week's summary to managers (once per week) and one delivery pass."""
    from .jobs.runner import run_delivery, run_sweep, run_weekly_summary

    app = current_app._get_current_object()
    result = run_sweep(app)
    click.echo(f"sweep: {result.fired} escalations fired, {result.renotified} re-notified")
    weekly = run_weekly_summary(app)
    click.echo(f"weekly summary {weekly.week}: {weekly.queued} queued, {weekly.already} sent before")
    click.echo(f"delivery: {run_delivery(app)}")


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

    from .jobs.runner import run_weekly_summary
    from .services.weekly_summary import week_of

    period = None
    if week:
        try:
            period = week_of(date.fromisoformat(week))
        except ValueError:
            click.echo(f"error: --week: not a date (YYYY-MM-DD): {week!r}", err=True)
            sys.exit(2)
        if period.bounds()[1] > _now():
            click.echo(f"error: the week {period.key()} has not ended yet", err=True)
            sys.exit(1)
    result = run_weekly_summary(current_app._get_current_object(), period)
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

    from .extensions import db
    from .models import ReportTimeCount
    from .services import report_facts

    if mode == "rebuild":
        n = report_facts.rebuild(db.session)
        counts = db.session.scalar(select(func.count()).select_from(ReportTimeCount)) or 0
        db.session.commit()
        click.echo(f"report facts rebuilt: {n:,} rows, and {counts:,} minute counts")
        return
    if db.engine.dialect.name == "postgresql" and not db.session().in_transaction():
        # One snapshot for the stored rows and the fresh computation, so writes committed
        # meanwhile by the running desk cannot show up as differences.
        db.session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    problems = report_facts.check(db.session)
    db.session.rollback()
    for line in problems[:50]:
        click.echo(line, err=True)
    if problems:
        click.echo(f"error: {len(problems):,} report fact rows differ; run `swat reports facts --rebuild`", err=True)
        sys.exit(1)
    click.echo("report facts agree with the tickets")


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

    Commits in batches, or on PostgreSQL a large seed in one transaction with the indexes
    rebuilt at the end (see devdata.seed.seed); the reported time is the whole load. The
    `seed-*` accounts share the password swat-seed-2026.
    """
    import time

    from .devdata.seed import SeedRefused
    from .devdata.seed import seed as run_seed
    from .extensions import db

    shown = [time.perf_counter()]

    def progress(done, total):
        if done == total or time.perf_counter() - shown[0] >= 1.0:
            shown[0] = time.perf_counter()
            click.echo(f"  {done:,}/{total:,} tickets")

    try:
        report = run_seed(db.session, _now(), current_app.config["SWAT"], tickets, rng_seed, years, progress=progress)
    except SeedRefused as exc:
        db.session.rollback()
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    click.echo(report.summary())
