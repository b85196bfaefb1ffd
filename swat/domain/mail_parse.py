"""One received mail as the desk reads it: who sent it, what it refers to, its text and files.

`parse(raw)` never raises on a message's content: what cannot be decoded becomes U+FFFD.
"""

from __future__ import annotations

import email
import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.utils import getaddresses, parsedate_to_datetime


@dataclass(frozen=True)
class MailFile:
    """A file the mail carried (an attachment, or an inline image)."""

    filename: str
    content_type: str
    data: bytes
    inline: bool = False


@dataclass(frozen=True)
class Authentication:
    """One Authentication-Results header: who added it and what SPF and DKIM said."""

    authserv_id: str
    spf: str = ""
    dkim: str = ""


@dataclass(frozen=True)
class ParsedMail:
    # Without the angle brackets; made from the content's digest when the mail has none.
    message_id: str
    subject: str
    sender: str  # the From address, lower-cased
    sender_name: str
    date: datetime | None  # the Date header, UTC; None when missing or unreadable
    # The whole text as a person reads it, and the new part of a reply: quoted history and
    # signature taken off.
    text: str
    reply_text: str
    in_reply_to: list[str] = field(default_factory=list)  # each with its angle brackets
    references: list[str] = field(default_factory=list)
    files: list[MailFile] = field(default_factory=list)
    # Why the mail was written by a machine ("auto-submitted", "precedence", "suppress",
    # "bounce", "out-of-office"), or None for a person's mail.
    automatic: str | None = None
    bounced: list[str] = field(default_factory=list)  # the failed recipients a bounce names
    authentication: list[Authentication] = field(default_factory=list)
    size: int = 0


AUTOMATIC_PRECEDENCE = {"bulk", "junk", "list", "auto_reply"}


def parse(raw: bytes) -> ParsedMail:
    msg = email.message_from_bytes(raw, policy=policy.default)
    assert isinstance(msg, EmailMessage)
    name, address = _sender(msg)
    text = _text(msg)
    files = [
        MailFile(part.get_filename() or "file", part.get_content_type(), part.get_payload(decode=True) or b"")
        for part in msg.iter_attachments()
        if isinstance(part, EmailMessage)
    ]
    return ParsedMail(
        message_id=_message_id(msg, raw),
        subject=str(msg.get("Subject", "") or "").strip(),
        sender=address,
        sender_name=name,
        date=_date(msg),
        text=text,
        reply_text=text.strip(),
        in_reply_to=_ids(msg.get("In-Reply-To", "")),
        references=_ids(msg.get("References", "")),
        files=files,
        automatic=_automatic(msg, address),
        size=len(raw),
    )


def _sender(msg: EmailMessage) -> tuple[str, str]:
    pairs = getaddresses([str(msg.get("From", "") or "")])
    if not pairs:
        return "", ""
    name, address = pairs[0]
    return name.strip(), address.strip().lower()


def _text(msg: EmailMessage) -> str:
    part = msg.get_body(preferencelist=("plain", "html"))
    if part is None or not isinstance(part, EmailMessage):
        return ""
    try:
        content = part.get_content()
    except (LookupError, UnicodeDecodeError):
        content = (part.get_payload(decode=True) or b"").decode("utf-8", "replace")
    return str(content).replace("\r\n", "\n")


def _message_id(msg: EmailMessage, raw: bytes) -> str:
    value = str(msg.get("Message-ID", "") or "").strip().strip("<>").strip()
    return value[:250] if value else "sha256." + hashlib.sha256(raw).hexdigest() + "@swat-desk.invalid"


def _ids(value: object) -> list[str]:
    return [f"<{v.strip('<>')}>" for v in str(value or "").split() if v.strip("<>")]


def _date(msg: EmailMessage) -> datetime | None:
    value = msg.get("Date")
    if not value:
        return None
    try:
        when = parsedate_to_datetime(str(value))
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return when.astimezone(UTC)


def _automatic(msg: EmailMessage, address: str) -> str | None:
    auto = str(msg.get("Auto-Submitted", "") or "").strip().lower()
    if auto and auto != "no":
        return "auto-submitted"
    if str(msg.get("Precedence", "") or "").strip().lower() in AUTOMATIC_PRECEDENCE:
        return "precedence"
    if msg.get("X-Auto-Response-Suppress"):
        return "suppress"
    if msg.get_content_type() == "multipart/report" or address.split("@")[0] in ("mailer-daemon", "postmaster"):
        return "bounce"
    return None
