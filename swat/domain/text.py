"""Text helpers: normalisation for search, limits, safe redirect targets, display widths."""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import urlsplit


def normalize_for_search(text: str) -> str:
    """Fold full-width/half-width forms and case so 'ＬＩＮＥ' finds 'line'."""
    return unicodedata.normalize("NFKC", text or "").casefold()


def escape_like(term: str, escape: str = "\\") -> str:
    """Escape LIKE wildcards so a user's % or _ match themselves."""
    return term.replace(escape, escape + escape).replace("%", escape + "%").replace("_", escape + "_")


def is_safe_next(target: str | None) -> bool:
    """True when `target` is a path on this site and nothing else.

    Rejects absolute URLs, scheme-relative `//host`, backslash tricks that
    browsers read as `//host` (`/\\host`, `\\\\host`), control characters and
    anything with a scheme or a network location after normalisation.
    """
    if not target or not isinstance(target, str):
        return False
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in target):
        return False
    if not target.startswith("/"):
        return False
    normalized = target.replace("\\", "/")
    if normalized.startswith("//"):
        return False
    parts = urlsplit(normalized)
    return not parts.scheme and not parts.netloc


# C0 control characters other than tab, line feed and carriage return, and DEL. NUL cannot be
# stored by PostgreSQL; the others break exports (XLSX refuses them) and mean nothing in a
# consultation. Text from any channel (forms, CSV imports) is refused when it holds one.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def control_character(text: str) -> str | None:
    """The first control character that text may not hold (see _CONTROL), or None."""
    found = _CONTROL.search(text)
    return found.group() if found else None


def display_width(text: str) -> int:
    """How many columns a text takes in a fixed-width grid (a spreadsheet's column widths):
    East Asian wide and full-width characters count two, combining marks none, others one."""
    width = 0
    for ch in text:
        if unicodedata.combining(ch):
            continue
        width += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return width
