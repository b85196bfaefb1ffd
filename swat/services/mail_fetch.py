"""Reading the desk's mailbox over IMAP: every message handed over once, then put away.

The fetcher connects over TLS only (IMAPS, or STARTTLS when the server offers it), always
checking the server's certificate and name (against imap_ca_file when set, else the system's
CAs): the password never goes over a plain or unverified connection. It never marks a message
read by reading it (BODY.PEEK), and puts a message away only after the callback has taken it in:

- with imap_done_folder set (the default), into that folder (UID MOVE, or COPY, \\Deleted and
  UID EXPUNGE on a server without MOVE). Everything still in imap_folder is new, whether or not
  someone read it in a mail client meanwhile (which sets \\Seen); messages marked \\Deleted by
  a person are not taken in, and are left alone on a server with MOVE or UIDPLUS. A server with
  neither has no way to expunge one message: there the plain EXPUNGE after the COPY also
  removes every message a person had marked \\Deleted in imap_folder (as their own mail
  client would on closing the folder).
- with imap_done_folder empty, the message stays where it is, flagged \\Seen and with the
  desk's own keyword $SwatTaken; the keyword, not \\Seen, says it was taken in, so a message a
  person happened to read is still taken in. On a server that allows no keywords, \\Seen alone.

Exactly once rests on the callback: it commits its own transaction and knows a Message-ID it
has taken in before (mail_intake's inbound_mails). A fetcher that dies between the commit and
putting the message away, or two fetchers reading the same message at once, hand it over
twice; the second take says "duplicate" and the message is put away then. Moving a message
another fetcher moved first is no error. Two fetchers moving one message at the very same
moment can both copy it; the run ends by removing such second copies from the done folder:
only a copy equal to the one kept, byte for byte (its size, then the SHA-256 of its content),
never a different message that merely has the same Message-ID (scanners and some mailers
reuse one). A message over the size limit is never downloaded, so its copies are left.

A message the callback fails on is left in place for the next run; after
MAX_CONSECUTIVE_FAILURES failures in a row (the database is down, say) the run stops.
A message larger than max_request_bytes is never downloaded: its header alone goes to
`handle_oversized` (so the desk can tell the sender), or, without one, it stays in place and
is counted "too_large".
"""

from __future__ import annotations

import hashlib
import imaplib
import logging
import re
import ssl
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.parser import BytesHeaderParser
from typing import Any

from swat.domain.imap_syntax import mailbox_name, quote, uid_set

log = logging.getLogger(__name__)

MAX_CONSECUTIVE_FAILURES = 3
TIMEOUT_SECONDS = 60
TAKEN = "$SwatTaken"

Handler = Callable[[bytes], str]
# For a message over the limit: its header and its size as the server gives it.
OversizedHandler = Callable[[bytes, int], str]


class MailFetchError(Exception):
    """The mailbox could not be read: connection, certificate, login or folder. Nothing was
    handed over."""


@dataclass
class FetchReport:
    """What one run did. `outcomes` counts the callbacks' words ("filed", "duplicate", ...)
    and "too_large" for oversized messages left in place; `errors` names each message left for
    the next run and why; `gone` counts messages another fetcher put away first; `left` the
    messages not tried in this run (the limit, or the run stopped); `copies_removed` second
    copies of a message in the done folder, left by two fetchers moving it at once."""

    outcomes: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    gone: int = 0
    left: int = 0
    copies_removed: int = 0
    stopped: bool = False

    @property
    def handed_over(self) -> int:
        return sum(n for word, n in self.outcomes.items() if word != "too_large")


@dataclass(frozen=True)
class Moved:
    """A message this run moved to the done folder: what a second copy of it must equal."""

    message_id: str
    size: int  # its RFC822.SIZE in imap_folder
    sha256: str  # of its whole content (BODY[])


def fetch(
    settings: Mapping[str, Any],
    handle: Handler,
    limit: int | None = None,
    *,
    handle_oversized: OversizedHandler | None = None,
) -> FetchReport:
    """Hand each new message of imap_folder to `handle` (its whole raw bytes), oldest first
    (ascending UID), at most `limit` of them, and put away each one it returned for.

    `handle` returns its outcome word; raising leaves the message for the next run. Raises
    MailFetchError when the mailbox cannot be opened; a connection lost in the middle ends the
    run with what was done so far and the error in the report.
    """
    client = _connect(settings)
    try:
        _login(client, settings)
        return _run(client, settings, handle, handle_oversized, limit)
    finally:
        try:
            client.logout()  # never CLOSE: that would expunge a person's \Deleted messages
        except (OSError, imaplib.IMAP4.error):
            pass


