"""Logging in one place: every process of the desk (web workers, the scheduler, commands)
writes its lines to stderr in one format, human-readable by default and JSON lines with
`log_format = "json"`, at `log_level`.

Each line written while a request is served carries its request id: the `X-Request-Id` a
trusted proxy sent (with `proxy_count` > 0, when it looks like an id), or one made here. The
response returns it in `X-Request-Id`, the 500 page shows it, and gunicorn's access log
(deploy/gunicorn.conf.py) writes it too. A password-reset link's token never reaches a line.

gunicorn's master imports this module for its own lines (deploy/gunicorn.conf.py) and nothing
else of the desk: Flask is not imported here at module level, so that a reload after an
upgrade gives the new workers the new Flask along with the new desk.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask

HEADER = "X-Request-Id"
# What an id from a proxy may look like; anything else is replaced by one made here.
_GOOD_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")
TEXT_FORMAT = "%(asctime)s %(levelname)s [%(name)s] [%(request_id)s] %(message)s"
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
FORMATS = ("text", "json")
# A reset link's token in a path or a request line, and what it is written as.
_RESET_TOKEN = re.compile(r"(/password/reset/)[0-9a-f]{64}")
_MASKED = r"\1…"
# gunicorn's access log: the atoms each JSON line keeps, under readable names.
ACCESS_FIELDS = {"h": "remote", "m": "method", "U": "path", "q": "query", "s": "status", "B": "bytes", "M": "ms"}
ACCESS_ID = "{x-request-id}o"
# The attributes every LogRecord has; anything else was passed with `extra=` and is kept.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "request_id"}


def masked(text: str) -> str:
    return _RESET_TOKEN.sub(_MASKED, text) if "/password/reset/" in text else text


def request_id() -> str:
    """The current request's id ("-" outside a request, and in a process with no Flask, such
    as gunicorn's master)."""
    flask = sys.modules.get("flask")
    if flask is None or not flask.has_request_context():
        return "-"
    return flask.g.get("request_id") or "-"


class RequestContext(logging.Filter):
    """Gives each record its `request_id`, and keeps reset tokens out of what it says."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == "gunicorn.access" and isinstance(record.args, dict):
            # gunicorn's atoms: the request line and the path may hold a reset token.
            atoms = dict(record.args)
            for key in ("r", "U", "q"):
                if isinstance(atoms.get(key), str):
                    atoms[key] = masked(atoms[key])
            record.args = atoms
            record.request_id = atoms.get(ACCESS_ID) or "-"
        elif not hasattr(record, "request_id"):
            record.request_id = request_id()
        if isinstance(record.msg, str) and "/password/reset/" in record.msg:
            record.msg = masked(record.msg)
        if record.args and not isinstance(record.args, dict):
            record.args = tuple(masked(a) if isinstance(a, str) else a for a in record.args)
        return True


class JsonLines(logging.Formatter):
    """One JSON object per line: time (UTC), level, logger, request_id, message, what was
    passed with `extra=`, the access log's fields, and the traceback of an exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(record, "request_id", "-"),
            "message": record.getMessage(),
        }
        if record.name == "gunicorn.access" and isinstance(record.args, dict):
            for atom, name in ACCESS_FIELDS.items():
                value = record.args.get(atom)
                if value not in (None, "", "-"):
                    entry[name] = int(value) if atom in ("s", "B", "M") and str(value).isdigit() else value
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value if isinstance(value, str | int | float | bool | None) else str(value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


class _Stderr(logging.StreamHandler):
    """A handler that writes to whatever sys.stderr is when it writes (a test's capture, a
    process's redirected stream), not the one there was when it was made."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


def formatter(log_format: str) -> logging.Formatter:
    return JsonLines() if log_format == "json" else logging.Formatter(TEXT_FORMAT)


def handler(log_format: str) -> logging.Handler:
    """The stderr handler every process of the desk writes through."""
    out = _Stderr()
    out.setFormatter(formatter(log_format))
    out.addFilter(RequestContext())
    out.set_name("swat")
    return out


# deploy/gunicorn.conf.py (and an operator's copy of it) uses `handler` and `QUIET_AT_INFO`,
# and a reload imports this module afresh: keep both names.
QUIET_AT_INFO = ("alembic.runtime.plugins",)


def configure(settings: dict) -> None:
    """Install the desk's handler on the root logger (replacing one installed before, leaving
    any other, such as a test's, alone) at `log_level`."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == "swat"]:
        root.removeHandler(old)
    root.addHandler(handler(settings["log_format"]))
    root.setLevel(settings["log_level"])
    # What a library says at INFO about its own start-up, in every worker, tells an operator
    # nothing (alembic's plugin set-up, seven lines per worker).
    for chatty in QUIET_AT_INFO:
        logging.getLogger(chatty).setLevel(max(logging.WARNING, root.level))


def _start() -> None:
    from flask import g, request

    from .web.common import settings

    given = request.headers.get(HEADER, "")
    trusted = settings()["proxy_count"] > 0
    g.request_id = given if trusted and _GOOD_ID.match(given) else secrets.token_hex(8)


def _answer(response):
    response.headers[HEADER] = request_id()
    return response


def init_app(app: Flask) -> None:
    """Logging, and the request's id as the first of all the request hooks, ahead of the
    boundary's guard, the metrics clock and the CSRF check, each of which may answer before
    any view: a request one of them refuses is logged and answered with its id too. Called
    once every other hook is in place."""
    configure(app.config["SWAT"])
    app.before_request_funcs.setdefault(None, []).insert(0, _start)
    app.after_request(_answer)
