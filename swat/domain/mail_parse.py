"""One received mail as the desk reads it: who sent it, what it refers to, its text and files.

`parse(raw)` never raises on any input bytes: what cannot be decoded becomes U+FFFD, and a
message the MIME parser cannot take at all still comes back with its bytes read as text.
Charsets are read as their Japanese supersets (mail_charset), headers leniently
(mail_header), HTML as its text (mail_html), reply trimming in mail_trim, machine-written
mail in mail_auto. tests/mail/ holds a corpus of real-world forms with what a person reads.
Every text of the result can be stored in a database text column: no NUL, no control
characters but \n and \t, no lone surrogates; ids and addresses holding any are not used.
"""

from __future__ import annotations

import email
import hashlib
import re
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email.message import Message
from email.policy import Compat32
from email.utils import parsedate_to_datetime

from swat.domain.mail_auto import Authentication, authentication, automatic, bounced, looks_automatic
from swat.domain.mail_charset import decode, guess_strict
from swat.domain.mail_header import clean, decode_header, decode_param, message_id, message_ids, parse_address
from swat.domain.mail_html import html_to_text
from swat.domain.mail_trim import trim

__all__ = ["Authentication", "MailFile", "ParsedMail", "parse"]


@dataclass(frozen=True)
class MailFile:
    """A file the mail carried (an attachment, or an inline image)."""

    filename: str  # decoded, without any folder part; "file.png"-like when the mail named none
    content_type: str  # lower-case, e.g. "application/pdf"
    data: bytes
    inline: bool = False  # an image shown in the text (a Content-ID part, or in multipart/related)


@dataclass(frozen=True)
class ParsedMail:
    # Without the angle brackets; "sha256.<hex of the raw bytes>@swat-desk.invalid" when the
    # mail has none, or one holding whitespace or a control character.
    message_id: str
    subject: str
    # The From address, lower-cased; "" when From holds no usable address (also one with a
    # control character in it): the caller holds such mail.
    sender: str
    sender_name: str
    date: datetime | None  # the Date header, UTC; None when missing or unreadable
    # The whole text as a person reads it (\n line ends, no trailing whitespace), and the new
    # part of a reply: quoted history and signature taken off (see mail_trim).
    text: str
    reply_text: str
    # Each with its angle brackets; ids holding a control character are left out.
    in_reply_to: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    files: list[MailFile] = field(default_factory=list)
    # Why the mail was written by a machine, one of mail_auto.CODES ("bounce", "receipt",
    # "out-of-office", "auto-submitted", "precedence", "list", "suppress"), or None.
    automatic: str | None = None
    bounced: list[str] = field(default_factory=list)  # the failed recipients a bounce names
    # One per Authentication-Results header, in header order, topmost first. Each receiving
    # server prepends its own, so the first one with the authserv-id of the desk's own server
    # is the one to believe; any below it (or with another id) a sender could have written.
    authentication: list[Authentication] = field(default_factory=list)
    size: int = 0
    # Some header or text part was read in a charset other than the declared one, or held
    # bytes no charset could read (they became U+FFFD): worth a look at the original.
    charset_trouble: bool = False
    # No header says a machine wrote it (automatic is None), but the subject has the form of
    # an auto-reply's ("自動応答:", "Automatic reply:", ..., see mail_auto.looks_automatic):
    # for a person to look at, never to be dropped.
    looks_automatic: bool = False
    # When the receiving server got it: the date after the last ";" of the topmost Received
    # header, UTC; None when there is none or it is unreadable. Set by whoever delivered it:
    # to be trusted only within a window around the time the desk itself took it in.
    received: datetime | None = None
    # Trimming the quoted history and the signature left nothing of the text, so reply_text
    # fell back to the whole text: there is no new answer to post. False for a forward (kept
    # whole on purpose) and for an empty text.
    nothing_new: bool = False


class _RawPolicy(Compat32):
    """Header values exactly as received (8-bit bytes as surrogate escapes): mail_header
    decodes them, the stdlib's own decoding would replace what it cannot read."""

    def header_fetch_parse(self, name: str, value: str) -> str:
        return value


_POLICY = _RawPolicy()
_MAX_DEPTH = 30
_EXTENSIONS = {
    "image/png": ".png", "image/jpeg": ".jpg", "image/gif": ".gif", "image/bmp": ".bmp",
    "image/webp": ".webp", "application/pdf": ".pdf", "text/plain": ".txt", "text/html": ".html",
    "text/calendar": ".ics", "message/rfc822": ".eml",
}  # fmt: skip


def parse(raw: bytes) -> ParsedMail:
    try:
        return _cleaned(_parse(raw))
    except Exception:  # the last resort of a never-raising parser: keep the mail readable
        return _cleaned(_unparsed(raw))


