#!/usr/bin/env python
"""A bulk action on 200 consultations and an SLA sweep over 1,000 late ones, on an existing desk.

    .venv/bin/python bench/desk_bench.py --database-url URL [--tickets 200] [--late 1000] [--repeat 3]

Runs against a desk already seeded (`swat seed --tickets 1000000`) and changes nothing in it:
every measured step runs in a transaction that is rolled back.

- *Bulk*: the --tickets newest open consultations, as the seeded lead (seed-lead-1), through
  services.bulk.apply (the queue's "apply to the ticked ones"): urgency changed, then assigned
  to another member; each consultation its own savepoint, events, SLA recomputation and
  notifications. Wall and process CPU time, statements.
- *Digest sweep*: the --late newest open consultations' first-response clocks are made late
  by two weeks (running, their next check due now), their escalations removed, every other
  clock's check moved out of the way (the seeded desk never ran its scheduler); then
  services.escalation.sweep runs until it fires nothing more (500 clocks a sweep), as the
  scheduler would minute after minute. Wall and CPU time per sweep, escalations fired, and
  what was written: bell entries, e-mails and chat posts (one per recipient and one post per
  sweep, not one per consultation).

Prints Markdown.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.pop("SWAT_CONFIG", None)
os.environ.pop("SWAT_DATABASE_URL", None)

from _common import HASH_METHOD, StatementLog  # noqa: E402
from sqlalchemy import delete, func, select, update  # noqa: E402

from swat.app import create_app  # noqa: E402
from swat.domain import states  # noqa: E402
from swat.extensions import db  # noqa: E402
from swat.models import Escalation, Notification, OutboxMessage, Ticket, TicketSla, User  # noqa: E402
from swat.services import bulk, escalation  # noqa: E402
from swat.services.storage import AttachmentStore  # noqa: E402
from swat.services.tickets import Limits  # noqa: E402


def _open_ids(n: int) -> list[int]:
    return list(
        db.session.scalars(
            select(Ticket.id).where(Ticket.status.in_(states.OPEN_STATUSES)).order_by(Ticket.id.desc()).limit(n)
        )
    )


def _count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def bulk_run(log: StatementLog, n: int, store, limits) -> list[dict]:
    lead = db.session.scalar(select(User).where(User.username == "seed-lead-1"))
    member = db.session.scalar(select(User).where(User.username == "seed-agent-02"))
    ids = _open_ids(n)
    numbers = list(db.session.scalars(select(Ticket.number).where(Ticket.id.in_(ids))))
    now = datetime.now(UTC)
    out = []
    for action, value in (("priority", "high"), ("assign", str(member.id))):
        log.reset()
        wall, cpu = time.perf_counter(), time.process_time()
        result = bulk.apply(db.session, lead, now, numbers, action, value, store, limits)
        db.session.flush()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        out.append(
            {
                "action": action,
                "done": len(result.done),
                "refused": len(result.refused),
                "wall": wall,
                "cpu": cpu,
                "stmts": len(log.statements),
            }
        )
    return out


def sweep_run(log: StatementLog, n: int) -> list[dict]:
    now = datetime.now(UTC)
    ids = _open_ids(n)
    db.session.execute(delete(Escalation).where(Escalation.ticket_id.in_(ids)))
    # The seeded desk never ran its scheduler: its other clocks' checks are all overdue. A desk
    # in service checks every minute, so they are moved out of this run's way (rolled back).
    db.session.execute(
        update(TicketSla)
        .where(TicketSla.next_check_at <= now, TicketSla.ticket_id.not_in(ids))
        .values(next_check_at=now + timedelta(days=365))
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        update(TicketSla)
        .where(TicketSla.ticket_id.in_(ids), TicketSla.target == "first_response")
        .values(state="running", running_since=now - timedelta(days=14), used_minutes=0, next_check_at=now)
        .execution_options(synchronize_session=False)
    )
    # The seeded cast has no addresses: the desk's members get one for this run (rolled back).
    db.session.execute(
        update(User)
        .where(User.role.in_(["agent", "lead", "manager"]))
        .values(email=User.username + "@pref.example.jp", notify_email=True)
        .execution_options(synchronize_session=False)
    )
    db.session.flush()
    bell0, mail0 = _count(Notification), _count(OutboxMessage)
    email0 = _count(OutboxMessage, OutboxMessage.channel == "email")
    sweeps = []
    while True:
        log.reset()
        wall, cpu = time.perf_counter(), time.process_time()
        result = escalation.sweep(db.session, now)
        db.session.flush()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        if not result.fired:
            break
        sweeps.append({"fired": result.fired, "wall": wall, "cpu": cpu, "stmts": len(log.statements)})
        if len(sweeps) > 20:
            break
    sweeps.append(
        {
            "bell": _count(Notification) - bell0,
            "email": _count(OutboxMessage, OutboxMessage.channel == "email") - email0,
            "outbox": _count(OutboxMessage) - mail0,
        }
    )
    return sweeps


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--database-url", required=True)
    p.add_argument("--tickets", type=int, default=200)
    p.add_argument("--late", type=int, default=1000)
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="swat-desk-bench-"))
    app = create_app(
        {
            "database_url": args.database_url,
            "instance_path": str(tmp / "instance"),
            "attachment_dir": str(tmp / "att"),
            "password_hash_method": HASH_METHOD,
        }
    )
    with app.app_context():
        log = StatementLog(db.engine)
        store = AttachmentStore(str(tmp / "att"))
        limits = Limits(10 * 1024 * 1024, 10)
        print(f"desk: {_count(Ticket):,} consultations; {args.repeat} runs, each rolled back\n")
        print("| step | consultations | done / refused | wall s | CPU s | statements |")
        print("|---|---:|---:|---:|---:|---:|")
        rows: dict[str, list[dict]] = {}
        for _ in range(args.repeat):
            for r in bulk_run(log, args.tickets, store, limits):
                rows.setdefault(r["action"], []).append(r)
            db.session.rollback()
        for action, runs in rows.items():
            med = statistics.median
            print(
                f"| bulk: {action} | {args.tickets} | {runs[0]['done']} / {runs[0]['refused']} | "
                f"{med(r['wall'] for r in runs):.2f} | {med(r['cpu'] for r in runs):.2f} | {runs[0]['stmts']:,} |"
            )
        for i in range(args.repeat):
            sweeps = sweep_run(log, args.late)
            db.session.rollback()
            written = sweeps.pop()
            total_wall = sum(s["wall"] for s in sweeps)
            total_cpu = sum(s["cpu"] for s in sweeps)
            fired = sum(s["fired"] for s in sweeps)
            per = ", ".join(f"{s['fired']} in {s['wall']:.2f} s" for s in sweeps)
            print(
                f"| sweep run {i + 1}: {len(sweeps)} sweeps ({per}) | {args.late} | {fired} fired | "
                f"{total_wall:.2f} | {total_cpu:.2f} | {sum(s['stmts'] for s in sweeps):,} |"
            )
            print(
                f"|  written: {written['bell']:,} bell entries, {written['outbox']:,} outbox messages "
                f"({written['email']:,} e-mails) | | | | | |"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
