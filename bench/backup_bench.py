#!/usr/bin/env python
"""How long `swat backup` and `swat restore` take, and how big a backup is, on a seeded desk.

    .venv/bin/python bench/backup_bench.py [--tickets 100000] [--files 3000]
        [--database-url postgresql+psycopg://USER@HOST:PORT/SCRATCH_DB] [--record] [--keep]

Every run from scratch, through the real command line, as an operator would:

1. (re)creates the PostgreSQL database named in --database-url and an empty one named
   `<it>_restored` (both through the `postgres` maintenance database; without --database-url, SQLite
   files in a temporary folder), then runs `swat db upgrade`, `swat reference load` and
   `swat seed --tickets N` with SWAT_DATABASE_URL, SWAT_INSTANCE_PATH and SWAT_ATTACHMENT_DIR set;
2. `swat seed` stores no files, so the benchmark attaches --files files (10-200 KB, Japanese
   names: PDFs, photos, spreadsheets and CSV lists) to posts the seed made, through the
   services an upload goes through (services.attachments.save_files with the desk's upload
   limits and policy, then services.search_index.refresh, whose documents hold file names);
3. times `swat backup --to DIR` (wall time of the whole command) and measures the folder;
4. times `swat restore --from DIR` into the empty database and an empty attachment folder;
5. checks the restored desk: every table's row count against the manifest and against the
   source, every file against the manifest's size and SHA-256, then times
   `swat reports facts --check` and `swat search reindex --check`.

While each command runs, a sampler notes when its pg_dump or pg_restore child ran and when the
first file landed (so the time splits into database and files), the CPU the command's own
process tree used, the CPU the PostgreSQL server processes serving it used, and the machine's
CPU busy and iowait shares (/proc/stat). With --record the result is appended to
bench/BACKUP.md. The databases and the temporary folder are removed at the end unless --keep.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import random
import re
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, drop_postgres, recreate_postgres, source_state  # noqa: E402

SWAT = str(ROOT / ".venv" / "bin" / "swat")
RESULTS = ROOT / "bench" / "BACKUP.md"
HEADER = (
    "# `swat backup` and `swat restore`: time and size\n\n"
    "Recorded by `bench/backup_bench.py --record` (appends below); see its docstring for what is measured,\n"
    "and the notes at the end.\n"
)
TICK = os.sysconf("SC_CLK_TCK")
SAMPLE_S = 0.2
MB = 1024 * 1024


# --- running the command line --------------------------------------------------------------


def desk_env(url: str, instance: Path, files: Path) -> dict[str, str]:
    env = dict(os.environ, SWAT_DATABASE_URL=url, SWAT_INSTANCE_PATH=str(instance), SWAT_ATTACHMENT_DIR=str(files))
    # The command runs the code of this tree, whichever tree the virtualenv was installed from.
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    env.pop("SWAT_CONFIG", None)
    return env


def swat(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([SWAT, *args], cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"swat {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def cpu_times() -> tuple[int, int, int]:
    """The machine's (busy, iowait, total) jiffies since boot, all CPUs."""
    parts = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle, iowait = parts[3], parts[4]
    total = sum(parts[:8])  # guest time is already counted in user
    return total - idle - iowait, iowait, total


def _proc_cpu(pid: str) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime


def _cmdline(pid: str) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


@dataclass
class Run:
    """One timed command, with what the sampler saw while it ran."""

    argv: list[str]
    wall: float = 0.0
    out: str = ""
    tool_start: float | None = None  # pg_dump / pg_restore, seconds after the start
    tool_end: float | None = None
    first_file: float | None = None  # the first stored file in the watched folder
    client_cpu: float = 0.0  # the command and its children (pg_dump, pg_restore), user + sys
    server_cpu: float = 0.0  # the PostgreSQL backends (and their parallel workers) serving it
    busy: float = 0.0  # share of the machine's CPU time, all cores
    iowait: float = 0.0
    load_before: tuple[float, float, float] = (0.0, 0.0, 0.0)
    load_after: tuple[float, float, float] = (0.0, 0.0, 0.0)
    servers: dict[str, float] = field(default_factory=dict)

    @property
    def tool(self) -> float | None:
        if self.tool_start is None or self.tool_end is None:
            return None
        return self.tool_end - self.tool_start


