"""Reference data from the seed: departments, governance, themes, initiatives."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, ForeignKey, Integer, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base

ID = String(64)

initiative_departments = Table(
    "initiative_departments",
    Base.metadata,
    Column("initiative_id", ID, ForeignKey("initiatives.id", ondelete="CASCADE"), primary_key=True),
    Column("department_id", ID, ForeignKey("departments.id", ondelete="CASCADE"), primary_key=True),
)

initiative_themes = Table(
    "initiative_themes",
    Base.metadata,
    Column("initiative_id", ID, ForeignKey("initiatives.id", ondelete="CASCADE"), primary_key=True),
    Column("theme_id", ID, ForeignKey("themes.id", ondelete="CASCADE"), primary_key=True),
)


class Department(Base):
    __tablename__ = "departments"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200), default="")
    short_name: Mapped[str] = mapped_column(String(50), default="")
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class GovernanceBody(Base):
    __tablename__ = "governance_bodies"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200), default="")
    kind: Mapped[str] = mapped_column(String(32))
    parent_id: Mapped[str | None] = mapped_column(ID, ForeignKey("governance_bodies.id"), nullable=True)
    chair: Mapped[str] = mapped_column(String(200), default="")
    members: Mapped[str] = mapped_column(Text, default="")
    role: Mapped[str] = mapped_column(Text, default="")
    established_on: Mapped[str] = mapped_column(String(10), default="")
    dissolved_on: Mapped[str] = mapped_column(String(10), default="")
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class EscalationStep(Base):
    """One level of the escalation chain (assignee -> lead -> CIO -> steering committee)."""

    __tablename__ = "escalation_steps"

    level: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(32))
    body_id: Mapped[str | None] = mapped_column(ID, ForeignKey("governance_bodies.id"), nullable=True)
    label: Mapped[str] = mapped_column(String(200))
    label_en: Mapped[str] = mapped_column(String(200), default="")


class Theme(Base):
    __tablename__ = "themes"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    panel_id: Mapped[str | None] = mapped_column(ID, ForeignKey("governance_bodies.id"), nullable=True)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    panel: Mapped[GovernanceBody | None] = relationship(lazy="raise")


class Initiative(Base):
    __tablename__ = "initiatives"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    category: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200), default="")
    contents: Mapped[str] = mapped_column(Text, default="")
    all_departments: Mapped[bool] = mapped_column(Boolean, default=False)
    departments_note: Mapped[str] = mapped_column(String(200), default="")
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    departments: Mapped[list[Department]] = relationship(
        secondary=initiative_departments, lazy="raise", order_by=Department.sort_order
    )
    themes: Mapped[list[Theme]] = relationship(secondary=initiative_themes, lazy="raise", order_by=Theme.sort_order)