def _connect(settings: Mapping[str, Any]) -> imaplib.IMAP4:
    host, port, security = settings["imap_host"], int(settings["imap_port"]), settings["imap_security"]
    if not host:
        raise MailFetchError("imap_host is not set")
    context = ssl.create_default_context(cafile=settings["imap_ca_file"] or None)
    where = f"{host}:{port}"
    try:
        if security == "tls":
            return imaplib.IMAP4_SSL(host, port, ssl_context=context, timeout=TIMEOUT_SECONDS)
        if security != "starttls":
            raise MailFetchError(f"imap_security must be tls or starttls, not {security!r}")
        client = imaplib.IMAP4(host, port, timeout=TIMEOUT_SECONDS)
    except ssl.SSLError as e:
        raise MailFetchError(f"{where}: TLS failed, nothing was sent: {e}") from e
    except (OSError, imaplib.IMAP4.error) as e:
        raise MailFetchError(f"{where}: cannot connect: {e}") from e
    try:
        if "STARTTLS" not in client.capabilities:
            raise MailFetchError(f"{where} offers no STARTTLS: the password is not sent over a plain connection")
        client.starttls(ssl_context=context)  # checks the certificate and the host name
    except MailFetchError:
        _drop(client)
        raise
    except ssl.SSLError as e:
        _drop(client)
        raise MailFetchError(f"{where}: TLS failed, nothing was sent: {e}") from e
    except (OSError, imaplib.IMAP4.error) as e:
        _drop(client)
        raise MailFetchError(f"{where}: STARTTLS failed: {e}") from e
    return client


def _drop(client: imaplib.IMAP4) -> None:
    try:
        client.shutdown()
    except OSError:
        pass  # a failed TLS handshake closes the socket already


def _password(settings: Mapping[str, Any]) -> str:
    path = settings["imap_password_file"]
    if not path:
        return str(settings["imap_password"])
    try:
        with open(path, encoding="utf-8") as f:
            secret = f.read()
    except OSError as e:
        raise MailFetchError(f"imap_password_file cannot be read: {e.strerror}") from e
    return secret.removesuffix("\n").removesuffix("\r")


def _login(client: imaplib.IMAP4, settings: Mapping[str, Any]) -> None:
    user, password = settings["imap_username"], _password(settings)
    try:
        if "AUTH=PLAIN" in client.capabilities:  # UTF-8 user names and passwords
            client.authenticate("PLAIN", lambda _: b"\0" + user.encode() + b"\0" + password.encode())
        else:
            client.login(user, password)
        typ, data = client.capability()  # what is offered after login (MOVE, UIDPLUS, ...)
    except (OSError, imaplib.IMAP4.error, UnicodeEncodeError) as e:
        raise MailFetchError(f"login as {user!r} refused: {e}") from e
    if typ == "OK" and data and data[-1]:
        client.capabilities = tuple(data[-1].decode("ascii", "replace").upper().split())


def _run(
    client: imaplib.IMAP4,
    settings: Mapping[str, Any],
    handle: Handler,
    handle_oversized: OversizedHandler | None,
    limit: int | None,
) -> FetchReport:
    report = FetchReport()
    delimiter, prefix = _namespace(client)
    source = mailbox_name(settings["imap_folder"], delimiter, prefix)
    done = mailbox_name(settings["imap_done_folder"], delimiter, prefix) if settings["imap_done_folder"] else ""
    if done == source:
        raise MailFetchError("imap_done_folder must differ from imap_folder")
    typ, data = client.select(quote(source))
    if typ != "OK":
        raise MailFetchError(f"folder {settings['imap_folder']!r} cannot be opened: {_text(data)}")
    if done:
        _ensure_folder(client, done, settings["imap_done_folder"])
        criteria, flags = "NOT DELETED", ""
    elif _keywords_allowed(client):
        criteria, flags = f"NOT DELETED NOT KEYWORD {TAKEN}", f"(\\Seen {TAKEN})"
    else:
        log.warning("%s allows no keywords: taken mail is marked \\Seen only", settings["imap_host"])
        criteria, flags = "NOT DELETED UNSEEN", "(\\Seen)"
    typ, data = client.uid("SEARCH", criteria)
    if typ != "OK":
        raise MailFetchError(f"search refused: {_text(data)}")
    uids = sorted(int(n) for n in (data[0] or b"").split())
    if limit is not None:
        report.left, uids = max(0, len(uids) - max(limit, 0)), uids[: max(limit, 0)]
    try:
        moved = _take_all(
            client, uids, int(settings["max_request_bytes"]), handle, handle_oversized, done, flags, report
        )
        if moved:
            report.copies_removed = _remove_second_copies(client, done, moved)
    except (OSError, imaplib.IMAP4.error) as e:  # the connection broke: what was done stands
        log.error("IMAP connection lost: %s", e)
        report.errors.append(f"connection lost: {e}")
        report.stopped = True
    log.info("mail fetch: %s", dict(report.outcomes) or "nothing new")
    return report


