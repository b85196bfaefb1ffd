"""Mail to the desk as the command and the scheduler take it in: one message, one transaction."""

from __future__ import annotations

import logging
from datetime import datetime

from flask import Flask

from ..extensions import db

log = logging.getLogger("swat.mail")


def _unreachable(exc: Exception) -> bool:
    """The database could not be reached (or no connection was free): try again later."""
    from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    return isinstance(exc, OperationalError | InterfaceError | PoolTimeout) or (
        isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)
    )


def ingest_one(app: Flask, raw: bytes, source: str, received_at: datetime | None = None, size: int | None = None):
    """Take one message in and commit. When the database cannot be reached, roll back and
    raise: the message stays where it came from (the MTA keeps it, the fetcher leaves it in
    the mailbox). Any other failure is tried once more in a fresh transaction (a race with
    another writer fails once); a message that fails twice is kept for review as unreadable
    (mail_intake.hold_unreadable), so one bad message never stops the ones behind it."""
    from ..services.attachments import Limits
    from ..services.mail_intake import IntakeSettings, hold_unreadable, ingest
    from ..services.storage import AttachmentStore
    from ..services.upload_policy import UploadPolicy

    s = app.config["SWAT"]
    store = AttachmentStore(s["attachment_dir"])
    for attempt in (1, 2, 3):
        with app.app_context():
            now = app.extensions["swat.clock"].now()
            try:
                if attempt < 3:
                    outcome = ingest(
                        db.session(),
                        raw,
                        now,
                        store=store,
                        limits=Limits(
                            s["max_attachment_bytes"], s["max_attachments_per_post"], UploadPolicy.from_settings(s)
                        ),
                        config=IntakeSettings.from_settings(s),
                        source=source,
                        received_at=received_at,
                        size=size,
                    )
                else:
                    outcome = hold_unreadable(db.session(), raw, now, store, source, size)
                db.session.commit()
            except Exception as exc:
                db.session.rollback()
                if attempt == 3 or _unreachable(exc):
                    log.exception("a received message could not be taken in; it is kept to be tried again")
                    raise
                log.exception("a received message could not be taken in (try %d of 2)", attempt)
                continue
            finally:
                db.session.remove()
        log.info("mail %s: %s %s %s", source, outcome.status, outcome.reason, outcome.number or "")
        return outcome
    raise AssertionError("unreachable")


def run_mail_fetch(app: Flask, limit: int | None = None):
    """Read the desk's mailbox once (`swat mail fetch`, and the scheduler every minute): each
    new message taken in in its own transaction, then put away. Returns the FetchReport."""
    from ..services.mail_fetch import fetch

    settings = app.config["SWAT"]

    def handle(raw: bytes) -> str:
        return ingest_one(app, raw, "imap").status

    def handle_oversized(header: bytes, size: int) -> str:
        return ingest_one(app, header, "imap", size=size).status

    report = fetch(settings, handle, limit, handle_oversized=handle_oversized)
    if report.outcomes or report.errors:
        log.info("mail fetch: %s", summary(report))
    return report


def summary(report) -> str:
    """One line: what each message became, and what was left for the next run."""
    said = ", ".join(f"{n} {word}" for word, n in sorted(report.outcomes.items())) or "no new mail"
    if report.errors:
        said += f"; {len(report.errors)} left for the next run"
    if report.stopped:
        said += "; stopped early"
    return said
