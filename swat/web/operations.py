"""/admin/status: what the desk runs on and how it is doing (versions, migrations, the
scheduler's heartbeat, each job's last run, the outbox), and the messages that gave up, each
with its reason, to send again or discard (admins; each in the audit trail)."""

from __future__ import annotations

from types import SimpleNamespace

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from .. import resources, transaction
from ..domain import permissions
from ..services import health, operations
from .common import attempt, error_text, now, requires
from .listing_params import page_number

bp = Blueprint("operations", __name__, url_prefix="/admin")
# A heartbeat older than this is shown as a problem (the scheduler beats each minute).
HEARTBEAT_LATE_SECONDS = 180


@bp.get("/status")
@requires(permissions.can_admin)
def status():
    session = transaction.session()
    at = now()
    head = health.migration_head(str(resources.MIGRATIONS))
    beat = operations.heartbeat(session)
    beat_age = (at - beat.beat_at).total_seconds() if beat else None
    failed, total, page = operations.failed_messages(session, page_number(request.args.get("page")))
    runs = [(run, operations.counted(run)) for run in operations.job_runs(session)]
    return render_template(
        "admin/status.html",
        versions=operations.versions(session, head),
        readiness=health.readiness(session, str(resources.MIGRATIONS)),
        beat=beat,
        beat_age=beat_age,
        beat_late=beat_age is None or beat_age > HEARTBEAT_LATE_SECONDS,
        runs=runs,
        outbox=operations.outbox(session, at),
        open_by_status=operations.open_by_status(session),
        failed=failed,
        failed_total=total,
        page=SimpleNamespace(page=page, pages=operations.failed_pages(total), at_least=False),
        now=at,
    )


def _act(action, done):
    try:
        message_id = int(request.form.get("message", ""))
        if not 0 < message_id < 2**31:  # a number the database can hold
            raise ValueError
    except ValueError:
        flash(_("Choose a message."), "error")
        return redirect(url_for("operations.status"))
    message, error = attempt(
        action, transaction.session(), now(), current_user, message_id, source=request.remote_addr or ""
    )
    if error is not None:
        flash(error_text(error), "error")
    elif message is not None:
        flash(done(message), "success")
    return redirect(url_for("operations.status", page=request.form.get("page", 1)))


@bp.post("/status/retry")
@requires(permissions.can_admin)
def retry():
    return _act(
        operations.retry,
        lambda m: _("Message %(id)s to %(to)s will be sent again at the next delivery.", id=m.id, to=m.recipient),
    )


@bp.post("/status/discard")
@requires(permissions.can_admin)
def discard():
    return _act(
        operations.discard,
        lambda m: _("Message %(id)s to %(to)s was discarded; it will not be sent.", id=m.id, to=m.recipient),
    )
