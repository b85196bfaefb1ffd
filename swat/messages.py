"""What a notification says, in the reader's language: the bell, e-mails and the chat webhook
use the same words."""

from __future__ import annotations

import json
from typing import Any

from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from .domain import reports as rdomain

STATUS = {
    "new": _l("New"),
    "assigned": _l("Assigned"),
    "in_progress": _l("In progress"),
    "waiting": _l("Waiting for requester"),
    "resolved": _l("Resolved"),
    "closed": _l("Closed"),
}
TARGET = {"first_response": _l("First response"), "resolution": _l("Resolution")}
WEEKLY_SUMMARY = "weekly_summary"
DIGEST = "escalation_digest"
# The answer to a mail the desk could not take in (services.mail_intake.REFUSAL_KIND).
MAIL_REFUSED = "mail_refused"
# A link to choose a new password (services.passwords); its mail alone holds the link.
PASSWORD_RESET = "password_reset"


def _label(labels: dict[str, Any], key: object) -> object:
    """The label for a stored key; a key it does not know is shown as it is."""
    return labels.get(key, key) if isinstance(key, str) else key


def subject(kind: str, params: dict | str) -> str:
    p = json.loads(params) if isinstance(params, str) else params
    if kind == WEEKLY_SUMMARY:
        return _weekly_subject(p)
    if kind == MAIL_REFUSED:
        return _("Your mail was not taken in: %(subject)s", subject=p.get("subject", ""))
    if kind == PASSWORD_RESET:
        return _("Choose a new password")
    if kind == DIGEST:
        n = p.get("count", 0)
        return ngettext("SLA alerts: %(num)d consultation", "SLA alerts: %(num)d consultations", n)
    number = p.get("number", "")
    if kind == "reply":
        if p.get("new"):
            return _(
                "%(number)s: the SWAT team replied (now: %(status)s)", number=number, status=_label(STATUS, p["new"])
            )
        return _("%(number)s: the SWAT team replied", number=number)
    if kind == "requester":
        return _requester_subject(number, p)
    if kind == "mention":
        return _("%(number)s: %(name)s mentioned you in an internal note", number=number, name=p.get("author", ""))
    if kind == "merged":
        return _("%(duplicate)s was merged into %(number)s", duplicate=p.get("duplicate", ""), number=number)
    if kind == "status":
        return _("%(number)s is now: %(status)s", number=number, status=_label(STATUS, p.get("new")))
    if kind == "assigned":
        return _("%(number)s was assigned to you", number=number)
    if kind == "receipt":
        return _("%(number)s: your consultation was received", number=number)
    if kind == "triage":
        return _("%(number)s waits for triage", number=number)
    if kind == "escalation":
        target = _label(TARGET, p.get("target"))
        level = p.get("level")
        if level == 1:
            text = _("%(number)s: %(target)s target nearly used up", number=number, target=target)
        elif level == 2:
            text = _("%(number)s: %(target)s target breached", number=number, target=target)
        else:
            text = _(
                "%(number)s: %(target)s target exceeded twice over (escalated to the CIO)", number=number, target=target
            )
        return _("Reminder: %(text)s", text=text) if p.get("again") else text
    return number


def body(kind: str, params: dict | str, url: str, base: str = "") -> str:
    """The message's text; `url` links its consultation (for a digest: where to acknowledge),
    `base` is the desk's address, from which a digest links each of its consultations."""
    p = json.loads(params) if isinstance(params, str) else params
    if kind == WEEKLY_SUMMARY:
        return _weekly_body(p)
    if kind == DIGEST:
        return _digest_body(p, url, base)
    if kind == MAIL_REFUSED:
        return _refusal_body(p, base)
    if kind == PASSWORD_RESET:
        return _reset_body(p, base)
    lines = [subject(kind, p), "", p.get("title", "")]
    if kind == "reply" and p.get("author"):
        lines.append(_("Reply from %(name)s", name=p["author"]))
    if kind == "requester" and p.get("author"):
        lines.append(_("From %(name)s", name=p["author"]))
    if kind == "mention" and p.get("excerpt"):
        lines += ["", p["excerpt"]]
    if kind == "merged":
        lines += [
            _("Merged: %(title)s", title=p.get("duplicate_title", "")),
            "",
            _(
                "The conversation goes on in %(number)s, with everything that was written in both.",
                number=p.get("number", ""),
            ),
        ]
    if p.get("files"):
        lines.append(_("Files: %(names)s", names="、".join(p["files"])))
    lines += ["", url, "", _("Corona SWAT Desk (this message was sent automatically)")]
    return "\n".join(lines)


def _minutes(m: int) -> str:
    h, rest = divmod(abs(int(m)), 60)
    if _english():
        return f"{h}h {rest:02d}m" if h else f"{rest}m"
    return f"{h}時間{rest:02d}分" if h else f"{rest}分"


def escalation_details(p: dict) -> str:
    """How late, who is assigned, which department: one line of an escalation."""
    used, target = p.get("used"), p.get("target_minutes")
    parts = []
    if used is not None and target is not None:
        if used >= target:
            parts.append(_("%(time)s over the target (business time)", time=_minutes(used - target)))
        else:
            parts.append(_("%(time)s left (business time)", time=_minutes(target - used)))
    parts.append(_("Assignee: %(name)s", name=p.get("assignee") or _("nobody")))
    department = p.get("department") or {}
    if department:
        name = department.get("en") if _english() and department.get("en") else department.get("ja", "")
        parts.append(_("Department: %(name)s", name=name))
    return " / ".join(str(x) for x in parts)


