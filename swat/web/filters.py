"""What every template can use: the vocabulary's labels, the language switch, and the
filters that show times, dates, durations and sizes the same way on every page."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from babel.dates import TIMEDELTA_UNITS, format_timedelta
from flask import Flask, request, url_for
from flask.globals import _cv_request
from flask_babel import format_datetime
from flask_login import current_user

from ..domain import permissions
from ..domain.states import PRIORITIES
from ..domain.tz import TOKYO
from ..services.notifications import UNREAD_CAP
from . import i18n
from .common import May
from .headers import PANEL_HEADER
from .i18n import babel_locale, locale_code

AGO_THRESHOLD = 0.85  # Babel's default: 51 minutes are "1 hour"
# The language switch's choices.
LOCALE_CHOICES = tuple(i18n.LOCALES.items())
# The vocabularies as templates read them: each label translated once per language.
LABELS = {
    "STATUS_LABELS": i18n.Labels(i18n.STATUS_LABELS),
    "PRIORITY_LABELS": i18n.Labels(i18n.PRIORITY_LABELS),
    "ROLE_LABELS": i18n.Labels(i18n.ROLE_LABELS),
    "EVENT_LABELS": i18n.Labels(i18n.EVENT_LABELS),
    "CATEGORY_LABELS": i18n.Labels(i18n.CATEGORY_LABELS),
    "SLA_TARGET_LABELS": i18n.Labels(i18n.SLA_TARGET_LABELS),
    "SLA_STATE_LABELS": i18n.Labels(i18n.SLA_STATE_LABELS),
    "ESCALATION_LEVELS": i18n.Labels(i18n.ESCALATION_LEVELS),
}


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

    code = locale_code()
    return {
        "LOCALE_CHOICES": LOCALE_CHOICES,
        "lang_next": request.full_path if request.query_string else request.path,
        **LABELS,
        "PRIORITIES": PRIORITIES,
        "localized": i18n.localized,
        "ticket_url": ticket_url,
        "may": May(current_user),
        "is_staff": permissions.is_staff,
        "current_locale": code,
        "is_panel": is_panel(),
        "server_now": now(),
        "unread_notifications": _unread(),
        "UNREAD_CAP": UNREAD_CAP,
    }


def ticket_url(number: str) -> str:
    """url_for("tickets.show", number=number): the address's prefix is built once per request
    (a list links every row, some twice), a number that would need quoting goes to url_for."""
    request_ctx = _cv_request.get(None)
    if request_ctx is None or not (number.isascii() and number.replace("-", "").isalnum()):
        return url_for("tickets.show", number=number)
    environ = request_ctx.request.environ
    prefix = environ.get("swat.ticket_url")
    if prefix is None:
        prefix = environ["swat.ticket_url"] = url_for("tickets.show", number="0")[:-1]
    return prefix + number


def dt(value, ja: bool | None = None):
    """2026年11月25日 14:05 in Japanese, 2026-11-25 14:05 in English, Tokyo time (`ja`: the
    request's language is Japanese, when the caller knows).

    The two patterns written out (Babel's yyyy年M月d日 HH:mm and yyyy-MM-dd HH:mm, a naive
    time taken as UTC, as Babel does): a list shows one or two per row."""
    if value is None:
        return ""
    if ja is None:
        ja = locale_code() == "ja"
    if not isinstance(value, datetime):
        return format_datetime(value, "yyyy年M月d日 HH:mm" if ja else "yyyy-MM-dd HH:mm")
    t = (value if value.tzinfo is not None else value.replace(tzinfo=UTC)).astimezone(TOKYO)
    if ja:
        return f"{t.year:04d}年{t.month}月{t.day}日 {t.hour:02d}:{t.minute:02d}"
    return f"{t.year:04d}-{t.month:02d}-{t.day:02d} {t.hour:02d}:{t.minute:02d}"


def ago(value, now_=None, locale=None):
    """How long ago (or how soon), in words: 3時間前 / 3 hours ago; none for a missing time
    (`now_` and `locale`: the request's, when the caller already has them)."""
    from .common import now

    if value is None:
        return ""
    delta = value - (now_ if now_ is not None else now())
    if abs(delta) < timedelta(minutes=1):
        return i18n.gettext("just now")
    return ago_words(locale if locale is not None else babel_locale(), delta.total_seconds())


def ago_words(locale, seconds: float) -> str:
    """`seconds` ahead (or ago, when negative) in words, a minute or more.

    Babel's choice of unit and number for a minute granularity (format_timedelta, threshold
    0.85); the words for that unit and number come from Babel once and are then reused."""
    for unit, unit_seconds in TIMEDELTA_UNITS:
        amount = abs(seconds) / unit_seconds
        if amount >= AGO_THRESHOLD or unit == "minute":
            return _ago_words(locale, unit, int(round(max(1, amount))), seconds >= 0)
    return ""  # not reached: minute always answers


@lru_cache(maxsize=4096)
def _ago_words(locale, unit: str, amount: int, future: bool) -> str:
    """format_timedelta's text for `amount` `unit`s ahead or ago (exactly that unit: the
    granularity, with a threshold no amount reaches), without spaces in Japanese."""
    unit_seconds = dict(TIMEDELTA_UNITS)[unit]
    delta = timedelta(seconds=amount * unit_seconds * (1 if future else -1))
    text = format_timedelta(
        delta,
        granularity=unit,  # type: ignore[arg-type]  # one of TIMEDELTA_UNITS' names
        threshold=float("inf"),
        add_direction=True,
        locale=locale,
    )
    return text.replace(" ", "") if str(locale) == "ja" else text


def date_(value, ja: bool | None = None):
    if value is None:
        return ""
    if ja if ja is not None else locale_code() == "ja":
        return f"{value.year}年{value.month}月{value.day}日"
    return value.isoformat()


def priority_name(rank):
    return PRIORITIES[rank] if isinstance(rank, int) and 0 <= rank < len(PRIORITIES) else ""


def fromjson(value):
    try:
        return json.loads(value or "[]")
    except ValueError:
        return []


def business_minutes(minutes, ja: bool | None = None):
    """Business time as hours and minutes: 8時間45分 / 8h 45m."""
    minutes = abs(int(minutes))
    h, m = divmod(minutes, 60)
    if ja if ja is not None else locale_code() == "ja":
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
    from .pieces import GLOBALS as PIECES
    from .routing_pieces import GLOBALS as ROUTING_PIECES

    i18n.install_template_gettext(app)
    app.context_processor(_globals)
    app.jinja_env.globals.update(PIECES)
    app.jinja_env.globals.update(ROUTING_PIECES)
    for name, function in FILTERS.items():
        app.add_template_filter(function, name)
