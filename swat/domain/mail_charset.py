"""Bytes of a received mail into text, the way Japanese mail is really written.

`decode(data, charset)` never raises: it reads the declared charset as its usual superset
(ISO-2022-JP as Outlook's CP50220 with half-width kana, NEC special characters and the
NEC-selected IBM extended kanji; Shift_JIS as CP932; EUC-JP as eucJP-ms/CP51932, then
EUC-JIS-2004), takes valid UTF-8 over a legacy label (a mislabeled mail), guesses when the
label is missing or wrong (UTF-8, then CP932 or EUC-JP, whichever reads more naturally), and
turns what still cannot be read into U+FFFD. It says whether it had `trouble`: a charset
other than the declared one, or replacement characters.
"""

from __future__ import annotations

import codecs
import re
from array import array
from functools import cache
from typing import NamedTuple

REPLACEMENT = "\ufffd"


class Decoded(NamedTuple):
    text: str
    trouble: bool


# Families: how each declared charset is read. Any other name goes to Python's codec of it.
_JIS = "jis"
_SJIS = "sjis"
_EUC = "euc"
_UTF8 = "utf-8"
_ASCII = "ascii"
_LATIN = "cp1252"
_UNKNOWN = ""
_ALIASES = {
    **dict.fromkeys(("csiso2022jp", "cp50220", "cp50221", "cp50222", "jis", "jis7"), _JIS),
    **dict.fromkeys(
        ("shiftjis", "sjis", "xsjis", "mskanji", "csshiftjis", "windows31j", "cp932", "ms932", "xmscp932"), _SJIS
    ),
    **dict.fromkeys(("shiftjis2004", "shiftjisx0213", "sjis2004"), _SJIS),
    **dict.fromkeys(("eucjp", "xeucjp", "cseucpkdfmtjapanese", "eucjis2004", "eucjisx0213", "cp51932"), _EUC),
    **dict.fromkeys(("eucjpms", "ujis", "xeucjpms"), _EUC),
    **dict.fromkeys(("utf8", "unicode11utf8", "unicode20utf8", "xunicode20utf8", "utf8mb4"), _UTF8),
    **dict.fromkeys(("usascii", "ascii", "ansix341968", "iso646us", "us", "7bit", "8bit"), _ASCII),
    **dict.fromkeys(("iso88591", "latin1", "l1", "windows1252", "cp1252", "iso885915"), _LATIN),
    **dict.fromkeys(("unknown8bit", "xunknown", "unknown", "default", "none", "charset"), _UNKNOWN),
    **dict.fromkeys(("gb2312", "gbk", "euccn", "xgbk", "cp936"), "gb18030"),
    **dict.fromkeys(("ksc56011987", "euckr", "ksc5601", "cp949", "ksc56011989"), "cp949"),
    **dict.fromkeys(("big5", "cp950", "xbig5"), "big5hkscs"),
}


def family(charset: str | None) -> str:
    """The family a declared charset is read as (see `_ALIASES`), "" when unknown."""
    key = re.sub(r"[^a-z0-9]", "", (charset or "").lower())
    if key.startswith("iso2022jp") or key.startswith("xiso2022jp"):
        return _JIS
    if key in _ALIASES:
        return _ALIASES[key]
    try:
        return codecs.lookup((charset or "").strip().strip("\"'")).name
    except (LookupError, ValueError, TypeError):
        return _UNKNOWN


def decode(data: bytes, charset: str | None = None) -> Decoded:
    """Text of `data` as declared by `charset` (None or "" when nothing was declared)."""
    fam = family(charset)
    if data.isascii():
        if (b"\x1b" in data or (fam == _JIS and b"\x0e" in data)) and fam in (
            _JIS,
            _UNKNOWN,
            _ASCII,
            _UTF8,
            _LATIN,
            _SJIS,
            _EUC,
        ):
            text, bad = decode_jis(data)
            return Decoded(text, bad or fam != _JIS)
        if fam not in (_JIS, _SJIS, _EUC, _UTF8, _ASCII, _LATIN, _UNKNOWN):
            return _codec(data, fam)
        return Decoded(data.decode("ascii"), False)
    if fam != _UTF8 and _valid_utf8(data):
        return Decoded(data.decode("utf-8-sig"), fam not in (_UNKNOWN, _ASCII))
    strict = _strict(data, fam)
    if strict is not None:
        return Decoded(strict, False)
    if fam == _JIS and b"\x1b" in data:
        return Decoded(decode_jis(data)[0], True)
    if fam == _UTF8:
        # UTF-8 with a few broken sequences (a truncated word, a stray byte) is still UTF-8;
        # another charset read as UTF-8 is broken nearly everywhere.
        loose = data.decode("utf-8", "replace")
        broken = loose.count(REPLACEMENT)
        if broken * 4 <= len(_NON_ASCII.findall(loose)) + 4:
            return Decoded(loose, True)
    guess = guess_strict(data)
    if guess is not None:
        return Decoded(guess, True)
    return Decoded(_loose(data, fam), True)


