"""Search: the one folding of text, its n-gram tokens, and what a query means.

Indexing and querying both go through `fold` and `grams`, so whatever a member types
finds the text however it was typed: full-width and half-width forms (NFKC), upper and
lower case, hiragana and katakana, the long-vowel and wave-dash variants, the ideographic
space. Stored text is never changed; only the index holds folded tokens.

Tokens: folded text is cut at white space into runs; each character of a run gives the
two-character gram that starts there, the last one its single character (「ワクチン」 →
ワク クチ チン ン). A token's position is its character's place, a white-space run counts
as one place, so a word of two or more characters is a phrase of grams and a single
character is a prefix of tokens: any length of word is found, none by a full scan.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

# Characters folded onto one representative after NFKC and case folding.
_LONG_VOWEL = "ー"
_WAVE = "〜"
_VARIANTS = {
    "\u2015": _LONG_VOWEL,  # ― horizontal bar
    "\u2500": _LONG_VOWEL,  # ─ box drawing
    "\u2014": _LONG_VOWEL,  # — em dash (typed for ー by some input methods)
    "\u30fc": _LONG_VOWEL,  # ー (ｰ arrives here through NFKC)
    "~": _WAVE,  # ～ U+FF5E arrives here through NFKC
    "\u223c": _WAVE,  # ∼ tilde operator
    "\u301c": _WAVE,  # 〜 wave dash
    "\u3030": _WAVE,  # 〰 wavy dash
}
# Characters that combine with the one before them (voiced marks, accents): folded together.
_HALF_WIDTH_MARKS = "\uff9e\uff9f"


# After NFKC and case folding: katakana to hiragana, white space to a space, the variants.
_FOLD = str.maketrans(
    {
        **{chr(c): chr(c - 0x60) for c in range(0x30A1, 0x30F7)},
        **{c: " " for c in "\t\n\r\v\f\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2028\u2029\u3000"},
        **{chr(c): " " for c in range(0x2000, 0x200B)},
        **_VARIANTS,
    }
)


def _fold_piece(piece: str) -> str:
    return unicodedata.normalize("NFKC", piece).casefold().translate(_FOLD)


def _pieces(text: str) -> list[tuple[int, str]]:
    """The text cut before every character that does not combine with the previous one."""
    out: list[tuple[int, str]] = []
    start = 0
    for i in range(1, len(text) + 1):
        if i == len(text) or not (unicodedata.combining(text[i]) or text[i] in _HALF_WIDTH_MARKS):
            out.append((start, text[start:i]))
            start = i
    return out if text else []


_ASCII = str.maketrans({"\t": " ", "\n": " ", "\r": " ", "\v": " ", "\f": " ", "~": _WAVE})


def fold(text: str) -> str:
    """The text as search compares it (see the module's docstring)."""
    if text.isascii():  # NFKC leaves ASCII alone
        return text.lower().translate(_ASCII)
    return _slow_fold(text)


def _slow_fold(text: str) -> str:
    # The same as folding piece by piece (fold_with_offsets), in one pass.
    return unicodedata.normalize("NFKC", text).casefold().translate(_FOLD)


# Each character's fold as str.translate takes it, learnt as characters are first seen (a
# desk's texts use a few thousand; LEARNT at most, so a text of rare characters cannot make a
# worker hold all of Unicode), with the characters that join the one before them into one
# piece and those whose fold is not one character.
LEARNT = 20000
_TABLE: dict[int, str] = {}
_SEEN: set[str] = set()  # _TABLE's characters, for set arithmetic
_JOINING: set[str] = set()
_NOT_ONE: set[str] = set()


def _learn(chars: set[str]) -> bool:
    """Learn the characters not yet in the table; False if the table has no room for them."""
    new = chars - _SEEN
    if len(_SEEN) + len(new) > LEARNT:
        return False
    for ch in new:
        folded = _fold_piece(ch)
        if len(folded) != 1:
            _NOT_ONE.add(ch)
        if unicodedata.combining(ch) or ch in _HALF_WIDTH_MARKS:
            _JOINING.add(ch)
        _TABLE[ord(ch)] = folded
        _SEEN.add(ch)
    return True


def fold_with_offsets(text: str) -> tuple[str, list[int]]:
    """The folded text and, for each of its characters, where it came from in `text`.

    A text without joining characters is folded character by character, which is the piece
    by piece fold: through the learnt table, in one call (a snippet folds a whole reply)."""
    chars = set(text)
    if _learn(chars) and chars.isdisjoint(_JOINING):
        if chars.isdisjoint(_NOT_ONE):
            return text.translate(_TABLE), list(range(len(text)))
        offsets: list[int] = []
        for i, ch in enumerate(text):
            offsets.extend([i] * len(_TABLE[ord(ch)]))
        return text.translate(_TABLE), offsets
    return _fold_pieces_with_offsets(text)


def _fold_pieces_with_offsets(text: str) -> tuple[str, list[int]]:
    folded: list[str] = []
    offsets = []
    for start, piece in _pieces(text):
        f = _fold_piece(piece)
        folded.append(f)
        offsets.extend([start] * len(f))
    return "".join(folded), offsets


# A token at its position (1-based).
Gram = tuple[int, str]


def grams(text: str, start: int = 1) -> tuple[list[Gram], int]:
    """The tokens of already-folded text from position `start`, and the next free position.

    The next free position leaves a gap, so that a phrase never spans two fields.
    """
    out: list[Gram] = []
    pos = start
    for run in text.split(" "):
        if not run:
            continue
        n = len(run)
        out.extend([(pos + k, run[k : k + 2]) for k in range(n)])
        pos += n + 1
    return out, pos + 1


@dataclass(frozen=True)
class Term:
    """A word or quoted phrase: its tokens at offsets from the first; `prefix` marks the last
    token as a prefix (a single-character last run)."""

    text: str  # folded
    tokens: tuple[tuple[int, str], ...]
    prefix: bool


def term(folded: str) -> Term | None:
    """The tokens a (folded) word or phrase must have, in order, to be found."""
    runs = folded.split()
    if not runs:
        return None
    tokens: list[tuple[int, str]] = []
    pos = 0
    for r, run in enumerate(runs):
        last = r == len(runs) - 1
        for k in range(len(run) - 1):
            tokens.append((pos, run[k : k + 2]))
            pos += 1
        if len(run) == 1 or not last:
            # A whole run before white space ends with its single character; a one-character
            # last run is the start of any token.
            tokens.append((pos, run[-1]))
        pos += 2  # the run's last character, then the white space
    return Term(" ".join(runs), tuple(tokens), prefix=len(runs[-1]) == 1)


# A ticket number: 2026-00042, 00042, 42; past a year's 99,999th filing, six digits and more.
NUMBER = re.compile(r"^(?:(\d{4})-)?0*(\d{1,7})$")


@dataclass
class Query:
    terms: list[Term] = field(default_factory=list)
    excluded: list[Term] = field(default_factory=list)
    # A ticket number typed as the whole query: (year or None, sequence).
    number: tuple[int | None, int] | None = None

    def __bool__(self) -> bool:
        return bool(self.terms or self.excluded or self.number)

    @property
    def words(self) -> list[str]:
        """The folded words and phrases to mark in a snippet."""
        return [t.text for t in self.terms]


_PART = re.compile(r'(-?)"([^"]*)"?|(\S+)')


def parse_query(text: str, limit: int = 200) -> Query:
    """What a search box's text asks for: all words (AND), "a phrase", -excluded, a ticket number."""
    folded = fold(text)[:limit].strip()
    q = Query()
    m = NUMBER.match(folded)
    if m and m.group(2) != "0" * len(m.group(2)) and int(m.group(2)) > 0:
        q.number = (int(m.group(1)) if m.group(1) else None, int(m.group(2)))
    for neg, phrase, word in _PART.findall(folded.replace("\u201c", '"').replace("\u201d", '"')):
        if word:
            neg, raw = ("-", word[1:]) if word.startswith("-") and len(word) > 1 else ("", word)
        else:
            raw = phrase
        t = term(raw.strip('"'))
        if t is None:
            continue
        (q.excluded if neg else q.terms).append(t)
    return q


def ticket_numbers(number: tuple[int | None, int], years: list[int]) -> list[str]:
    """The ticket numbers (2026-00042) a number query names, for the years the desk has."""
    year, seq = number
    return [f"{y}-{seq:05d}" for y in ([year] if year else years)]


def snippet(text: str, words: list[str], width: int = 60) -> list[tuple[str, bool]] | None:
    """A window of `text` around the first found word, as (piece, marked) pairs; None if none is found.

    Marks every folded occurrence of any of the words in the window; the pieces are the
    stored text, as typed.
    """
    if not text or not words:
        return None
    folded, offsets = fold_with_offsets(text)
    spans: list[tuple[int, int]] = []
    for w in words:
        start = folded.find(w)
        while start >= 0:
            spans.append((start, start + len(w)))
            start = folded.find(w, start + 1)
    if not spans:
        return None
    spans.sort()
    first = spans[0][0]
    lo_f = max(0, first - width // 3)
    hi_f = min(len(folded), lo_f + width)
    ends = offsets + [len(text)]
    lo, hi = ends[lo_f], ends[hi_f]
    out: list[tuple[str, bool]] = []
    if lo > 0:
        out.append(("…", False))
    cursor = lo
    for s, e in spans:
        s_o, e_o = ends[s], ends[e]
        if s_o < cursor or e_o > hi:
            continue
        if s_o > cursor:
            out.append((text[cursor:s_o], False))
        out.append((text[s_o:e_o], True))
        cursor = e_o
    if cursor < hi:
        out.append((text[cursor:hi], False))
    if hi < len(text):
        out.append(("…", False))
    return [(p.replace("\n", " "), m) for p, m in out]


def _script(ch: str) -> str:
    code = ord(ch)
    if 0x4E00 <= code <= 0x9FFF or 0x3400 <= code <= 0x4DBF or ch in "々〆ヶ":
        return "kanji"
    if 0x30A1 <= code <= 0x30FA or ch == "ー":
        return "katakana"
    if ch.isascii() and ch.isalnum():
        return "latin"
    return ""  # hiragana (the grammar between words), punctuation, space


def key_words(text: str, limit: int = 5) -> list[str]:
    """The content words of a text, longest first, folded: runs of kanji, katakana or
    Latin letters and digits (the hiragana between them is grammar)."""
    normalized = unicodedata.normalize("NFKC", text)
    words: list[str] = []
    run: list[str] = []
    kind = ""
    for ch in normalized + " ":
        k = _script(ch)
        if k != kind:
            if kind and len(run) >= (3 if kind == "latin" else 2):
                words.append("".join(run))
            run, kind = [], k
        if k:
            run.append(ch)
    seen: dict[str, None] = {}
    for w in sorted(words, key=len, reverse=True):
        seen.setdefault(fold(w), None)
    return list(seen)[:limit]


def bigram_set(folded: str) -> set[str]:
    """The distinct two-character pieces of folded text (for similarity), spaces left out."""
    out: set[str] = set()
    for run in folded.split(" "):
        out.update([run[i : i + 2] for i in range(len(run) - 1)])
    return out
