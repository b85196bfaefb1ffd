"""What a notification says, in the reader's language: the bell, e-mails and the chat webhook
use the same words."""

from __future__ import annotations

import json

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

STATUS = {
    "new": _l("New"), "assigned": _l("Assigned"), "in_progress": _l("In progress"),
    "waiting": _l("Waiting for requester"), "resolved": _l("Resolved"), "closed": _l("Closed"),
}
TARGET = {"first_response": _l("First response"), "resolution": _l("Resolution")}


def subject(kind: str, params: dict | str) -> str:
    p = json.loads(params) if isinstance(params, str) else params
    number = p.get("number", "")
    if kind == "reply":
        return _("%(number)s: the SWAT team replied", number=number)
    if kind == "status":
        return _("%(number)s is now: %(status)s", number=number, status=STATUS.get(p.get("new"), p.get("new")))
    if kind == "assigned":
        return _("%(number)s was assigned to you", number=number)
    if kind == "triage":
        return _("%(number)s waits for triage", number=number)
    if kind == "escalation":
        target = TARGET.get(p.get("target"), p.get("target"))
        level = p.get("level")
        if level == 1:
            text = _("%(number)s: %(target)s target nearly used up", number=number, target=target)
        elif level == 2:
            text = _("%(number)s: %(target)s target breached", number=number, target=target)
        else:
            text = _("%(number)s: %(target)s target exceeded twice over (escalated to the CIO)", number=number,
                     target=target)
        return _("Reminder: %(text)s", text=text) if p.get("again") else text
    return number


def body(kind: str, params: dict | str, url: str) -> str:
    p = json.loads(params) if isinstance(params, str) else params
    lines = [subject(kind, p), "", p.get("title", "")]
    if kind == "reply" and p.get("author"):
        lines.append(_("Reply from %(name)s", name=p["author"]))
    lines += ["", url, "", _("Corona SWAT Desk (this message was sent automatically)")]
    return "\n".join(lines)