def timed(
    env: dict[str, str], args: list[str], *, tool: str = "", database: str = "", watch: Path | None = None
) -> Run:
    """Run `swat ARGS`, timing it and sampling what it and the server do meanwhile."""
    run = Run(argv=args, load_before=os.getloadavg())
    stop = threading.Event()
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    b0, w0, t0j = cpu_times()
    t0 = time.perf_counter()
    proc = subprocess.Popen([SWAT, *args], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def sample() -> None:
        children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children")
        mark = f" {database} " if database else None
        while not stop.is_set():
            now = time.perf_counter() - t0
            if tool:
                try:
                    kids = children.read_text().split()
                except OSError:
                    kids = []
                if any(Path(f"/proc/{k}/comm").exists() and _comm(k) == tool for k in kids):
                    run.tool_start = now if run.tool_start is None else run.tool_start
                    run.tool_end = None
                elif run.tool_start is not None and run.tool_end is None:
                    run.tool_end = now
            if watch is not None and run.first_file is None and _has_file(watch):
                run.first_file = now
            if mark:
                lines = {pid: _cmdline(pid) for pid in os.listdir("/proc") if pid.isdigit()}
                backends = {pid for pid, line in lines.items() if line.startswith("postgres:") and mark in line}
                workers = {
                    pid
                    for pid, line in lines.items()
                    if "parallel worker for PID" in line and line.split("PID", 1)[1].split()[0] in backends
                }
                for pid in backends | workers:
                    cpu = _proc_cpu(pid)
                    if cpu is not None:
                        run.servers[pid] = cpu
            stop.wait(SAMPLE_S)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = proc.communicate()
    run.wall = time.perf_counter() - t0
    stop.set()
    sampler.join()
    b1, w1, t1j = cpu_times()
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    run.load_after = os.getloadavg()
    if run.tool_start is not None and run.tool_end is None:
        run.tool_end = run.wall
    if proc.returncode:
        raise SystemExit(f"swat {' '.join(args)} failed:\n{out}{err}")
    run.out = out.strip()
    print(f"swat {' '.join(args)}: {run.wall:.1f} s", file=sys.stderr, flush=True)  # as it goes, for long runs
    run.client_cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    run.server_cpu = sum(run.servers.values())
    span = max(t1j - t0j, 1)
    run.busy, run.iowait = (b1 - b0) / span, (w1 - w0) / span
    return run


def _comm(pid: str) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def _has_file(folder: Path) -> bool:
    try:
        return any(p.is_file() for p in folder.rglob("*"))
    except OSError:
        return False


# --- the data ------------------------------------------------------------------------------

KINDS = [
    # (share, name pattern, content type, first bytes or None for text)
    (0.40, "議事録（案）_第{n}回_相談対応.pdf", "application/pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"),
    (0.25, "現場写真_{n}.jpg", "image/jpeg", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"),
    (0.20, "集計表_令和7年度_{n}.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", b""),
    (0.15, "相談者一覧_{n}.csv", "text/csv", None),
]
CSV_ROWS = ["番号,氏名,所属,相談日,内容\n"] + [
    f"{i},相談者{i},保健福祉部{i % 7}課,2026-0{1 + i % 9}-1{i % 10},オンライン相談の導入についての問い合わせ\n"
    for i in range(50)
]


def _xlsx_head(rng: random.Random) -> bytes:
    """A ZIP local file header as an .xlsx starts (filetype reads it as an Office document)."""
    name = b"[Content_Types].xml"
    return (
        b"PK\x03\x04\x14\x00\x06\x00\x08\x00" + rng.randbytes(16) + len(name).to_bytes(2, "little") + b"\x00\x00" + name
    )


def _content(rng: random.Random, head: bytes | None, size: int) -> bytes:
    if head is None:  # a CSV list: text, compresses well
        text = "".join(CSV_ROWS).encode()
        return (text * (size // len(text) + 1))[:size]
    return head + rng.randbytes(size - len(head))  # compressed streams, photos: incompressible


def attach_files(url: str, instance: Path, files_dir: Path, n: int, seed: int = 7) -> tuple[int, int, float]:
    """Attach n files to replies the seed made, through services.attachments.save_files as the web
    forms do (the desk's upload limits and policy); returns (files, bytes, seconds)."""
    if n <= 0:
        return 0, 0, 0.0
    from sqlalchemy import select

    from swat.app import create_app
    from swat.extensions import db
    from swat.models import Message, Ticket, User
    from swat.services import search_index
    from swat.services.attachments import Limits, save_files
    from swat.services.storage import AttachmentStore, Upload
    from swat.services.upload_policy import UploadPolicy

    app = create_app({"database_url": url, "instance_path": str(instance), "attachment_dir": str(files_dir)})
    rng = random.Random(seed)
    weights = [k[0] for k in KINDS]
    t0 = time.perf_counter()
    total = made = 0
    with app.app_context():
        settings = app.config["SWAT"]
        store = AttachmentStore(settings["attachment_dir"])
        limits = Limits(
            settings["max_attachment_bytes"], settings["max_attachments_per_post"], UploadPolicy.from_settings(settings)
        )
        session = db.session()
        ids = list(session.scalars(select(Message.id).order_by(Message.id)))  # the seed's ids have gaps
        # About one post in four with files carries two of them.
        chosen = sorted(rng.sample(ids, min(len(ids), n)))
        posts = iter(chosen)
        batch = 0
        while made < n:
            post = next(posts, None)
            if post is None:
                break  # fewer posts than files asked for
            message = session.get(Message, post)
            if message is None:
                continue
            ticket = session.get(Ticket, message.ticket_id)
            actor = session.get(User, message.author_id)
            if ticket is None or actor is None:
                continue
            uploads = []
            for _ in range(min(n - made, 2 if rng.random() < 0.25 else 1)):
                _, pattern, ctype, head = rng.choices(KINDS, weights)[0]
                size = rng.randint(10 * 1024, 200 * 1024)
                data = _content(rng, _xlsx_head(rng) if head == b"" else head, size)
                uploads.append(Upload(pattern.format(n=made + 1), io.BytesIO(data), ctype))
                made += 1
                total += size
            save_files(
                session,
                store,
                limits,
                ticket,
                message,
                actor,
                message.created_at + timedelta(seconds=1),
                uploads,
                internal=message.internal,
            )
            search_index.refresh(session, ticket.id)  # the document holds the files' names, as after an upload
            batch += 1
            if batch % 100 == 0:
                session.commit()
                session.expunge_all()
        session.commit()
        db.engine.dispose()
    return made, total, time.perf_counter() - t0


# --- measuring the desks -------------------------------------------------------------------


def connect_pg(url: str):
    import psycopg
    from sqlalchemy.engine import make_url

    u = make_url(url)
    return psycopg.connect(dbname=u.database, host=u.host, port=u.port, user=u.username, password=u.password)


def table_counts(url: str) -> dict[str, int]:
    if url.startswith("sqlite"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
            names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
            names = sorted(n for n in names if not n.startswith("sqlite_"))
            return {n: conn.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0] for n in names}
    with connect_pg(url) as conn:
        names = [
            r[0]
            for r in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename"
            ).fetchall()
        ]
        return {n: conn.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0] for n in names}


def database_size(url: str) -> int:
    if url.startswith("sqlite"):
        path = Path(url.removeprefix("sqlite:///"))
        return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))  # with -wal and -shm
    with connect_pg(url) as conn:
        return conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]


