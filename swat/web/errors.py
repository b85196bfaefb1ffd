"""Error pages: every refusal and failure answers with the desk's own page, in the user's language."""

from __future__ import annotations

from flask import Flask, render_template
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError

from ..extensions import db


def page(code: int, title: str, message: str):
    return render_template("error.html", code=code, title=title, message=message), code


def init_app(app: Flask) -> None:
    @app.teardown_request
    def _rollback(exc):
        # One transaction per request: anything not committed by the view is dropped.
        if exc is not None:
            db.session.rollback()

    @app.errorhandler(CSRFError)
    def _csrf(e):
        return page(
            400,
            _("The form has expired"),
            _("Your session or the form expired. Go back, reload the page and try again."),
        )

    @app.errorhandler(400)
    def _400(e):
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

    @app.errorhandler(500)
    def _500(e):
        db.session.rollback()
        return page(
            500,
            _("Something went wrong"),
            _("The desk could not finish this request. Nothing was saved. Please try again."),
        )
