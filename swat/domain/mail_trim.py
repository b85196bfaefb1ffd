"""The new part of a reply: its text without the quoted history and without the signature.

Quoted history starts at the first of: an Outlook separator ("-----Original Message-----",
"-----元のメッセージ-----", a line of underscores before a header block), an Outlook header
block ("From: / Sent: / To: / Subject:", "差出人: / 送信日時: / 宛先: / 件名:", also with
full-width colons), a forwarded-message separator, or a quote header ("On ... wrote:",
"2026年12月3日(木) 10:00 山田 <x@y>:") whose quote runs to the end. Lines quoted with ">"
are dropped wherever they are, so answers written between quoted lines stay. Then the
signature goes: from the last "-- " line, or a final block that opens with a line of ━, ＝,
―, *, -, ■□ and the like and holds at most ten short lines.

A forward (subject "Fw:", "Fwd:", "転送:") is kept whole: the forwarded mail is what the
sender asks about. When trimming would leave nothing, the whole text is the reply, and
`trim` says so (`nothing_new`): the caller must not take a whole quoted block for an answer.
"""

from __future__ import annotations

import re
from typing import NamedTuple

_FORWARD_SUBJECT = re.compile(r"^\s*(?:fwd?|転送|tr|wg)\s*[:：]", re.IGNORECASE)
_SEPARATOR = re.compile(
    r"^\s*[-－—―]{2,}\s*(?:original message|元のメッセージ|オリジナル\s*メッセージ|"
    r"forwarded message|転送(?:された)?メッセージ|転送メッセージ)\s*[-－—―]{2,}\s*$",
    re.IGNORECASE,
)
_BEGIN_FORWARDED = re.compile(
    r"^\s*(?:begin forwarded message|転送されたメッセージ)\s*[:：]\s*$|"
    r"^\s*-*\s*(?:below this line is a copy of the message|this is a copy of the message)",
    re.IGNORECASE,
)
_UNDERSCORES = re.compile(r"^\s*_{10,}\s*$")
_HEADER_LABELS = {
    "from": "from", "差出人": "from", "送信者": "from", "送信元": "from",
    "sent": "date", "date": "date", "送信日時": "date", "日付": "date", "送信日": "date",
    "to": "to", "宛先": "to", "cc": "cc",
    "subject": "subject", "件名": "subject",
}  # fmt: skip
_HEADER_LINE = re.compile(r"^\s*\*?([A-Za-z]+|[一-龯ぁ-んァ-ン]+)\*?\s*[:：]")
_JA_DATE = re.compile(r"^\s*\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日|^\s*\d{4}[/-]\d{1,2}[/-]\d{1,2}")
_ON_WROTE = re.compile(r"^\s*(?:on|le|am|el)\s.{0,240}", re.IGNORECASE)
_WROTE_END = re.compile(
    r"(?:wrote|writes|a écrit|schrieb|escribió|書きました|のメッセージ|からのメール|[>＞])\s*[:：]\s*$", re.IGNORECASE
)
_QUOTED = re.compile(r"^\s*[>＞]")
_DELIMITER = re.compile(r"^\s*(?:[━─―—＝＊■□◆◇●○▲△★☆～＿・－]\s*){3,}\s*$")
_ASCII_DELIMITER = re.compile(r"^\s*(?:[-=*_~+#]\s*){5,}\s*$")
_SIGNATURE_LINES = 10
_SHORT = 60


class Trimmed(NamedTuple):
    text: str  # the new part; the whole text for a forward, or when nothing new is left
    nothing_new: bool  # trimming left nothing of a non-empty text: `text` is all of it


def reply_text(text: str, subject: str = "") -> str:
    """The part of `text` (already \\n line ends) its sender wrote now."""
    return trim(text, subject).text