def server_facts(url: str) -> str:
    if url.startswith("sqlite"):
        return "SQLite " + sqlite3.sqlite_version
    with connect_pg(url) as conn:
        version = conn.execute("SHOW server_version").fetchone()[0]
        settings = {
            k: conn.execute(f"SHOW {k}").fetchone()[0]
            for k in ("shared_buffers", "maintenance_work_mem", "max_parallel_maintenance_workers", "max_wal_size")
        }
    return f"PostgreSQL {version} (" + ", ".join(f"{k}={v}" for k, v in settings.items()) + "; same host, TCP)"


def folder_usage(folder: Path) -> tuple[int, int, int]:
    """(files, bytes, bytes on disk) of everything under folder."""
    n = size = disk = 0
    for p in folder.rglob("*"):
        if p.is_file():
            st = p.stat()
            n, size, disk = n + 1, size + st.st_size, disk + st.st_blocks * 512
    return n, size, disk


def check_files(manifest: dict, files_dir: Path) -> list[str]:
    problems = []
    for rel, entry in manifest["files"].items():
        path = files_dir / rel
        if not path.is_file():
            problems.append(f"{rel}: missing")
            continue
        if path.stat().st_size != entry["size"] or hashlib.sha256(path.read_bytes()).hexdigest() != entry["sha256"]:
            problems.append(f"{rel}: differs")
    extra = folder_usage(files_dir)[0] - len(manifest["files"])
    if extra:
        problems.append(f"{extra} files not in the manifest")
    return problems