def _take_all(
    client: imaplib.IMAP4,
    uids: list[int],
    cap: int,
    handle: Handler,
    handle_oversized: OversizedHandler | None,
    done: str,
    flags: str,
    report: FetchReport,
) -> list[Moved]:
    """Hand over and put away each message; returns what it moved to `done` whole."""
    sizes = _sizes(client, uids)
    failures = 0
    moved: list[Moved] = []
    for i, uid in enumerate(uids):
        if failures >= MAX_CONSECUTIVE_FAILURES:
            report.stopped = True
            report.left += len(uids) - i
            log.error("mail fetch stopped after %d failures in a row", failures)
            return moved
        size = sizes.get(uid)
        oversized = size is not None and size > cap
        if oversized and handle_oversized is None:
            log.warning("message UID %s is %s bytes, over max_request_bytes: left in place", uid, size)
            report.outcomes["too_large"] += 1
            continue
        raw = None if size is None else _body(client, uid, "HEADER" if oversized else "")
        if raw is None:
            report.gone += 1  # another fetcher put it away since the search
            continue
        try:
            if oversized and handle_oversized is not None:
                outcome = handle_oversized(raw, size or 0)
            else:
                outcome = handle(raw)
        except Exception as e:
            log.exception("message UID %s was not taken in; it is left for the next run", uid)
            report.errors.append(f"UID {uid}: {type(e).__name__}: {e}")
            failures += 1
            continue
        report.outcomes[outcome] += 1
        problem = _put_away(client, uid, done, flags)
        if problem:
            log.error("message UID %s was taken in (%s) but not put away: %s", uid, outcome, problem)
            report.errors.append(f"UID {uid}: taken in ({outcome}) but not put away: {problem}")
            failures += 1
        else:
            failures = 0
            if done and not oversized and size is not None and (mid := _message_id(raw)):
                moved.append(Moved(mid, size, hashlib.sha256(raw).hexdigest()))
    return moved


def _remove_second_copies(client: imaplib.IMAP4, done: str, moved: list[Moved]) -> int:
    """Two fetchers moving one message at the same moment can both copy it (a MOVE is a copy
    and then an expunge, not one step). Each run ends by looking in the done folder for the
    messages it moved and removing any second copy: of the messages there with its Message-ID,
    those of its size and content; the lowest UID of them stays, which every fetcher agrees
    on, and the one whose copy came last sees both. Any other message with that Message-ID is
    someone else's mail and stays."""
    typ, data = client.select(quote(done))
    if typ != "OK":
        raise imaplib.IMAP4.error(f"done folder cannot be opened: {_text(data)}")
    extra: set[int] = set()
    for one in moved:
        # \\Deleted ones too: a COPY carries the source's flags, so a copy made after the other
        # fetcher flagged the source arrives flagged \\Deleted (and nothing expunges it here).
        typ, data = client.uid("SEARCH", "HEADER", "Message-ID", quote(one.message_id))
        found = sorted(int(n) for n in (data[0] or b"").split()) if typ == "OK" else []
        if len(found) < 2:
            continue
        sizes = _sizes(client, found)
        same = [uid for uid in found if sizes.get(uid) == one.size]
        copies = []
        for uid in same if len(same) > 1 else []:
            content = _body(client, uid, "")
            if content is not None and hashlib.sha256(content).hexdigest() == one.sha256:
                copies.append(uid)
        extra |= set(copies[1:])
    if extra:
        log.info("removing %d second copies from the done folder", len(extra))
        client.uid("STORE", uid_set(sorted(extra)), "+FLAGS.SILENT", "(\\Deleted)")
        _expunge(client, uid_set(sorted(extra)))
    return len(extra)


def _message_id(raw: bytes) -> str:
    value = BytesHeaderParser().parsebytes(raw).get("Message-ID", "")
    value = " ".join(str(value).split())
    return value if value.isascii() and value.startswith("<") else ""


