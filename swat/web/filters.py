"""What every template can use: the vocabulary's labels, the language switch, and the
filters that show times, dates, durations and sizes the same way on every page."""

from __future__ import annotations

import json
from datetime import timedelta

from flask import Flask, request
from flask_babel import format_datetime, format_timedelta, get_locale
from flask_babel import gettext as _
from flask_login import current_user

from ..domain import permissions
from ..domain.states import PRIORITIES
from ..services.notifications import UNREAD_CAP
from . import i18n
from .common import May
from .headers import PANEL_HEADER


def is_panel() -> bool:
    """The queue's side panel asked for this page: its content only, without the layout."""
    return request.headers.get(PANEL_HEADER) == "1"


def _unread() -> int:
    if not (current_user and current_user.is_authenticated):
        return 0
    from .notifications import unread_count

    return unread_count()


def _globals() -> dict:
    from .common import now
    from .forms import LanguageForm

    lang_form = LanguageForm(formdata=None)
    lang_form.locale.choices = list(i18n.LOCALES.items())
    lang_form.locale.data = str(get_locale())
    lang_form.next.data = request.full_path if request.query_string else request.path
    return {
        "STATUS_LABELS": i18n.STATUS_LABELS,
        "PRIORITY_LABELS": i18n.PRIORITY_LABELS,
        "ROLE_LABELS": i18n.ROLE_LABELS,
        "EVENT_LABELS": i18n.EVENT_LABELS,
        "CATEGORY_LABELS": i18n.CATEGORY_LABELS,
        "SLA_TARGET_LABELS": i18n.SLA_TARGET_LABELS,
        "SLA_STATE_LABELS": i18n.SLA_STATE_LABELS,
        "PRIORITIES": PRIORITIES,
        "localized": i18n.localized,
        "may": May(current_user),
        "is_staff": permissions.is_staff,
        "lang_form": lang_form,
        "current_locale": str(get_locale()),
        "is_panel": is_panel(),
        "server_now": now(),
        "unread_notifications": _unread(),
        "UNREAD_CAP": UNREAD_CAP,
    }


def dt(value):
    """2026年11月25日 14:05 in Japanese, 2026-11-25 14:05 in English, Tokyo time."""
    if value is None:
        return ""
    if str(get_locale()) == "ja":
        return format_datetime(value, "yyyy年M月d日 HH:mm")
    return format_datetime(value, "yyyy-MM-dd HH:mm")


def ago(value):
    """How long ago (or how soon), in words: 3時間前 / 3 hours ago; none for a missing time."""
    from .common import now

    if value is None:
        return ""
    delta = value - now()
    if abs(delta) < timedelta(minutes=1):
        return _("just now")
    text = format_timedelta(delta, granularity="minute", add_direction=True)
    return text.replace(" ", "") if str(get_locale()) == "ja" else text


def date_(value):
    if value is None:
        return ""
    if str(get_locale()) == "ja":
        return f"{value.year}年{value.month}月{value.day}日"
    return value.isoformat()


def priority_name(rank):
    return PRIORITIES[rank] if isinstance(rank, int) and 0 <= rank < len(PRIORITIES) else ""


def fromjson(value):
    try:
        return json.loads(value or "[]")
    except ValueError:
        return []


def business_minutes(minutes):
    """Business time as hours and minutes: 8時間45分 / 8h 45m."""
    minutes = abs(int(minutes))
    h, m = divmod(minutes, 60)
    if str(get_locale()) == "ja":
        return f"{h}時間{m:02d}分" if h else f"{m}分"
    return f"{h}h {m:02d}m" if h else f"{m}m"


def filesize(n):
    if n >= 1024 * 1024:
        return f"{n / 1024 / 1024:.1f} MB"
    if n >= 1024:
        return f"{n / 1024:.0f} KB"
    return f"{n} B"


FILTERS = {
    "dt": dt,
    "ago": ago,
    "date": date_,
    "priority_name": priority_name,
    "fromjson": fromjson,
    "business_minutes": business_minutes,
    "filesize": filesize,
}


def init_app(app: Flask) -> None:
    app.context_processor(_globals)
    for name, function in FILTERS.items():
        app.add_template_filter(function, name)