def _digest_body(p: dict, url: str, base: str) -> str:
    """Every escalation of one sweep: what, how late, who, where; then how to acknowledge."""
    lines = [subject(DIGEST, p), ""]
    for item in p.get("items", []):
        lines += [
            "・" + subject("escalation", item),
            "  " + item.get("title", ""),
            "  " + escalation_details(item),
            f"  {base.rstrip('/')}/tickets/{item.get('number', '')}",
        ]
    lines += [
        "",
        _("To acknowledge, press “%(button)s” beside each one on your notifications page:", button=_("Acknowledge")),
        url,
        "",
        _("Corona SWAT Desk (this message was sent automatically)"),
    ]
    return "\n".join(lines)


def _requester_subject(number: str, p: dict) -> str:
    """What the requester did: replied (with files, perhaps handing the ticket back), reopened, closed."""
    new = p.get("new")
    if p.get("reply"):
        if new:
            return _("%(number)s: the requester replied (now: %(status)s)", number=number, status=_label(STATUS, new))
        if p.get("files"):
            return _("%(number)s: the requester replied with files", number=number)
        return _("%(number)s: the requester replied", number=number)
    if new == "closed":
        return _("%(number)s: the requester closed it", number=number)
    return _("%(number)s: the requester reopened it (now: %(status)s)", number=number, status=_label(STATUS, new))


def _english() -> bool:
    return str(get_locale()) == "en"


def _weekly_subject(p: dict) -> str:
    period = rdomain.parse_period(p["period"])
    department = p.get("department")
    if department:
        scope = department.get("en" if _english() else "ja") or department.get("ja", "")
    else:
        scope = _("All departments")
    return _(
        "Weekly summary %(period)s: %(scope)s",
        period=period.label_en() if _english() else period.label_ja(),
        scope=scope,
    )


def _number(value, percent: bool = False) -> str:
    if value is None:
        return "—"
    return f"{value}%" if percent else str(value)


def _hours(value) -> str:
    """A time in business hours with its unit (one decimal, as the reports show it)."""
    return "—" if value is None else _("%(hours)s hours", hours=value)


def _weekly_body(p: dict) -> str:
    """The weekly summary: each figure of last week with the week before beside it, with
    its unit, and the open consultations as they stood at the week's end."""
    cur, prev = p["current"], p["previous"]

    def line(label, key, percent=False, hours=False):
        show = _hours if hours else (lambda v: _number(v, percent))
        return _(
            "%(label)s: %(current)s (previous week: %(previous)s)",
            label=label,
            current=show(cur.get(key)),
            previous=show(prev.get(key)),
        )

    lines = [
        _weekly_subject(p),
        "",
        line(_("Opened"), "opened"),
        line(_("Resolved"), "resolved"),
        line(_("Backlog at the week's end"), "backlog"),
        line(_("First-response compliance"), "fr_compliance", percent=True),
        line(_("Resolution compliance"), "res_compliance", percent=True),
        line(_("Resolution, median (business hours)"), "res_median_h", hours=True),
        "",
        _("Open consultations at the week's end, by age (business days)"),
    ]
    for label, _lo, _hi in rdomain.AGE_BUCKETS:
        lines.append(
            _(
                "%(label)s: %(current)s (previous week: %(previous)s)",
                label=label,
                current=cur["ages"].get(label, 0),
                previous=prev["ages"].get(label, 0),
            )
        )
    lines += [
        "",
        _("The full report:"),
        p.get("link", ""),
        "",
        _("You can turn this summary off in your notification settings: %(url)s", url=p.get("settings", "")),
        "",
        _("Corona SWAT Desk (this message was sent automatically)"),
    ]
    return "\n".join(lines)


def _megabytes(n: object) -> str:
    return f"{int(n) / (1024 * 1024):g} MB" if isinstance(n, int | str) and str(n).isdigit() else str(n)


def _refusal_body(p: dict, base: str) -> str:
    """Why a mail to the desk was refused, and what to do instead; nothing of it was filed."""
    reason = p.get("reason")
    if reason == "too_large":
        why = _("Your mail is larger than the desk takes in (%(limit)s).", limit=_megabytes(p.get("max", "")))
    elif reason == "too_many_files":
        why = _("Your mail carries more files than the desk takes in at once (at most %(max)s).", max=p.get("max", ""))
    elif reason == "file_too_large":
        why = _(
            "“%(name)s” is larger than the desk takes in (%(limit)s).",
            name=p.get("name", ""),
            limit=_megabytes(p.get("max", "")),
        )
    elif p.get("message"):
        why = _(p["message"], **(p.get("values") or {}))
    else:
        why = _("The desk could not read your mail.")
    return "\n".join(
        [
            why,
            _("Nothing of it was filed. Send it again within the limits, or use the desk's page:"),
            f"{base}/consultations/new",
            "",
            _("Subject of your mail: %(subject)s", subject=p.get("subject", "")),
            "",
            _("Corona SWAT Desk (this message was sent automatically)"),
        ]
    )


def _reset_body(p: dict, base: str) -> str:
    """The password-reset mail: the link (put in by the mail's composer), how long it works."""
    minutes = int(p.get("minutes") or 0)
    return "\n".join(
        [
            _("%(name)s,", name=p.get("name", "")),
            "",
            _(
                "A new password was asked for the account %(username)s on the Corona SWAT Desk.",
                username=p.get("username", ""),
            ),
            ngettext(
                "Open this link within %(num)d minute to choose it. The link works once.",
                "Open this link within %(num)d minutes to choose it. The link works once.",
                minutes,
            ),
            p.get("link", ""),
            "",
            _("If you did not ask for it, ignore this mail: your password stays as it is."),
            f"{base}/login",
            "",
            _("Corona SWAT Desk (this message was sent automatically)"),
        ]
    )
