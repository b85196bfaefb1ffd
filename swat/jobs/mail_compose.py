"""An outbox message as an e-mail: its headers, a plain-text part and an HTML part.

Every notice about a consultation threads with the others of that consultation, in Outlook's
conversation view and in Gmail alike: its Message-ID names the consultation and the outbox
row (`mail_ids.notice_id`), In-Reply-To names the consultation's first message (the mail it
was filed by, or else the consultation's own root id) and References both. Its subject is
the same for every notice of the consultation, "[SWAT] [2026-00042] <title>": Gmail starts a
new conversation when the subject changes, and Outlook groups by the subject's topic; what
happened is the first line of the text, which both show beside the subject. A reply keeps
the tag once ("Re: [SWAT] [2026-00042] …"), and the desk finds its consultation by it.

Notices say Auto-Submitted and X-Auto-Response-Suppress so that out-of-office replies do not
answer them (a loop with the inbound address), and Reply-To the desk's inbound address.

With `mail_iso_2022_jp`, the headers and the text part are ISO-2022-JP (7bit) for old
gateways. A character it cannot carry (outside JIS X 0208: 髙, ①, emoji, half-width kana) is
given its usual JIS form where Windows and JIS disagree (～ to 〜), else its compatibility
form when that fits (① to (1), ㈱ to (株), ｱ to ア), else the geta mark 〓. The HTML part is
UTF-8 always and keeps every character as written. The message is built with the email
package's compat32 classes: only they write headers in a charset other than UTF-8.
"""

from __future__ import annotations

import json
import re
import unicodedata
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formataddr, formatdate
from functools import lru_cache

from flask_babel import get_locale
from markupsafe import Markup, escape

from .. import messages, notices
from ..domain import mail_ids
from ..services.passwords import reset_token

GETA = "〓"
ISO_2022_JP = "iso-2022-jp"
# Where Windows (CP932) and JIS X 0208 map the same character to different code points.
_JIS_FORM = str.maketrans(
    {
        "\uff5e": "\u301c",  # ～ -> 〜
        "\uff0d": "\u2212",  # － -> −
        "\u2225": "\u2016",  # ∥ -> ‖
        "\u2014": "\u2015",  # — -> ―
        "\uffe0": "\u00a2",  # ￠ -> ¢
        "\uffe1": "\u00a3",  # ￡ -> £
        "\uffe2": "\u00ac",  # ￢ -> ¬
    }
)
# A 7bit line is at most 998 octets; a line of the text part is cut before it gets that long.
_MAX_LINE_OCTETS = 900


@lru_cache(maxsize=4096)
def _in_jis(ch: str) -> bool:
    try:
        ch.encode(ISO_2022_JP)
    except UnicodeEncodeError:
        return False
    return True


def _jis_char(ch: str) -> str:
    if _in_jis(ch):
        return ch
    if "\u2460" <= ch <= "\u2473":  # ① … ⑳
        return f"({ord(ch) - 0x245F})"
    alt = unicodedata.normalize("NFKC", ch)
    return alt if alt != ch and all(_in_jis(c) for c in alt) else GETA


def jis_safe(text: str) -> str:
    """The text with every character ISO-2022-JP cannot carry replaced (see the module's doc)."""
    text = text.translate(_JIS_FORM)
    if all(_in_jis(c) for c in text):
        return text
    return "".join(_jis_char(c) for c in text)


def _cut_long_lines(text: str) -> str:
    """Lines of an ISO-2022-JP text short enough for 7bit (a long line goes on on the next)."""
    out = []
    for line in text.split("\n"):
        start, octets, wide = 0, 0, False
        for i, ch in enumerate(line):
            is_wide = not ch.isascii()
            cost = (2 if is_wide else 1) + (3 if is_wide != wide else 0)  # a change of set: ESC x x
            if octets + cost + 3 > _MAX_LINE_OCTETS:  # and 3 to return to ASCII at the end
                out.append(line[start:i])
                start, octets, wide = i, 0, False
                cost = (2 if is_wide else 1) + (3 if is_wide else 0)
            octets, wide = octets + cost, is_wide
        out.append(line[start:])
    return "\n".join(out)


# Notices for the desk alone (a mention quotes an internal note): no Reply-To the inbound
# address, and an id that marks a reply to them, which the intake holds instead of posting.
DESK_ONLY = (
    "mention",
    "assigned",
    "triage",
    "escalation",
    messages.DIGEST,
    messages.WEEKLY_SUMMARY,
    messages.PASSWORD_RESET,  # a reply to it is nobody's consultation
)


def subject(kind: str, params: dict) -> str:
    """One subject for every notice of a consultation; the digest and summary say their own."""
    number = params.get("number")
    if number and kind not in (messages.DIGEST, messages.WEEKLY_SUMMARY):
        mark = mail_ids.DESK_ONLY_MARK if kind in DESK_ONLY else "[SWAT]"
        return f"{mark} {mail_ids.tag(number)} {params.get('title', '')}".rstrip()
    return "[SWAT] " + messages.subject(kind, params)


def _link(base: str, kind: str, params: dict) -> str:
    """Where a digest sends its reader: the notifications page, where each is acknowledged."""
    if kind == messages.DIGEST:
        return f"{base}/notifications"
    return f"{base}/tickets/{params.get('number', '')}"


