"""Mail written by machines: bounces (and whom they bounced for), auto-replies, lists; and
what the receiving servers said about SPF and DKIM (Authentication-Results).

`automatic` is one of these codes, checked in this order (the first that fits wins):

- "bounce": a delivery status notification (multipart/report; report-type=delivery-status),
  or mail from MAILER-DAEMON/postmaster, or a bounce subject ("Undelivered Mail Returned to
  Sender", "Undeliverable:", "配信不能:", "failure notice", ...);
- "receipt": a read receipt (multipart/report; report-type=disposition-notification);
- "out-of-office": an auto-reply (Auto-Submitted: auto-replied, X-Autoreply, X-Autorespond,
  Precedence: auto_reply, or a subject like "自動応答:", "不在:", "Automatic reply:",
  "Out of Office:", "Abwesend:");
- "auto-submitted": any other Auto-Submitted value than "no";
- "precedence": Precedence: bulk or junk;
- "list": Precedence: list, List-Id or List-Unsubscribe;
- "suppress": X-Auto-Response-Suppress (what Exchange puts on its machine-written mail);
- None: a person's mail.
"""

from __future__ import annotations

import re
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
    if (
        auto == "auto-replied"
        or precedence == "auto_reply"
        or msg.get("X-Autoreply")
        or msg.get("X-Autorespond")
        or _OOF_SUBJECT.match(subject)
    ):
        return OUT_OF_OFFICE
    if auto and auto != "no":
        return AUTO_SUBMITTED
    if precedence in ("bulk", "junk"):
        return PRECEDENCE
    if precedence == "list" or msg.get("List-Id") or msg.get("List-Unsubscribe"):
        return LIST
    if msg.get("X-Auto-Response-Suppress"):
        return SUPPRESS
    return None


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


def authentication(value: object) -> tuple[str, str, str]:
    """(authserv-id, spf, dkim) of one Authentication-Results value; each result the word
    lower-cased, "" when the header does not say. Several DKIM results: "pass" when any
    signature passed, else the first."""
    raw = _strip_comments(unfold(str(value or "")))
    if not raw.isascii():
        raw = raw.encode("ascii", "replace").decode("ascii")
    parts = raw.split(";")
    head = parts[0].split()
    authserv_id = head[0].lower() if head else ""
    results: dict[str, list[str]] = {"spf": [], "dkim": []}
    for part in parts[1:]:
        m = re.match(r"\s*(spf|dkim)\s*=\s*([A-Za-z]+)", part, re.IGNORECASE)
        if m:
            results[m.group(1).lower()].append(m.group(2).lower())
    spf = results["spf"][0] if results["spf"] else ""
    dkim = "pass" if "pass" in results["dkim"] else (results["dkim"][0] if results["dkim"] else "")
    return authserv_id[:200], spf, dkim


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
