"""For load balancers and monitoring: /healthz (the process answers) and /readyz (it can serve:
database, migrations, reference data). Neither needs a sign-in; both answer JSON."""

from __future__ import annotations

from flask import Blueprint, current_app

from .. import resources, transaction
from ..services import health

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """Liveness: the process answers. It asks the database nothing, so a database outage does
    not make a supervisor restart every worker."""
    return {"status": "ok"}


@bp.get("/readyz")
def readyz():
    """Readiness: 200 when the database answers, its schema is at this code's migration head and
    the reference data is loaded; 503 with the reasons otherwise."""
    reasons = health.readiness(transaction.session(), str(resources.MIGRATIONS))
    if reasons:
        current_app.logger.warning("not ready: %s", "; ".join(reasons))
        return {"status": "not ready", "reasons": reasons}, 503
    return {"status": "ready"}