def blocks(kind: str, params: dict, base: str, by_mail: bool) -> list[notices.Block]:
    if kind in (messages.DIGEST, messages.WEEKLY_SUMMARY) or not params.get("number"):
        return notices.text_notice(messages.body(kind, params, _link(base, kind, params), base))
    return notices.ticket_notice(kind, params, base=base, by_mail=by_mail)


_STYLE = {
    notices.LEAD: "margin:0 0 16px;font-size:17px;font-weight:bold",
    notices.PARA: "margin:0 0 16px",
    notices.QUOTE: "margin:0 0 16px;padding:8px 12px;border-left:4px solid #1d5fa7;background:#f3f6fa",
    notices.FOOT: "margin:24px 0 0;font-size:13px;color:#555555",
}
_A = 'style="color:#1d5fa7"'


def _lines(text: str, base: str | None) -> Markup:
    """Escaped text, its line breaks kept; with `base`, the desk's own addresses in it linked."""
    html = str(escape(text))
    if base:
        pattern = re.escape(str(escape(base))) + r"(?:/[^\s<>\"']*)?"
        html = re.sub(pattern, lambda m: f'<a href="{m.group(0)}" {_A}>{m.group(0)}</a>', html)
    return Markup(html.replace("\n", "<br>\n"))


def as_html(blocks: list[notices.Block], base: str, title: str) -> str:
    """The HTML part: escaped, inline styles only, no images; it links to the desk only."""
    body = []
    for b in blocks:
        if b.style == notices.QUOTE:
            # What a person wrote: escaped, never linked.
            body.append(Markup('<div style="{}">{}</div>').format(_STYLE[b.style], _lines(b.text, None)))
        elif b.style == notices.FILES:
            items = Markup("").join(
                Markup('<li><a href="{}" {}>{}</a></li>').format(url, Markup(_A), name) for name, url in b.files
            )
            body.append(
                Markup('<p style="margin:0 0 4px">{}</p><ul style="margin:0 0 16px">{}</ul>').format(b.text, items)
            )
        elif b.style == notices.LINK:
            body.append(
                Markup('<p style="margin:0 0 16px"><a href="{}" {}>{}</a></p>').format(b.url, Markup(_A), b.text)
            )
        else:
            body.append(Markup('<p style="{}">{}</p>').format(_STYLE[b.style], _lines(b.text, base)))
    return str(
        Markup(
            '<!DOCTYPE html>\n<html lang="{}"><head><meta charset="utf-8"><title>{}</title></head>\n'
            '<body style="margin:0;padding:16px;background:#ffffff;color:#1a1a1a;'
            'font-family:sans-serif;font-size:15px;line-height:1.6">\n'
            '<div style="max-width:640px">\n{}\n</div>\n</body></html>\n'
        ).format(str(get_locale() or "ja"), title, Markup("\n").join(body))
    )


def _header(name: str, value: str, charset: str) -> str:
    """A header's value, in encoded words of `charset` when it is not ASCII."""
    return value if value.isascii() else Header(value, charset, header_name=name).encode()


def compose(
    *, outbox_id: int, kind: str, params_json: str, recipient: str, thread: str | None, settings: dict
) -> Message:
    """The e-mail of one outbox row (call it in the reader's locale); `thread`: the Message-ID
    of the mail its consultation was filed by, if it was."""
    params = json.loads(params_json)
    base = settings["base_url"].rstrip("/")
    if kind == messages.PASSWORD_RESET:
        # The link exists only here and in the mail (the outbox keeps the salt it comes from).
        params["link"] = f"{base}/password/reset/{reset_token(settings['secret_key'], params.get('salt', ''))}"
    inbound = settings["mail_inbound_address"]
    jis = bool(settings["mail_iso_2022_jp"])
    charset = ISO_2022_JP if jis else "utf-8"
    parts = blocks(kind, params, base, by_mail=bool(inbound))
    title = subject(kind, params)
    text = notices.as_text(parts)
    if jis:
        text = _cut_long_lines(jis_safe(text))
    email = MIMEMultipart("alternative")
    email["Subject"] = _header("Subject", jis_safe(title) if jis else title, charset)
    name = settings["mail_from_name"]
    email["From"] = (
        formataddr((jis_safe(name) if jis else name, settings["mail_from"]), charset) if name else settings["mail_from"]
    )
    email["To"] = recipient
    internal = kind in DESK_ONLY
    if inbound and not internal:
        email["Reply-To"] = inbound
    email["Date"] = formatdate(localtime=False)
    domain = mail_ids.domain_of(settings["mail_from"])
    number = params.get("number") if kind not in (messages.DIGEST, messages.WEEKLY_SUMMARY) else None
    email["Message-ID"] = mail_ids.notice_id(number, outbox_id, domain, internal=internal)
    if number:
        root = mail_ids.root_id(number, domain)
        email["In-Reply-To"] = thread or root
        email["References"] = " ".join(x for x in (thread, root) if x)
    email["Auto-Submitted"] = "auto-generated"
    email["X-Auto-Response-Suppress"] = "All"
    email.attach(MIMEText(text, "plain", charset))
    email.attach(MIMEText(as_html(parts, base, title), "html", "utf-8"))
    return email
