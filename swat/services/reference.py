"""Reference data: read, validate and load `config/reference/*.yaml`.

Four files are read: departments.yaml, governance.yaml (bodies and the
escalation chain), themes.yaml and initiatives.yaml; other files in the folder
belong to other loaders and are ignored. Everything is validated before the
database is touched, so a bad file loads nothing. Loading is idempotent: rows
are compared before they are written, and an item removed from its file is
deleted when nothing points at it, otherwise kept as history with active=False.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, NoReturn

import yaml
from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from ..models import Base, Department, EscalationStep, GovernanceBody, Initiative, Theme
from ..models.reference import initiative_departments, initiative_themes

KINDS = ("departments", "governance", "escalation", "themes", "initiatives")
ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
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
TYPE_NAMES = {str: "a string", int: "an integer", bool: "true or false", list: "a list"}


class ReferenceDataError(Exception):
    """A reference file is missing, unparsable or invalid: which file, which item, why."""

    def __init__(self, file: str, item: str, reason: str) -> None:
        self.file, self.item, self.reason = file, item, reason
        super().__init__(f"{file}: {item}: {reason}" if item else f"{file}: {reason}")


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


# --- YAML: mappings remember their line; duplicate keys and implicit dates are refused ---


class _Map(dict):
    line = 0


class _Loader(yaml.SafeLoader):
    """SafeLoader whose mappings know their line, refusing duplicate keys and implicit dates."""


# Keep 2020-04-01 a string: dates are validated as text, like every other field.
_Loader.yaml_implicit_resolvers = {
    ch: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for ch, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _construct_map(loader: _Loader, node: yaml.MappingNode) -> _Map:
    loader.flatten_mapping(node)
    data = _Map()
    data.line = node.start_mark.line + 1
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        problem = (
            "unsupported mapping key"
            if not isinstance(key, (str, int, float, bool))
            else f"duplicate key {key!r}"
            if key in data
            else ""
        )
        if problem:
            raise yaml.constructor.ConstructorError(None, None, problem, key_node.start_mark)
        data[key] = loader.construct_object(value_node, deep=True)
    return data


_Loader.add_constructor("tag:yaml.org,2002:map", _construct_map)


def _parse(directory: Path, name: str, keys: tuple[str, ...]) -> _Map:
    path = directory / name
    if not path.is_file():
        raise ReferenceDataError(name, "", f"file not found in {directory}")
    try:
        doc = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)  # noqa: S506 (safe loader)
    except UnicodeDecodeError as exc:
        raise ReferenceDataError(name, "", f"not UTF-8 text ({exc.reason})") from exc
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ReferenceDataError(name, "", f"invalid YAML{where}: {exc.problem or exc.context}") from exc
    except yaml.YAMLError as exc:
        raise ReferenceDataError(name, "", f"invalid YAML: {exc}") from exc
    if not isinstance(doc, _Map):  # the loader builds every mapping as a _Map
        raise ReferenceDataError(name, "", f"expected a mapping with the key(s) {', '.join(keys)}")
    for key in doc:
        if key not in keys:
            raise ReferenceDataError(name, "", f"unknown top-level key {key!r} (line {doc.line})")
    for key in keys:
        if key not in doc:
            raise ReferenceDataError(name, "", f"missing top-level key {key!r}")
        if not isinstance(doc[key], list):
            raise ReferenceDataError(name, "", f"{key!r} must be a list")
    return doc


def _fail(file: str, item: str, reason: str, node: Any = None) -> NoReturn:
    line = getattr(node, "line", 0)
    raise ReferenceDataError(file, item, f"{reason} (line {line})" if line else reason)


def _items(file: str, entries: list, spec: dict, key: str = "id") -> Iterator[tuple[int, str, _Map, dict]]:
    """Yield (position from 1, item label, raw mapping, checked values) for each entry."""
    seen: set = set()
    for pos, raw in enumerate(entries, start=1):
        ident = raw.get(key) if isinstance(raw, _Map) else None
        item = ident if isinstance(ident, str) else f"{key} {ident}" if isinstance(ident, int) else f"item {pos}"
        if not isinstance(raw, _Map):
            _fail(file, item, "expected a mapping of fields")
        for name in raw:
            if name not in spec:
                _fail(file, item, f"unknown field {name!r}", raw)
        values: dict[str, Any] = {}
        for name, (types, required) in spec.items():
            value = raw.get(name)
            if value is None:
                if required:
                    _fail(file, item, f"missing required field {name!r}", raw)
            else:
                types = types if isinstance(types, tuple) else (types,)
                if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
                    wanted = " or ".join(TYPE_NAMES[t] for t in types)
                    _fail(file, item, f"field {name!r} must be {wanted}", raw)
                if required and isinstance(value, str) and not value.strip():
                    _fail(file, item, f"field {name!r} must not be empty", raw)
            values[name] = value
        if key == "id" and not ID_RE.match(values["id"]):
            _fail(file, item, f"id must match {ID_RE.pattern}", raw)
        if values[key] in seen:
            _fail(file, item, f"duplicate {key} {values[key]!r}", raw)
        seen.add(values[key])
        yield pos, item, raw, values


def _ref(file: str, item: str, raw: _Map, what: str, value: str | None, known: set) -> str | None:
    if value is not None and value not in known:
        _fail(file, item, f"unknown {what} {value!r}", raw)
    return value


def _id_list(file: str, item: str, raw: _Map, name: str, value: list, known: set) -> list[str]:
    if not value:
        _fail(file, item, f"field {name!r} must list at least one id", raw)
    for ref in value:
        if not isinstance(ref, str):
            _fail(file, item, f"field {name!r} must list ids as strings", raw)
        _ref(file, item, raw, name.rstrip("s"), ref, known)
    if len(set(value)) != len(value):
        _fail(file, item, f"field {name!r} lists an id twice", raw)
    return list(value)


def _date(file: str, item: str, raw: _Map, name: str, value: str | None) -> str:
    try:
        if value and (not DATE_RE.match(value) or not date.fromisoformat(value)):
            raise ValueError
    except ValueError:
        _fail(file, item, f"field {name!r} must be a date YYYY-MM-DD or empty", raw)
    return value or ""


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
        for pos, _, _, v in _items(f, _parse(directory, f, ("departments",))["departments"], DEPARTMENT_FIELDS)
    ]
    dept_ids = {d["id"] for d in departments}

    f = "governance.yaml"
    doc = _parse(directory, f, ("bodies", "escalation_chain"))
    bodies, raws = [], {}
    for pos, item, raw, v in _items(f, doc["bodies"], BODY_FIELDS):
        if v["kind"] not in BODY_KINDS:
            _fail(f, item, f"kind must be one of {', '.join(BODY_KINDS)}", raw)
        bodies.append(
            {
                **_named(v, pos),
                "kind": v["kind"],
                "parent_id": v["parent"],
                **{k: v[k] or "" for k in ("chair", "members", "role")},
                **{k: _date(f, item, raw, k, v[k]) for k in ("established_on", "dissolved_on")},
            }
        )
        raws[v["id"]] = raw
    body_ids = {b["id"] for b in bodies}
    parents = {b["id"]: b["parent_id"] for b in bodies}
    for body in bodies:
        _ref(f, body["id"], raws[body["id"]], "parent", body["parent_id"], body_ids)
        seen, node = {body["id"]}, body["parent_id"]
        while node is not None:
            if node in seen:
                _fail(f, body["id"], "parent chain loops back on itself", raws[body["id"]])
            seen.add(node)
            node = parents[node]
    escalation = []
    for pos, item, raw, v in _items(f, doc["escalation_chain"], STEP_FIELDS, key="level"):
        if v["level"] != pos:
            _fail(f, item, f"levels must run 1, 2, 3, ... in order; expected {pos}", raw)
        if v["kind"] not in STEP_KINDS:
            _fail(f, item, f"kind must be one of {', '.join(STEP_KINDS)}", raw)
        if v["kind"] == "body" and v["body"] is None:
            _fail(f, item, "a step of kind 'body' needs a body", raw)
        escalation.append(
            {
                "level": pos,
                "kind": v["kind"],
                "body_id": _ref(f, item, raw, "body", v["body"], body_ids),
                "label": v["label"],
                "label_en": v["label_en"] or "",
            }
        )

    f = "themes.yaml"
    themes = [
        {
            **_named(v, pos),
            "description": v["description"] or "",
            "panel_id": _ref(f, item, raw, "panel", v["panel"], body_ids),
        }
        for pos, item, raw, v in _items(f, _parse(directory, f, ("themes",))["themes"], THEME_FIELDS)
    ]
    theme_ids = {t["id"] for t in themes}

    f, initiatives = "initiatives.yaml", []
    for pos, item, raw, v in _items(f, _parse(directory, f, ("initiatives",))["initiatives"], INITIATIVE_FIELDS):
        if v["category"] not in (1, 2, 3):
            _fail(f, item, "category must be 1, 2 or 3", raw)
        contents = v["contents"] or []
        if not all(isinstance(line, str) for line in contents):
            _fail(f, item, "field 'contents' must be a list of strings", raw)
        deps = v["departments"]
        if isinstance(deps, str) and deps != ALL:
            _fail(f, item, f"field 'departments' must be a list of department ids or {ALL!r}", raw)
        initiatives.append(
            {
                **_named(v, pos),
                "category": v["category"],
                "contents": "\n".join(contents),
                "all_departments": deps == ALL,
                "departments_note": v["departments_note"] or "",
                "department_ids": [] if deps == ALL else _id_list(f, item, raw, "departments", deps, dept_ids),
                "theme_ids": _id_list(f, item, raw, "themes", v["themes"], theme_ids),
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


def load_reference(session: Session, directory: str | Path) -> LoadReport:
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

    departments, created, updated = _upsert(session, Department, data.departments)
    count("departments", created, updated)

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
    return report


def read_yaml_file(directory: str | Path, name: str) -> Any:
    """One more YAML file of the reference folder (routing.yaml, sla.yaml), parsed;
    a missing or unparsable file raises ReferenceDataError naming it."""
    try:
        with (Path(directory) / name).open(encoding="utf-8") as fh:
            return yaml.safe_load(fh) or {}
    except FileNotFoundError:
        raise ReferenceDataError(name, "", "file not found")
    except yaml.YAMLError as exc:
        raise ReferenceDataError(name, "", f"not valid YAML: {exc}")