def tool_version(name: str) -> str:
    try:
        return subprocess.run([name, "--version"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return f"{name}: not installed"


def cpu_model() -> str:
    match = re.search(r"^model name\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), re.M)
    return match.group(1).strip() if match else "unknown CPU"


# --- the report ----------------------------------------------------------------------------


def mib(n: float) -> str:
    return f"{n / MB:,.1f} MiB"


def loads(x: tuple[float, float, float]) -> str:
    return " ".join(f"{v:.2f}" for v in x)


def describe(run: Run, tool: str = "", before: str = "", after: str = "") -> str:
    """The phases the sampler saw (before the tool, the tool, after it) and where the CPU went."""
    parts = []
    if run.tool is not None and run.tool_start is not None and run.tool_end is not None:
        parts.append(
            f"{run.tool_start:.1f} s {before}, {tool} {run.tool:.1f} s, {run.wall - run.tool_end:.1f} s {after}"
        )
    elif run.first_file is not None and tool:
        parts.append(f"{run.first_file:.1f} s {before}, {run.wall - run.first_file:.1f} s {after}")
    cpu = f"CPU: the command and its children {run.client_cpu:.1f} s"
    if run.servers:
        cpu += f", PostgreSQL server {run.server_cpu:.1f} s"
    cpu += f"; machine {100 * run.busy:.0f}% busy, {100 * run.iowait:.0f}% iowait (2 cores = 100%)"
    parts.append(cpu)
    parts.append(f"load {loads(run.load_before)} → {loads(run.load_after)}")
    return "; ".join(parts)


def said(run: Run, folder: Path) -> str:
    return run.out.splitlines()[-1].replace(str(folder), "DIR")


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--tickets", type=int, default=100_000)
    ap.add_argument("--files", type=int, default=3000, help="files to attach through the upload service")
    ap.add_argument(
        "--database-url",
        default="",
        help="postgresql+psycopg://.../SCRATCH_DB (dropped and recreated, and SCRATCH_DB_restored with it)",
    )
    ap.add_argument(
        "--no-search-check",
        action="store_true",
        help="skip `swat search reindex --check` (about 80 s per 100k tickets)",
    )
    ap.add_argument(
        "--existing",
        action="store_true",
        help="back up the desk already in --database-url (seeded, say, by `swat seed --tickets 1000000`) instead of "
        "recreating and seeding it; it is kept, and only SCRATCH_DB_restored is recreated and dropped",
    )
    ap.add_argument("--record", action="store_true", help="append the result to bench/BACKUP.md")
    ap.add_argument("--keep", action="store_true", help="keep the databases and the temporary folder")
    a = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="swat-backup-bench-"))
    pg = bool(a.database_url)
    if pg:
        from sqlalchemy.engine import make_url

        source_url = a.database_url
        u = make_url(source_url)
        target_url = u.set(database=f"{u.database}_restored").render_as_string(hide_password=False)
        source_db = u.database if a.existing else recreate_postgres(source_url)
        target_db = recreate_postgres(target_url)
        engine = "PostgreSQL"
    else:
        source_url, target_url = f"sqlite:///{tmp / 'desk.db'}", f"sqlite:///{tmp / 'restored.db'}"
        source_db = target_db = ""
        engine = "SQLite"
        if a.existing:
            raise SystemExit("--existing needs --database-url")
    src_files, dst_files, folder = tmp / "files", tmp / "restored-files", tmp / "backup"
    src_env = desk_env(source_url, tmp / "instance", src_files)
    dst_env = desk_env(target_url, tmp / "restored-instance", dst_files)
    started, measured = datetime.now(UTC), source_state()
    try:
        t0 = time.perf_counter()
        if a.existing:
            seeded = f"(not run: the existing desk, {table_counts(source_url).get('tickets', 0):,} tickets)"
        else:
            swat(src_env, "db", "upgrade")
            swat(src_env, "reference", "load")
            seeded = swat(src_env, "seed", "--tickets", str(a.tickets)).strip().splitlines()[-1]
        seed_s = time.perf_counter() - t0
        print(f"{seeded} ({seed_s:.0f} s)", file=sys.stderr, flush=True)
        attached, attached_bytes, attach_s = attach_files(source_url, tmp / "instance", src_files, a.files)
        source_counts = table_counts(source_url)
        source_size = database_size(source_url)
        facts = server_facts(source_url)
        nfiles, files_bytes, files_disk = folder_usage(src_files) if src_files.exists() else (0, 0, 0)

        backup = timed(
            src_env, ["backup", "--to", str(folder)], tool="pg_dump", database=source_db, watch=folder / "attachments"
        )
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        dump = folder / manifest["database"]["file"]
        dump_size, dump_disk = dump.stat().st_size, dump.stat().st_blocks * 512
        bfiles, bbytes, bdisk = folder_usage(folder / "attachments") if (folder / "attachments").exists() else (0, 0, 0)
        manifest_size = (folder / "manifest.json").stat().st_size
        total_n, total_bytes, total_disk = folder_usage(folder)

        restore = timed(
            dst_env, ["restore", "--from", str(folder)], tool="pg_restore", database=target_db, watch=dst_files
        )
        t0 = time.perf_counter()
        restored_counts = table_counts(target_url)
        count_s = time.perf_counter() - t0
        wrong = {
            t: (n, restored_counts.get(t))
            for t, n in manifest["tables"].items()
            if restored_counts.get(t) != n or source_counts.get(t) != n
        }
        extra_tables = sorted(set(restored_counts) - set(manifest["tables"]))
        file_problems = check_files(manifest, dst_files) if manifest["files"] else []
        restored_size = database_size(target_url)
        facts_check = timed(dst_env, ["reports", "facts", "--check"], database=target_db)
        search_check = (
            None if a.no_search_check else timed(dst_env, ["search", "reindex", "--check"], database=target_db)
        )
    finally:
        if not a.keep:
            if pg:
                if not a.existing:
                    drop_postgres(source_url)
                drop_postgres(target_url)
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print(f"kept {tmp}" + (f" and the databases {source_db}, {target_db}" if pg else ""))

    rows = sum(manifest["tables"].values())
    ok = not wrong and not extra_tables and not file_problems
    big = sorted(manifest["tables"].items(), key=lambda kv: -kv[1])[:6]
    lines = [
        f"### {engine}, {a.tickets:,} tickets, {attached:,} files ({started:%Y-%m-%d %H:%M} UTC)",
        "",
        f"- command: `.venv/bin/python bench/backup_bench.py --tickets {a.tickets} --files {a.files}"
        + (" --no-search-check" if a.no_search_check else "")
        + (" --existing" if a.existing else "")
        + (f" --database-url postgresql+psycopg://.../{source_db}`" if pg else "`"),
        f"- source: {measured}; machine: {cpu_model()}, {os.cpu_count()} CPUs; {facts}",
        f"- client tools: {tool_version('pg_dump')}; {tool_version('pg_restore')}"
        if pg
        else "- client tools: none (SQLite's online backup API, in the command's process)",
        f"- the desk: `swat seed` said “{seeded}” ({seed_s:.0f} s); {attached:,} files attached through "
        f"services.attachments.save_files in {attach_s:.0f} s ({mib(attached_bytes)}; on disk {mib(files_disk)} in {nfiles:,} files)",
        f"- rows: **{rows:,}** in {len(manifest['tables'])} tables (largest: "
        + ", ".join(f"{t} {n:,}" for t, n in big)
        + ")",
        f"- database size: **{mib(source_size)}** ({'pg_database_size' if pg else 'the file with its WAL'}); "
        f"after the restore {mib(restored_size)}",
        "",
        "| | wall time | what |",
        "|---|---:|---|",
        f"| `swat backup --to DIR` | **{backup.wall:.1f} s** | "
        + describe(
            backup,
            "pg_dump" if pg else "database",
            "start-up, snapshot, row counts" if pg else "start-up, database copy, row counts",
            "files copied, manifest",
        )
        + " |",
        f"| `swat restore --from DIR` | **{restore.wall:.1f} s** | "
        + describe(
            restore,
            "pg_restore" if pg else "database",
            "start-up, every checksum" if pg else "start-up, every checksum, database copy",
            "files copied, row counts",
        )
        + " |",
        f"| `swat reports facts --check` | {facts_check.wall:.1f} s | {said(facts_check, folder)}; {describe(facts_check)} |",
        (
            f"| `swat search reindex --check` | {search_check.wall:.1f} s | {said(search_check, folder)}; {describe(search_check)} |"
            if search_check
            else "| `swat search reindex --check` | — | not run (--no-search-check) |"
        ),
        f"| row counts of every table | {count_s:.1f} s | {'all equal to the manifest and the source' if not wrong and not extra_tables else f'DIFFER: {wrong} {extra_tables}'} |",
        "",
        "| backup folder | files | size | on disk |",
        "|---|---:|---:|---:|",
        f"| `{dump.name}` ({'pg_dump custom format, compressed' if pg else 'SQLite database'}) | 1 | "
        f"**{mib(dump_size)}** ({100 * dump_size / max(source_size, 1):.0f}% of the database) | {mib(dump_disk)} |",
        f"| `attachments/` | {bfiles:,} | {mib(bbytes)} | {mib(bdisk)} |",
        f"| `manifest.json` | 1 | {manifest_size / 1024:,.0f} KiB | |",
        f"| total | {total_n:,} | **{mib(total_bytes)}** | {mib(total_disk)} |",
        "",
        f"- `swat backup` said: {said(backup, folder)}",
        f"- `swat restore` said: {said(restore, folder)}",
        f"- files after the restore: {'all present, sizes and SHA-256 as in the manifest' if not file_problems else '; '.join(file_problems[:5])}",
        f"- result: {'OK' if ok else 'FAILED'}; load average {loads(backup.load_before)} before the backup, "
        f"{loads(os.getloadavg())} at the end",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if a.record:
        content = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else HEADER
        RESULTS.write_text(content.rstrip("\n") + "\n\n" + text, encoding="utf-8")
    if not ok:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
