"""Mail written by machines: bounces (and whom they bounced for), auto-replies, lists; and
what the receiving servers said about SPF, DKIM and DMARC (Authentication-Results).

`automatic` is one of these codes, checked in this order (the first that fits wins):

- "bounce": a delivery status notification (multipart/report; report-type=delivery-status),
  or mail from MAILER-DAEMON/postmaster, or a bounce subject ("Undelivered Mail Returned to
  Sender", "Undeliverable:", "配信不能:", "failure notice", ...);
- "receipt": a read receipt (multipart/report; report-type=disposition-notification);
- "out-of-office": an auto-reply (Auto-Submitted: auto-replied, X-Autoreply, X-Autorespond,
  Precedence: auto_reply; or a subject like "自動応答:", "不在:", "Automatic reply:",
  "Out of Office:", "Abwesend:" together with any of the header signals below);
- "auto-submitted": any other Auto-Submitted value than "no";
- "precedence": Precedence: bulk or junk;
- "list": Precedence: list, List-Id or List-Unsubscribe;
- "suppress": X-Auto-Response-Suppress (what Exchange puts on its machine-written mail);
- None: a person's mail.

A subject alone is no signal: people write "自動応答 チャットボット導入の相談". A mail whose
only sign is an auto-reply subject in its colon form ("自動応答:", "Automatic reply:", ...,
or "【自動返信】") is None here and `looks_automatic` (the intake holds it for a person).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import Message

from swat.domain.mail_header import decode_header, unfold

BOUNCE = "bounce"
RECEIPT = "receipt"
OUT_OF_OFFICE = "out-of-office"
AUTO_SUBMITTED = "auto-submitted"
PRECEDENCE = "precedence"
LIST = "list"
SUPPRESS = "suppress"
CODES = (BOUNCE, RECEIPT, OUT_OF_OFFICE, AUTO_SUBMITTED, PRECEDENCE, LIST, SUPPRESS)

_DAEMONS = {"mailer-daemon", "postmaster", "mail-daemon", "maildaemon", "mailerdaemon"}
_BOUNCE_SUBJECT = re.compile(
    r"^\s*(?:undelivered mail returned to sender|undeliverable|undelivered mail|"
    r"delivery status notification \(failure\)|delivery failure|mail delivery failed|"
    r"returned mail|failure notice|配信不能|配送不能|配信エラー|送信エラー|"
    r"メール配信エラー|未配信)",
    re.IGNORECASE,
)
_OOF_SUBJECT = re.compile(
    r"^\s*(?:自動応答|自動返信|自動送信|不在(?:通知|連絡)?|休暇|automatic reply|auto[- ]?reply|autoreply|"
    r"auto[- ]?response|out of (?:the )?office|abwesend|abwesenheitsnotiz|réponse automatique|"
    r"respuesta automática|risposta automatica)\s*(?:[:：]|$|\s)",
    re.IGNORECASE,
)
# What a subject of an auto-reply looks like when no header says so: the colon form only.
_OOF_SUBJECT_STRICT = re.compile(
    r"^\s*(?:(?:自動応答|自動返信|自動送信|不在(?:通知|連絡)?|休暇|automatic reply|auto[- ]?reply|autoreply|"
    r"auto[- ]?response|out of (?:the )?office|abwesend|abwesenheitsnotiz|réponse automatique|"
    r"respuesta automática|risposta automatica)\s*[:：]|[【\[［]\s*(?:自動応答|自動返信|自動送信)\s*[】\]］])",
    re.IGNORECASE,
)


def _header(msg: Message, name: str) -> str:
    return decode_header(msg.get(name, "") or "").text


def automatic(msg: Message, sender: str, subject: str) -> str | None:
    """The code of why a machine wrote this mail, None for a person's mail."""
    content_type = msg.get_content_type()
    report = (msg.get_param("report-type") or "") if content_type == "multipart/report" else None
    report_type = str(report).lower() if isinstance(report, str) else ""
    local = sender.split("@", 1)[0]
    if report is not None and report_type != "disposition-notification" or local in _DAEMONS:
        return BOUNCE
    if _BOUNCE_SUBJECT.match(subject) and not sender:
        return BOUNCE
    if _BOUNCE_SUBJECT.match(subject) and (_header(msg, "Auto-Submitted") or report is not None):
        return BOUNCE
    if report_type == "disposition-notification":
        return RECEIPT
    auto = re.split(r"[\s;(]", _header(msg, "Auto-Submitted").lower() + " ", maxsplit=1)[0]
    precedence = _header(msg, "Precedence").lower().strip()
    if auto == "auto-replied" or precedence == "auto_reply" or msg.get("X-Autoreply") or msg.get("X-Autorespond"):
        return OUT_OF_OFFICE
    code = None
    if auto and auto != "no":
        code = AUTO_SUBMITTED
    elif precedence in ("bulk", "junk"):
        code = PRECEDENCE
    elif precedence == "list" or msg.get("List-Id") or msg.get("List-Unsubscribe"):
        code = LIST
    elif msg.get("X-Auto-Response-Suppress"):
        code = SUPPRESS
    # An auto-reply subject counts only with a header signal beside it.
    return OUT_OF_OFFICE if code and _OOF_SUBJECT.match(subject) else code


