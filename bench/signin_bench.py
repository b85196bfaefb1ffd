#!/usr/bin/env python
"""How long a sign-in takes to say no, by reason: none may tell an attacker which names exist.

    .venv/bin/python bench/signin_bench.py --database-url URL [--database-url URL ...] [--repeat 30] [--record]

Each URL is a scratch database, dropped and made again for PostgreSQL (an SQLite URL names a
file that is replaced). The desk gets its reference data and accounts whose passwords are
hashed with the production method (scrypt, the shipped `password_hash_method`); the sign-in
settings are the shipped ones (5 failures, a wait of 60 s).

Each case is a POST /login through the Flask test client (one app context per request, as a
server; CSRF included), timed around the request, --repeat times, the cases interleaved and
their order turned each round so drift of the machine, and the place in a round, fall on all of
them alike:
- *wrong password*: an existing account, a wrong password (each from its own address, so none
  is slowed by the wait);
- *unknown name*: a name no account has;
- *deactivated*: an existing account an admin deactivated, its right password;
- *waiting, existing* / *waiting, unknown*: after five failures from one address, the next
  try from there (429): an existing name and one nobody has;
- *right password*: for comparison (a session starts; it is signed out between tries);
- *reset, mailed* / *reset, unknown name* / *reset, no address*: a POST /password/reset naming
  an account that gets a link (a fresh one each round, so no limit is reached), a name nobody
  has, and an account without an e-mail address: the page is the same, and so must the time be.

Prints the median and p90 in milliseconds per case and engine; --record writes the table into
bench/SIGNIN.md. `--only reset --repeat 200` measures the reset page alone (each of its cases is
about 2 ms, so more rounds than the sign-in's 30 are needed to see a difference or its absence). The hashes are CPU-bound work on this machine's cores.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.pop("SWAT_CONFIG", None)
os.environ.pop("SWAT_DATABASE_URL", None)

from _common import CSRF_RE, ROOT, machine_facts, record_section, recreate_postgres  # noqa: E402
from sqlalchemy import select  # noqa: E402

from swat.app import create_app  # noqa: E402
from swat.extensions import db  # noqa: E402
from swat.models import User  # noqa: E402

RESULTS = ROOT / "bench" / "SIGNIN.md"
HEADER = """# Sign-in: the time to say no, by reason

