"""What an e-mail notice says, as blocks that its plain-text and its HTML part are both made
from, in the reader's language (the bell and the chat say `messages.subject` only).

A notice about a consultation leads with what happened, names the consultation, says what
the reader must do (a requester is spoken to in the second person), quotes what was written
(a reply's text, its files with their links), and ends with the consultation's page. Text a
person wrote stays in blocks of its own (`QUOTE`, and the title in a `PARA`): the HTML part
escapes every block, and links only the desk's own addresses.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from flask_babel import get_locale
from flask_babel import gettext as _

from . import messages
from .domain.mail_ids import tag
from .domain.tz import TOKYO

LEAD, PARA, QUOTE, FILES, LINK, FOOT = "lead", "p", "quote", "files", "link", "foot"
# Kinds the requester reads: they are told how to answer by replying to the e-mail.
REQUESTER_KINDS = ("reply", "status", "merged", "receipt")
RULE = "-" * 40


@dataclass(frozen=True)
class Block:
    """One piece of a notice: `style` is one of LEAD, PARA, QUOTE, FILES, LINK, FOOT; a link
    has its `url`, a list of files its (name, url) pairs in `files`."""

    style: str
    text: str = ""
    url: str = ""
    files: tuple[tuple[str, str], ...] = ()


def _english() -> bool:
    return str(get_locale()) == "en"


def when(iso: str) -> str:
    """An instant as the reader reads it, in Tokyo time: 2026年11月26日 10:00 / 2026-11-26 10:00."""
    t = datetime.fromisoformat(iso).astimezone(TOKYO)
    if _english():
        return f"{t:%Y-%m-%d %H:%M}"
    return f"{t.year:04d}年{t.month}月{t.day}日 {t.hour:02d}:{t.minute:02d}"


def what_to_do(status: str | None, by_mail: bool) -> list[str]:
    """What the requester is to do now that their consultation has this status, said to them."""
    if status == "waiting":
        return [
            _("The SWAT team is waiting for your answer."),
            _("Answer on the consultation's page or reply to this e-mail.")
            if by_mail
            else _("Answer on the consultation's page."),
        ]
    if status == "resolved":
        return [
            _("The SWAT team has resolved your consultation."),
            _("If anything is left open, reply to this e-mail or reopen it on the consultation's page.")
            if by_mail
            else _("If anything is left open, reopen it on the consultation's page."),
        ]
    if status == "closed":
        return [_("Your consultation is closed. If you need to, you can reopen it on the consultation's page.")]
    if status == "in_progress":
        return [_("The SWAT team is working on your consultation.")]
    if status == "assigned":
        return [_("A SWAT member has taken on your consultation.")]
    if status == "new":
        return [_("Your consultation waits for a SWAT member.")]
    return []


def file_links(p: dict, base: str) -> tuple[tuple[str, str], ...]:
    """The files of a post with their download addresses (the ticket page's own links)."""
    names, ids = p.get("files") or [], p.get("file_ids") or []
    page = f"{base}/tickets/{p.get('number', '')}"
    # A notice written before files had ids in it links each file to the consultation's page.
    return tuple((name, f"{page}/files/{ids[i]}" if i < len(ids) else page) for i, name in enumerate(names))


def ticket_notice(kind: str, params: dict | str, *, base: str, by_mail: bool) -> list[Block]:
    """The blocks of a notice about one consultation; `by_mail`: a reply to the e-mail reaches
    the consultation (the desk has an inbound address)."""
    p = json.loads(params) if isinstance(params, str) else params
    number = p.get("number", "")
    url = f"{base}/tickets/{number}"
    out = [Block(LEAD, messages.subject(kind, p)), Block(PARA, _("Consultation: %(title)s", title=p.get("title", "")))]
    told_how = False
    if kind == "reply":
        if p.get("new"):
            out.append(Block(PARA, "\n".join(what_to_do(p["new"], by_mail))))
            told_how = p["new"] in ("waiting", "resolved")
        out += _post(p, base, _("Reply from %(name)s", name=p.get("author", "")))
    elif kind == "requester":
        out += _post(p, base, _("From %(name)s", name=p.get("author", ""))) if p.get("reply") else []
    elif kind == "status":
        out.append(Block(PARA, "\n".join(what_to_do(p.get("new"), by_mail))))
        told_how = p.get("new") in ("waiting", "resolved")
    elif kind == "mention" and p.get("excerpt"):
        out.append(Block(QUOTE, p["excerpt"]))
    elif kind == "merged":
        out.append(Block(PARA, _("Merged: %(title)s", title=p.get("duplicate_title", ""))))
        out.append(
            Block(
                PARA,
                _(
                    "The conversation goes on in %(number)s, with everything that was written in both.",
                    number=number,
                ),
            )
        )
    elif kind == "receipt":
        out += _receipt(p)
    out.append(Block(LINK, _("Open the consultation's page"), url=url))
    if by_mail and kind in REQUESTER_KINDS and not told_how:
        out.append(
            Block(
                PARA,
                _("To add to the consultation, reply to this e-mail (keep %(tag)s in the subject).", tag=tag(number)),
            )
        )
    return out + footer(base)


def _post(p: dict, base: str, who: str) -> list[Block]:
    """Who wrote, what they wrote, and their files."""
    out = [Block(PARA, who)]
    if p.get("text"):
        out.append(Block(QUOTE, p["text"]))
    links = file_links(p, base)
    if links:
        out.append(Block(FILES, _("Files (sign in to open them):"), files=links))
    return out


def _receipt(p: dict) -> list[Block]:
    lines = [
        _("Your consultation's number is %(number)s.", number=p.get("number", "")),
        _("A SWAT member will take it on and answer you on the consultation's page."),
    ]
    if p.get("first_due"):
        lines.append(_("The first response is due by %(when)s.", when=when(p["first_due"])))
    return [Block(PARA, "\n".join(lines))]


def footer(base: str) -> list[Block]:
    return [
        Block(
            FOOT,
            _("Corona SWAT Desk (this message was sent automatically)")
            + "\n"
            + _("Choose what you are told by e-mail: %(url)s", url=f"{base}/settings/notifications"),
        )
    ]


def text_notice(text: str) -> list[Block]:
    """A notice written as plain text (the digest, the weekly summary): one block a paragraph."""
    return [Block(PARA, para) for para in text.split("\n\n") if para.strip()]


def as_text(blocks: list[Block]) -> str:
    """The plain-text part: blocks apart by a blank line, quotes between rules."""
    parts = []
    for b in blocks:
        if b.style == QUOTE:
            parts.append(f"{RULE}\n{b.text}\n{RULE}")
        elif b.style == FILES:
            parts.append("\n".join([b.text] + [f"・{name}\n  {url}" for name, url in b.files]))
        elif b.style == LINK:
            parts.append(f"{b.text}:\n{b.url}" if _english() else f"{b.text}：\n{b.url}")
        else:
            parts.append(b.text)
    return "\n\n".join(parts) + "\n"