def looks_automatic(subject: str) -> bool:
    """Whether the subject has the form of an auto-reply's ("自動応答:", "不在：", "Automatic
    reply:", "Out of Office:", "AutoReply:", "【自動返信】", ...): for a mail `automatic` found
    no header signal in, a sign worth a person's look, never a reason to drop it."""
    return bool(_OOF_SUBJECT_STRICT.match(subject or ""))


_ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+")
_ORIGINAL_STARTS = re.compile(
    r"^\s*(?:-+\s*)?(?:below this line is a copy of the message|this is a copy of the message|"
    r"original message|元のメッセージ|以下(?:は|、)?(?:元の|送信された)?メッセージ|"
    r"the original message|--- ?the header of the original message|"
    r"received:|return-path:|message-id:|from:|to:|subject:|date:|content-type:)",
    re.IGNORECASE,
)


def bounced(msg: Message, report_parts: list[Message], text: str) -> list[str]:
    """The failed recipients a bounce names: from its delivery-status parts (Action: failed,
    Original-Recipient before Final-Recipient), else best effort from its text (the
    addresses above the returned copy of the message, but for its own From, To and Cc)."""
    found: dict[str, None] = {}
    for part in report_parts:
        for block in _status_blocks(part):
            action = block.get("action", "").lower()
            status = block.get("status", "")
            if action == "failed" or (not action and status.startswith("5")):
                recipient = block.get("original-recipient") or block.get("final-recipient") or ""
                address = recipient.split(";", 1)[-1].strip().strip("<>").lower()
                if _ADDRESS.fullmatch(address):
                    found.setdefault(address)
    if found or report_parts:
        return list(found)
    own = {a.lower() for name in ("From", "To", "Cc", "Reply-To") for a in _ADDRESS.findall(str(msg.get(name, "")))}
    for line in text.split("\n"):
        if _ORIGINAL_STARTS.match(line):
            break
        for address in _ADDRESS.findall(line):
            address = address.lower()
            if address not in own and address.split("@", 1)[0] not in _DAEMONS:
                found.setdefault(address)
    return list(found)


def _status_blocks(part: Message) -> list[dict[str, str]]:
    """The field blocks of a message/delivery-status part, each as lower-cased names."""
    payload = part.get_payload() if part.is_multipart() else None
    if isinstance(payload, list):
        return [
            {k.lower(): unfold(str(v)).strip() for k, v in block.items()}
            for block in payload
            if isinstance(block, Message)
        ]
    data = part.get_payload(decode=True)
    raw = data.decode("ascii", "replace") if isinstance(data, bytes) else ""
    blocks: list[dict[str, str]] = []
    for chunk in re.split(r"\r?\n\s*\r?\n", raw):
        fields: dict[str, str] = {}
        for line in re.split(r"\r?\n(?![ \t])", chunk.strip()):
            name, sep, value = line.partition(":")
            if sep:
                fields[name.strip().lower()] = " ".join(value.split())
        if fields:
            blocks.append(fields)
    return blocks


