"""/admin/audit: the audit trail, newest first, filtered by user, actor, kind and period
(Tokyo days), a page at a time or as CSV (Excel-safe, as the reports are). Admins only."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from flask import Blueprint, Response, render_template, request
from flask_babel import gettext as _

from ..domain import audit as kinds
from ..domain import permissions
from ..domain.errors import ValidationError
from ..domain.tz import TOKYO
from ..services import audit_log, catalog
from ..services.report_export import Sheet, csv_bytes
from ..transaction import session
from .audit_labels import FIELD_LABELS, FILTER_LABELS, KIND_LABELS, value_text
from .boundary import Refused
from .common import error_text, now, requires
from .i18n import localized

bp = Blueprint("audit", __name__, url_prefix="/admin/audit")
PAGE = 50
FILTERS = ("user", "actor", "kind", "from", "to")


def _query() -> kinds.AuditQuery:
    args = request.args
    try:
        return kinds.parse_query(
            user=args.get("user", ""),
            actor=args.get("actor", ""),
            kind=args.get("kind", ""),
            date_from=args.get("from", ""),
            date_to=args.get("to", ""),
        )
    except ValidationError as exc:
        raise Refused(error_text(exc)) from None


def _page() -> int:
    try:
        return max(1, min(int(request.args.get("page", 1)), 1_000_000))  # an offset the database can read
    except ValueError:
        return 1


def _names() -> dict[str, dict[str, str]]:
    """The departments' and themes' names, to show ids as people read them."""
    s = session()
    return {
        "department": {d.id: localized(d) for d in catalog.active_departments(s)},
        "themes": {t.id: localized(t) for t in catalog.active_themes(s)},
    }


def changed(event, names: dict[str, dict[str, str]]) -> list[tuple[str, str | None, str]]:
    """What an event changed, readable: (field, before or None when it had none, after)."""
    before, after = audit_log.values(event)
    out = []
    for key in dict.fromkeys([*before, *after]):
        label = str(FIELD_LABELS.get(key, key))
        old = value_text(key, before[key], names) if key in before else None
        out.append((label, old, value_text(key, after.get(key), names)))
    return out


def when(value: datetime) -> str:
    """An instant in Tokyo time, to the second."""
    return value.astimezone(TOKYO).strftime("%Y-%m-%d %H:%M:%S")


def actor_text(event) -> str:
    return event.actor_name or _("System")


def subject_text(event) -> str:
    if event.subject_name:
        return event.subject_name
    if event.kind == kinds.SIGN_IN_FAILED:
        typed = audit_log.values(event)[1].get("username", "")
        return _("Unknown user name %(name)s", name=typed) if typed else "—"
    return "—"


def kind_text(kind: str) -> str:
    return str(KIND_LABELS.get(kind, kind))


def change_text(rows: Iterable[tuple[str, str | None, str]]) -> str:
    return "; ".join(f"{label}: {old} → {new}" if old is not None else f"{label}: {new}" for label, old, new in rows)


def _args(query: kinds.AuditQuery) -> dict[str, str]:
    values = {"user": query.user, "actor": query.actor, "kind": query.kind, "from": query.date_from}
    values["to"] = query.date_to
    return {k: v for k, v in values.items() if v}


@bp.get("")
@requires(permissions.can_view_audit)
def index():
    query = _query()
    found = audit_log.list_events(session(), query, _page(), PAGE)
    names = _names()
    rows = [(e, changed(e, names)) for e in found.events]
    return render_template(
        "admin/audit.html",
        rows=rows,
        page=found,
        query=query,
        args=_args(query),
        kinds=[(k, kind_text(k)) for k in kinds.KINDS],
        when=when,
        actor_text=actor_text,
        subject_text=subject_text,
        kind_text=kind_text,
    )


@bp.get("/export.csv")
@requires(permissions.can_view_audit)
def export_csv():
    query = _query()
    names = _names()
    header = [_("When (Tokyo)"), _("Actor"), _("Kind"), _("User"), _("Source"), _("What changed")]
    rows: list[list] = [
        [when(e.at), actor_text(e), kind_text(e.kind), subject_text(e), e.source, change_text(changed(e, names))]
        for e in audit_log.all_events(session(), query)
    ]
    about: list[list] = [[_("Audit trail")]]
    about += [[str(FILTER_LABELS[k]), kind_text(v) if k == "kind" else v] for k, v in _args(query).items()]
    body = csv_bytes(Sheet("audit", about, header, rows))
    filename = f"swat-audit-{now().astimezone(TOKYO):%Y%m%d}.csv"
    return Response(
        body, mimetype="text/csv; charset=utf-8", headers={"Content-Disposition": f'attachment; filename="{filename}"'}
    )
