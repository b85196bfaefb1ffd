"""Mentions of desk members (`@username`) and of consultations (`#2026-00042`) in a message.

Found in the text as typed (half- or full-width ＠ and ＃), never stored apart: the notes and
replies keep their text, and the page links each mention when it is shown. A user name ends
before a character a name cannot hold; a trailing full stop, hyphen, underscore or @ is the
sentence's, not the name's ("@tanaka." mentions tanaka). An @ inside a word (an e-mail
address) or a # inside one is not a mention.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import NamedTuple

# accounts.USERNAME_RE's characters; preceded by none of them (or by a ＠ or ＃).
_MENTION = re.compile(r"(?<![A-Za-z0-9._@＠-])[@＠]([A-Za-z0-9][A-Za-z0-9._@-]{0,63})")
# A consultation's number (filing.next_number: the year, a hyphen, five or more digits).
_TICKET = re.compile(r"(?<![\w#＃])[#＃](\d{4}-\d{5,6})(?![\d-])")
_TRAILING = "._@-"


class Piece(NamedTuple):
    """A stretch of a message: plain text, a member's user name, or a consultation's number.
    `raw` is the text as typed (the name with its @, the number with its #)."""

    kind: str  # "text", "member", "ticket"
    value: str
    raw: str


def _name(match: re.Match[str]) -> tuple[str, int]:
    """The user name a match names, and where the mention ends in the text."""
    name = match.group(1).rstrip(_TRAILING)
    return name, match.start(1) + len(name)


_NUMBER = re.compile(r"[0-9]{4}-[0-9]{5,6}")


def is_number(text: str) -> bool:
    """Whether the text is a consultation number as the desk writes them (2026-00042)."""
    return _NUMBER.fullmatch(text) is not None


def mentioned(text: str) -> list[str]:
    """The user names mentioned with @, each once, in the order they first appear."""
    names = (_name(m)[0] for m in _MENTION.finditer(text or ""))
    return list(dict.fromkeys(n for n in names if n))


def referenced(text: str) -> list[str]:
    """The consultation numbers mentioned with #, each once, in order."""
    return list(dict.fromkeys(m.group(1) for m in _TICKET.finditer(text or "")))


def pieces(text: str, members: bool = True) -> Iterator[Piece]:
    """The text cut into plain stretches and mentions (member mentions only with `members`),
    in order; joining every piece's `raw` gives the text back."""
    text = text or ""
    found: list[tuple[int, int, str, str]] = []
    if members:
        for m in _MENTION.finditer(text):
            name, end = _name(m)
            if name:
                found.append((m.start(), end, "member", name))
    for m in _TICKET.finditer(text):
        found.append((m.start(), m.end(), "ticket", m.group(1)))
    at = 0
    for start, end, kind, value in sorted(found):
        if start < at:
            continue  # inside a mention already cut (a # within a user name cannot be)
        if start > at:
            yield Piece("text", text[at:start], text[at:start])
        yield Piece(kind, value, text[start:end])
        at = end
    if at < len(text):
        yield Piece("text", text[at:], text[at:])
