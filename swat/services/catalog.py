"""The reference catalog as pages read it: themes, initiatives, departments, governance, escalation chain.

Reference data is loaded by `swat reference load` (services.reference); these
are its readers. Lists come in the catalog's own order (`sort_order`), active
items only unless a function says otherwise, because retired items stay in
the tables for the history they are part of.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from ..models import Department, EscalationStep, GovernanceBody, Initiative, Theme
from ..models.reference import initiative_departments, initiative_themes
from . import documents

CATEGORIES = (1, 2, 3)
# What pages show of the catalog on every request (the queue's filters, the ticket page's
# chain), stored whole with each reference load (services.documents): a page reads that one
# version, not three tables on every request.
CATALOG_DOC = "catalog"


def active_themes(session: Session) -> Sequence[Theme]:
    """The themes a consultation can have, in catalog order."""
    return session.scalars(select(Theme).where(Theme.active).order_by(Theme.sort_order)).all()


def active_initiatives(session: Session) -> Sequence[Initiative]:
    """The initiatives a consultation can relate to, by category and catalog order."""
    return session.scalars(
        select(Initiative).where(Initiative.active).order_by(Initiative.category, Initiative.sort_order)
    ).all()


def active_departments(session: Session) -> Sequence[Department]:
    """The departments an account or a consultation can belong to, in catalog order."""
    return session.scalars(select(Department).where(Department.active).order_by(Department.sort_order)).all()


def themes_by_id(session: Session) -> dict[str, Theme]:
    """Every theme, retired ones included (old tickets and rules still name them)."""
    return {t.id: t for t in session.scalars(select(Theme))}


def initiatives_by_id(session: Session) -> dict[str, Initiative]:
    """Every initiative, retired ones included."""
    return {i.id: i for i in session.scalars(select(Initiative))}


def departments_by_id(session: Session) -> dict[str, Department]:
    """Every department, retired ones included."""
    return {d.id: d for d in session.scalars(select(Department))}


def escalation_chain(session: Session) -> Sequence[EscalationStep]:
    """The steps an overdue consultation climbs, lowest level first."""
    return session.scalars(select(EscalationStep).order_by(EscalationStep.level)).all()


@dataclass(frozen=True)
class Governance:
    """The governance chart: the live bodies as a tree, the dissolved ones, the chain and the themes' panels."""

    roots: list[GovernanceBody]
    children: dict[str | None, list[GovernanceBody]]
    dissolved: list[GovernanceBody]
    chain: Sequence[EscalationStep]
    themes: Sequence[Theme]


def governance(session: Session) -> Governance:
    """Everything the governance page shows, each list in catalog order; each theme's panel is loaded."""
    bodies = session.scalars(select(GovernanceBody).order_by(GovernanceBody.sort_order)).all()
    children: dict[str | None, list[GovernanceBody]] = {}
    for body in bodies:
        if body.active:
            children.setdefault(body.parent_id, []).append(body)
    themes = session.scalars(
        select(Theme).where(Theme.active).options(selectinload(Theme.panel)).order_by(Theme.sort_order)
    ).all()
    return Governance(
        roots=children.get(None, []),
        children=children,
        dissolved=[b for b in bodies if not b.active],
        chain=escalation_chain(session),
        themes=themes,
    )


def find_initiatives(
    session: Session, *, category: int | None = None, department_id: str = "", theme_id: str = ""
) -> Sequence[Initiative]:
    """Active initiatives, optionally of one category, one department and one theme, with both loaded.

    An initiative run by every department (全庁) counts for every department.
    An unknown category finds nothing rather than everything.
    """
    stmt = (
        select(Initiative)
        .where(Initiative.active)
        .options(selectinload(Initiative.departments), selectinload(Initiative.themes))
        .order_by(Initiative.category, Initiative.sort_order)
    )
    if category is not None:
        stmt = stmt.where(Initiative.category == category)
    if department_id:
        stmt = stmt.where(
            Initiative.all_departments
            | Initiative.id.in_(
                select(initiative_departments.c.initiative_id).where(
                    initiative_departments.c.department_id == department_id
                )
            )
        )
    if theme_id:
        stmt = stmt.where(
            Initiative.id.in_(select(initiative_themes.c.initiative_id).where(initiative_themes.c.theme_id == theme_id))
        )
    return session.scalars(stmt).all()


@dataclass(frozen=True, slots=True)
class CatalogName:
    """A theme, initiative or department as a choice or a list row names it (localized()
    reads name and name_en; a department may have a short name)."""

    id: str
    name: str
    name_en: str
    short_name: str = ""


@dataclass(frozen=True, slots=True)
class ChainStep:
    """A step of the escalation chain as the ticket page names it."""

    level: int
    label: str
    label_en: str


@dataclass(frozen=True)
class Catalog:
    """What pages show of the reference data on every request, in catalog order."""

    themes: list[CatalogName]
    departments: list[CatalogName]
    escalation: list[ChainStep]
    active_themes: list[CatalogName]  # the triage list's choices
    active_initiatives: list[CatalogName]


def catalog_document(session: Session) -> dict[str, Any]:
    """The catalog as the tables now hold it (deactivated items included): each theme and
    department as [id, name, name_en], each escalation step as [level, label, label_en]; then
    the active themes' ids, the active initiatives as [id, name, name_en] and the departments'
    short names. Keys are only ever added, and a key's rows keep their form: a version that
    reads fewer keys (hosts of two versions during an upgrade, or a rollback) still reads the
    document a newer one stored."""
    themes = session.scalars(select(Theme).order_by(Theme.sort_order, Theme.id)).all()
    departments = session.scalars(select(Department).order_by(Department.sort_order, Department.id)).all()
    return {
        "themes": [[t.id, t.name, t.name_en] for t in themes],
        "departments": [[d.id, d.name, d.name_en] for d in departments],
        "escalation": [[e.level, e.label, e.label_en] for e in escalation_chain(session)],
        "active_themes": [t.id for t in themes if t.active],
        "active_initiatives": [[i.id, i.name, i.name_en] for i in active_initiatives(session)],
        "short_names": {d.id: d.short_name for d in departments if d.short_name},
    }


def _catalog(doc: dict[str, Any]) -> Catalog:
    themes = [CatalogName(*t) for t in doc["themes"]]
    by_id = {t.id: t for t in themes}
    short: dict[str, str] = doc.get("short_names", {})
    return Catalog(
        themes,
        [CatalogName(d[0], d[1], d[2], short.get(d[0], "")) for d in doc["departments"]],
        [ChainStep(*e) for e in doc["escalation"]],
        [by_id[t] for t in doc["active_themes"]],
        [CatalogName(*i) for i in doc["active_initiatives"]],
    )


def _stored(doc: dict[str, Any]) -> Catalog | None:
    """A stored document as pages read it; None for one an earlier version stored (without
    the triage list's choices)."""
    return _catalog(doc) if "active_themes" in doc and "active_initiatives" in doc else None


def stored_catalog(session: Session) -> Catalog:
    """The catalog as the last reference load stored it (one document, compiled once per
    version in each process), or as the tables hold it before such a load (none yet, or
    one by an earlier version)."""
    stored = documents.compiled(session, CATALOG_DOC, _stored)
    return stored if stored is not None else _catalog(catalog_document(session))
