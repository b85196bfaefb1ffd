"""The one background process (`swat scheduler`): which jobs run when, what it says, its
heartbeat, and a clean stop.

It logs when it starts (each job and its schedule), one line per run (the job, how long it
took, what it counted: clocks checked and escalations fired, messages sent and failed, …) and
when it stops. SIGTERM or SIGINT lets the running job finish, then the process exits 0 (the
systemd unit's TimeoutStopSec bounds the wait). Each minute it writes its heartbeat row, which
tells the status page, /readyz and /metrics how long ago it last lived.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
from datetime import datetime

from flask import Flask
from sqlalchemy.orm import Session

from ..domain.tz import TOKYO
from ..extensions import db
from ..models import SchedulerHeartbeat
from ..services import statements
from . import runner

log = logging.getLogger("swat.jobs")
NAME = "scheduler"


def beat(session: Session, now: datetime, started_at: datetime, *, name: str = NAME) -> None:
    """Write the heartbeat: this host and process, since when, and now (one upsert)."""
    values = {"name": name, "host": socket.gethostname()[:255], "pid": os.getpid(), "started_at": started_at}
    row = {**values, "beat_at": now}
    session.execute(statements.insert_or_update(session, SchedulerHeartbeat, row, ["name"], row))


def _schedule(scheduler, app: Flask) -> None:
    options = {"max_instances": 1, "coalesce": True, "misfire_grace_time": 30}
    started_at = runner._now(app)

    def heartbeat(app: Flask):
        return runner._run(app, lambda now: beat(db.session(), now, started_at), "heartbeat failed; it beats again")

    scheduler.add_job(
        heartbeat, "interval", args=[app], minutes=1, id="heartbeat", next_run_time=datetime.now(TOKYO), **options
    )
    scheduler.add_job(runner.run_sweep, "interval", args=[app], minutes=1, id="sla-sweep", **options)
    # Delivery starts at once: what waited while the scheduler was down goes out first.
    scheduler.add_job(
        runner.run_delivery,
        "interval",
        args=[app],
        seconds=30,
        id="outbox-delivery",
        next_run_time=datetime.now(TOKYO),
        **options,
    )
    scheduler.add_job(
        runner.run_sign_in_housekeeping, "interval", args=[app], hours=1, id="sign-in-housekeeping", **options
    )
    scheduler.add_job(
        runner.run_weekly_summary,
        "cron",
        args=[app],
        id="weekly-summary",
        max_instances=1,
        coalesce=True,
        misfire_grace_time=6 * 3600,
        **runner.WEEKLY_SUMMARY_AT,
    )
    if app.config["SWAT"]["ldap_url"]:
        # 05:30 in Tokyo, before the working day: whoever left the directory is out by then.
        scheduler.add_job(
            runner.run_directory_sync, "cron", args=[app], id="directory-sync", hour=5, minute=30, **options
        )
    if app.config["SWAT"]["imap_host"]:
        scheduler.add_job(runner.run_mail, "interval", args=[app], minutes=1, id="mail-fetch", **options)
    if runner._weekly_summary_is_due(runner._now(app)):
        # Sends nothing if this week's run already happened (here or on another host).
        scheduler.add_job(runner.run_weekly_summary, "date", args=[app], id="weekly-summary-catch-up")


def run(app: Flask) -> None:
    """Run the jobs until SIGTERM or SIGINT; return (exit 0) once the running job is done."""
    from apscheduler.schedulers.blocking import BlockingScheduler

    # apscheduler's own lines say again what the desk's say once, per run: its warnings only.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    scheduler = BlockingScheduler(timezone=TOKYO)
    _schedule(scheduler, app)
    stopping: list[threading.Thread] = []

    def stop(signum, _frame) -> None:
        if stopping:
            return
        log.info("scheduler stopping (%s): the running job finishes first", signal.Signals(signum).name)
        # shutdown waits for the running job; from a thread, so this handler returns at once.
        stopper = threading.Thread(target=scheduler.shutdown, kwargs={"wait": True}, name="scheduler-stop")
        stopping.append(stopper)
        stopper.start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info(
        "scheduler started on %s (process %d), %d jobs", socket.gethostname(), os.getpid(), len(scheduler.get_jobs())
    )
    for job in scheduler.get_jobs():
        log.info("job %s: %s", job.id, job.trigger)
    scheduler.start()
    for stopper in stopping:
        stopper.join()
    log.info("scheduler stopped")
