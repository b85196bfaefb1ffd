"""HTML blueprints and what every page shares: sign-in, errors, headers, filters."""

from __future__ import annotations

import json
from datetime import timedelta

from flask import Flask, render_template, request
from flask_babel import format_datetime, format_timedelta, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import CSRFError

from ..domain import permissions
from ..domain.clock import SystemClock
from ..domain.states import PRIORITIES
from ..extensions import db, login_manager
from ..services import accounts
from . import i18n
from .common import May

PANEL_HEADER = "X-Swat-Panel"


def is_panel() -> bool:
    """The queue's side panel asked for this page: its content only, without the layout."""
    return request.headers.get(PANEL_HEADER) == "1"


def register_web(app: Flask) -> None:
    app.extensions.setdefault("swat.clock", SystemClock())

    from . import admin, auth, consultations, notifications, queue, reference, reports, tickets, triage
    from .common import now

    for module in (auth, consultations, queue, tickets, reference, admin, triage, notifications, reports):
        app.register_blueprint(module.bp)

    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please sign in to see this page.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = None  # sessions are server-side; see services.accounts

    @login_manager.user_loader
    def _load_user(token: str):
        from .common import account_settings, now

        user = accounts.resume_session(db.session, now(), token, account_settings())
        if user is not None and db.session.dirty:
            # The once-a-minute last-seen time: committed here, before the view does
            # anything, because a page that only reads never commits.
            db.session.commit()
            user.session_id = token
        return user

    @app.after_request
    def _headers(response):
        h = response.headers
        h.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
        )
        h.setdefault("X-Content-Type-Options", "nosniff")
        h.setdefault("X-Frame-Options", "DENY")
        h.setdefault("Referrer-Policy", "same-origin")
        h.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        h.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        if app.config["SESSION_COOKIE_SECURE"]:
            h.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        if response.mimetype == "text/html":
            response.vary.add(PANEL_HEADER)  # the same address answers a page or a panel
        if current_user and current_user.is_authenticated and "Cache-Control" not in h:
            h["Cache-Control"] = "no-store"
        return response

    @app.teardown_request
    def _rollback(exc):
        # One transaction per request: anything not committed by the view is dropped.
        if exc is not None:
            db.session.rollback()

    def error_page(code: int, title, message):
        return render_template("error.html", code=code, title=title, message=message), code

    @app.errorhandler(CSRFError)
    def _csrf(e):
        return error_page(
            400,
            _("The form has expired"),
            _("Your session or the form expired. Go back, reload the page and try again."),
        )

    @app.errorhandler(400)
    def _400(e):
        return error_page(400, _("Bad request"), _("The request could not be understood."))

    @app.errorhandler(403)
    def _403(e):
        return error_page(403, _("Not allowed"), _("You do not have permission to open this page."))

    @app.errorhandler(404)
    def _404(e):
        return error_page(404, _("Not found"), _("The page or consultation you asked for does not exist."))

    @app.errorhandler(405)
    def _405(e):
        return error_page(405, _("Not allowed"), _("This address does not accept that kind of request."))

    @app.errorhandler(413)
    def _413(e):
        limit = app.config["MAX_CONTENT_LENGTH"] // (1024 * 1024)
        return error_page(
            413,
            _("Too large"),
            _("What you sent is too large (at most %(mb)d MB in one go). Send fewer or smaller files.", mb=limit),
        )

    @app.errorhandler(500)
    def _500(e):
        db.session.rollback()
        return error_page(
            500,
            _("Something went wrong"),
            _("The desk could not finish this request. Nothing was saved. Please try again."),
        )

    @app.context_processor
    def _globals():
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
        }

    def _unread():
        if not (current_user and current_user.is_authenticated):
            return 0
        from .notifications import unread_count

        return unread_count()

    @app.template_filter("dt")
    def _dt(value):
        """2026年11月25日 14:05 in Japanese, 2026-11-25 14:05 in English, Tokyo time."""
        if value is None:
            return ""
        if str(get_locale()) == "ja":
            return format_datetime(value, "yyyy年M月d日 HH:mm")
        return format_datetime(value, "yyyy-MM-dd HH:mm")

    @app.template_filter("ago")
    def _ago(value):
        """How long ago (or how soon), in words: 3時間前 / 3 hours ago; none for a missing time."""
        if value is None:
            return ""
        delta = value - now()
        if abs(delta) < timedelta(minutes=1):
            return _("just now")
        text = format_timedelta(delta, granularity="minute", add_direction=True)
        return text.replace(" ", "") if str(get_locale()) == "ja" else text

    @app.template_filter("date")
    def _date(value):
        if value is None:
            return ""
        if str(get_locale()) == "ja":
            return f"{value.year}年{value.month}月{value.day}日"
        return value.isoformat()

    @app.template_filter("priority_name")
    def _priority_name(rank):
        return PRIORITIES[rank] if isinstance(rank, int) and 0 <= rank < len(PRIORITIES) else ""

    @app.template_filter("fromjson")
    def _fromjson(value):
        try:
            return json.loads(value or "[]")
        except ValueError:
            return []

    @app.template_filter("business_minutes")
    def _business_minutes(minutes):
        """Business time as hours and minutes: 8時間45分 / 8h 45m."""
        minutes = abs(int(minutes))
        h, m = divmod(minutes, 60)
        if str(get_locale()) == "ja":
            return f"{h}時間{m:02d}分" if h else f"{m}分"
        return f"{h}h {m:02d}m" if h else f"{m}m"

    @app.template_filter("filesize")
    def _filesize(n):
        if n >= 1024 * 1024:
            return f"{n / 1024 / 1024:.1f} MB"
        if n >= 1024:
            return f"{n / 1024:.0f} KB"
        return f"{n} B"