def _cleaned(mail: ParsedMail) -> ParsedMail:
    """Every text without NUL and control characters (but \\n and \\t), whatever path it came
    by: a database text column cannot hold NUL, and a message failing there each run would
    block the mailbox."""
    return replace(
        mail,
        subject=clean(mail.subject),
        sender_name=clean(mail.sender_name),
        text=clean(mail.text),
        reply_text=clean(mail.reply_text),
        files=[replace(f, filename=clean(f.filename), content_type=clean(f.content_type)) for f in mail.files],
        authentication=[
            replace(
                a,
                authserv_id=clean(a.authserv_id),
                spf=clean(a.spf),
                dkim=clean(a.dkim),
                dmarc=clean(a.dmarc),
                spf_domain=clean(a.spf_domain),
                dkim_domains=tuple(clean(d) for d in a.dkim_domains),
                header_from=clean(a.header_from),
            )
            for a in mail.authentication
        ],
    )


class _Collected:
    def __init__(self) -> None:
        self.texts: list[str] = []
        self.files: list[MailFile] = []
        self.reports: list[Message] = []
        self.trouble = False


def _parse(raw: bytes) -> ParsedMail:
    msg = email.message_from_bytes(raw, policy=_POLICY)
    subject, subject_trouble = decode_header(msg.get("Subject", ""))
    sender = parse_address(msg.get("From", ""))
    got = _Collected()
    _walk(msg, got, text=True, related=False, depth=0)
    text = _normalise("\n".join(t for t in got.texts if t.strip()))
    code = automatic(msg, sender.address, subject)
    trimmed = trim(text, subject)
    return ParsedMail(
        message_id=message_id(msg.get("Message-ID", "")) or _digest_id(raw),
        subject=subject,
        sender=sender.address,
        sender_name=sender.name,
        date=_date(msg.get("Date")),
        text=text,
        reply_text=trimmed.text,
        in_reply_to=message_ids(msg.get("In-Reply-To", "")),
        references=message_ids(" ".join(str(v) for v in msg.get_all("References") or [])),
        files=got.files,
        automatic=code,
        bounced=bounced(msg, got.reports, text) if code == "bounce" else [],
        authentication=[authentication(v) for v in msg.get_all("Authentication-Results") or []],
        size=len(raw),
        charset_trouble=subject_trouble or sender.trouble or got.trouble,
        looks_automatic=code is None and looks_automatic(subject),
        received=_received(msg),
        nothing_new=trimmed.nothing_new,
    )


def _unparsed(raw: bytes) -> ParsedMail:
    text = _normalise(guess_strict(raw) or raw.decode("utf-8", "replace"))
    return ParsedMail(
        message_id=_digest_id(raw),
        subject="",
        sender="",
        sender_name="",
        date=None,
        text=text,
        reply_text=text,
        size=len(raw),
        charset_trouble=True,
    )


def _digest_id(raw: bytes) -> str:
    return "sha256." + hashlib.sha256(raw).hexdigest() + "@swat-desk.invalid"


def _normalise(text: str) -> str:
    return clean(text.replace("\r\n", "\n").replace("\r", "\n")).rstrip()


def _children(part: Message) -> list[Message]:
    # Only a multipart's payload is asked for undecoded: get_payload() of a text payload with
    # 8-bit bytes decodes it by its charset parameter, which may itself be garbage.
    payload = part.get_payload() if part.is_multipart() else None
    return [c for c in payload if isinstance(c, Message)] if isinstance(payload, list) else []


def _walk(part: Message, got: _Collected, text: bool, related: bool, depth: int) -> None:
    """Collect the text (when `text`: this part is what the reader reads), the files and the
    delivery-status parts of one MIME part and its children."""
    if depth > _MAX_DEPTH:
        return
    ctype = part.get_content_type()
    children = _children(part)
    if ctype == "message/rfc822" and children:
        _attach(part, got, related, _message_bytes(children[0]), _subject_name(children[0]))
    elif part.is_multipart() or children:
        if ctype == "multipart/alternative":
            chosen = _choose(children, got, depth)
            for child in children:
                if child is not chosen:
                    _walk(child, got, text=False, related=related, depth=depth + 1)
        elif ctype == "multipart/report":
            for i, child in enumerate(children):
                if child.get_content_type() == "message/delivery-status":
                    got.reports.append(child)
                elif i == 0:
                    _walk(child, got, text=text, related=related, depth=depth + 1)
        else:
            inner = related or ctype == "multipart/related"
            for child in children:
                _walk(child, got, text=text, related=inner, depth=depth + 1)
    elif ctype in ("text/plain", "text/html") and _is_body(part):
        if text:
            body, trouble = _body(part)
            got.texts.append(body)
            got.trouble = got.trouble or trouble
    elif ctype == "message/delivery-status":
        got.reports.append(part)
    else:
        data = part.get_payload(decode=True)
        _attach(part, got, related, data if isinstance(data, bytes) else b"", "")


