"""Security headers on every response: pages, error pages and downloads alike."""

from __future__ import annotations

from flask import Flask
from flask_login import current_user

from ..services.database import UNAVAILABLE
from .session import signed_in_or_out

PANEL_HEADER = "X-Swat-Panel"

PAGE_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def _signed_in() -> bool:
    """Whether the response is for someone signed in (and so must not be cached). When that
    cannot be read (the database is down) it counts as yes, and the rest of the request
    goes on signed out rather than failing a second time."""
    try:
        return bool(current_user and current_user.is_authenticated)
    except UNAVAILABLE:
        signed_in_or_out()
        return True


def init_app(app: Flask) -> None:
    secure = bool(app.config["SESSION_COOKIE_SECURE"])

    @app.after_request
    def _headers(response):
        h = response.headers
        csp = h.get("Content-Security-Policy")
        if csp is None:
            h["Content-Security-Policy"] = PAGE_CSP
        elif "frame-ancestors" not in csp:
            # A view's own policy (a download's sandbox) still may not be framed by another site.
            h["Content-Security-Policy"] = f"{csp.rstrip('; ')}; frame-ancestors 'none'"
        h.setdefault("X-Content-Type-Options", "nosniff")
        h.setdefault("X-Frame-Options", "DENY")
        h.setdefault("Referrer-Policy", "same-origin")
        h.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        h.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        if secure:
            h.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        if response.mimetype == "text/html":
            response.vary.add(PANEL_HEADER)  # the same address answers a page or a panel
        if "Cache-Control" not in h and _signed_in():
            h["Cache-Control"] = "no-store"
        return response
