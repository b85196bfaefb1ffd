"""Locale choice and the labels of the product's vocabulary, in one place."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import flask_babel
from flask import current_app, session
from flask.globals import _cv_app
from flask_babel import lazy_gettext as _l
from jinja2 import pass_context
from markupsafe import Markup

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
    "escalation_acknowledged": _l("Acknowledged an escalation"),
    "linked": _l("Related it to another consultation"),
    "unlinked": _l("Removed a related consultation"),
    "merged_into": _l("Merged it into another consultation"),
    "merged_from": _l("Merged a duplicate into it"),
}

SLA_TARGET_LABELS = {
    "first_response": _l("First response"),
    "resolution": _l("Resolution"),
}

ESCALATION_LEVELS = {
    1: _l("Warning: the target is nearly used up"),
    2: _l("Target breached"),
    3: _l("Twice the target (to the CIO)"),
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
    if obj is None:
        return ""
    if locale_code() == "en":
        value = getattr(obj, f"{field}_en", "")
        if value:
            return value
    return getattr(obj, field)


NOTIFY_KIND_LABELS = {
    "reply": _l("Replies to my consultations"),
    "status": _l("Status changes of my consultations"),
    "merged": _l("My consultations merged into another"),
    "receipt": _l("A receipt for each consultation I file (by e-mail only)"),
    "assigned": _l("Consultations assigned to me"),
    "requester": _l("Requesters' replies, files, reopening and closing (mine, or unassigned ones for leads)"),
    "mention": _l("Mentions of me (@) in internal notes"),
    "triage": _l("New consultations waiting for triage"),
    "escalation": _l("SLA warnings and escalations"),
}


# --- the language of the request, resolved once -------------------------------------------
#
# Flask-Babel resolves the locale and its translations again on every gettext call (four
# proxy lookups and a locale identifier each); a queue page makes hundreds of such calls.
# The translations of a locale never change while the process runs, so the request's locale,
# its code and its translations are looked up once and kept beside Flask-Babel's own cached
# locale: when that changes (force_locale, refresh) they are looked up again.


def _babel_context():
    """Flask-Babel's per-context namespace (where it keeps the chosen locale), or None
    outside an app context; read from the app context directly, not through the `g` proxy."""
    app_ctx = _cv_app.get(None)
    if app_ctx is None:
        return None
    ctx = app_ctx.g.__dict__.get("_flask_babel")
    return ctx if ctx is not None else flask_babel._get_current_context()


def _current() -> tuple[Any, str, Any] | None:
    ctx = _babel_context()
    if ctx is None:
        return None
    state = ctx.__dict__
    locale = state.get("babel_locale") or flask_babel.get_locale()
    cached = state.get("swat_language")
    if cached is None or cached[0] is not locale:
        cached = (locale, str(locale), flask_babel.get_translations())
        ctx.swat_language = cached
    return cached


def locale_code() -> str:
    """The request's language code ("ja", "en"), as str(get_locale())."""
    current = _current()
    return current[1] if current is not None else str(flask_babel.get_locale())


def babel_locale():
    """The request's babel Locale (as flask_babel.get_locale())."""
    current = _current()
    return current[0] if current is not None else flask_babel.get_locale()


def translations():
    """The request's translations (as flask_babel.get_translations())."""
    current = _current()
    return current[2] if current is not None else flask_babel.get_translations()


@pass_context
def _template_gettext(context, string: str, **variables: Any) -> str:
    """The templates' _() and gettext(): Jinja's "new style" gettext (the translation, marked
    safe when escaping is on, always formatted with the variables, escaped) in one call
    instead of three nested ones."""
    text = translations().ugettext(string)
    if context.eval_ctx.autoescape:
        text = Markup(text)
    if not variables and "%" not in text:
        return text  # what `% {}` would give
    return text % variables


def install_template_gettext(app) -> None:
    """The templates' _(), gettext() and friends through the request's translations, looked up once."""
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: translations().ugettext(s),
        ngettext=lambda s, p, n: translations().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: translations().unpgettext(c, s, p, n),
    )
    app.jinja_env.globals.update(_=_template_gettext, gettext=_template_gettext)


def gettext(string: str, **variables: Any) -> str:
    """flask_babel.gettext, with the request's translations looked up once."""
    current = _current()
    if current is None:
        return flask_babel.gettext(string, **variables)
    text = current[2].ugettext(string)
    return text % variables if variables else text


def ngettext(singular: str, plural: str, num: int, **variables: Any) -> str:
    current = _current()
    if current is None:
        return flask_babel.ngettext(singular, plural, num, **variables)
    variables.setdefault("num", num)
    return current[2].ungettext(singular, plural, num) % variables


class Labels(Mapping):
    """A vocabulary's labels (lazy strings) as a template reads them: each label is
    translated once per language in the process, then looked up as plain text."""

    def __init__(self, lazy: Mapping) -> None:
        self._lazy = lazy
        self._by_locale: dict[str, dict] = {}

    def _resolved(self) -> dict:
        code = locale_code()
        resolved = self._by_locale.get(code)
        if resolved is None:
            resolved = self._by_locale[code] = {key: str(value) for key, value in self._lazy.items()}
        return resolved

    def __getitem__(self, key):
        return self._resolved()[key]

    def __iter__(self) -> Iterator:
        return iter(self._lazy)

    def __len__(self) -> int:
        return len(self._lazy)

    def __contains__(self, key) -> bool:
        return key in self._lazy

    def get(self, key, default=None):
        return self._resolved().get(key, default)

    def items(self):
        return self._resolved().items()

    def values(self):
        return self._resolved().values()
