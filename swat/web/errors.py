"""Error pages: every refusal and failure answers with the desk's own page, in the user's language.

- 4xx: what was wrong, in words (the boundary's refusals bring their own message).
- 500: "nothing was saved" and a short reference that the log line carries too, so a
  user's report can be matched with the traceback.
- 503: the database could not be reached (or gave up for now): "try again", never a
  bare text from the server. The page is drawn without the database (signed-out layout).
"""

from __future__ import annotations

import logging
import secrets

from flask import Flask, current_app, g, has_request_context, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from markupsafe import escape
from werkzeug.exceptions import HTTPException

from .. import logs, transaction
from ..extensions import login_manager
from ..services.database import UNAVAILABLE
from .boundary import Refused
from .session import signed_in_or_out

RETRY_AFTER_SECONDS = 30


def new_reference() -> str:
    """The id of one failure, shown to the user and written in the log line: the request's id
    (swat.logs), which every other line of the request carries too."""
    rid = logs.request_id() if has_request_context() else "-"
    return rid if rid != "-" else secrets.token_hex(8)


def page(code: int, title: str, message: str, reference: str | None = None):
    """The desk's error page as a (body, status) pair; a plain page if even that cannot be drawn.

    A refused request changes nothing, not even the session's last-seen time (`g.refused`
    tells the session loader), and the page is drawn signed out when who is signed in
    cannot be read."""
    g.refused = True
    _signed_in_or_out()
    try:
        return render_template("errors/error.html", code=code, title=title, message=message, reference=reference), code
    except Exception:  # the page itself failed (a broken database under the layout, say)
        current_app.logger.exception("the error page could not be drawn (reference %s)", reference)
        return _plain(code, title, message, reference), code


def _plain(code: int, title: str, message: str, reference: str | None) -> str:
    """The same words without the layout: no template, no database."""
    label = _("Reference for the administrator:")
    ref = f"<p>{escape(label)} <code>{escape(reference)}</code></p>" if reference else ""
    return (
        f'<!doctype html><html lang="{escape(_lang())}"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title></head><body><h1>{escape(title)}</h1>"
        f"<p>{escape(message)}</p>{ref}</body></html>"
    )


def _lang() -> str:
    from flask_babel import get_locale

    try:
        return str(get_locale())
    except Exception:
        return "ja"


class _ReferenceInLog(logging.Filter):
    """Flask's "Exception on /path [GET]" line gets the failure's reference appended."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and has_request_context():
            ref = g.get("error_reference")
            if ref and ref not in str(record.msg):
                record.msg = f"{record.msg} (reference {ref})"
        return True


_REFERENCE_IN_LOG = _ReferenceInLog()


def _mark_failure(sender, exception, **extra) -> None:
    """Before Flask logs an unhandled exception: give it a reference."""
    g.error_reference = new_reference()


def _rollback() -> None:
    """Drop what the failed request left in the session; a dead connection may refuse even that."""
    try:
        transaction.rollback()
    except Exception:
        current_app.logger.warning("rollback after a failure failed too", exc_info=True)


def _signed_in_or_out() -> None:
    """Load who is signed in (the page and its language need it); when that cannot be read
    (the database is down, most likely), the page is drawn signed out."""
    try:
        signed_in_or_out()
    except Exception:  # not the database: still draw the page signed out
        login_manager._update_request_context_with_user()


def init_app(app: Flask) -> None:
    from flask.signals import got_request_exception

    got_request_exception.connect(_mark_failure, app)
    app.logger.addFilter(_REFERENCE_IN_LOG)  # the same object each time: added once per logger

    @app.teardown_request
    def _end_transaction(exc):
        # One transaction per request: anything not committed by the view is dropped.
        if exc is not None:
            _rollback()

    @app.errorhandler(CSRFError)
    def _csrf(e):
        return page(
            400,
            _("The form has expired"),
            _("Your session or the form expired. Go back, reload the page and try again."),
        )

    @app.errorhandler(400)
    def _400(e):
        if isinstance(e, Refused):
            return page(400, _("Bad request"), str(e.message))
        return page(400, _("Bad request"), _("The request could not be understood."))

    @app.errorhandler(403)
    def _403(e):
        return page(403, _("Not allowed"), _("You do not have permission to open this page."))

    @app.errorhandler(404)
    def _404(e):
        return page(404, _("Not found"), _("The page or consultation you asked for does not exist."))

    @app.errorhandler(405)
    def _405(e):
        return page(405, _("Not allowed"), _("This address does not accept that kind of request."))

    @app.errorhandler(413)
    def _413(e):
        limit = app.config["MAX_CONTENT_LENGTH"] // (1024 * 1024)
        return page(
            413,
            _("Too large"),
            _("What you sent is too large (at most %(mb)d MB in one go). Send fewer or smaller files.", mb=limit),
        )

    @app.errorhandler(HTTPException)
    def _other(e: HTTPException):
        # Any other status werkzeug raises (414, 431, 501, ...): the desk's page, not a bare text.
        if e.code is None or e.code < 400:
            return e
        if e.code >= 500:
            return page(
                e.code, _("Something went wrong"), _("The desk could not finish this request. Please try again.")
            )
        return page(e.code, _("Bad request"), _("The request could not be understood."))

    @app.errorhandler(500)
    def _500(e):
        _rollback()  # the page below reads the session: start it clean
        reference = g.get("error_reference") or new_reference()
        _signed_in_or_out()
        return page(
            500,
            _("Something went wrong"),
            _("The desk could not finish this request. Nothing was saved. Please try again."),
            reference,
        )

    def _unavailable(e):
        reference = new_reference()
        app.logger.warning(
            "database unavailable on %s [%s] (reference %s): %s",
            request.path,
            request.method,
            reference,
            e,
            exc_info=e,  # SQLite also reports some programming errors this way: keep the traceback
        )
        _rollback()
        # Draw the page signed out: who is signed in lives in the database that just failed.
        login_manager._update_request_context_with_user()
        body, code = page(
            503,
            _("The desk is not available right now"),
            _("The desk cannot reach its database at the moment. Nothing was saved. Wait a minute and try again."),
            reference,
        )
        return body, code, {"Retry-After": str(RETRY_AFTER_SECONDS)}

    for exc_class in UNAVAILABLE:
        app.register_error_handler(exc_class, _unavailable)
