"""HTML blueprints, and what every page shares, each installed by its own module."""

from __future__ import annotations

from flask import Flask

from . import boundary, errors, filters, headers, metrics, session, steps
from .filters import is_panel  # noqa: F401 (the side panel's test, for the views)
from .headers import PANEL_HEADER  # noqa: F401


def register_web(app: Flask) -> None:
    boundary.init_app(app)  # first: its id converter must be in place before the routes
    metrics.init_app(app)  # its clock starts before the other hooks run
    errors.init_app(app)
    headers.init_app(app)
    filters.init_app(app)
    session.init_app(app)
    steps.init_app(app)

    from . import (
        account,
        admin,
        audit,
        auth,
        canned,
        consultations,
        health,
        mail_review,
        notifications,
        operations,
        queue,
        reference,
        reports,
        signin_waits,
        ticket_links,  # noqa: F401 (its routes are the tickets blueprint's)
        tickets,
        triage,
        two_factor,
    )

    for module in (
        auth,
        consultations,
        queue,
        tickets,
        reference,
        admin,
        audit,
        triage,
        notifications,
        reports,
        canned,
        mail_review,
        account,
        two_factor,
        health,
        signin_waits,
        metrics,
        operations,
    ):
        app.register_blueprint(module.bp)
