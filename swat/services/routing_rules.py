"""The routing rules: read from the reference folder, checked, stored and compiled.

`load_routing()` stores config/reference/routing.yaml with the catalog texts it needs and
the labelled examples as one document in the database, so every worker routes alike and a
reload reaches them all; `current_rules()` compiles the stored document once per version.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from ..domain.audit import SKILLS_CHANGED
from ..domain.routing import Rules, RulesError, compile_rules
from ..models import User
from ..models.user import user_themes
from . import audit, documents
from .reference import read_reference
from .reference_yaml import ReferenceDataError, read_yaml_file

DOC_NAME = "routing"
FILE_NAME = "routing.yaml"
EXAMPLES_DIR = "routing-examples"


# --- rules ----------------------------------------------------------------


def read_routing(directory: str | Path) -> dict:
    """The routing document: routing.yaml plus the catalog facts it is checked against.

    Raises ReferenceDataError("routing.yaml", item, reason) for a bad file.
    """
    directory = Path(directory)
    data = read_reference(directory)
    raw = read_yaml_file(directory, FILE_NAME)
    doc = {
        "rules": raw,
        "examples": _read_examples(directory / EXAMPLES_DIR, {t["id"] for t in data.themes}),
        "initiative_themes": {i["id"]: i["theme_ids"] for i in data.initiatives if i.get("active", True)},
        "initiative_departments": {
            i["id"]: (["all"] if i["all_departments"] else i["department_ids"]) for i in data.initiatives
        },
        "theme_texts": {t["id"]: f"{t['name']} {t.get('description', '')}" for t in data.themes},
        "theme_panels": {t["id"]: t.get("panel_id") for t in data.themes},
        "initiative_texts": {i["id"]: f"{i['name']} {i.get('contents', '')}" for i in data.initiatives},
    }
    try:
        _compile(doc)
    except RulesError as exc:
        raise ReferenceDataError(FILE_NAME, "", str(exc))
    return doc


def _read_examples(folder: Path, themes: set[str]) -> list[dict]:
    """Labelled consultations ({title, body, theme, ...} per line) that teach the example model."""
    rows = []
    for path in sorted(folder.glob("*.jsonl")) if folder.is_dir() else []:
        name = f"{EXAMPLES_DIR}/{path.name}"
        for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError as exc:
                raise ReferenceDataError(name, f"line {lineno}", f"not valid JSON ({exc})")
            if (
                not isinstance(row, dict)
                or not isinstance(row.get("title"), str)
                or not isinstance(row.get("body"), str)
                or row.get("theme") not in themes
            ):
                raise ReferenceDataError(name, f"line {lineno}", "needs a title, a body and a known theme")
            rows.append({"title": row["title"], "body": row["body"], "theme": row["theme"]})
    return rows


def _apply_member_skills(session: Session, members: dict, now: datetime) -> None:
    for username, settings in members.items():
        if "themes" not in settings:
            continue
        user = session.scalar(select(User).where(User.username == username))
        if user is None:
            continue
        wanted = list(dict.fromkeys(settings["themes"]))
        current = list(session.scalars(select(user_themes.c.theme_id).where(user_themes.c.user_id == user.id)))
        if sorted(current) != sorted(wanted):
            session.execute(delete(user_themes).where(user_themes.c.user_id == user.id))
            if wanted:
                session.execute(insert(user_themes), [{"user_id": user.id, "theme_id": t} for t in wanted])
            audit.record(
                session,
                now,
                actor=None,
                kind=SKILLS_CHANGED,
                subject=user,
                source="cli",
                before={"themes": sorted(current)},
                after={"themes": sorted(wanted)},
            )


def _compile(doc: dict, exclude: set[tuple[str, str]] | None = None) -> Rules:
    examples = doc.get("examples", [])
    if exclude:
        examples = [e for e in examples if (e["title"], e["body"]) not in exclude]
    return compile_rules(doc["rules"], doc["initiative_themes"], doc["theme_texts"], doc["initiative_texts"], examples)


def load_routing(session: Session, directory: str | Path, now: datetime) -> bool:
    """Store the routing document if it changed; True when it did. Flushes, never commits.

    Members listed with `themes` in routing.yaml get exactly those skills (the
    admin page can change them until the next load)."""
    doc = read_routing(directory)
    _apply_member_skills(session, doc["rules"].get("members") or {}, now)
    return documents.store(session, DOC_NAME, doc, now)


def current_rules(session: Session) -> tuple[Rules, dict] | None:
    """The loaded rules (compiled once per version and cached), or None before the first load."""
    return documents.compiled(session, DOC_NAME, lambda doc: (_compile(doc), doc))


def rules_from_directory(directory: str | Path, exclude: set[tuple[str, str]] | None = None) -> Rules:
    """Compile the rules of a reference folder; `exclude` leaves those (title, body)
    examples out of the example model, so a labelled set is never judged by a model
    that learnt from it."""
    return _compile(read_routing(directory), exclude)
