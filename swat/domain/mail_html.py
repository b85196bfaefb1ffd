"""The text a person reads in an HTML mail part (stdlib html.parser, no new dependency).

Tags go, entities are decoded, whitespace collapses as a browser would collapse it (not in
<pre>), <br> and block elements (<p>, <div>, <tr>, <li>, headings...) end lines, <style>,
<script>, <head> and comments are dropped, and a <blockquote> is quoted with "> " so the
reply trimming sees it as quoted history.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

_BLOCK = {
    "address", "article", "aside", "blockquote", "center", "dd", "div", "dl", "dt", "fieldset",
    "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li",
    "main", "nav", "ol", "p", "pre", "section", "table", "tbody", "thead", "tfoot", "tr", "ul",
}  # fmt: skip
_DROPPED = {"style", "script", "head", "title", "template", "noscript", "xml"}
_CELL = {"td", "th"}
_WHITESPACE = re.compile(r"[ \t\r\n\f]+")
_SPACES = re.compile(r" {2,}")


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.line: list[str] = []
        self.blank = False  # the line so far holds a &nbsp;: an intended empty line
        self.dropped = 0
        self.pre = 0
        self.quote = 0

    def newline(self, force: bool = False) -> None:
        text = "".join(self.line)
        if not self.pre:
            text = _SPACES.sub(" ", text).strip(" ")
        if text or force or self.blank:
            self.lines.append("> " * self.quote + text if self.quote else text)
        self.line = []
        self.blank = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _DROPPED:
            self.dropped += 1
        elif self.dropped:
            return
        elif tag == "br":
            self.newline(force=True)
        elif tag in _BLOCK:
            self.newline()
            self.pre += tag == "pre"
            self.quote += tag == "blockquote"
        elif tag in _CELL and self.line:
            self.line.append(" ")
        elif tag == "img":
            alt = dict(attrs).get("alt")
            if alt:
                self.handle_data(f"[{alt}]")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _DROPPED:
            self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag in _DROPPED:
            self.dropped = max(0, self.dropped - 1)
        elif tag in _BLOCK and not self.dropped:
            self.newline()
            if tag == "pre":
                self.pre = max(0, self.pre - 1)
            if tag == "blockquote":
                self.quote = max(0, self.quote - 1)

    def handle_data(self, data: str) -> None:
        if self.dropped:
            return
        if "\xa0" in data:
            self.blank = True
            data = data.replace("\xa0", " ")
        if not self.pre:
            self.line.append(_WHITESPACE.sub(" ", data))
            return
        parts = data.replace("\r\n", "\n").split("\n")
        for i, part in enumerate(parts):
            if i:
                self.newline(force=True)
            self.line.append(part)


def html_to_text(html: str) -> str:
    """The readable text of an HTML document: lines, at most one blank line in a row."""
    parser = _Text()
    try:
        parser.feed(html)
        parser.close()
    except (AssertionError, ValueError):  # html.parser is lenient; this is a last resort
        pass
    parser.newline()
    out: list[str] = []
    for line in parser.lines:
        line = line.rstrip()
        if line == "" and (not out or out[-1] == ""):
            continue
        out.append(line)
    return "\n".join(out).strip("\n")
