"""The reference catalog as pages read it: themes, initiatives, departments, governance, escalation chain.

Reference data is loaded by `swat reference load` (services.reference); these
are its readers. Lists come in the catalog's own order (`sort_order`), active
items only unless a function says otherwise, because retired items stay in
the tables for the history they are part of.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from ..models import Department, EscalationStep, GovernanceBody, Initiative, Theme
from ..models.reference import initiative_departments, initiative_themes

CATEGORIES = (1, 2, 3)


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