def guess_strict(data: bytes) -> str | None:
    """Undeclared bytes read strictly: UTF-8, ISO-2022-JP, then CP932 or EUC-JP; None when
    none reads them whole."""
    if _valid_utf8(data):
        return data.decode("utf-8-sig")
    if b"\x1b" in data:
        text, bad = decode_jis(data)
        if not bad:
            return text
    sjis, euc = _strict(data, _SJIS), _strict(data, _EUC)
    if sjis is not None and euc is not None:
        # EUC-JP read as CP932 is mostly half-width katakana; CP932 read as EUC-JP rarely
        # survives at all. Take the reading with fewer half-width katakana.
        return sjis if _halfwidth(sjis) <= _halfwidth(euc) else euc
    return sjis if sjis is not None else euc


def _halfwidth(text: str) -> int:
    return len(re.findall("[\uff61-\uff9f]", text))


def _valid_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _strict(data: bytes, fam: str) -> str | None:
    try:
        if fam == _JIS:
            text, bad = decode_jis(data)
            return None if bad else text
        if fam == _SJIS:
            try:
                text = data.decode("cp932")
            except UnicodeDecodeError:
                return data.decode("shift_jis_2004")
            # Python's CP932 reads the unassigned single bytes 0x80, 0xA0, 0xFD..0xFF as
            # U+0080 and private-use characters: not text anybody wrote.
            return None if _CP932_STRAY.search(text) else text
        if fam == _EUC:
            try:
                return data.decode("euc_jp")
            except UnicodeDecodeError:
                text, bad = decode_euc(data)
                return data.decode("euc_jis_2004") if bad else text
        if fam == _UTF8:
            return data.decode("utf-8-sig")
        if fam in (_ASCII, _UNKNOWN):
            return None
        return data.decode(fam)
    except (UnicodeDecodeError, LookupError):
        return None


_NON_ASCII = re.compile("[^\x00-\x7f\ufffd]")
_CP932_STRAY = re.compile("[\x80\uf8f0-\uf8f3]")


def _loose(data: bytes, fam: str) -> str:
    if fam == _JIS:
        return decode_jis(data)[0]
    if fam == _EUC:
        return decode_euc(data)[0]
    if fam in (_SJIS, _ASCII, _UNKNOWN):
        return data.decode("cp932", "replace")
    try:
        return data.decode(fam, "replace")
    except LookupError:
        return data.decode("utf-8", "replace")


def _codec(data: bytes, fam: str) -> Decoded:
    try:
        return Decoded(data.decode(fam), False)
    except (UnicodeDecodeError, LookupError):
        return Decoded(data.decode("ascii", "replace"), True)


# ---- ISO-2022-JP and EUC-JP through the CP932 table -------------------------------------


@cache
def _jis_table() -> list[str]:
    """JIS X 0208 code (row and cell as 0x2121..0x7E7E) to its character as CP932 reads it:
    JIS X 0208 itself plus the NEC special characters of row 13 and the NEC-selected IBM
    extended kanji of rows 89 to 92. U+FFFD for codes CP932 does not know."""
    table = [REPLACEMENT] * 0x10000
    for j1 in range(0x21, 0x7F):
        s1 = ((j1 + 1) >> 1) + (0x70 if j1 <= 0x5E else 0xB0)
        for j2 in range(0x21, 0x7F):
            if j1 % 2:
                s2 = j2 + (0x1F if j2 <= 0x5F else 0x20)
            else:
                s2 = j2 + 0x7E
            try:
                table[j1 << 8 | j2] = bytes((s1, s2)).decode("cp932")
            except UnicodeDecodeError:
                pass
    return table


def _pairs(data: bytes, mask: int = 0) -> tuple[str, bool]:
    """Characters of an even run of two-byte JIS codes (with `mask` 0x8080 for EUC)."""
    codes = array("H", data)
    if array("H", b"\x01\x00")[0] == 1:  # little-endian machine: the first byte is the row
        codes.byteswap()
    table = _jis_table()
    text = "".join([table[c ^ mask] for c in codes])
    return text, REPLACEMENT in text


def _kana(data: bytes, offset: int) -> str:
    """Half-width katakana: JIS X 0201 bytes 0x21..0x5F (or 0xA1..0xDF) as U+FF61..U+FF9F."""
    return "".join(
        chr(0xFF61 + b - offset) if offset <= b <= offset + 0x3E else chr(b) if b < 0x21 else REPLACEMENT for b in data
    )


