"""Operations under load: memory over a long run, the outbox's delivery rate, a storm of filings.

The desk runs as it is deployed: gunicorn from deploy/gunicorn.conf.py (GUNICORN_WORKERS,
GUNICORN_BIND, as the systemd unit deploy/swat-web.service), the one scheduler
`swat scheduler` (deploy/swat-jobs.service), and a real SMTP server on loopback (aiosmtpd's
Sink, which accepts every message and discards it) named by SWAT_SMTP_HOST/SWAT_SMTP_PORT.
Each subcommand starts the three, does its measurement, and stops them by their PIDs.

    soak      mixed traffic from bench/mixed_load.py for --duration s at --rate req/s; every
              --every s the VmRSS of each gunicorn worker, the master and the scheduler
              (/proc/PID/status) and a scrape of /metrics (outbox pending/due/oldest age,
              sla-sweep duration, heartbeat age, the scrape's own time); a table by 5 minutes
    delivery  --messages copies of a real e-mail of the outbox (kind, params, recipient)
              queued at once; time until all are sent, from their sent_at
    storm     --filings new consultations by staff through the web in --seconds (mixed_load's
              filing requests); /metrics every 5 s until swat_outbox_pending is back to its level
              before the storm

Only loopback is contacted. Raw samples go to --out-dir (default: a new folder under $TMPDIR).

    .venv/bin/python bench/ops_bench.py --database-url postgresql+psycopg://...@127.0.0.1/swat_opsbench \
        --instance-path "$SWAT_INSTANCE_PATH" soak --duration 3600 --rate 20
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
METRIC_RE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)$")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def loadavg() -> str:
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def vmrss_kb(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return sorted(int(x) for x in f.read().split())
    except OSError:
        return []


def utc() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def git_commit() -> str:
    try:
        return subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "?"


def machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} CPUs"


# --- the desk as deployed ------------------------------------------------------------------


@dataclass
class Stack:
    port: int
    smtp_port: int
    env: dict
    logs: Path
    procs: dict = field(default_factory=dict)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def master(self) -> int:
        return self.procs["gunicorn"].pid

    @property
    def scheduler(self) -> int:
        return self.procs["scheduler"].pid

    def workers(self) -> list[int]:
        return children(self.master)

    def stop(self) -> None:
        for name in ("scheduler", "gunicorn", "smtp"):
            p = self.procs.get(name)
            if p is None or p.poll() is not None:
                continue
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=60)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def start_stack(args, out: Path) -> Stack:
    port, smtp_port = free_port(), free_port()
    env = dict(os.environ)
    env.update(
        {
            "SWAT_ENV": "production",
            "SWAT_SECRET_KEY": secrets.token_hex(32),
            "SWAT_DATABASE_URL": args.database_url,
            "SWAT_INSTANCE_PATH": args.instance_path,
            "SWAT_BASE_URL": f"http://127.0.0.1:{port}",
            # plain http on loopback: the cookies cannot be Secure here (behind nginx they are)
            "SWAT_SECURE_COOKIES": "false",
            "SWAT_SMTP_HOST": "127.0.0.1",
            "SWAT_SMTP_PORT": str(smtp_port),
            "SWAT_LOG_LEVEL": "WARNING",
            "GUNICORN_BIND": f"127.0.0.1:{port}",
            "GUNICORN_WORKERS": str(args.workers),
        }
    )
    if args.attachment_dir:
        env["SWAT_ATTACHMENT_DIR"] = args.attachment_dir
    for key in ("PROMETHEUS_MULTIPROC_DIR", "GUNICORN_SWAT_METRICS_DIR_MADE"):
        env.pop(key, None)
    stack = Stack(port, smtp_port, env, out)

    def spawn(name: str, cmd: list[str]) -> None:
        log = open(out / f"{name}.log", "wb")
        stack.procs[name] = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)

    spawn(
        "smtp",
        [
            str(VENV_BIN / "python"),
            "-m",
            "aiosmtpd",
            "-n",
            "-l",
            f"127.0.0.1:{smtp_port}",
            "-c",
            "aiosmtpd.handlers.Sink",
        ],
    )
    spawn("gunicorn", [str(VENV_BIN / "gunicorn"), "-c", str(ROOT / "deploy" / "gunicorn.conf.py")])
    spawn("scheduler", [str(VENV_BIN / "swat"), "scheduler"])
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        for name, p in stack.procs.items():
            if p.poll() is not None:
                stack.stop()
                raise SystemExit(f"{name} exited ({p.returncode}); see {out / (name + '.log')}")
        try:
            with urllib.request.urlopen(stack.base + "/metrics", timeout=10) as r:
                if r.status == 200 and len(stack.workers()) == args.workers:
                    break
        except OSError:
            pass
        time.sleep(1)
    else:
        stack.stop()
        raise SystemExit("gunicorn did not answer /metrics within 90 s")
    return stack


def scrape(base: str) -> dict:
    """The desk's gauges from /metrics, summed (pending, due) or maxed (ages) over channels."""
    t0 = time.perf_counter()
    with urllib.request.urlopen(base + "/metrics", timeout=60) as r:
        body = r.read().decode()
    took = time.perf_counter() - t0
    out = {"scrape_s": round(took, 3), "pending": 0.0, "due": 0.0, "oldest_age_s": 0.0}
    for line in body.splitlines():
        m = METRIC_RE.match(line)
        if not m:
            continue
        name, labels, value = m.group(1), m.group(2) or "", float(m.group(3))
        if name == "swat_outbox_pending":
            out["pending"] += value
        elif name == "swat_outbox_due":
            out["due"] += value
        elif name == "swat_outbox_oldest_pending_age_seconds":
            out["oldest_age_s"] = max(out["oldest_age_s"], value)
        elif name == "swat_job_last_run_duration_seconds" and 'job="sla-sweep"' in labels:
            out["sweep_s"] = value
        elif name == "swat_job_last_run_duration_seconds" and 'job="outbox-delivery"' in labels:
            out["delivery_s"] = value
        elif name == "swat_scheduler_heartbeat_age_seconds":
            out["heartbeat_age_s"] = value
    return out


