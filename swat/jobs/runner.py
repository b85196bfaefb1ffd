"""The jobs as the scheduler runs them: each in its own app context and transaction."""

from __future__ import annotations

import logging
from datetime import datetime

from flask import Flask

from ..domain.tz import TOKYO
from ..extensions import db

log = logging.getLogger("swat.jobs")


def _now(app: Flask):
    return app.extensions["swat.clock"].now()


def _run(app: Flask, job, failure: str):
    """Run `job(now)` in its own app context and transaction; roll back and log on failure."""
    with app.app_context():
        try:
            result = job(_now(app))
            db.session.commit()
            return result
        except Exception:
            db.session.rollback()
            log.exception(failure)
            raise
        finally:
            db.session.remove()


def run_sweep(app: Flask):
    from ..services.escalation import sweep

    return _run(app, lambda now: sweep(db.session(), now), "SLA sweep failed; it runs again at the next minute")


def run_sign_in_housekeeping(app: Flask):
    from ..services.signin import AccountSettings
    from ..services.signin_throttle import forget_old

    cfg = AccountSettings(window_minutes=app.config["SWAT"]["login_window_minutes"])
    return _run(app, lambda now: forget_old(db.session(), now, cfg), "sign-in housekeeping failed; it runs again")


def run_delivery(app: Flask):
    from .delivery import deliver

    return _run(app, deliver, "delivery failed; it runs again shortly")


def run_mail(app: Flask):
    """Read the desk's mailbox (each message its own transaction: see jobs.mail)."""
    from ..services.mail_fetch import MailFetchError
    from .mail import run_mail_fetch

    try:
        return run_mail_fetch(app)
    except MailFetchError:
        log.exception("the mailbox could not be read; it is read again at the next minute")
        return None


def run_directory_sync(app: Flask):
    """Bring the directory accounts in line with the directory (daily, when one is configured)."""
    from ..services.directory import DirectoryError, settings_from
    from ..services.directory_sync import sync

    cfg = settings_from(app.config["SWAT"])
    if cfg is None:
        return None
    try:
        report = _run(app, lambda now: sync(db.session(), now, cfg), "directory sync failed; it runs again tomorrow")
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
    )


# Monday 08:30 in Tokyo: the weekly summary goes out as the week's work begins.
WEEKLY_SUMMARY_AT = {"day_of_week": "mon", "hour": 8, "minute": 30}


def _weekly_summary_is_due(now: datetime) -> bool:
    """Whether this week's Monday 08:30 (Tokyo) has passed: a scheduler that was down
    then catches up when it starts, and one started early on Monday does not send early."""
    local = now.astimezone(TOKYO)
    return local.weekday() > 0 or (local.hour, local.minute) >= (WEEKLY_SUMMARY_AT["hour"], WEEKLY_SUMMARY_AT["minute"])


def run_scheduler(app: Flask) -> None:
    """Block forever, running the sweep every minute, delivery every 30 seconds and the
    weekly summary every Monday at 08:30 (Tokyo), and once at start if that was missed."""
    from apscheduler.schedulers.blocking import BlockingScheduler

    scheduler = BlockingScheduler(timezone=TOKYO)
    options = {"max_instances": 1, "coalesce": True, "misfire_grace_time": 30}
    scheduler.add_job(run_sweep, "interval", args=[app], minutes=1, id="sla-sweep", **options)
    scheduler.add_job(run_delivery, "interval", args=[app], seconds=30, id="outbox-delivery", **options)
    scheduler.add_job(run_sign_in_housekeeping, "interval", args=[app], hours=1, id="sign-in-housekeeping", **options)
    scheduler.add_job(
        run_weekly_summary,
        "cron",
        args=[app],
        id="weekly-summary",
        max_instances=1,
        coalesce=True,
        misfire_grace_time=6 * 3600,
        **WEEKLY_SUMMARY_AT,
    )
    if app.config["SWAT"]["ldap_url"]:
        # 05:30 in Tokyo, before the working day: whoever left the directory is out by then.
        scheduler.add_job(run_directory_sync, "cron", args=[app], id="directory-sync", hour=5, minute=30, **options)
    mail = bool(app.config["SWAT"]["imap_host"])
    if mail:
        scheduler.add_job(run_mail, "interval", args=[app], minutes=1, id="mail-fetch", **options)
    if _weekly_summary_is_due(_now(app)):
        # Sends nothing if this week's run already happened (here or on another host).
        scheduler.add_job(run_weekly_summary, "date", args=[app], id="weekly-summary-catch-up")
    log.info(
        "scheduler started: SLA sweep every minute, delivery every 30 s, weekly summary Mondays 08:30%s",
        ", the mailbox every minute" if mail else "",
    )
    scheduler.start()
