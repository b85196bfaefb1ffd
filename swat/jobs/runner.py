"""The jobs as the scheduler runs them: each in its own app context and transaction."""

from __future__ import annotations

import logging

from flask import Flask

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

    return _run(app, lambda now: sweep(db.session, now), "SLA sweep failed; it runs again at the next minute")


def run_delivery(app: Flask):
    from .delivery import deliver

    return _run(app, deliver, "delivery failed; it runs again shortly")


def run_scheduler(app: Flask) -> None:
    """Block forever, running the sweep every minute and delivery every 30 seconds."""
    from apscheduler.schedulers.blocking import BlockingScheduler

    scheduler = BlockingScheduler(timezone="Asia/Tokyo")
    options = {"max_instances": 1, "coalesce": True, "misfire_grace_time": 30}
    scheduler.add_job(run_sweep, "interval", args=[app], minutes=1, id="sla-sweep", **options)
    scheduler.add_job(run_delivery, "interval", args=[app], seconds=30, id="outbox-delivery", **options)
    log.info("scheduler started: SLA sweep every minute, delivery every 30 s")
    scheduler.start()
