"""Reading the reference folder's YAML: mappings that know their line, checked fields, and
errors that name the file, the item and the reason.

The catalog documents (reference.py), the routing rules and the SLA rules read their files
through here, so a bad file fails the same way whichever loader reads it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any, NoReturn

import yaml

ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
TYPE_NAMES = {str: "a string", int: "an integer", bool: "true or false", list: "a list"}


class ReferenceDataError(Exception):
    """A reference file is missing, unparsable or invalid: which file, which item, why."""

    def __init__(self, file: str, item: str, reason: str) -> None:
        self.file, self.item, self.reason = file, item, reason
        super().__init__(f"{file}: {item}: {reason}" if item else f"{file}: {reason}")


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


def parse_file(directory: Path, name: str, keys: tuple[str, ...]) -> _Map:
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


def fail(file: str, item: str, reason: str, node: Any = None) -> NoReturn:
    line = getattr(node, "line", 0)
    raise ReferenceDataError(file, item, f"{reason} (line {line})" if line else reason)


def each_item(file: str, entries: list, spec: dict, key: str = "id") -> Iterator[tuple[int, str, _Map, dict]]:
    """Yield (position from 1, item label, raw mapping, checked values) for each entry."""
    seen: set = set()
    for pos, raw in enumerate(entries, start=1):
        ident = raw.get(key) if isinstance(raw, _Map) else None
        item = ident if isinstance(ident, str) else f"{key} {ident}" if isinstance(ident, int) else f"item {pos}"
        if not isinstance(raw, _Map):
            fail(file, item, "expected a mapping of fields")
        for name in raw:
            if name not in spec:
                fail(file, item, f"unknown field {name!r}", raw)
        values: dict[str, Any] = {}
        for name, (types, required) in spec.items():
            value = raw.get(name)
            if value is None:
                if required:
                    fail(file, item, f"missing required field {name!r}", raw)
            else:
                types = types if isinstance(types, tuple) else (types,)
                if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
                    wanted = " or ".join(TYPE_NAMES[t] for t in types)
                    fail(file, item, f"field {name!r} must be {wanted}", raw)
                if required and isinstance(value, str) and not value.strip():
                    fail(file, item, f"field {name!r} must not be empty", raw)
            values[name] = value
        if key == "id" and not ID_RE.match(values["id"]):
            fail(file, item, f"id must match {ID_RE.pattern}", raw)
        if values[key] in seen:
            fail(file, item, f"duplicate {key} {values[key]!r}", raw)
        seen.add(values[key])
        yield pos, item, raw, values


def known_ref(file: str, item: str, raw: _Map, what: str, value: str | None, known: set) -> str | None:
    if value is not None and value not in known:
        fail(file, item, f"unknown {what} {value!r}", raw)
    return value


def id_list(file: str, item: str, raw: _Map, name: str, value: list, known: set) -> list[str]:
    if not value:
        fail(file, item, f"field {name!r} must list at least one id", raw)
    for ref in value:
        if not isinstance(ref, str):
            fail(file, item, f"field {name!r} must list ids as strings", raw)
        known_ref(file, item, raw, name.rstrip("s"), ref, known)
    if len(set(value)) != len(value):
        fail(file, item, f"field {name!r} lists an id twice", raw)
    return list(value)


def date_text(file: str, item: str, raw: _Map, name: str, value: str | None) -> str:
    try:
        if value and (not DATE_RE.match(value) or not date.fromisoformat(value)):
            raise ValueError
    except ValueError:
        fail(file, item, f"field {name!r} must be a date YYYY-MM-DD or empty", raw)
    return value or ""


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
