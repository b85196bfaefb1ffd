"""Reference documents stored whole (routing rules, SLA policies): written when their
content changes, compiled once per version in each process."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import ReferenceDocument
from .statements import transaction_memo

_compiled: dict[str, tuple[str, Any]] = {}
# Each session's checksums of the stored documents, read once per transaction (one
# statement for all of them: a filing asks for the SLA policies and the routing rules).
_CHECKSUMS = "swat.documents.checksums"


def _checksums(session: Session) -> dict[str, str]:
    memo = transaction_memo(session, _CHECKSUMS)
    if "stored" not in memo:
        rows = session.execute(select(ReferenceDocument.name, ReferenceDocument.checksum)).all()
        memo["stored"] = {name: checksum for name, checksum in rows}
    return memo["stored"]


def store(session: Session, name: str, doc: dict, now: datetime) -> bool:
    """Store `doc` under `name` if its content changed; True when it did. Flushes, never commits."""
    content = json.dumps(doc, ensure_ascii=False, sort_keys=True, default=str)
    checksum = hashlib.sha256(content.encode()).hexdigest()
    row = session.get(ReferenceDocument, name)
    if row is not None and row.checksum == checksum:
        return False
    if row is None:
        session.add(ReferenceDocument(name=name, content=content, checksum=checksum, loaded_at=now))
    else:
        row.content, row.checksum, row.loaded_at = content, checksum, now
    session.flush()
    transaction_memo(session, _CHECKSUMS).clear()
    return True


def compiled(session: Session, name: str, build: Callable[[dict], Any]) -> Any | None:
    """`build(doc)` of the stored version, cached until another version is loaded; None before any."""
    checksum = _checksums(session).get(name)
    if checksum is None:
        return None
    hit = _compiled.get(name)
    if hit is None or hit[0] != checksum:
        content = session.scalar(select(ReferenceDocument.content).where(ReferenceDocument.name == name))
        if content is None:  # removed since the checksum was read
            return None
        hit = (checksum, build(json.loads(content)))
        _compiled[name] = hit
    return hit[1]
