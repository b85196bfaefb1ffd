"""`swat mail`: mail to the desk, from a mail server's pipe or a file, and from the mailbox."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext
from flask.globals import app_ctx

# The exit status of `swat mail ingest` says what became of the message. A mail server
# that pipes into the command takes any status but 0 and 75 as a failure and bounces the
# message, so `--mta` answers 0 for everything the desk accepted (it was filed, held,
# ignored, or refused with an answer to its sender) and keeps 75 for "try again later".
EXIT = {"filed": 0, "reply": 10, "held": 11, "ignored": 12, "refused": 13, "duplicate": 14}
TEMPFAIL = 75  # sysexits.h EX_TEMPFAIL: the database could not take it; the server retries

SAID = {
    "filed": "filed as {number}",
    "reply": "threaded as a reply to {number}",
    "held": "held for review ({reason})",
    "ignored": "ignored as automatic ({reason})",
    "refused": "refused ({reason}); the sender was told why",
    "duplicate": "already taken in",
}


@click.group("mail")
def mail_group():
    """Mail to the desk."""


@mail_group.command("ingest")
@click.argument("file", type=click.File("rb"), default="-")
@click.option("--mta", is_flag=True, help="Exit 0 for every message taken in (for a mail server's pipe).")
@with_appcontext
def mail_ingest(file, mta):
    """Take in one RFC 5322 message from FILE (default: standard input) and say what became of it.

    Exit status: 0 filed, 10 threaded as a reply, 11 held for review, 12 ignored as
    automatic, 13 refused, 14 taken in before, 75 not taken in (try again).
    """
    from ..jobs.mail import ingest_one

    cap = int(app_ctx.app.config["SWAT"]["max_request_bytes"])
    raw = file.read(cap + 1)
    size = len(raw)
    while len(raw) > cap and (chunk := file.read(1024 * 1024)):  # over the limit: counted, not kept
        size += len(chunk)
    try:
        outcome = ingest_one(app_ctx.app, raw, "ingest", size=size)
    except Exception as exc:  # noqa: BLE001 (the server keeps the message and retries)
        click.echo(f"not taken in, try again: {type(exc).__name__}: {exc}", err=True)
        sys.exit(TEMPFAIL)
    click.echo(SAID[outcome.status].format(number=outcome.number or "", reason=outcome.reason))
    sys.exit(0 if mta else EXIT[outcome.status])


@mail_group.command("fetch")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Take at most this many messages.")
@with_appcontext
def mail_fetch(limit):
    """Read the desk's mailbox (imap_* settings) once: take in each new message, then put it
    away. Exit status 1 when the mailbox could not be read or a message was left for the next run."""
    from ..jobs.mail import run_mail_fetch, summary
    from ..services.mail_fetch import MailFetchError

    if not app_ctx.app.config["SWAT"]["imap_host"]:
        raise click.ClickException("no mailbox is configured (imap_host)")
    try:
        report = run_mail_fetch(app_ctx.app, limit)
    except MailFetchError as exc:
        raise click.ClickException(f"the mailbox could not be read: {exc}")
    click.echo(summary(report))
    for error in report.errors:
        click.echo(error, err=True)
    if report.errors or report.stopped:
        sys.exit(1)
