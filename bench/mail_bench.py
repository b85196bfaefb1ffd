#!/usr/bin/env python
"""Mail in: `swat mail fetch` over a real Dovecot into PostgreSQL, and the time from a message
arriving in the mailbox to the e-mail that tells the desk of it.

    .venv/bin/python bench/mail_bench.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench_mail \
        [--messages 10000] [--file-bytes 30000] [--trials 20] [--record]

The database is dropped and made again (name a scratch one). A Dovecot of the benchmark's own
(the tests' fixture: IMAPS on loopback with its own CA) holds the mailbox; an aiosmtpd server on
loopback receives the desk's e-mail.

- *Throughput*: --messages consultations by mail from department staff (20 each, under the
  hourly limit per sender), each with a PDF
  of --file-bytes, put into INBOX beforehand; then the fetch job (jobs.mail.run_mail_fetch, as
  the scheduler calls it each minute) runs until the mailbox is empty. Each message is its own
  transaction: parsed, filed, routed (assigned when routing is confident), its files and the
  original written and fsynced, and its receipt and notices queued; then moved to the done
  folder. Messages per second, wall and process CPU time.
- *Latency*: --trials times, one more message arrives; the fetch job and one delivery pass
  run, and the clock stops when the SMTP server has the e-mail to the consultation's assignee
  (or to the lead, when it waits for triage). The scheduler runs the fetch every minute and
  delivery every 30 s, so in service up to 60 s + 30 s of waiting come on top of this.

Prints Markdown; --record writes it into bench/MAIL.md.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.pop("SWAT_CONFIG", None)
os.environ.pop("SWAT_DATABASE_URL", None)

from _common import HASH_METHOD, PASSWORD, machine_facts, record_section, recreate_postgres  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from swat.app import create_app  # noqa: E402
from swat.devdata.texts import text_pools  # noqa: E402
from swat.extensions import db  # noqa: E402
from swat.models import Department, InboundMail, Ticket, User  # noqa: E402
from swat.services import accounts  # noqa: E402

THEMES = ["healthcare", "citizen-services", "telework", "ict-governance"]


def _setup(app, n_staff: int) -> list[str]:
    from flask_migrate import upgrade

    from swat.services.reference import load_reference
    from swat.services.routing_rules import load_routing
    from swat.services.sla import load_sla

    now = datetime.now(UTC)
    upgrade()
    ref = app.config["SWAT"]["reference_dir"]
    load_reference(db.session, ref)
    load_routing(db.session, ref, now)
    load_sla(db.session, ref, now)
    departments = list(db.session.scalars(select(Department.id).order_by(Department.id)))
    staff = []
    for i in range(n_staff):
        name = f"mail-staff-{i:03d}"
        accounts.create_user(
            db.session,
            now,
            username=name,
            password=PASSWORD,
            role="staff",
            display_name=f"職員 {i}",
            department_id=departments[i % len(departments)],
            email=f"{name}@pref.example.jp",
            hash_method=HASH_METHOD,
        )
        staff.append(f"{name}@pref.example.jp")
    for i, theme in enumerate(THEMES * 3):
        accounts.create_user(
            db.session,
            now,
            username=f"mail-agent-{i:02d}",
            password=PASSWORD,
            role="agent",
            display_name=f"メンバー {i}",
            department_id="smart-city",
            theme_ids=[theme],
            email=f"mail-agent-{i:02d}@pref.example.jp",
            hash_method=HASH_METHOD,
        )
    accounts.create_user(
        db.session,
        now,
        username="mail-lead",
        password=PASSWORD,
        role="lead",
        display_name="班長",
        department_id="smart-city",
        email="mail-lead@pref.example.jp",
        hash_method=HASH_METHOD,
    )
    db.session.commit()
    return staff


def _messages(n: int, staff: list[str], file_bytes: int, rng: random.Random, start: int = 0) -> list[bytes]:
    pools, _desk, _follow = text_pools(rng, THEMES)
    pdf = b"%PDF-1.4\n" + bytes(rng.getrandbits(8) for _ in range(max(0, file_bytes - 9)))
    out = []
    for i in range(start, start + n):
        title, body = rng.choice(pools[rng.choice(THEMES)])
        m = EmailMessage()
        m["From"] = f"職員 <{staff[i % len(staff)]}>"
        m["To"] = "soudan@pref.example.jp"
        m["Subject"] = title
        m["Message-ID"] = f"<bench-{i}@mail.pref.example.jp>"
        m.set_content(body + "\n\nよろしくお願いします。\n")
        m.add_attachment(pdf, maintype="application", subtype="pdf", filename=f"申請書（案）{i}.pdf")
        out.append(m.as_bytes())
    return out


def _append_all(server, raws: list[bytes]) -> None:
    client = server.connect()
    try:
        for raw in raws:
            typ, data = client.append("INBOX", None, None, raw)
            assert typ == "OK", data
    finally:
        client.logout()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--messages", type=int, default=10000)
    parser.add_argument("--file-bytes", type=int, default=30000)
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--record", action="store_true")
    args = parser.parse_args(argv)

    from aiosmtpd.controller import Controller

    from swat.jobs.delivery import deliver
    from swat.jobs.mail import run_mail_fetch
    from tests.fixtures.dovecot import Certificates, Dovecot
    from tests.fixtures.servers import free_port
    from tests.fixtures.smtp import Inbox

    recreate_postgres(args.database_url)
    work = Path(tempfile.mkdtemp(prefix="swat-mail-bench-"))
    (work / "certs").mkdir()
    server = Dovecot(Certificates(work / "certs"))
    inbox = Inbox()
    smtp_port = free_port()
    smtp = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    try:
        app = create_app(
            {
                "database_url": args.database_url,
                "instance_path": str(work / "instance"),
                "attachment_dir": str(work / "attachments"),
                "mail_from": "swat@pref.example.jp",
                "mail_inbound_address": "soudan@pref.example.jp",
                "smtp_host": "127.0.0.1",
                "smtp_port": smtp_port,
                **server.settings(),
            }
        )
        rng = random.Random(42)
        with app.app_context():
            # Enough senders that none passes mail_max_per_hour (30) within the run's hour.
            staff = _setup(app, max(200, args.messages // 20))
            facts = machine_facts(db.engine)
        raws = _messages(args.messages, staff, args.file_bytes, rng)
        size = sum(len(r) for r in raws)
        t = time.perf_counter()
        _append_all(server, raws)
        appended = time.perf_counter() - t

        wall, cpu = time.perf_counter(), time.process_time()
        outcomes: dict[str, int] = {}
        while True:
            report = run_mail_fetch(app)
            for word, n in report.outcomes.items():
                outcomes[word] = outcomes.get(word, 0) + n
            if not report.outcomes:
                break
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu

        latencies, told = [], {"assignee": 0, "lead": 0}
        for k, raw in enumerate(_messages(args.trials, staff, args.file_bytes, rng, start=args.messages)):
            with app.app_context():
                deliver(datetime.now(UTC))  # the receipts and notices of the run above
            inbox.messages.clear()
            _append_all(server, [raw])
            t = time.perf_counter()
            run_mail_fetch(app)
            with app.app_context():
                deliver(datetime.now(UTC))
                ticket = db.session.scalar(select(Ticket).order_by(Ticket.id.desc()).limit(1))
                who = db.session.get(User, ticket.assignee_id) if ticket.assignee_id else None
                address = who.email if who else "mail-lead@pref.example.jp"
            got = [rcpts for rcpts, _m in inbox.messages if rcpts == [address]]
            latencies.append(time.perf_counter() - t)
            assert got, f"trial {k}: nothing reached {address}"
            told["assignee" if who else "lead"] += 1
        with app.app_context():
            filed = db.session.scalar(
                select(func.count()).select_from(InboundMail).where(InboundMail.status == "filed")
            )
            assigned = db.session.scalar(
                select(func.count()).select_from(Ticket).where(Ticket.assignee_id.is_not(None))
            )
    finally:
        smtp.stop()
        server.stop()

    n = args.messages
    lat = sorted(latencies)
    p95 = lat[min(len(lat) - 1, int(round(0.95 * (len(lat) - 1))))]
    body = "\n".join(
        [
            f"Measured {datetime.now(UTC):%Y-%m-%d} with `bench/mail_bench.py --messages {n} --file-bytes "
            f"{args.file_bytes} --trials {args.trials}`.",
            "",
            *[f"- {k}: {v}" for k, v in facts.items()],
            "",
            f"Mailbox: {n:,} messages, {size / 1e6:.1f} MB in all (each with a {args.file_bytes:,}-byte PDF), "
            f"put into Dovecot's INBOX in {appended:.1f} s beforehand.",
            "",
            "| what | figure |",
            "|---|---:|",
            f"| fetch job until the mailbox was empty, wall | {wall:.1f} s |",
            f"| messages per second | {n / wall:.1f} |",
            f"| process CPU (parse, file, route, write, IMAP) | {cpu:.1f} s ({cpu / wall:.0%} of wall) |",
            f"| outcomes | {', '.join(f'{v:,} {k}' for k, v in sorted(outcomes.items()))} |",
            f"| filed consultations assigned at once by routing | {assigned:,} of {filed:,} |",
            f"| arrival → e-mail to the desk, median ({args.trials} trials) | {statistics.median(lat) * 1000:.0f} ms |",
            f"| arrival → e-mail to the desk, p95 / max | {p95 * 1000:.0f} ms / {lat[-1] * 1000:.0f} ms |",
            f"| trials told the assignee / the lead (triage) | {told['assignee']} / {told['lead']} |",
            "",
            "In service the scheduler reads the mailbox every minute and delivers every 30 s: a message",
            "waits up to 60 s for the fetch and up to 30 s more for delivery, on top of the figures above.",
        ]
    )
    print(body)
    if args.record:
        header = "# Mail in\n\nRecorded by `bench/mail_bench.py`; each section says how it was measured.\n"
        record_section(Path(__file__).resolve().parent / "MAIL.md", header, "fetch", body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