def _sizes(client: imaplib.IMAP4, uids: list[int]) -> dict[int, int]:
    if not uids:
        return {}
    typ, data = client.uid("FETCH", uid_set(uids), "(RFC822.SIZE)")
    if typ != "OK":
        raise imaplib.IMAP4.error(f"sizes refused: {_text(data)}")
    sizes = {}
    for item in data:
        line = item[0] if isinstance(item, tuple) else item
        uid, size = re.search(rb"\bUID (\d+)", line or b""), re.search(rb"\bRFC822\.SIZE (\d+)", line or b"")
        if uid and size:
            sizes[int(uid.group(1))] = int(size.group(1))
    return sizes


def _body(client: imaplib.IMAP4, uid: int, section: str) -> bytes | None:
    """The message (or its header), without setting \\Seen; None when it is no longer there."""
    typ, data = client.uid("FETCH", str(uid), f"(BODY.PEEK[{section}])")
    if typ != "OK":
        return None
    for item in data:
        if isinstance(item, tuple) and re.search(rb"\bUID %d\b" % uid, item[0]) and b"BODY[" in item[0]:
            return bytes(item[1])
    return None


def _put_away(client: imaplib.IMAP4, uid: int, done: str, flags: str) -> str:
    """Move the message into the done folder or flag it; "" when done, else what went wrong.
    A message another fetcher moved first is no error: IMAP answers OK (the UID matches
    nothing) or, when this session still saw it, NO [EXPUNGEISSUED]."""
    if not done:
        return _problem(client.uid("STORE", str(uid), "+FLAGS.SILENT", flags))
    if "MOVE" in client.capabilities:
        return _problem(client.uid("MOVE", str(uid), quote(done)))
    problem = _problem(client.uid("COPY", str(uid), quote(done)))
    if not problem:
        problem = _problem(client.uid("STORE", str(uid), "+FLAGS.SILENT", "(\\Deleted)"))
    if not problem:
        problem = _problem(_expunge(client, uid))
    return problem


def _expunge(client: imaplib.IMAP4, uids: str | int) -> tuple[str, list[Any]]:
    """Remove messages flagged \\Deleted: these UIDs only (UID EXPUNGE), or, on a server without
    UIDPLUS, every message flagged so in the selected folder, a person's too: IMAP has no
    other way to remove one message there."""
    return client.uid("EXPUNGE", str(uids)) if "UIDPLUS" in client.capabilities else client.expunge()


def _problem(answer: tuple[str, list[Any]]) -> str:
    typ, data = answer
    if typ == "OK" or _text(data).startswith("[EXPUNGEISSUED]"):
        return ""
    return _text(data)


def _ensure_folder(client: imaplib.IMAP4, name: str, shown: str) -> None:
    typ, data = client.list('""', quote(name))
    if typ == "OK" and any(item and b"\\NonExistent" not in item for item in data):
        return
    typ, data = client.create(quote(name))
    if typ != "OK" and b"ALREADYEXISTS" not in b" ".join(d for d in data if isinstance(d, bytes)):
        raise MailFetchError(f"folder {shown!r} cannot be created: {_text(data)}")
    client.subscribe(quote(name))  # so that mail clients show it


def _keywords_allowed(client: imaplib.IMAP4) -> bool:
    _, data = client.response("PERMANENTFLAGS")
    flags = b" ".join(d for d in data if isinstance(d, bytes))
    return b"\\*" in flags or TAKEN.encode() in flags


def _namespace(client: imaplib.IMAP4) -> tuple[str, str]:
    """The server's hierarchy delimiter and the prefix of its personal folders."""
    if "NAMESPACE" in client.capabilities:
        typ, data = client.namespace()
        found = re.match(rb'\(\("((?:[^"\\]|\\.)*)" (?:"((?:[^"\\]|\\.)*)"|NIL)\)', _first_line(data))
        if typ == "OK" and found:
            return (found.group(2) or b"").decode(), found.group(1).decode()
    typ, data = client.list('""', '""')
    found = re.search(rb'\) "((?:[^"\\]|\\.)*)" ', _first_line(data)) if typ == "OK" else None
    return (found.group(1).decode() if found else "/"), ""


def _first_line(data: list[Any]) -> bytes:
    item = data[0] if data else None
    return bytes(item[0] if isinstance(item, tuple) else item or b"")


def _text(data: list[Any]) -> str:
    return " ".join(d.decode("utf-8", "replace") for d in data if isinstance(d, bytes))
