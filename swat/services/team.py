"""The SWAT team: who can be assigned, their workload, and their absences."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..domain import permissions
from ..models import User


def assignable_members(session: Session) -> Sequence[User]:
    """Active SWAT members and leads, by display name: the people a consultation can be handed to."""
    return session.scalars(
        select(User).where(User.active, User.role.in_(permissions.ASSIGNABLE_ROLES)).order_by(User.display_name)
    ).all()
