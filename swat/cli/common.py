"""What the command modules share: the app's clock, and domain errors as shell text."""

from __future__ import annotations

from flask import current_app

from ..domain.errors import DomainError


def plain_text(exc: DomainError) -> str:
    """A domain error in English for the shell."""
    text = exc.message % exc.params if exc.params else exc.message
    cause = getattr(exc, "cause", None)
    return f"{text} {plain_text(cause)}" if cause is not None else text


def now():
    """The app's clock (a fixed one in tests): every command's `now`."""
    return current_app.extensions["swat.clock"].now()


def load_all_reference(directory: str):
    """`swat reference load` and `swat setup`: the reference files, the routing and SLA
    documents, and the audit event of the load, in the command's transaction (not committed).
    Returns (report, routing changed, SLA changed); ReferenceDataError when a file is bad."""
    from ..extensions import db
    from ..services.audit import record_reference_load
    from ..services.reference import load_reference
    from ..services.routing_rules import load_routing
    from ..services.sla import load_sla

    report = load_reference(db.session(), directory)
    routing_changed = load_routing(db.session(), directory, now())
    sla_changed = load_sla(db.session(), directory, now())
    record_reference_load(
        db.session(),
        now(),
        directory=directory,
        report=report,
        routing_changed=routing_changed,
        sla_changed=sla_changed,
    )
    return report, routing_changed, sla_changed
