"""`swat scheduler` as an operator runs it: it says which jobs run when, writes its heartbeat,
logs each run with what it counted, and on SIGTERM lets the running job finish and exits 0."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from aiosmtpd.controller import Controller
from sqlalchemy import create_engine, insert, select, text

from swat.extensions import db
from swat.jobs import runner
from swat.models import OutboxMessage, SchedulerHeartbeat
from tests.fixtures.servers import free_port

BIN = Path(sys.executable).parent
CHECKOUT = Path(__file__).resolve().parents[2]


class SlowInbox:
    """An SMTP server that takes a few seconds over each message."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.received: list[bytes] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        self.started.set()
        await asyncio.sleep(3)
        self.received.append(envelope.content)
        return "250 OK"


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SWAT_")}
    env.update(
        SWAT_INSTANCE_PATH=str(tmp_path / "instance"), SWAT_SECRET_KEY="k" * 48, PYTHONPATH=str(CHECKOUT), **extra
    )
    return env


def _swat(env, tmp_path, *args):
    subprocess.run([str(BIN / "swat"), *args], cwd=tmp_path, env=env, check=True, capture_output=True)


def _wait(lines: list[str], needle: str, seconds: float = 30) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for line in lines:
            if needle in line:
                return line
        time.sleep(0.05)
    raise AssertionError(f"no line with {needle!r}:\n" + "\n".join(lines))


def test_the_scheduler_starts_beats_and_stops_on_sigterm_after_the_running_job(tmp_path):
    inbox = SlowInbox()
    port = free_port()
    smtp = Controller(inbox, hostname="127.0.0.1", port=port)
    smtp.start()
    env = _env(tmp_path, SWAT_SMTP_HOST="127.0.0.1", SWAT_SMTP_PORT=str(port), SWAT_MAIL_FROM="swat@pref.example.jp")
    _swat(env, tmp_path, "db", "upgrade")
    _swat(env, tmp_path, "reference", "load")
    database = f"sqlite:///{tmp_path / 'instance' / 'swat.db'}"
    engine = create_engine(database)
    with engine.begin() as conn:  # one message waiting in the outbox
        now = datetime.now(UTC)
        conn.execute(
            insert(OutboxMessage.__table__).values(
                channel="email",
                recipient="kenko@pref.example.jp",
                kind="password_reset",
                params='{"salt": "x", "minutes": 30, "name": "健康", "username": "kenko"}',
                created_at=now,
                next_attempt_at=now,
            )
        )
    process = subprocess.Popen(
        [str(BIN / "swat"), "scheduler"],
        cwd=tmp_path,
        env=env,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(line.rstrip("\n") for line in process.stderr), daemon=True)
    reader.start()
    try:
        _wait(lines, "scheduler started")
        for job in ("heartbeat", "sla-sweep", "outbox-delivery", "sign-in-housekeeping", "weekly-summary"):
            _wait(lines, f"job {job}: ")
        assert "interval[0:01:00]" in _wait(lines, "job sla-sweep: ")
        assert inbox.started.wait(30), "\n".join(lines)  # the delivery is in the middle of sending
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
        reader.join(10)
        process.stderr.close()
        smtp.stop()
    assert code == 0, "\n".join(lines)
    assert len(inbox.received) == 1  # the running job finished its message
    done = _wait(lines, "job outbox-delivery done in")
    assert "sent 1" in done and "failed 0" in done
    said = [line for line in lines if "scheduler st" in line or "job outbox-delivery done" in line]
    assert "stopping (SIGTERM)" in said[1] and "outbox-delivery done" in said[2] and "scheduler stopped" in said[-1], (
        said
    )
    with engine.connect() as conn:
        beat = conn.execute(select(SchedulerHeartbeat.__table__)).one()
        sent = conn.execute(text("SELECT sent_at FROM outbox")).scalar_one()
    assert beat.name == "scheduler" and beat.pid == process.pid and beat.beat_at is not None
    assert sent is not None
    engine.dispose()


def test_each_run_says_how_long_it_took_and_what_it_counted(app, users, make_ticket, clock, caplog):
    make_ticket()
    clock.advance(days=30)  # the consultation's clocks are long past their targets
    with caplog.at_level(logging.INFO, logger="swat.jobs"):
        runner.run_sweep(app)
    (line,) = [r for r in caplog.records if r.getMessage().startswith("job sla-sweep done in ")]
    assert "checked " in line.getMessage() and "fired " in line.getMessage()
    assert line.job == "sla-sweep" and isinstance(line.ms, int) and line.checked >= 1 and line.fired >= 1


def test_the_heartbeat_is_one_row_rewritten(app, clock):
    from swat.jobs.scheduler import beat

    with app.app_context():
        started = clock.now()
        beat(db.session, clock.now(), started)
        clock.advance(minutes=1)
        beat(db.session, clock.now(), started)
        db.session.commit()
        (row,) = db.session.scalars(select(SchedulerHeartbeat)).all()
        assert (row.started_at, row.beat_at, row.pid) == (started, clock.now(), os.getpid())
        db.session.delete(row)
        db.session.commit()
