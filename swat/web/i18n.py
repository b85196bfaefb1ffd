"""Locale choice and the labels of the product's vocabulary, in one place."""

from __future__ import annotations

from flask import current_app, session
from flask_babel import lazy_gettext as _l

LOCALES = {"ja": "日本語", "en": "English"}

STATUS_LABELS = {
    "new": _l("New"),
    "assigned": _l("Assigned"),
    "in_progress": _l("In progress"),
    "waiting": _l("Waiting for requester"),
    "resolved": _l("Resolved"),
    "closed": _l("Closed"),
}

PRIORITY_LABELS = {
    "urgent": _l("Urgent"),
    "high": _l("High"),
    "normal": _l("Normal"),
    "low": _l("Low"),
}

ROLE_LABELS = {
    "staff": _l("Department staff"),
    "agent": _l("SWAT member"),
    "lead": _l("SWAT team lead"),
    "manager": _l("Manager"),
    "admin": _l("Administrator"),
}

EVENT_LABELS = {
    "created": _l("Filed the consultation"),
    "claimed": _l("Took the consultation"),
    "assigned": _l("Changed the assignee"),
    "status": _l("Changed the status"),
    "replied": _l("Replied"),
    "requester_replied": _l("Requester replied"),
    "note_added": _l("Added an internal note"),
    "attachment_added": _l("Added a file"),
    "routed": _l("Proposed routing"),
    "triage": _l("Sent to triage"),
    "triaged": _l("Routed from triage"),
    "theme": _l("Changed the theme"),
    "initiatives": _l("Changed the related initiatives"),
    "priority": _l("Changed the urgency"),
}

SLA_TARGET_LABELS = {
    "first_response": _l("First response"),
    "resolution": _l("Resolution"),
}

SLA_STATE_LABELS = {
    "ok": _l("On time"),
    "at_risk": _l("At risk"),
    "breached": _l("Overdue"),
    "paused": _l("Paused (waiting for requester)"),
    "met": _l("Met"),
    "missed": _l("Missed"),
    "void": _l("Not applicable (ended without a reply)"),
}

CATEGORY_LABELS = {
    1: _l("Services with advanced technology"),
    2: _l("Work improvement with advanced technology"),
    3: _l("Foundations of the smart city"),
}


def select_locale() -> str:
    """The signed-in user's choice, else the browser session's, else the default (ja)."""
    from .session import signed_in_or_out

    user = signed_in_or_out()
    if user and getattr(user, "is_authenticated", False) and user.locale in LOCALES:
        return user.locale
    chosen = session.get("locale")
    if chosen in LOCALES:
        return chosen
    return current_app.config["SWAT"]["default_locale"]


def localized(obj, field: str = "name") -> str:
    """A reference item's name in the current language (English falls back to Japanese)."""
    from flask_babel import get_locale

    if obj is None:
        return ""
    if str(get_locale()) == "en":
        value = getattr(obj, f"{field}_en", "")
        if value:
            return value
    return getattr(obj, field)


NOTIFY_KIND_LABELS = {
    "reply": _l("Replies to my consultations"),
    "status": _l("Status changes of my consultations"),
    "assigned": _l("Consultations assigned to me"),
    "triage": _l("New consultations waiting for triage"),
    "escalation": _l("SLA warnings and escalations"),
}