def _choose(children: list[Message], got: _Collected, depth: int) -> Message | None:
    """The alternative a person reads: the plain text, else the HTML (or the multipart
    holding it); an empty plain text gives way to the next."""

    def rank(child: Message) -> int:
        ctype = child.get_content_type()
        if ctype == "text/plain":
            return 0
        if child.is_multipart():
            return 1 if any(p.get_content_type() == "text/plain" for p in child.walk()) else 2
        return 3 if ctype == "text/html" else 9

    for child in sorted(children, key=rank):
        if rank(child) == 9:
            break
        trial = _Collected()
        _walk(child, trial, text=True, related=False, depth=depth + 1)
        if any(t.strip() for t in trial.texts):
            got.texts.extend(trial.texts)
            got.files.extend(trial.files)
            got.reports.extend(trial.reports)
            got.trouble = got.trouble or trial.trouble
            return child
    return None


def _is_body(part: Message) -> bool:
    disposition = (part.get_content_disposition() or "").lower()
    return disposition != "attachment" and not _filename_param(part)


def _body(part: Message) -> tuple[str, bool]:
    data = part.get_payload(decode=True)
    data = data if isinstance(data, bytes) else b""
    charset = _charset(part)
    html = part.get_content_type() == "text/html"
    if html and not charset:
        meta = re.search(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_.:\-]+)""", data[:4096], re.IGNORECASE)
        charset = meta.group(1).decode("ascii") if meta else ""
    body, trouble = decode(data, charset or None)
    body = body.replace("\r\n", "\n").replace("\r", "\n")
    if html:
        return html_to_text(body), trouble
    if str(part.get_param("format") or "").lower() == "flowed":
        body = _unflow(body, str(part.get_param("delsp") or "").lower() == "yes")
    return body, trouble


def _charset(part: Message) -> str:
    value = part.get_param("charset")
    if isinstance(value, tuple):
        value = value[2]
    return str(value or "").strip().strip("\"'")


def _unflow(text: str, delsp: bool) -> str:
    """RFC 3676 format=flowed: soft line breaks (a line ending in a space) joined."""
    out: list[tuple[int, str]] = []
    joining = False
    for line in text.split("\n"):
        depth = len(line) - len(line.lstrip(">"))
        content = line[depth:]
        content = content[1:] if content.startswith(" ") else content
        flowed = content.endswith(" ") and content != "-- "
        if delsp and flowed:
            content = content[:-1]
        if joining and out and depth == out[-1][0]:
            out[-1] = (depth, out[-1][1] + content)
        else:
            out.append((depth, content))
        joining = flowed
    return "\n".join(">" * d + " " + c if d else c for d, c in out)


def _filename_param(part: Message) -> object:
    return part.get_param("filename", header="content-disposition") or part.get_param("name")


def _filename(part: Message) -> tuple[str, bool]:
    value = _filename_param(part)
    if not value:
        return "", False
    name, trouble = decode_param(value)
    name = re.sub(r"[\x00-\x1f\x7f]", "", name).replace("\\", "/").rsplit("/", 1)[-1].strip()
    return name[:255], trouble


def _attach(part: Message, got: _Collected, related: bool, data: bytes, fallback_name: str) -> None:
    ctype = part.get_content_type()
    name, trouble = _filename(part)
    got.trouble = got.trouble or trouble
    if not name:
        name = fallback_name or "file" + _EXTENSIONS.get(ctype, "")
    disposition = (part.get_content_disposition() or "").lower()
    inline = disposition != "attachment" and (
        bool(part.get("Content-ID")) or (related and part.get_content_maintype() == "image")
    )
    got.files.append(MailFile(filename=name, content_type=ctype, data=data, inline=inline))


def _message_bytes(inner: Message) -> bytes:
    try:
        return inner.as_bytes()
    except Exception:  # a forwarded message too broken to write back out
        return b""


def _subject_name(inner: Message) -> str:
    subject = decode_header(inner.get("Subject", "")).text
    subject = re.sub(r'[\\/:*?"<>|]', "_", subject)[:120].strip()
    return (subject or "message") + ".eml"


def _received(msg: Message) -> datetime | None:
    """The date of the topmost Received header (the one the last server wrote)."""
    values = msg.get_all("Received") or []
    if not values:
        return None
    _, sep, when = str(values[0]).rpartition(";")
    return _date(when) if sep else None


def _date(value: object) -> datetime | None:
    text = decode_header(value or "").text
    if not text:
        return None
    text = re.sub(r"\bJST$", "+0900", text)  # the one zone name Japanese mailers write
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:  # "-0000" or no zone at all: the time is read as UTC
        when = when.replace(tzinfo=UTC)
    try:
        return when.astimezone(UTC)
    except (OverflowError, ValueError):
        return None