@dataclass(frozen=True)
class Authentication:
    """One Authentication-Results header (RFC 8601): who added it and what it found. Results
    are lower-cased words ("pass", "fail", "softfail", "none", ...), domains lower-cased; ""
    or () when the header does not say."""

    authserv_id: str  # "" when the header names none (Exchange Online writes none)
    spf: str = ""  # the first spf= result
    dkim: str = ""  # "pass" when any dkim= result passed, else the first
    dmarc: str = ""  # the first dmarc= result
    spf_domain: str = ""  # that spf result's smtp.mailfrom= domain, else its smtp.helo=
    dkim_domains: tuple[str, ...] = ()  # header.d= (else header.i='s domain) of each dkim=pass, each once
    header_from: str = ""  # header.from= (of the dmarc result, else of any result)


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_RESULT = re.compile(r"^\s*([A-Za-z][A-Za-z0-9_-]*)(?:/\d+)?\s*=\s*([A-Za-z]+)(.*)$", re.DOTALL)
_PROPERTY = re.compile(r"([A-Za-z][A-Za-z0-9_-]*\.[A-Za-z][A-Za-z0-9_.-]*)\s*=\s*(\"[^\"]*\"|[^ ;\"]+)")


def authentication(value: object) -> Authentication:
    """What one Authentication-Results value says. The receiving servers each prepend their
    own, so of a mail's headers the topmost is the one the last hop wrote: read the first one
    with the authserv-id of a server the desk trusts, never one a sender could have written."""
    raw = _strip_comments(unfold(str(value or "")))
    if not raw.isascii():
        raw = raw.encode("ascii", "replace").decode("ascii")
    parts = _split_outside_quotes(raw.replace("\t", " "))
    head = parts[0].split(" ")
    head = [h for h in head if h]
    authserv_id = ""
    if head and _RESULT.match(parts[0]) is None:
        # A control character in it: no server the desk could trust wrote this one.
        authserv_id = "" if _CONTROL.search(head[0]) else head[0].lower()[:200]
        parts = parts[1:]
    found: dict[str, list[tuple[str, dict[str, str]]]] = {"spf": [], "dkim": [], "dmarc": []}
    froms: list[tuple[bool, str]] = []  # (of a dmarc result, the header.from domain)
    for part in parts:
        m = _RESULT.match(part)
        if not m:
            continue
        props = {k.lower(): v.strip('"').strip().lower() for k, v in _PROPERTY.findall(m.group(3))}
        method = m.group(1).lower()
        if method in found:
            found[method].append((m.group(2).lower(), props))
        if domain := _domain(props.get("header.from", "")):
            froms.append((method == "dmarc", domain))
    header_from = next((d for dmarc, d in froms if dmarc), froms[0][1] if froms else "")
    spf, spf_props = found["spf"][0] if found["spf"] else ("", {})
    dkim_results = [r for r, _ in found["dkim"]]
    dkim = "pass" if "pass" in dkim_results else (dkim_results[0] if dkim_results else "")
    dkim_domains: dict[str, None] = {}
    for result, props in found["dkim"]:
        domain = _domain(props.get("header.d", "")) or _domain(props.get("header.i", ""))
        if result == "pass" and domain:
            dkim_domains.setdefault(domain)
    return Authentication(
        authserv_id=authserv_id,
        spf=spf,
        dkim=dkim,
        dmarc=found["dmarc"][0][0] if found["dmarc"] else "",
        spf_domain=_domain(spf_props.get("smtp.mailfrom", "")) or _domain(spf_props.get("smtp.helo", "")),
        dkim_domains=tuple(dkim_domains),
        header_from=header_from,
    )


def _domain(value: str) -> str:
    """The domain of an address or domain property value ("" for none or garbage, such as a
    value holding a control character)."""
    domain = value.strip().strip("<>").rsplit("@", 1)[-1].strip(".").lower()
    return domain[:253] if re.fullmatch(r"[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?", domain) and domain != "none" else ""


def _split_outside_quotes(value: str) -> list[str]:
    parts = [""]
    quoted = False
    for ch in value:
        if ch == '"':
            quoted = not quoted
        if ch == ";" and not quoted:
            parts.append("")
        else:
            parts[-1] += ch
    return parts


def _strip_comments(value: str) -> str:
    out: list[str] = []
    depth = 0
    quoted = False
    for ch in value:
        if ch == '"' and not depth:
            quoted = not quoted
        elif not quoted and ch == "(":
            depth += 1
            continue
        elif not quoted and ch == ")" and depth:
            depth -= 1
            continue
        if not depth:
            out.append(ch)
    return "".join(out)
