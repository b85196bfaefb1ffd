"""Files uploaded onto a ticket, with a filing or a post: limits, names, rows and events."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy.orm import Session

from ..domain.errors import ValidationError
from ..models import Attachment, Message, Ticket
from . import upload_policy
from .history import record
from .storage import AttachmentStore, TooLarge, Upload
from .upload_policy import UploadPolicy


class Limits:
    """Upload limits from settings, passed in by the caller; `policy` says which files are taken
    (services.upload_policy; None: any, for what the desk stores itself, such as a mail's
    original)."""

    def __init__(self, max_bytes: int, max_files: int, policy: UploadPolicy | None = None) -> None:
        self.max_bytes = max_bytes
        self.max_files = max_files
        self.policy = policy


def save_files(
    session: Session,
    store: AttachmentStore,
    limits: Limits,
    ticket: Ticket,
    message: Message | None,
    actor,
    now: datetime,
    files: Iterable[Upload],
    internal: bool,
) -> list[Attachment]:
    files = [f for f in files if f.filename]
    if len(files) > limits.max_files:
        raise ValidationError("Attach at most %(max)d files at a time.", field="attachments", max=limits.max_files)
    saved = []
    policy = limits.policy
    names = [_clean_filename(upload.filename) for upload in files]
    if policy is not None:
        for name in names:  # a refused kind is refused before any file is stored
            upload_policy.check_name(policy, name)
    for upload, name in zip(files, names, strict=True):
        try:
            key, size, sha = store.save(session, upload.stream, limits.max_bytes)
        except TooLarge:
            raise ValidationError(
                "“%(name)s” is larger than %(limit)s.",
                field="attachments",
                name=name,
                limit=_human_size(limits.max_bytes),
            )
        if policy is not None:  # the stored file is removed with the rolled-back transaction
            upload_policy.check_content(policy, name, store.path_for(key))
            upload_policy.scan(policy, name, store.path_for(key))
        att = Attachment(
            ticket_id=ticket.id,
            message_id=message.id if message else None,
            internal=internal,
            filename=name,
            storage_key=key,
            content_type=_safe_type(upload.content_type),
            size_bytes=size,
            sha256=sha,
            uploaded_by_id=actor.id,
            created_at=now,
        )
        session.add(att)
        saved.append(att)
        record(session, ticket, actor, now, "attachment_added", new=name, internal=internal)
    return saved


def _clean_filename(name: str) -> str:
    # Keep the name as the user gave it (Japanese included) for display only;
    # drop any path and control characters. It never becomes a path on disk.
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if ord(c) >= 0x20 and ord(c) != 0x7F).strip()
    return (name or "file")[:255]


def _safe_type(declared: str | None) -> str:
    declared = (declared or "").split(";")[0].strip().lower()
    if len(declared) > 100 or "/" not in declared:
        return "application/octet-stream"
    return declared


def _human_size(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):g} MB"
    return f"{n / 1024:g} KB"