def db_connect(database_url: str):
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(database_url)
    kw = {"dbname": url.database, "autocommit": True}
    for key, attr in (("host", "host"), ("port", "port"), ("user", "username"), ("password", "password")):
        if getattr(url, attr):
            kw[key] = getattr(url, attr)
    return psycopg.connect(**kw)


def mixed_load(args, stack: Stack, out: Path, extra: list[str], name: str) -> subprocess.Popen:
    cmd = [
        str(VENV_BIN / "python"),
        str(ROOT / "bench" / "mixed_load.py"),
        "--base",
        stack.base,
        "--server-pid",
        str(stack.master),
        "--instance-path",
        args.instance_path,
        "--database-url",
        args.database_url,
        "--users",
        str(args.users),
        "--out",
        str(out / f"{name}.json"),
        *extra,
    ]
    env = {k: v for k, v in stack.env.items() if not k.startswith("GUNICORN_")}
    env.pop("SWAT_ENV", None)
    return subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=open(out / f"{name}.md", "wb"), stderr=subprocess.STDOUT)


# --- soak ----------------------------------------------------------------------------------


def soak(args, stack: Stack, out: Path) -> None:
    with db_connect(args.database_url) as conn:
        prepare_accounts(args, stack, out, conn)
    workers = stack.workers()
    print(f"gunicorn master {stack.master}, workers {workers}, scheduler {stack.scheduler}", flush=True)
    load = mixed_load(
        args,
        stack,
        out,
        [
            "--rate",
            str(args.rate),
            "--duration",
            str(args.duration),
            "--max-requests",
            str(int(args.rate * args.duration) + 10),
        ],
        "soak-mixload",
    )
    rows: list[dict] = []
    t0 = None
    fields = ["t_s", "utc", "load1"] + [f"w{i}_kb" for i in range(len(workers))] + ["master_kb", "scheduler_kb"]
    fields += ["pending", "due", "oldest_age_s", "sweep_s", "delivery_s", "heartbeat_age_s", "scrape_s"]
    csv_path = out / "soak-samples.csv"
    with open(csv_path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
        w.writeheader()
        while True:
            now = time.monotonic()
            if t0 is None:
                t0 = now  # mixed_load's start; its set-up (accounts, sign-ins, warm-up) comes first
            row = {"t_s": round(now - t0), "utc": utc(), "load1": loadavg().split()[0]}
            if set(stack.workers()) != set(workers):
                row["note"] = f"workers changed: {stack.workers()}"
                print(row["note"], flush=True)
            for i, pid in enumerate(workers):
                row[f"w{i}_kb"] = vmrss_kb(pid)
            row["master_kb"] = vmrss_kb(stack.master)
            row["scheduler_kb"] = vmrss_kb(stack.scheduler)
            try:
                row.update(scrape(stack.base))
            except OSError as exc:
                row["scrape_s"] = f"error {exc}"
            rows.append(row)
            w.writerow(row)
            f.flush()
            if load.poll() is not None:
                break
            time.sleep(max(0.0, args.every - (time.monotonic() - now)))
    (out / "soak-samples.json").write_text(json.dumps(rows, indent=1))
    print(f"mixed_load exited {load.returncode}; samples in {csv_path}", flush=True)
    report_soak(args, rows, workers, out)


def report_soak(args, rows: list[dict], workers: list[int], out: Path) -> None:
    procs = [f"w{i}_kb" for i in range(len(workers))] + ["master_kb", "scheduler_kb"]
    names = {f"w{i}_kb": f"worker {i + 1}" for i in range(len(workers))}
    names.update(master_kb="gunicorn master", scheduler_kb="scheduler")

    def at(minute: float) -> dict:
        return min(rows, key=lambda r: abs(r["t_s"] - minute * 60))

    last = rows[-1]
    end_min = last["t_s"] / 60
    print(f"\n### soak: {args.duration:.0f} s at {args.rate} req/s, {args.workers} sync workers\n")
    print(f"| process | RSS at min 5 (MB) | RSS at end, min {end_min:.0f} (MB) | growth | peak (MB) |")
    print("|---|---:|---:|---:|---:|")
    for p in procs:
        a, b = at(5).get(p), last.get(p)
        peak = max((r[p] for r in rows if r.get(p)), default=0)
        if a and b:
            print(f"| {names[p]} | {a / 1024:.1f} | {b / 1024:.1f} | {100 * (b - a) / a:+.1f} % | {peak / 1024:.1f} |")
    print(
        f"\noutbox: max pending {max(r.get('pending', 0) for r in rows):.0f}, max due {max(r.get('due', 0) for r in rows):.0f}, "
        f"max oldest pending age {max(r.get('oldest_age_s', 0) for r in rows):.0f} s; sla-sweep max "
        f"{max(r.get('sweep_s', 0) for r in rows):.2f} s; /metrics scrape max "
        f"{max(r['scrape_s'] for r in rows if isinstance(r.get('scrape_s'), float)):.2f} s\n"
    )
    head = "| min | load1 | " + " | ".join(names[p] for p in procs) + " | pending | due | oldest (s) | sweep (s) |"
    print(head)
    print("|" + "---:|" * (head.count("|") - 1))
    step = 0
    while step * 300 <= last["t_s"] + 15:
        r = at(step * 5)
        cells = [f"{r[p] / 1024:.1f}" if r.get(p) else "-" for p in procs]
        print(
            f"| {r['t_s'] / 60:.0f} | {r['load1']} | "
            + " | ".join(cells)
            + f" | {r.get('pending', 0):.0f} | {r.get('due', 0):.0f} | {r.get('oldest_age_s', 0):.0f} | {r.get('sweep_s', 0):.2f} |"
        )
        step += 1


# --- delivery ------------------------------------------------------------------------------


def delivery(args, stack: Stack, out: Path) -> None:
    conn = db_connect(args.database_url)
    wait_for_empty(conn, 300)
    model = conn.execute(
        "SELECT id, kind FROM outbox WHERE channel = 'email' AND sent_at IS NOT NULL ORDER BY id DESC LIMIT 1"
    ).fetchone()
    if model is None:
        raise SystemExit("no sent e-mail in the outbox to copy: run `storm` first (its filings queue some)")
    print(f"copying outbox message {model[0]} (kind {model[1]}) {args.messages} times; load {loadavg()}", flush=True)
    t_queue = time.time()
    first_id = conn.execute("SELECT coalesce(max(id), 0) FROM outbox").fetchone()[0]
    conn.execute(
        "INSERT INTO outbox (channel, recipient, locale, kind, params, created_at, next_attempt_at, attempts, last_error)"
        " SELECT channel, recipient, locale, kind, params, now(), now(), 0, '' FROM outbox, generate_series(1, %s)"
        " WHERE id = %s",
        (args.messages, model[0]),
    )
    t_queued = time.time()
    samples = []
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline:
        left = conn.execute(
            "SELECT count(*) FILTER (WHERE sent_at IS NULL AND failed_at IS NULL), count(*) FILTER (WHERE failed_at IS NOT NULL)"
            " FROM outbox WHERE id > %s",
            (first_id,),
        ).fetchone()
        samples.append(
            {"t_s": round(time.time() - t_queued, 1), "left": left[0], "failed": left[1], "load1": loadavg()}
        )
        if left[0] == 0:
            break
        time.sleep(2)
    t_seen = time.time()
    stats = conn.execute(
        "SELECT count(*), count(sent_at), min(created_at), min(sent_at), max(sent_at), count(failed_at)"
        " FROM outbox WHERE id > %s",
        (first_id,),
    ).fetchone()
    n, sent, created, first_sent, last_sent, failed = stats
    # per 30 s window of sending: how many messages, to see the runs and their gaps
    windows = conn.execute(
        "SELECT floor(extract(epoch FROM sent_at - %s) / 5)::int AS w, count(*) FROM outbox"
        " WHERE id > %s AND sent_at IS NOT NULL GROUP BY 1 ORDER BY 1",
        (first_sent, first_id),
    ).fetchall()
    conn.close()
    result = {
        "queued": n,
        "sent": sent,
        "failed": failed,
        "insert_s": round(t_queued - t_queue, 2),
        "first_sent_after_s": (first_sent - created).total_seconds() if first_sent else None,
        "queue_to_last_sent_s": (last_sent - created).total_seconds() if last_sent else None,
        "first_to_last_sent_s": (last_sent - first_sent).total_seconds() if last_sent else None,
        "polled_s": round(t_seen - t_queued, 1),
        "per_5s": [[w * 5, c] for w, c in windows],
        "samples": samples,
        "load_end": loadavg(),
    }
    (out / "delivery.json").write_text(json.dumps(result, indent=1, default=str))
    span = result["queue_to_last_sent_s"] or float("nan")
    busy = result["first_to_last_sent_s"] or float("nan")
    sending_5s = [c for _, c in result["per_5s"]]
    active = sum(1 for c in sending_5s if c) * 5
    print(f"\n### delivery: {n:,} e-mails queued at once, load after {result['load_end']}\n")
    print(f"- sent {sent:,}, failed {failed}; queued in {result['insert_s']} s (one INSERT)")
    print(f"- first sent {result['first_sent_after_s']:.1f} s after queueing, last {span:.1f} s after")
    print(f"- **{sent / span:.0f} messages/s** from queueing to the last sent; {sent / busy:.0f}/s first to last sent")
    if active:
        print(f"- 5-s windows with sending: {active} s of {busy:.0f} s; {sent / active:.0f} messages/s while sending")
        print(
            f"- the scheduler's bound: sending at most 25 s of every 30 s = {sent / active * 25 / 30:.0f}/s at this sending rate"
        )
    print(f"- per 5 s since the first send: {sending_5s}")


def wait_for_empty(conn, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if conn.execute("SELECT count(*) FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL").fetchone()[0] == 0:
            return
        time.sleep(2)
    print("the outbox did not empty before the measurement; going on", flush=True)


# --- storm ---------------------------------------------------------------------------------


def storm(args, stack: Stack, out: Path) -> None:
    conn = db_connect(args.database_url)
    prepare_accounts(args, stack, out, conn)
    wait_for_empty(conn, 120)
    before = scrape(stack.base)
    first_id = conn.execute("SELECT coalesce(max(id), 0) FROM outbox").fetchone()[0]
    rate = args.filings / args.seconds
    print(
        f"baseline pending {before['pending']:.0f}; {args.filings} filings at {rate:.1f}/s; load {loadavg()}",
        flush=True,
    )
    load = mixed_load(
        args,
        stack,
        out,
        [
            "--rate",
            str(rate),
            "--duration",
            str(args.seconds),
            "--max-requests",
            str(args.filings),
            "--mix",
            "0,100,0",
            "--filing-share",
            "1.0",
            "--warmup",
            "0",
        ],
        "storm-mixload",
    )
    samples = []
    t_start = None
    t_end_load = None
    peak = {"pending": 0.0, "oldest_age_s": 0.0}
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline:
        now = time.time()
        m = scrape(stack.base)
        queued = conn.execute("SELECT count(*) FROM outbox WHERE id > %s", (first_id,)).fetchone()[0]
        if t_start is None and queued:
            t_start = now
        m.update(t=now, queued=queued, load1=loadavg().split()[0])
        samples.append(m)
        peak["pending"] = max(peak["pending"], m["pending"])
        peak["oldest_age_s"] = max(peak["oldest_age_s"], m["oldest_age_s"])
        if load.poll() is not None and t_end_load is None:
            t_end_load = now
        if t_end_load is not None and queued and m["pending"] <= before["pending"]:
            break
        if t_end_load is not None and not queued and now - t_end_load > 60:
            print("the storm queued nothing", flush=True)
            break
        time.sleep(5)
    t_drained = time.time()
    stats = conn.execute(
        "SELECT count(*), count(sent_at), min(created_at), max(created_at), max(sent_at), channel"
        " FROM outbox WHERE id > %s GROUP BY channel",
        (first_id,),
    ).fetchall()
    filed = None
    md = (out / "storm-mixload.md").read_text(errors="replace") if (out / "storm-mixload.md").exists() else ""
    conn.close()
    for s in samples:
        s["t"] = round(s["t"] - (t_start or samples[0]["t"]), 1)
    (out / "storm.json").write_text(
        json.dumps({"before": before, "samples": samples, "stats": stats}, indent=1, default=str)
    )
    print(f"\n### storm: {args.filings} filings offered in {args.seconds} s, load after {loadavg()}\n")
    for n, sent, c0, c1, last_sent, channel in stats:
        print(
            f"- {channel}: {n:,} messages queued (first {c0:%H:%M:%S}, last {c1:%H:%M:%S} UTC), {sent:,} sent by "
            f"{last_sent:%H:%M:%S}; last queued to last sent {(last_sent - c1).total_seconds():.1f} s; "
            f"first queued to last sent {(last_sent - c0).total_seconds():.1f} s"
        )
    print(f"- peak pending {peak['pending']:.0f}, peak oldest pending age {peak['oldest_age_s']:.0f} s (5-s scrapes)")
    print(
        f"- pending back to {before['pending']:.0f} at {t_drained - (t_start or t_drained):.0f} s after the first message"
    )
    print("- the mixed_load report: " + str(out / "storm-mixload.md"))
    for line in md.splitlines():
        if "offered / completed" in line or line.startswith("| filing") or "5xx" in line:
            print("  " + line)
    del filed


def prepare_accounts(args, stack: Stack, out: Path, conn) -> None:
    """mixed_load's accounts are made without e-mail addresses, so their filings would queue
    no receipt: make the accounts (a one-request run) and give them addresses (example.org,
    delivered only to the loopback sink), with e-mail notices on, as a desk's staff have."""
    if not conn.execute("SELECT 1 FROM users WHERE username LIKE 'mixload-%%' LIMIT 1").fetchone():
        p = mixed_load(
            args, stack, out, ["--rate", "1", "--duration", "1", "--max-requests", "1", "--warmup", "0"], "accounts"
        )
        p.wait()
    n = conn.execute(
        "UPDATE users SET email = username || '@opsbench.example.org', notify_email = true"
        " WHERE username LIKE 'mixload-%%' AND (email = '' OR email IS NULL)"
    ).rowcount
    # create_user's accounts must change their password first (a new account's default);
    # mixed_load does not, so each of its requests would be answered by that step's 303.
    m = conn.execute(
        "UPDATE users SET must_change_password = false WHERE username LIKE 'mixload-%%' AND must_change_password"
    ).rowcount
    print(f"e-mail addresses given to {n} mixload accounts; {m} let off the password change", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--database-url", default=os.environ.get("SWAT_DATABASE_URL", ""))
    ap.add_argument("--instance-path", default=os.environ.get("SWAT_INSTANCE_PATH", ""))
    ap.add_argument("--attachment-dir", default="")
    ap.add_argument("--workers", type=int, default=3, help="GUNICORN_WORKERS")
    ap.add_argument("--users", type=int, default=100, help="mixed_load users")
    ap.add_argument("--out-dir", default="", help="raw samples and logs (default: a new folder under $TMPDIR)")
    sub = ap.add_subparsers(dest="what", required=True)
    p = sub.add_parser("soak")
    p.add_argument("--duration", type=float, default=3600.0)
    p.add_argument("--rate", type=float, default=20.0)
    p.add_argument("--every", type=float, default=30.0)
    p = sub.add_parser("delivery")
    p.add_argument("--messages", type=int, default=20000)
    p.add_argument("--timeout", type=float, default=900.0)
    p = sub.add_parser("storm")
    p.add_argument("--filings", type=int, default=300)
    p.add_argument("--seconds", type=float, default=60.0)
    p.add_argument("--timeout", type=float, default=900.0)
    args = ap.parse_args()
    if not args.database_url.startswith("postgresql") or "127.0.0.1" not in args.database_url:
        raise SystemExit("--database-url: a PostgreSQL database on 127.0.0.1")
    out = Path(args.out_dir or tempfile.mkdtemp(prefix=f"swat-ops-{args.what}-"))
    out.mkdir(parents=True, exist_ok=True)
    print(f"{utc()}; commit {git_commit()}; {machine()}; load {loadavg()}; out {out}", flush=True)
    stack = start_stack(args, out)
    try:
        {"soak": soak, "delivery": delivery, "storm": storm}[args.what](args, stack, out)
    finally:
        stack.stop()
        print(f"{utc()}; stopped; load {loadavg()}", flush=True)


if __name__ == "__main__":
    main()
