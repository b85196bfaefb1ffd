"""Uploaded files on disk, tied to the database transaction.

A file is written under a generated name and fsynced before the row that
points at it is committed, so an acknowledged upload is never lost. If the
transaction rolls back, the files it wrote are removed; if the process dies
between the write and the commit, `sweep_orphans()` removes the leftover.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from ..models import Attachment, InboundMail

PENDING_KEY = "swat_new_files"
CHUNK = 1024 * 1024


@dataclass
class Upload:
    """A file as the service sees it: a display name, a stream and a declared type."""

    filename: str
    stream: BinaryIO
    content_type: str = "application/octet-stream"


class TooLarge(Exception):
    pass


class AttachmentStore:
    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)

    def path_for(self, key: str) -> Path:
        # Keys are generated here (hex + one slash); never from user input.
        if not all(c in "0123456789abcdef/" for c in key) or ".." in key:
            raise ValueError("bad storage key")
        return self.root / key

    def save(self, session: Session, stream: BinaryIO, max_bytes: int) -> tuple[str, int, str]:
        """Write the stream durably; return (key, size, sha256). Raises TooLarge."""
        token = secrets.token_hex(16)
        key = f"{token[:2]}/{token}"
        path = self.path_for(key)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o750)
        digest = hashlib.sha256()
        size = 0
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
        session.info.setdefault(PENDING_KEY, []).append(path)
        with os.fdopen(fd, "wb") as out:
            while True:
                chunk = stream.read(CHUNK)
                if not chunk:
                    break
                size += len(chunk)
                if size > max_bytes:
                    raise TooLarge()
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        return key, size, digest.hexdigest()

    def sweep_orphans(self, session: Session, older_than_seconds: int = 3600) -> int:
        """Remove stored files that no attachment row or received mail names (a crash between
        write and commit)."""
        if not self.root.exists():
            return 0
        known = set(session.scalars(select(Attachment.storage_key)))
        known.update(session.scalars(select(InboundMail.raw_key).where(InboundMail.raw_key.is_not(None))))
        cutoff = time.time() - older_than_seconds
        removed = 0
        for path in self.root.glob("*/*"):
            key = f"{path.parent.name}/{path.name}"
            if key not in known and path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)
                removed += 1
        return removed


@event.listens_for(Session, "after_commit")
def _forget_files(session: Session) -> None:
    session.info.pop(PENDING_KEY, None)


@event.listens_for(Session, "after_rollback")
def _remove_files(session: Session) -> None:
    for path in session.info.pop(PENDING_KEY, []):
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
