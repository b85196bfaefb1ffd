"""A whole desk into a folder and back: the database and the stored files, with a manifest.

`backup` writes, into a new or empty folder:
- the database: on PostgreSQL a `pg_dump` in its custom format taken in an exported snapshot
  (the manifest's row counts are read in that same snapshot); on SQLite a copy made with the
  online backup API (the counts are read from the copy). Both are safe while the desk runs;
- `attachments/`: every stored file, copied after the database, so each file a row of the copy
  names is there (a file whose row came later is an orphan `swat attachments sweep` removes);
- `manifest.json`: the version, the engine, the migration head, each table's row count, and the
  size and SHA-256 of every file (the database copy included).

`restore` checks every checksum before it touches anything, refuses a database that has tables
or an attachment folder that has files (unless told to replace them), restores, and compares
each table's row count with the manifest.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import inspect, text
from sqlalchemy.engine import URL, Engine

MANIFEST = "manifest.json"
FORMAT = 1
FILES = "attachments"
CHUNK = 1024 * 1024


class BackupError(Exception):
    """The backup or restore cannot go on; the message says why (for an operator's shell)."""


@dataclass(frozen=True)
class Outcome:
    folder: Path
    engine: str
    head: str
    tables: dict[str, int]
    files: int
    bytes: int


def _copy(source: Path, target: Path) -> tuple[int, str]:
    """Copy a file durably; its size and SHA-256."""
    digest = hashlib.sha256()
    size = 0
    target.parent.mkdir(parents=True, exist_ok=True)
    with source.open("rb") as src, target.open("xb") as out:
        while chunk := src.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
            out.write(chunk)
        out.flush()
        os.fsync(out.fileno())
    return size, digest.hexdigest()


def _checksum(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _is_empty(folder: Path) -> bool:
    return not folder.exists() or not any(folder.iterdir())


def _count_tables(conn) -> tuple[dict[str, int], str]:
    """Each table's row count and the migration head, on an open connection."""
    names = sorted(inspect(conn).get_table_names())
    counts = {name: conn.execute(text(f'SELECT count(*) FROM "{name}"')).scalar_one() for name in names}
    head = ""
    if "alembic_version" in counts:
        head = conn.execute(text("SELECT version_num FROM alembic_version")).scalar() or ""
    return counts, head


def _libpq(url: URL) -> tuple[list[str], dict[str, str]]:
    """The connection arguments of pg_dump and pg_restore for a SQLAlchemy URL; the password
    goes in the environment, never on a command line."""
    args = []
    if url.host:
        args += ["--host", url.host]
    if url.port:
        args += ["--port", str(url.port)]
    if url.username:
        args += ["--username", url.username]
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return args, env


def _run(argv: list[str], env: dict[str, str]) -> None:
    try:
        done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    except FileNotFoundError as exc:
        raise BackupError(f"{argv[0]} is not installed (PostgreSQL's client tools are needed).") from exc
    if done.returncode != 0:
        raise BackupError(f"{argv[0]} failed: {done.stderr.strip()[-2000:]}")


def _dump_postgresql(engine: Engine, target: Path) -> tuple[dict[str, int], str]:
    args, env = _libpq(engine.url)
    with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn:
        snapshot = conn.execute(text("SELECT pg_export_snapshot()")).scalar_one()
        counts, head = _count_tables(conn)
        # The dump runs while this transaction holds the snapshot open.
        _run(
            [
                "pg_dump",
                *args,
                "--format=custom",
                f"--snapshot={snapshot}",
                f"--file={target}",
                engine.url.database or "",
            ],
            env,
        )
        conn.rollback()
    return counts, head


def _copy_sqlite(engine: Engine, target: Path) -> tuple[dict[str, int], str]:
    raw = engine.raw_connection()
    try:
        out = sqlite3.connect(target)
        try:
            # All pages in one step: one read transaction, a consistent copy beside a writer.
            raw.driver_connection.backup(out)  # type: ignore[union-attr]
        finally:
            out.close()
    finally:
        raw.close()
    copy = sqlite3.connect(target)
    try:
        names = [r[0] for r in copy.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        names = sorted(n for n in names if not n.startswith("sqlite_"))
        counts = {n: copy.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0] for n in names}
        head = ""
        if "alembic_version" in counts:
            row = copy.execute("SELECT version_num FROM alembic_version").fetchone()
            head = row[0] if row else ""
    finally:
        copy.close()
    return counts, head


def backup(
    engine: Engine, attachment_dir: str | os.PathLike, folder: str | os.PathLike, *, version: str, now: datetime
) -> Outcome:
    folder = Path(folder)
    if not _is_empty(folder):
        raise BackupError(f"{folder} is not empty: back up into a new or empty folder.")
    folder.mkdir(parents=True, exist_ok=True)
    dialect = engine.dialect.name
    if dialect == "postgresql":
        database = folder / "database.dump"
        counts, head = _dump_postgresql(engine, database)
    elif dialect == "sqlite":
        database = folder / "database.sqlite3"
        counts, head = _copy_sqlite(engine, database)
    else:
        raise BackupError(f"backups of {dialect} databases are not supported.")
    files: dict[str, dict[str, int | str]] = {}
    root = Path(attachment_dir)
    if root.exists():
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            rel = path.relative_to(root).as_posix()
            size, digest = _copy(path, folder / FILES / rel)
            files[rel] = {"size": size, "sha256": digest}
    manifest = {
        "format": FORMAT,
        "version": version,
        "created_at": now.isoformat(),
        "engine": dialect,
        "migration_head": head,
        "database": {"file": database.name, "size": database.stat().st_size, "sha256": _checksum(database)},
        "tables": counts,
        "files": files,
    }
    written = folder / (MANIFEST + ".tmp")
    written.write_text(json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True), encoding="utf-8")
    written.replace(folder / MANIFEST)  # the manifest last: a folder without one is no backup
    total = database.stat().st_size + sum(int(f["size"]) for f in files.values())
    return Outcome(folder, dialect, head, counts, len(files), total)


def read_manifest(folder: str | os.PathLike) -> dict:
    """The manifest of a backup folder, every checksum checked (BackupError otherwise)."""
    folder = Path(folder)
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise BackupError(f"{folder} holds no {MANIFEST}: it is not a finished backup.") from exc
    except ValueError as exc:
        raise BackupError(f"{folder / MANIFEST} cannot be read: {exc}") from exc
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{folder} was written in backup format {manifest.get('format')!r}, not {FORMAT}.")
    database = manifest["database"]
    entries = [(folder / database["file"], database)]
    entries += [(folder / FILES / rel, entry) for rel, entry in manifest["files"].items()]
    for path, entry in entries:
        if ".." in Path(path).relative_to(folder).parts:
            raise BackupError(f"the manifest names a file outside the backup: {path}")
        if not path.is_file() or _checksum(path) != entry["sha256"]:
            raise BackupError(f"{path} is missing or does not match its checksum in the manifest.")
    return manifest


def restore(
    engine: Engine, attachment_dir: str | os.PathLike, folder: str | os.PathLike, *, replace: bool = False
) -> Outcome:
    folder = Path(folder)
    manifest = read_manifest(folder)
    dialect = engine.dialect.name
    if manifest["engine"] != dialect:
        raise BackupError(f"the backup is of a {manifest['engine']} database; this desk uses {dialect}.")
    root = Path(attachment_dir)
    with engine.connect() as conn:
        tables = inspect(conn).get_table_names()
    if not replace and tables:
        raise BackupError("the database already has tables: restore into an empty one, or pass --replace.")
    if not replace and not _is_empty(root):
        raise BackupError(f"{root} already holds files: restore into an empty folder, or pass --replace.")
    database = folder / manifest["database"]["file"]
    if dialect == "postgresql":
        args, env = _libpq(engine.url)
        clean = ["--clean", "--if-exists"] if tables else []
        engine.dispose()
        _run(
            [
                "pg_restore",
                *args,
                "--no-owner",
                "--exit-on-error",
                "--single-transaction",
                *clean,
                f"--dbname={engine.url.database}",
                str(database),
            ],
            env,
        )
    else:
        if engine.url.database in (None, "", ":memory:"):
            raise BackupError("restore needs a database file, not an in-memory database.")
        engine.dispose()
        source = sqlite3.connect(database)
        try:
            target = sqlite3.connect(engine.url.database or "")
            try:
                source.backup(target)
            finally:
                target.close()
        finally:
            source.close()
    if replace and root.exists():
        shutil.rmtree(root)
    for rel, entry in manifest["files"].items():
        size, digest = _copy(folder / FILES / rel, root / rel)
        if digest != entry["sha256"]:
            raise BackupError(f"{rel} changed while it was restored.")
    with engine.connect() as conn:
        counts, head = _count_tables(conn)
    wrong = {t: (n, counts.get(t)) for t, n in manifest["tables"].items() if counts.get(t) != n}
    if wrong or head != manifest["migration_head"]:
        raise BackupError(f"the restored database differs from the manifest: {wrong or head}")
    size = database.stat().st_size + sum(int(f["size"]) for f in manifest["files"].values())
    return Outcome(folder, dialect, head, counts, len(manifest["files"]), size)