_ESC = re.compile(rb"\x1b(\$\(?[@BA]|\$\([DOPQC]|\([BJHI]|\.[AF]|)", re.DOTALL)
_KANJI_RUN = re.compile(rb"((?:[\x21-\x7e]{2})+)|([\x0e\x0f])|([^\x21-\x7e\x0e\x0f]+|[\x21-\x7e])")
_ASCII_RUN = re.compile(rb"([\x00-\x0d\x10-\x7f]+)|([\x0e\x0f])|([\xa1-\xdf]+)|([\x80-\xff]+)")


def decode_jis(data: bytes) -> tuple[str, bool]:
    """ISO-2022-JP read as CP50220 reads it (plus JIS X 0212/0213 and ISO-2022-JP-2 runs,
    SO/SI kana and stray 8-bit kana); returns the text and whether anything was unreadable."""
    out: list[str] = []
    bad = False
    mode = b"(B"
    pos = 0
    for m in _ESC.finditer(data):
        chunk, bad_chunk = _jis_run(data[pos : m.start()], mode)
        out.append(chunk)
        bad = bad or bad_chunk
        if m.group(1):
            mode = m.group(1)
        else:
            out.append(REPLACEMENT)
            bad = True
        pos = m.end()
    chunk, bad_chunk = _jis_run(data[pos:], mode)
    out.append(chunk)
    return "".join(out), bad or bad_chunk


def _jis_run(run: bytes, mode: bytes) -> tuple[str, bool]:
    if not run:
        return "", False
    if mode in (b"$B", b"$@", b"$(B", b"$(@"):
        return _kanji_run(run)
    if mode == b"(I":
        text = _kana(run, 0x21)
        return text, REPLACEMENT in text
    if mode in (b"(B", b"(J", b"(H"):
        return _ascii_run(run)
    # JIS X 0212, JIS X 0213 and the ISO-2022-JP-2 sets: Python's codecs know them.
    codec = {b"$(D": "iso2022_jp_1", b"$(O": "iso2022_jp_3", b"$(P": "iso2022_jp_2004"}.get(mode, "iso2022_jp_2004")
    if mode in (b"$A", b"$(C", b".A", b".F"):
        codec = "iso2022_jp_2"
    text = (b"\x1b" + mode + run + b"\x1b(B").decode(codec, "replace")
    return text, REPLACEMENT in text


def _kanji_run(run: bytes) -> tuple[str, bool]:
    out: list[str] = []
    bad = False
    shifted = False
    for m in _KANJI_RUN.finditer(run):
        if m.group(1):
            if shifted:
                text = _kana(m.group(1), 0x21)
                bad_part = REPLACEMENT in text
            else:
                text, bad_part = _pairs(m.group(1))
            out.append(text)
            bad = bad or bad_part
        elif m.group(2):
            shifted = m.group(2) == b"\x0e"
        else:
            # Line ends and spaces inside a kanji run (a broken mail left the mode open), or
            # a lone byte: read as ASCII.
            text, bad_part = _ascii_run(m.group(3))
            out.append(text)
            bad = bad or bad_part
    return "".join(out), bad


def _ascii_run(run: bytes) -> tuple[str, bool]:
    out: list[str] = []
    bad = False
    shifted = False
    for m in _ASCII_RUN.finditer(run):
        if m.group(1):
            out.append(_kana(m.group(1), 0x21) if shifted else m.group(1).decode("ascii"))
        elif m.group(2):
            shifted = m.group(2) == b"\x0e"
        elif m.group(3):
            out.append(_kana(m.group(3), 0xA1))
        else:
            out.append(REPLACEMENT * len(m.group(4)))
            bad = True
    text = "".join(out)
    return text, bad or (shifted and REPLACEMENT in text)


_EUC_TOKEN = re.compile(rb"([\x00-\x7f]+)|((?:[\xa1-\xfe]{2})+)|\x8e([\xa1-\xdf])|(\x8f[\xa1-\xfe]{2})|(.)", re.DOTALL)


def decode_euc(data: bytes) -> tuple[str, bool]:
    """EUC-JP read as CP51932 reads it (NEC and IBM rows through the CP932 table), with
    JIS X 0212 (0x8F) from Python's EUC-JP codec."""
    out: list[str] = []
    bad = False
    for m in _EUC_TOKEN.finditer(data):
        if m.group(1):
            out.append(m.group(1).decode("ascii"))
        elif m.group(2):
            text, bad_part = _pairs(m.group(2), 0x8080)
            out.append(text)
            bad = bad or bad_part
        elif m.group(3):
            out.append(_kana(m.group(3), 0xA1))
        elif m.group(4):
            text = m.group(4).decode("euc_jp", "replace")
            out.append(text)
            bad = bad or REPLACEMENT in text
        else:
            out.append(REPLACEMENT)
            bad = True
    return "".join(out), bad
