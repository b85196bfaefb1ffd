"""The request boundary: input no view has to think about, refused before any view runs.

One guard runs before every request (before the CSRF check, before sign-in is looked up)
and answers 400 with the desk's page and a message in the user's language when:

- the path, a query parameter or a form field (name or value, uploaded file names
  included) holds a NUL character. PostgreSQL cannot store NUL in text and SQLite would
  store it and serve it back raw, so the desk **refuses it everywhere**, on both
  databases, rather than strip it (a silently changed text is worse than a clear "no");
  the other C0 control characters but tab, LF and CR (and DEL) are refused the same way
  (`domain.text.control_character`): they mean nothing in a consultation and break exports;
- a query parameter is longer than MAX_QUERY_CHARS, a form field longer than
  MAX_FIELD_CHARS or an uploaded file's name longer than MAX_FILENAME_CHARS characters (each form still has its own, smaller limits: these are the
  outer wall that no legitimate request comes near);
- a form field that carries a database id (ID_FIELDS) is not one: ASCII digits that fit
  the database's integer.

Ids in paths are read by IdConverter, which takes the place of werkzeug's `int`
converter: an id beyond the database's integer is no page (404), not a database error.
Everything else (a malformed date, an unknown choice) is the form's or the service's to
refuse, and the URL-map test (tests/web/test_bad_input.py) checks that they all do.
"""

from __future__ import annotations

from flask import Flask, g, request
from flask_babel import gettext as _
from werkzeug.exceptions import BadRequest
from werkzeug.routing import IntegerConverter, ValidationError

from ..domain.text import control_character
from ..services.filing import BODY_MAX

# PostgreSQL's `integer`, the type of every id column (SQLite's is wider).
DB_INT_MAX = 2**31 - 1
# A query parameter is a filter, a search, a period, a page or a return address.
MAX_QUERY_CHARS = 2000
# The longest text a form accepts is a body of BODY_MAX characters; a browser may send its
# line ends as CRLF, so twice that is more than any legitimate field.
MAX_FIELD_CHARS = 2 * BODY_MAX
# An uploaded file's name, as the attachments table keeps it.
MAX_FILENAME_CHARS = 255
# Form fields whose value is a database id (a user to assign, on the ticket page and in triage).
ID_FIELDS = frozenset({"assignee"})


class Refused(BadRequest):
    """A 400 that says what was wrong, in the user's language: raised by the code that reads
    a value the guard cannot judge (a report period, say), shown by the error page."""

    def __init__(self, message) -> None:
        super().__init__()
        self.message = message


class IdConverter(IntegerConverter):
    """`<int:...>` bounded to what an id column can hold: larger numbers match no route (404)."""

    def __init__(self, map, fixed_digits=0, min=None, max=None, signed=False):  # noqa: A002 (werkzeug's names)
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=DB_INT_MAX if max is None else max, signed=signed)

    def to_python(self, value: str):
        if len(value.lstrip("-")) > len(str(DB_INT_MAX)):
            raise ValidationError()  # before int() is asked to read thousands of digits
        return super().to_python(value)


def is_id(value: str) -> bool:
    """A row id as text: ASCII digits of a positive integer the database can hold."""
    return value.isascii() and value.isdigit() and len(value) <= 10 and 0 < int(value) <= DB_INT_MAX


def _control(texts: list[str]) -> tuple[str, str] | None:
    """The refusal for the first text holding a NUL or another control character, if any."""
    for text in texts:
        found = control_character(text)
        if found == "\x00":
            return _nul()
        if found is not None:
            return (
                _("Bad request"),
                _(
                    "What you sent contains a control character that cannot be saved (code %(code)d). "
                    "Remove it and try again.",
                    code=ord(found),
                ),
            )
    return None


def problem() -> tuple[str, str] | None:
    """What is wrong with this request, as (title, message) in the user's language, or None."""
    if found := _control([request.path]):
        return found
    for key, values in request.args.lists():
        if found := _control([key, *values]):
            return found
        if len(key) > MAX_QUERY_CHARS or any(len(v) > MAX_QUERY_CHARS for v in values):
            return _too_long(MAX_QUERY_CHARS)
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return None
    for key, values in request.form.lists():
        if found := _control([key, *values]):
            return found
        if len(key) > MAX_FIELD_CHARS or any(len(v) > MAX_FIELD_CHARS for v in values):
            return _too_long(MAX_FIELD_CHARS)
        if key in ID_FIELDS and any(v and not is_id(v) for v in values):
            return (
                _("Bad request"),
                _("A choice in the form is not one of those offered. Reload the page and try again."),
            )
    for key, files in request.files.lists():
        names = [f.filename or "" for f in files]
        if found := _control([key, *names]):
            return found
        if any(len(n) > MAX_FILENAME_CHARS for n in names):
            return _too_long(MAX_FILENAME_CHARS)
    return None


def _nul() -> tuple[str, str]:
    return (
        _("Bad request"),
        _(
            "What you sent contains a character that cannot be saved (a NUL character, code 0). "
            "Remove it and try again."
        ),
    )


def _too_long(limit: int) -> tuple[str, str]:
    return (_("Bad request"), _("A value you sent is too long (at most %(max)d characters).", max=limit))


def _guard():
    # Set while the guard looks: a refusal's words need the user's language, which may load
    # who is signed in, and a refused request must not commit their last-seen time.
    g.refused = True
    found = problem()
    if found is None:
        g.pop("refused")
        return None
    from .errors import page

    return page(400, *found)


def init_app(app: Flask) -> None:
    """Install the id converter (before any blueprint adds its routes) and the guard, ahead
    of the CSRF check and sign-in (only the request id and the metrics clock come before it)."""
    app.url_map.converters["int"] = IdConverter
    app.before_request_funcs.setdefault(None, []).insert(0, _guard)
