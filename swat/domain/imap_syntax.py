"""How IMAP spells things the desk's settings say plainly: folder names (levels, the server's
personal prefix, modified UTF-7 for Japanese names), quoted strings and UID sets."""

from __future__ import annotations

import base64


def mailbox_name(name: str, delimiter: str, prefix: str = "") -> str:
    """A folder setting as the server spells it: "/" separates levels whatever the server's
    delimiter, the server's personal prefix (such as "INBOX.") is added when missing, and
    non-ASCII names are in IMAP's modified UTF-7 (RFC 3501 5.1.3)."""
    if name.upper() == "INBOX":
        return "INBOX"
    if delimiter and delimiter != "/":
        name = delimiter.join(name.split("/"))
    if prefix and not name.startswith(prefix) and prefix.rstrip(delimiter).upper() != name.upper():
        name = prefix + name
    return modified_utf7(name)


def modified_utf7(name: str) -> str:
    """RFC 3501's UTF-7 for folder names: printable ASCII as itself ("&" as "&-"), the rest
    as UTF-16 in base64 between "&" and "-", "," for "/"."""
    out: list[str] = []
    run: list[str] = []

    def flush() -> None:
        if run:
            encoded = base64.b64encode("".join(run).encode("utf-16-be")).decode("ascii")
            out.append("&" + encoded.rstrip("=").replace("/", ",") + "-")
            run.clear()

    for ch in name:
        if 0x20 <= ord(ch) <= 0x7E:
            flush()
            out.append("&-" if ch == "&" else ch)
        else:
            run.append(ch)
    flush()
    return "".join(out)


def quote(name: str) -> str:
    """An IMAP quoted string (the name must be ASCII: see modified_utf7)."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def uid_set(uids: list[int]) -> str:
    """Ascending UIDs as an IMAP set with ranges: [1, 2, 3, 7] -> "1:3,7"."""
    parts: list[str] = []
    start = prev = uids[0]
    for uid in [*uids[1:], None]:
        if uid is not None and uid == prev + 1:
            prev = uid
            continue
        parts.append(str(start) if start == prev else f"{start}:{prev}")
        if uid is not None:
            start = prev = uid
    return ",".join(parts)
