"""Whether the parts the desk depends on answer (for load balancers and monitoring)."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session


def check_database(session: Session) -> None:
    """Ask the database a trivial question; raises the driver's error if it does not answer."""
    session.execute(text("SELECT 1"))
