"""Reference data: read, validate and load `config/reference/*.yaml`.

Four files are read: departments.yaml, governance.yaml (bodies and the
escalation chain), themes.yaml and initiatives.yaml; other files in the folder
belong to other loaders and are ignored. Everything is validated before the
database is touched, so a bad file loads nothing. Loading is idempotent: rows
are compared before they are written, and an item removed from its file is
deleted when nothing points at it, otherwise kept as history with active=False.
The YAML reading and the field checks shared with the other loaders are in
reference_yaml.py; ReferenceDataError is re-exported here with the loaders that raise it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from ..models import Base, Department, EscalationStep, GovernanceBody, Initiative, Theme
from ..models.reference import initiative_departments, initiative_themes
from . import catalog, documents, search_index
from .reference_yaml import ReferenceDataError, date_text, each_item, fail, id_list, known_ref, parse_file

__all__ = ["LoadReport", "ReferenceData", "ReferenceDataError", "load_reference", "read_reference"]

KINDS = ("departments", "governance", "escalation", "themes", "initiatives")
BODY_KINDS = ("council", "headquarters", "committee", "panel", "desk", "liaison", "dissolved")
STEP_KINDS = ("assignee", "lead", "cio", "body")
ALL = "all"

# Field specs: name -> (accepted types, required). A null value counts as absent.
_NAMED = {"id": (str, True), "name": (str, True), "name_en": (str, False), "active": (bool, False)}
DEPARTMENT_FIELDS = {**_NAMED, "short_name": (str, False)}
BODY_FIELDS = {
    **_NAMED,
    "kind": (str, True),
    "parent": (str, False),
    "chair": (str, False),
    "members": (str, False),
    "role": (str, False),
    "established_on": (str, False),
    "dissolved_on": (str, False),
}
STEP_FIELDS = {
    "level": (int, True),
    "kind": (str, True),
    "body": (str, False),
    "label": (str, True),
    "label_en": (str, False),
}
THEME_FIELDS = {**_NAMED, "description": (str, False), "panel": (str, True)}
INITIATIVE_FIELDS = {
    **_NAMED,
    "category": (int, True),
    "contents": (list, False),
    "departments": ((list, str), True),
    "departments_note": (str, False),
    "themes": (list, True),
}


@dataclass
class ReferenceData:
    """Validated rows, in file order, keyed by model attribute name.

    Initiatives also carry `department_ids` and `theme_ids` (file order, most
    fitting theme first); `all_departments` is True for 全庁.
    """

    departments: list[dict[str, Any]]
    governance: list[dict[str, Any]]
    escalation: list[dict[str, Any]]
    themes: list[dict[str, Any]]
    initiatives: list[dict[str, Any]]


@dataclass
class LoadReport:
    """What a load did, counted per kind (see KINDS)."""

    created: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    updated: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    deactivated: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    deleted: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))

    @property
    def changed(self) -> bool:
        return any(any(c.values()) for c in (self.created, self.updated, self.deactivated, self.deleted))

    def summary(self) -> str:
        return "\n".join(
            f"{k}: {self.created[k]} created, {self.updated[k]} updated, "
            f"{self.deactivated[k]} deactivated, {self.deleted[k]} deleted"
            for k in KINDS
        )


def _named(values: dict, pos: int) -> dict[str, Any]:
    return {
        "id": values["id"],
        "name": values["name"],
        "name_en": values["name_en"] or "",
        "sort_order": pos,
        "active": values["active"] is not False,
    }


def read_reference(directory: str | Path) -> ReferenceData:
    """Parse and validate the four reference files in `directory`, without a database.

    Guarantees that every id is well formed and unique within its kind, that no
    unknown field is present, and that every reference (initiative departments
    and themes, theme panel, governance parent, escalation body) names an item
    of the same load. Raises ReferenceDataError naming the file, item and reason.
    """
    directory = Path(directory)
    f = "departments.yaml"
    departments = [
        {**_named(v, pos), "short_name": v["short_name"] or ""}
        for pos, _, _, v in each_item(f, parse_file(directory, f, ("departments",))["departments"], DEPARTMENT_FIELDS)
    ]
    dept_ids = {d["id"] for d in departments}

    f = "governance.yaml"
    doc = parse_file(directory, f, ("bodies", "escalation_chain"))
    bodies, raws = [], {}
    for pos, item, raw, v in each_item(f, doc["bodies"], BODY_FIELDS):
        if v["kind"] not in BODY_KINDS:
            fail(f, item, f"kind must be one of {', '.join(BODY_KINDS)}", raw)
        bodies.append(
            {
                **_named(v, pos),
                "kind": v["kind"],
                "parent_id": v["parent"],
                **{k: v[k] or "" for k in ("chair", "members", "role")},
                **{k: date_text(f, item, raw, k, v[k]) for k in ("established_on", "dissolved_on")},
            }
        )
        raws[v["id"]] = raw
    body_ids = {b["id"] for b in bodies}
    parents = {b["id"]: b["parent_id"] for b in bodies}
    for body in bodies:
        known_ref(f, body["id"], raws[body["id"]], "parent", body["parent_id"], body_ids)
        seen, node = {body["id"]}, body["parent_id"]
        while node is not None:
            if node in seen:
                fail(f, body["id"], "parent chain loops back on itself", raws[body["id"]])
            seen.add(node)
            node = parents[node]
    escalation = []
    for pos, item, raw, v in each_item(f, doc["escalation_chain"], STEP_FIELDS, key="level"):
        if v["level"] != pos:
            fail(f, item, f"levels must run 1, 2, 3, ... in order; expected {pos}", raw)
        if v["kind"] not in STEP_KINDS:
            fail(f, item, f"kind must be one of {', '.join(STEP_KINDS)}", raw)
        if v["kind"] == "body" and v["body"] is None:
            fail(f, item, "a step of kind 'body' needs a body", raw)
        escalation.append(
            {
                "level": pos,
                "kind": v["kind"],
                "body_id": known_ref(f, item, raw, "body", v["body"], body_ids),
                "label": v["label"],
                "label_en": v["label_en"] or "",
            }
        )

    f = "themes.yaml"
    themes = [
        {
            **_named(v, pos),
            "description": v["description"] or "",
            "panel_id": known_ref(f, item, raw, "panel", v["panel"], body_ids),
        }
        for pos, item, raw, v in each_item(f, parse_file(directory, f, ("themes",))["themes"], THEME_FIELDS)
    ]
    theme_ids = {t["id"] for t in themes}

    f, initiatives = "initiatives.yaml", []
    for pos, item, raw, v in each_item(f, parse_file(directory, f, ("initiatives",))["initiatives"], INITIATIVE_FIELDS):
        if v["category"] not in (1, 2, 3):
            fail(f, item, "category must be 1, 2 or 3", raw)
        contents = v["contents"] or []
        if not all(isinstance(line, str) for line in contents):
            fail(f, item, "field 'contents' must be a list of strings", raw)
        deps = v["departments"]
        if isinstance(deps, str) and deps != ALL:
            fail(f, item, f"field 'departments' must be a list of department ids or {ALL!r}", raw)
        initiatives.append(
            {
                **_named(v, pos),
                "category": v["category"],
                "contents": "\n".join(contents),
                "all_departments": deps == ALL,
                "departments_note": v["departments_note"] or "",
                "department_ids": [] if deps == ALL else id_list(f, item, raw, "departments", deps, dept_ids),
                "theme_ids": id_list(f, item, raw, "themes", v["themes"], theme_ids),
            }
        )
    return ReferenceData(departments, bodies, escalation, themes, initiatives)


# --- applying to the database ---


def _assign(obj: Any, values: dict[str, Any]) -> bool:
    """Set only the attributes that differ, so an unchanged row gets no UPDATE."""
    changed = False
    for name, value in values.items():
        if getattr(obj, name) != value:
            setattr(obj, name, value)
            changed = True
    return changed


def _upsert(
    session: Session, model: type[Base], rows: list[dict], key: str = "id", later: tuple[str, ...] = ()
) -> tuple[dict, set, set]:
    """Create or update rows; columns in `later` are left for the caller's second pass.

    Returns (every object of the table by key, keys created, keys updated)."""
    columns = set(model.__table__.columns.keys()) - set(later)
    objs = {getattr(o, key): o for o in session.scalars(select(model))}
    created, updated = set(), set()
    for row in rows:
        values = {k: v for k, v in row.items() if k in columns}
        obj = objs.get(row[key])
        if obj is None:
            objs[row[key]] = obj = model(**values)
            session.add(obj)
            created.add(row[key])
        elif _assign(obj, values):
            updated.add(row[key])
    session.flush()
    return objs, created, updated


def _sync_links(session: Session, table, owner: str, target: str, wanted: dict[str, list[str]]) -> set:
    """Make the association rows of each owner in `wanted` exactly its list; return owners changed."""
    have: dict[str, set] = defaultdict(set)
    for a, b in session.execute(select(table.c[owner], table.c[target])):
        have[a].add(b)
    changed = set()
    for key, targets in wanted.items():
        want, old = set(targets), have.get(key, set())
        if want - old:
            session.execute(insert(table), [{owner: key, target: t} for t in sorted(want - old)])
        if old - want:
            session.execute(delete(table).where(table.c[owner] == key, table.c[target].in_(old - want)))
        if want != old:
            changed.add(key)
    return changed


def _remove(
    session: Session, model: type[Base], objs: dict, keep: set, kind: str, report: LoadReport, owned: tuple = ()
) -> None:
    """Delete rows no longer in the file that no other row points at; deactivate the rest.

    Any foreign key in the schema counts as a reference (tickets, users, user
    themes, initiative links, child bodies, ...), except the `owned` association
    columns, whose rows go with their owner. Repeats so that chains of removed
    rows (a removed body under a removed body) are deleted child first.
    """
    table = model.__table__
    refs = [
        fk.parent
        for t in Base.metadata.tables.values()
        for fk in t.foreign_keys
        if fk.column.table is table and not any(fk.parent is col for col in owned)
    ]
    gone = set(objs) - keep
    while gone:
        session.flush()
        used: set = set()
        for col in refs:
            used |= set(session.scalars(select(col).where(col.in_(gone)).distinct()))
        free = gone - used
        if not free:
            break
        for col in owned:
            session.execute(delete(col.table).where(col.in_(free)))
        session.execute(delete(model).where(table.c.id.in_(free)))
        report.deleted[kind] += len(free)
        gone -= free
    for key in sorted(gone):
        if objs[key].active:
            objs[key].active = False
            report.deactivated[kind] += 1


def load_reference(session: Session, directory: str | Path, now: datetime | None = None) -> LoadReport:
    """Read the reference files in `directory` and make the database match them.

    Nothing is written unless every file is valid (ReferenceDataError otherwise).
    Rows are inserted in foreign-key order and only changed columns are updated,
    so a second load of the same files reports no change and issues no UPDATE.
    Items missing from their file are deleted, or deactivated when referenced;
    items present are active unless the file says `active: false`. Flushes the
    session and never commits: the caller owns the transaction.
    """
    data = read_reference(directory)
    report = LoadReport()

    def count(kind: str, created: set, updated: set) -> None:
        report.created[kind] += len(created)
        report.updated[kind] += len(updated - created)

    names_before = {d.id: d.name for d in session.scalars(select(Department))}
    departments, created, updated = _upsert(session, Department, data.departments)
    count("departments", created, updated)
    # A department's name is found in its consultations: renamed, their documents follow.
    for dep_id in sorted(updated):
        if dep_id in names_before and departments[dep_id].name != names_before[dep_id]:
            search_index.reindex_department(session, dep_id)

    # Bodies first without parents, then parents, so any order of the file inserts cleanly.
    bodies, created, updated = _upsert(session, GovernanceBody, data.governance, later=("parent_id",))
    for row in data.governance:
        if _assign(bodies[row["id"]], {"parent_id": row["parent_id"]}):
            updated.add(row["id"])
    session.flush()
    count("governance", created, updated)

    steps, created, updated = _upsert(session, EscalationStep, data.escalation, key="level")
    count("escalation", created, updated)
    themes, created, updated = _upsert(session, Theme, data.themes)
    count("themes", created, updated)

    initiatives, created, updated = _upsert(session, Initiative, data.initiatives)
    for table, target, ids in (
        (initiative_departments, "department_id", "department_ids"),
        (initiative_themes, "theme_id", "theme_ids"),
    ):
        updated |= _sync_links(session, table, "initiative_id", target, {i["id"]: i[ids] for i in data.initiatives})
    count("initiatives", created, updated)

    # Removals run from the most dependent kind down, so a deleted initiative
    # releases its departments and themes before those are considered.
    owned = (initiative_departments.c.initiative_id, initiative_themes.c.initiative_id)
    _remove(session, Initiative, initiatives, {i["id"] for i in data.initiatives}, "initiatives", report, owned)
    _remove(session, Theme, themes, {t["id"] for t in data.themes}, "themes", report)
    old_levels = set(steps) - {s["level"] for s in data.escalation}
    if old_levels:
        session.execute(delete(EscalationStep).where(EscalationStep.level.in_(old_levels)))
        report.deleted["escalation"] += len(old_levels)
    _remove(session, GovernanceBody, bodies, {b["id"] for b in data.governance}, "governance", report)
    _remove(session, Department, departments, {d["id"] for d in data.departments}, "departments", report)
    session.flush()
    _store_catalog(session, now or datetime.now(UTC))
    return report


def _store_catalog(session: Session, now: datetime) -> None:
    """What pages show of the catalog on every request, stored whole (catalog.stored_catalog)."""
    documents.store(session, catalog.CATALOG_DOC, catalog.catalog_document(session), now)
