"""Header values of a received mail as a person reads them.

Raw values come from the parser as `str` with the 8-bit bytes as surrogate escapes. RFC 2047
encoded words are decoded leniently: adjacent words of one charset are joined as bytes before
decoding (a character split across two words still reads), a missing charset is guessed,
case does not matter, words inside quotes count. Unencoded 8-bit text is read as UTF-8, then
CP932 or EUC-JP. Nothing here raises.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import NamedTuple

from swat.domain.mail_charset import REPLACEMENT, Decoded, decode

_ENCODED_WORD = re.compile(r"=\?([^?\s]*)\?([bBqQ])\?([^?]*)\?=")
_FOLD = re.compile(r"\r?\n(?=[ \t])")
_SPACE = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_C0 = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # every control character but \t and \n
_ID_UNFIT = re.compile(r"[\x00-\x20\x7f]")  # a control character or whitespace in an id


def raw_bytes(value: str) -> bytes:
    """The bytes a parser's header or parameter string stands for (8-bit bytes come back
    from their surrogate escapes; any other character as UTF-8)."""
    return value.encode("utf-8", "surrogateescape")


def unfold(value: str) -> str:
    return _FOLD.sub("", value).replace("\r", "").replace("\n", "")


def safe(text: str) -> str:
    """Text that can be stored anywhere: no NUL, no lone surrogates."""
    if "\x00" in text:
        text = text.replace("\x00", "")
    if _SURROGATE.search(text):
        text = _SURROGATE.sub(REPLACEMENT, text)
    return text


def clean(text: str) -> str:
    """`safe` text without the control characters other than \\n and \\t (a database text
    column cannot hold NUL; the others have no place in what a person reads)."""
    text = safe(text)
    return _C0.sub("", text) if _C0.search(text) else text


def decode_header(value: object) -> Decoded:
    """One header value (raw, possibly folded) as one line of text, whitespace collapsed."""
    text, trouble = decode_words(unfold(str(value or "")))
    return Decoded(_SPACE.sub(" ", _CONTROL.sub(" ", text)).strip(), trouble)


def decode_words(value: str) -> Decoded:
    """RFC 2047 encoded words and raw 8-bit text of one unfolded value."""
    out: list[str] = []
    trouble = False
    group_charset: str | None = None
    group = bytearray()
    pos = 0

    def flush() -> None:
        nonlocal group_charset, trouble
        if group_charset is not None:
            text, bad = decode(bytes(group), group_charset)
            out.append(text)
            trouble = trouble or bad
        group_charset = None
        group.clear()

    for m in _ENCODED_WORD.finditer(value):
        between = value[pos : m.start()]
        pos = m.end()
        if between and not (between.isspace() and group_charset is not None):
            flush()
            text, bad = _raw_text(between)
            out.append(text)
            trouble = trouble or bad
        charset = m.group(1).split("*", 1)[0].strip().lower()
        if group_charset is not None and charset != group_charset:
            flush()
        group_charset = charset
        group.extend(_word_bytes(m.group(2), m.group(3)))
    flush()
    text, bad = _raw_text(value[pos:])
    out.append(text)
    return Decoded(safe("".join(out)), trouble or bad)


def _raw_text(value: str) -> Decoded:
    if not value:
        return Decoded("", False)
    if value.isascii() and "\x1b" not in value:
        return Decoded(value, False)
    data = raw_bytes(value)
    if data.isascii() and b"\x1b" not in data:
        return Decoded(value, False)
    # Unencoded 8-bit text in a header: UTF-8 is what RFC 6532 allows, the rest a guess.
    return decode(data, None)


def _word_bytes(encoding: str, payload: str) -> bytes:
    if encoding in "bB":
        data = re.sub(r"[^A-Za-z0-9+/]", "", payload)
        if len(data) % 4 == 1:
            data = data[:-1]
        try:
            return base64.b64decode(data + "=" * (-len(data) % 4))
        except (binascii.Error, ValueError):
            return b""
    raw = raw_bytes(payload.replace("_", " "))
    return re.sub(rb"=([0-9A-Fa-f]{2})", lambda m: bytes((int(m.group(1), 16),)), raw)


def decode_param(value: object) -> Decoded:
    """A MIME parameter as the parser gives it: a plain (quoted) string, possibly holding
    encoded words or raw 8-bit text, or an RFC 2231 (charset, language, text) tuple whose
    text stands for the percent-decoded bytes."""
    if isinstance(value, tuple) and len(value) == 3:
        charset, _language, text = value
        data = raw_bytes(str(text or "")) if _SURROGATE.search(str(text or "")) else _latin1(str(text or ""))
        decoded, trouble = decode(data, str(charset or "") or None)
        if "=?" in decoded:
            decoded, more = decode_words(decoded)
            trouble = trouble or more
        return Decoded(safe(decoded), trouble)
    return decode_header(str(value or "").strip().strip('"'))


def _latin1(text: str) -> bytes:
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace")


class Address(NamedTuple):
    name: str
    address: str  # lower-cased; "" when the value holds no usable address
    trouble: bool


_ANGLE = re.compile(r"<([^<>]*)>")
_VALID = re.compile(r"^[^@\s<>()\[\],;:\"\\]+@[A-Za-z0-9](?:[A-Za-z0-9.\-]*[A-Za-z0-9])?$")


def parse_address(value: object) -> Address:
    """The first mailbox of a From-like header: its decoded display name and its address."""
    raw = unfold(str(value or "")).strip()
    found = list(_ANGLE.finditer(raw))
    if found:
        m = found[-1]
        address = m.group(1)
        name = (raw[: m.start()] + " " + raw[m.end() :]).strip()
    else:
        tokens = [t for t in re.split(r"[\s,;]+", raw) if "@" in t]
        address = tokens[0] if tokens else ""
        comment = re.search(r"\(([^()]*)\)", raw)
        name = comment.group(1) if comment else "" if address else raw
    address = address.strip().strip("\"'").removeprefix("mailto:").strip().lower()
    if not _VALID.match(address) or not address.isascii() or _ID_UNFIT.search(address):
        address = ""
    name = name.strip()
    if len(name) >= 2 and name[0] == '"' and name[-1] == '"':
        name = name[1:-1]
        if name.isascii():
            name = re.sub(r"\\(.)", r"\1", name)
    text, trouble = decode_header(name)
    text = text.strip().strip("\"'").strip()
    return Address(text, address, trouble)


_ID_IN_ANGLES = re.compile(r"<([^<>]*)>")


def message_ids(value: object) -> list[str]:
    """The ids of an In-Reply-To or References value, each `<...>`, in order, each once;
    tolerates missing brackets, commas, folding and comments. An id holding a control
    character (NUL, ...) is dropped; folding whitespace inside the brackets is taken out."""
    raw = unfold(str(value or ""))
    if not raw.isascii():
        raw = raw_bytes(raw).decode("ascii", "replace")
    found = [re.sub(r"[ \t]+", "", m) for m in _ID_IN_ANGLES.findall(raw)]
    if not found:
        found = [t.strip("<>()\"'") for t in re.split(r"[ \t,;]+", raw) if "@" in t]
    ids: dict[str, None] = {}
    for one in found:
        one = one.strip("<>")
        if one and len(one) <= 250 and REPLACEMENT not in one and not _ID_UNFIT.search(one):
            ids.setdefault(f"<{one}>")
    return list(ids)


def message_id(value: object) -> str:
    """A Message-ID value without its angle brackets; "" when there is none, or when the id
    holds whitespace or a control character (the caller then makes one from the content)."""
    raw = unfold(str(value or ""))
    if not raw.isascii():
        raw = raw_bytes(raw).decode("ascii", "replace")
    tokens = [t for t in re.split(r"[ \t]+", raw.strip(" \t")) if t]
    found = _ID_IN_ANGLES.findall(raw) or [t.strip("<>()\"'") for t in tokens if "@" in t] or tokens[:1]
    token = found[0].strip("<>") if found else ""
    fit = bool(token) and len(token) <= 250 and REPLACEMENT not in token and not _ID_UNFIT.search(token)
    return token if fit else ""
