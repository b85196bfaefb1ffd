"""The scorer's text and the requester's: where each matched keyword was written, and how.

The scorer matches keywords in folded text (NFKC, case folded, synonyms rewritten to one
term: 「ＰＣＲ検査」 is read as "pcr検査", 「在宅勤務」 as "テレワーク"). The desk should read
what the requester wrote, so the folded text keeps, for each of its characters, the span of
the original it came from, and a match is shown as that part of the original.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping

# Marks NFKC joins to the character before them: combining marks, and the half-width voiced
# and semi-voiced sound marks (ｶﾞ is ガ).
_JOINING = frozenset("\uff9e\uff9f")


def fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text or "").casefold()


class Folded:
    """A text folded for matching, with the original span of every folded character.

    `text` is exactly what fold() and the synonyms give for the whole text; when folding it
    piece by piece would not give the same (a rare composition across pieces), the spans are
    unknown and `written()` gives the folded term back."""

    __slots__ = ("original", "spans", "text")

    def __init__(self, original: str, synonym_re: re.Pattern[str] | None, synonyms: Mapping[str, str]) -> None:
        self.original = original or ""
        whole = fold(self.original)
        pieces: list[str] = []
        mapped: list[tuple[int, int]] = []
        i, n = 0, len(self.original)
        while i < n:
            j = i + 1
            while j < n and (unicodedata.combining(self.original[j]) or self.original[j] in _JOINING):
                j += 1
            piece = fold(self.original[i:j])
            pieces.append(piece)
            mapped.extend([(i, j)] * len(piece))
            i = j
        spans = mapped if "".join(pieces) == whole else None
        self.text, self.spans = _rewrite(whole, spans, synonym_re, synonyms.__getitem__)

    def written(self, start: int, end: int) -> str:
        """The part of the original that folded text[start:end] came from."""
        if self.spans is None or not 0 <= start < end <= len(self.spans):
            return self.text[start:end]
        return self.original[self.spans[start][0] : self.spans[end - 1][1]]


def _rewrite(
    text: str,
    spans: list[tuple[int, int]] | None,
    synonym_re: re.Pattern[str] | None,
    canonical: Callable[[str], str],
) -> tuple[str, list[tuple[int, int]] | None]:
    """Rewrite synonyms to their canonical term; each character of a canonical term maps to
    the whole span of the variant it replaced."""
    if synonym_re is None:
        return text, spans
    if spans is None:
        return synonym_re.sub(lambda m: canonical(m.group(0)), text), None
    out: list[str] = []
    mapped: list[tuple[int, int]] = []
    last = 0
    for m in synonym_re.finditer(text):
        out.append(text[last : m.start()])
        mapped.extend(spans[last : m.start()])
        term = canonical(m.group(0))
        out.append(term)
        mapped.extend([(spans[m.start()][0], spans[m.end() - 1][1])] * len(term))
        last = m.end()
    out.append(text[last:])
    mapped.extend(spans[last:])
    return "".join(out), mapped


def terms_written(folded: Folded, keyword_re: re.Pattern[str] | None) -> dict[str, str]:
    """The keywords found in the folded text (longest match first: "lineworks" is not also
    "line"), each with how it was written where it first appears."""
    if keyword_re is None:
        return {}
    found: dict[str, str] = {}
    for m in keyword_re.finditer(folded.text):
        found.setdefault(m.group(0), folded.written(m.start(), m.end()))
    return found
