"""The jobs as the scheduler runs them: each in its own app context and transaction."""

from __future__ import annotations

import dataclasses
import logging
import time
from datetime import datetime

from flask import Flask

from ..domain.tz import TOKYO
from ..extensions import db

log = logging.getLogger("swat.jobs")


def _now(app: Flask):
    return app.extensions["swat.clock"].now()


def counts(result) -> dict:
    """What a job's result counted, as a flat dict for its log line."""
    if isinstance(result, dict):
        return dict(result)
    if dataclasses.is_dataclass(result) and not isinstance(result, type):
        return {k: v for k, v in dataclasses.asdict(result).items() if isinstance(v, int | float | str | bool)}
    return {}


def _run(app: Flask, job, failure: str, name: str = ""):
    """Run `job(now)` in its own app context and transaction; roll back and log on failure.
    Each named run says in one line what it was, how long it took and what it counted, and
    leaves the same in its `job_runs` row (for /metrics and the status page)."""
    started = time.monotonic()
    started_at = _now(app)
    result, error = None, ""
    with app.app_context():
        try:
            result = job(_now(app))
            db.session.commit()
        except Exception as exc:
            db.session.rollback()
            log.exception(failure)
            error = f"{type(exc).__name__}: {exc}"
            raise
        except BaseException as exc:  # interrupted: not a run that went well
            db.session.rollback()
            error = f"interrupted: {type(exc).__name__}"
            raise
        finally:
            db.session.remove()
            if name:
                _record(app, name, started_at, started, result, error)
    took = round((time.monotonic() - started) * 1000)
    if name:
        counted = counts(result)
        said = ", ".join(f"{k} {v}" for k, v in counted.items())
        log.info(
            "job %s done in %d ms%s",
            name,
            took,
            f": {said}" if said else "",
            extra={"job": name, "ms": took, **counted},
        )
    return result


def _record(app: Flask, name: str, started_at: datetime, started: float, result, error: str) -> None:
    """Keep the run's row; a failure to write it is logged and costs nothing else."""
    from ..services import operations

    took = round((time.monotonic() - started) * 1000)
    try:
        operations.record_run(
            db.session(), name, started_at, _now(app), took, counts(result) if not error else {}, error
        )
        db.session.commit()
    except Exception:
        db.session.rollback()
        log.warning("the run of job %s was not recorded", name, exc_info=True)
    finally:
        db.session.remove()


def run_sweep(app: Flask):
    from ..services.escalation import sweep

    return _run(
        app, lambda now: sweep(db.session(), now), "SLA sweep failed; it runs again at the next minute", "sla-sweep"
    )


def run_sign_in_housekeeping(app: Flask):
    from ..services.signin import AccountSettings
    from ..services.signin_throttle import forget_old

    cfg = AccountSettings(window_minutes=app.config["SWAT"]["login_window_minutes"])
    return _run(
        app,
        lambda now: {"forgotten": forget_old(db.session(), now, cfg)},
        "sign-in housekeeping failed; it runs again",
        "sign-in-housekeeping",
    )


def run_delivery(app: Flask):
    from .delivery import deliver

    return _run(app, deliver, "delivery failed; it runs again shortly", "outbox-delivery")


def fetched(report) -> dict[str, int]:
    """What a mailbox run counted: each outcome ("filed", "reply", "held", …), the messages
    left for the next run (errors and not tried) and those another fetcher took first."""
    return {**dict(report.outcomes), "errors": len(report.errors), "left": report.left, "gone": report.gone}


def run_mail(app: Flask):
    """Read the desk's mailbox (each message its own transaction: see jobs.mail); the run is
    recorded as the other jobs' are, a mailbox that cannot be read as a failed run."""
    from ..services.mail_fetch import MailFetchError
    from .mail import run_mail_fetch

    try:
        return _run(
            app,
            lambda now: fetched(run_mail_fetch(app)),
            "reading the mailbox failed; it is read again at the next minute",
            "mail-fetch",
        )
    except MailFetchError:
        return None


def run_directory_sync(app: Flask):
    """Bring the directory accounts in line with the directory (daily, when one is configured)."""
    from ..services.directory import DirectoryError, settings_from
    from ..services.directory_sync import sync

    cfg = settings_from(app.config["SWAT"])
    if cfg is None:
        return None
    try:
        report = _run(
            app,
            lambda now: sync(db.session(), now, cfg),
            "directory sync failed; it runs again tomorrow",
            "directory-sync",
        )
    except DirectoryError:
        return None
    log.info("directory sync: %s", report.lines()[-1])
    return report


def run_weekly_summary(app: Flask, week=None):
    """Queue last week's summary e-mail to managers (`week`: a reports Period to send
    another ended week instead). Safe at any time and from several hosts at once."""
    from ..services.weekly_summary import send_weekly_summaries

    base_url = app.config["SWAT"]["base_url"]
    return _run(
        app,
        lambda now: send_weekly_summaries(db.session(), now, base_url, week),
        "weekly summary failed; it runs again at the next start or next Monday",
        "weekly-summary",
    )


# Monday 08:30 in Tokyo: the weekly summary goes out as the week's work begins.
WEEKLY_SUMMARY_AT = {"day_of_week": "mon", "hour": 8, "minute": 30}


def _weekly_summary_is_due(now: datetime) -> bool:
    """Whether this week's Monday 08:30 (Tokyo) has passed: a scheduler that was down
    then catches up when it starts, and one started early on Monday does not send early."""
    local = now.astimezone(TOKYO)
    return local.weekday() > 0 or (local.hour, local.minute) >= (WEEKLY_SUMMARY_AT["hour"], WEEKLY_SUMMARY_AT["minute"])


def run_scheduler(app: Flask) -> None:
    """The scheduler process (swat.jobs.scheduler)."""
    from .scheduler import run

    run(app)
