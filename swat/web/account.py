"""Your own account: changing your password, and resetting a forgotten one by mail."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("account", __name__)