def trim(text: str, subject: str = "") -> Trimmed:
    """`reply_text`, and whether it fell back to the whole text for want of anything new."""
    whole = text.strip("\n").rstrip()
    if _FORWARD_SUBJECT.match(subject or ""):
        return Trimmed(whole, False)
    lines = whole.split("\n")
    lines = lines[: _history_start(lines)]
    lines = _drop_quoted(lines)
    lines = lines[: _signature_start(lines)]
    trimmed = "\n".join(lines).strip("\n").rstrip()
    if trimmed.strip():
        return Trimmed(trimmed, False)
    return Trimmed(whole, bool(whole.strip()))


def _history_start(lines: list[str]) -> int:
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        if _SEPARATOR.match(line) or _BEGIN_FORWARDED.match(line):
            return i
        if _UNDERSCORES.match(line) and _header_block(lines, _next_filled(lines, i + 1)):
            return i
        if _header_block(lines, i):
            return _before_separator(lines, i)
        end = _quote_header_end(lines, i)
        if end is not None and _all_quoted_after(lines, end):
            return i
    return len(lines)


def _next_filled(lines: list[str], i: int) -> int:
    while i < len(lines) and not lines[i].strip():
        i += 1
    return i


def _before_separator(lines: list[str], i: int) -> int:
    j = i - 1
    while j >= 0 and not lines[j].strip():
        j -= 1
    if j >= 0 and (_UNDERSCORES.match(lines[j]) or _ASCII_DELIMITER.match(lines[j])):
        return j
    return i


def _label(line: str) -> str | None:
    m = _HEADER_LINE.match(line)
    return _HEADER_LABELS.get(m.group(1).lower()) if m else None


def _header_block(lines: list[str], i: int) -> bool:
    """An Outlook-style header block starts at line i: From-like first, then at least two
    more of date, to, cc and subject within the next six lines."""
    if i >= len(lines) or _label(lines[i]) != "from":
        return False
    kinds = {_label(line) for line in lines[i + 1 : i + 7]} - {None}
    return len(kinds - {"from"}) >= 2


def _quote_header_end(lines: list[str], i: int) -> int | None:
    """The line after a quote header starting at line i (one line, or wrapped onto two)."""
    line = lines[i]
    if not (_ON_WROTE.match(line) or _JA_DATE.match(line) or "@" in line):
        return None
    if len(line) <= 300 and _WROTE_END.search(line):
        return i + 1
    if i + 1 < len(lines) and len(line) + len(lines[i + 1]) <= 300 and _WROTE_END.search(lines[i + 1]):
        if _ON_WROTE.match(line) or _JA_DATE.match(line):
            return i + 2
    return None


def _all_quoted_after(lines: list[str], start: int) -> bool:
    """Whether only the quote follows a quote header: anything written after the quote
    (a bottom-posted answer) is kept by dropping the quoted lines instead."""
    filled = [line for line in lines[start:] if line.strip()]
    return bool(filled) and all(_QUOTED.match(line) for line in filled)


def _drop_quoted(lines: list[str]) -> list[str]:
    """Without the ">" lines, and without the quote header right before a quoted block."""
    out: list[str] = []
    i = 0
    while i < len(lines):
        end = _quote_header_end(lines, i) if lines[i].strip() else None
        if end is not None:
            nxt = _next_filled(lines, end)
            if nxt < len(lines) and _QUOTED.match(lines[nxt]):
                i = end
                continue
        if not _QUOTED.match(lines[i]):
            out.append(lines[i])
        i += 1
    return out


def _signature_start(lines: list[str]) -> int:
    for i in range(len(lines) - 1, -1, -1):
        if lines[i] in ("-- ", "--"):
            return i
    tail_start = max(0, len(lines) - 3 * _SIGNATURE_LINES)
    for i in range(tail_start, len(lines)):
        line = lines[i]
        if not (_DELIMITER.match(line) or _ASCII_DELIMITER.match(line)):
            continue
        rest = [r for r in lines[i + 1 :] if r.strip()]
        body = [r for r in rest if not (_DELIMITER.match(r) or _ASCII_DELIMITER.match(r))]
        if body and len(body) <= _SIGNATURE_LINES and all(len(r.strip()) <= _SHORT for r in body):
            return i
    return len(lines)