`bench/signin_bench.py` (its docstring says what each case is). Issue 16 asked for the same
answer in the same time for a wrong password, an unknown name and a waiting (throttled)
attempt: before, an existing account took ~100 ms longer than a missing one, because the
stand-in hash for unknown names was a fast PBKDF2 beside scrypt hashes.
"""
PASSWORD = "bench sign-in password 2026"
CASES = (
    "wrong password",
    "unknown name",
    "deactivated",
    "waiting, existing",
    "waiting, unknown",
    "right password",
    "reset, mailed",
    "reset, unknown name",
    "reset, no address",
)


def _setup(app, repeat: int) -> None:
    from flask_migrate import upgrade

    from swat.services import accounts
    from swat.services.reference import load_reference

    now = datetime.now(UTC)
    upgrade()
    load_reference(db.session, app.config["SWAT"]["reference_dir"])
    for name in ("member", "gone", "waiting"):
        accounts.create_user(
            db.session, now, username=name, password=PASSWORD, role="agent", hash_method="scrypt", email=""
        )
    for i in range(repeat + 2):  # one account to mail per round
        accounts.create_user(
            db.session,
            now,
            username=f"mailed-{i}",
            password=PASSWORD,
            role="agent",
            hash_method="scrypt",
            email=f"mailed-{i}@pref.example.jp",
        )
    db.session.commit()
    gone = db.session.scalar(select(User).where(User.username == "gone"))
    accounts.deactivate_account(db.session, now, gone)
    db.session.commit()


class Client:
    def __init__(self, app):
        self.app, self.client = app, app.test_client()
        with app.app_context():
            page = self.client.get("/login").get_data(as_text=True)
        self.token = CSRF_RE.search(page).group(1)

    def post(self, username: str, password: str | None, ip: str) -> tuple[float, int]:
        if password is None:  # a reset asked for
            url, data = "/password/reset", {"name": username, "csrf_token": self.token}
        else:
            url, data = "/login", {"username": username, "password": password, "csrf_token": self.token, "next": ""}
        with self.app.app_context():
            t = time.perf_counter()
            response = self.client.post(url, data=data, environ_base={"REMOTE_ADDR": ip})
            response.get_data()
            took = time.perf_counter() - t
        return took, response.status_code


def measure(database_url: str, repeat: int, only: str = "") -> tuple[dict[str, list[float]], dict[str, str]]:
    work = Path(tempfile.mkdtemp(prefix="swat-signin-bench-"))
    if database_url.startswith("postgresql"):
        recreate_postgres(database_url)
    elif database_url.startswith("sqlite:///"):
        Path(database_url.removeprefix("sqlite:///")).unlink(missing_ok=True)
    app = create_app(
        {
            "database_url": database_url,
            "instance_path": str(work / "instance"),
            "attachment_dir": str(work / "attachments"),
            "password_hash_method": "scrypt",
        }
    )
    with app.app_context():
        _setup(app, repeat)
        facts = machine_facts(db.engine)
    client = Client(app)
    limit = app.config["SWAT"]["login_max_failures"]
    for name in ("waiting", "nobody-waits"):  # five failures from the address that then waits
        for _ in range(limit):
            client.post(name, "wrong", "192.0.2.200")
    times: dict[str, list[float]] = {case: [] for case in _cases(only)}
    expect = {"waiting, existing": 429, "waiting, unknown": 429, "right password": 302}
    for i in range(repeat + 2):  # the first two rounds warm up
        ip = f"198.51.{i // 250}.{i % 250 + 1}"
        tries = {
            "wrong password": ("member", "not the password", ip),
            "unknown name": (f"nobody-{i}", PASSWORD, ip),
            "deactivated": ("gone", PASSWORD, ip),
            "waiting, existing": ("waiting", PASSWORD, "192.0.2.200"),
            "waiting, unknown": ("nobody-waits", PASSWORD, "192.0.2.200"),
            "right password": ("member", PASSWORD, f"203.0.113.{i % 250 + 1}"),
            "reset, mailed": (f"mailed-{i}", None, ip),
            "reset, unknown name": (f"nobody-{i}", None, ip),
            "reset, no address": ("member", None, ip),
        }
        order = [(case, what) for case, what in tries.items() if case in times]
        order = order[i % len(order) :] + order[: i % len(order)]  # each case in each place in turn
        for case, (name, password, address) in order:
            # a sign-in that works leaves its browser signed in: that case gets a new one
            took, status = (Client(app) if case == "right password" else client).post(name, password, address)
            if status != expect.get(case, 200):
                raise SystemExit(f"{case} (round {i}): expected {expect.get(case, 200)}, got {status}")
            if i >= 2:
                times[case].append(took * 1000)
    return times, facts


def _cases(only: str) -> tuple[str, ...]:
    return tuple(case for case in CASES if case.startswith(only))


def table(results: list[tuple[str, dict[str, list[float]]]]) -> str:
    head = "| case | " + " | ".join(f"{engine} median | {engine} p90" for engine, _ in results) + " |"
    rule = "|---|" + "---:|---:|" * len(results)
    rows = [head, rule]
    for case in results[0][1]:
        cells = []
        for _, times in results:
            values = sorted(times[case])
            p90 = values[int(len(values) * 0.9) - 1]
            cells.append(f"{statistics.median(values):.1f} ms | {p90:.1f} ms")
        rows.append(f"| {case} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", action="append", required=True)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--record", action="store_true")
    parser.add_argument("--only", default="", help='only the cases that start so, e.g. "reset" (recorded apart)')
    args = parser.parse_args(argv)
    results, facts = [], {}
    for url in args.database_url:
        times, facts[url] = measure(url, args.repeat, args.only)
        engine = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
        results.append((engine, times))
    body = [f"Measured {datetime.now(UTC):%Y-%m-%d}, {args.repeat} of each case per engine.", "", table(results), ""]
    for url, f in facts.items():
        body.append(f"- {url.split('://')[0]}: " + "; ".join(f"{k}: {v}" for k, v in f.items()))
    text = "\n".join(body)
    print(text)
    if args.record:
        record_section(RESULTS, HEADER, f"signin-{args.only}" if args.only else "signin", text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
