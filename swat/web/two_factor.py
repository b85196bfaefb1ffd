"""Two-factor sign-in: enrolment with a QR code, the code at sign-in, recovery codes."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("two_factor", __name__)
