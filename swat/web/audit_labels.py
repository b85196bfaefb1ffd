"""The audit trail in words: each kind of event, each field it keeps, and their values."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..domain import audit as kinds
from .i18n import ROLE_LABELS

KIND_LABELS = {
    kinds.ACCOUNT_CREATED: _l("Account created"),
    kinds.PROFILE_CHANGED: _l("Name or e-mail changed"),
    kinds.ROLE_CHANGED: _l("Role changed"),
    kinds.DEPARTMENT_CHANGED: _l("Department changed"),
    kinds.SKILLS_CHANGED: _l("Skills (themes) changed"),
    kinds.ACTIVATED: _l("Account activated"),
    kinds.DEACTIVATED: _l("Account deactivated"),
    kinds.PASSWORD_SET: _l("Password changed by its holder"),
    kinds.PASSWORD_RESET: _l("Password reset by someone else"),
    kinds.PASSWORD_RESET_MAILED: _l("Password-reset link sent by e-mail"),
    kinds.LOCK_LIFTED: _l("Sign-in lock lifted"),
    kinds.TWO_FACTOR_ENROLLED: _l("Two-factor sign-in set up"),
    kinds.TWO_FACTOR_RESET: _l("Two-factor sign-in reset"),
    kinds.SIGNED_IN: _l("Signed in"),
    kinds.SIGN_IN_FAILED: _l("Sign-in failed"),
    kinds.REFERENCE_LOADED: _l("Reference data loaded"),
    kinds.SETTING_CHANGED: _l("Setting changed"),
    kinds.OUTBOX_RETRIED: _l("Undelivered message sent again"),
    kinds.OUTBOX_DISCARDED: _l("Undelivered message discarded"),
    kinds.PRUNED: _l("Old audit events deleted"),
}

FIELD_LABELS = {
    "username": _l("User name"),
    "display_name": _l("Display name"),
    "email": _l("E-mail"),
    "role": _l("Role"),
    "department": _l("Department"),
    "themes": _l("Themes (skills)"),
    "active": _l("Active"),
    "reason": _l("Reason"),
    "digest": _l("Files (SHA-256)"),
    "created": _l("Created"),
    "updated": _l("Updated"),
    "deactivated": _l("Deactivated"),
    "deleted": _l("Deleted"),
    "routing_changed": _l("Routing rules changed"),
    "sla_changed": _l("SLA targets changed"),
    "older_than": _l("Older than"),
    "retention_days": _l("Retention (days)"),
    "message": _l("Message number"),
    "count": _l("Messages"),
    "channel": _l("Channel"),
    "recipient": _l("Recipient"),
    "kind": _l("Kind"),
    "attempts": _l("Attempts"),
    "last_error": _l("Last error"),
    "state": _l("State"),
}

STATE_LABELS = {
    "queued": _l("queued to be sent again"),
    "discarded": _l("discarded"),
}

FILTER_LABELS = {
    "user": _l("User"),
    "actor": _l("Actor"),
    "kind": _l("Kind"),
    "from": _l("First day"),
    "to": _l("Last day"),
}

REASON_LABELS = {
    "password": _l("wrong password"),
    "inactive": _l("deactivated account"),
    "unknown_user": _l("no such user name"),
    "throttled": _l("too many failed attempts"),
    "second_factor": _l("wrong one-time code"),
    "recovery_code": _l("with a recovery code"),
    "recovery_codes_renewed": _l("new recovery codes"),
    "own_choice": _l("turned off by the account's holder"),
    "reset_link": _l("with a password-reset link sent by e-mail"),
}


def value_text(key: str, value: Any, names: dict[str, dict[str, str]]) -> str:
    """One value of a field as a reader would say it (`names`: ids to names, per field)."""
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if key == "role":
        return str(ROLE_LABELS.get(value, value))
    if key == "reason":
        return str(REASON_LABELS.get(value, value))
    if key == "state":
        return str(STATE_LABELS.get(value, value))
    if key == "digest":
        return str(value)[:12]
    if isinstance(value, list):
        known = names.get(key, {})
        return "、".join(known.get(str(v), str(v)) for v in value)
    if isinstance(value, dict):
        counts = [f"{k} {v}" for k, v in value.items() if v]
        return ", ".join(counts) or "—"
    if key in names:
        return names[key].get(str(value), str(value))
    return str(value)
