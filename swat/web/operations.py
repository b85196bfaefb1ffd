"""/admin/status: what the desk runs on and how it is doing (versions, migrations, the
scheduler's heartbeat, each job's last run, the outbox), and the messages that gave up, each
with its reason, to send again or discard (admins; each in the audit trail)."""

from __future__ import annotations

from types import SimpleNamespace

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user

from .. import messages, resources, transaction
from ..domain import permissions
from ..services import health, operations
from .common import attempt, error_text, now, requires
from .listing_params import page_number

bp = Blueprint("operations", __name__, url_prefix="/admin")
# A heartbeat older than this is shown as a problem (the scheduler beats each minute).
HEARTBEAT_LATE_SECONDS = 180

# The scheduler's jobs (their ids in swat.jobs.scheduler and in job_runs) and what they count.
JOB_LABELS = {
    "sla-sweep": _l("SLA sweep"),
    "outbox-delivery": _l("Delivery of the outbox"),
    "mail-fetch": _l("Reading the desk's mailbox"),
    "sign-in-housekeeping": _l("Sign-in housekeeping"),
    "directory-sync": _l("Directory sync"),
    "weekly-summary": _l("Weekly summary"),
}
COUNT_LABELS = {
    "checked": _l("SLA clocks checked"),
    "fired": _l("escalations"),
    "renotified": _l("reminders"),
    "sent": _l("sent"),
    "retry": _l("to try again"),
    "failed": _l("gave up"),
    "forgotten": _l("old sign-in failures forgotten"),
    "filed": _l("filed"),
    "reply": _l("replies"),
    "held": _l("held for review"),
    "ignored": _l("ignored"),
    "refused": _l("refused"),
    "duplicate": _l("already taken in"),
    "too_large": _l("too large"),
    "errors": _l("left for the next run"),
    "left": _l("not tried"),
    "gone": _l("taken by another reader"),
    "found": _l("people in the directory"),
    "unchanged": _l("unchanged"),
    "queued": _l("queued"),
    "already": _l("already sent"),
    "week": _l("week"),
}
READINESS = {
    "database": _l("The database does not answer (%(error)s)."),
    "no_schema": _l("The database has no schema: run swat db upgrade (the code is at %(head)s)."),
    "schema_behind": _l("The database is at migration %(current)s and the code at %(head)s: run swat db upgrade."),
    "no_reference": _l("The reference data is not loaded (%(missing)s): run swat reference load."),
    "no_departments": _l("No departments are loaded: run swat reference load."),
}
# Reasons of undelivered messages the desk itself writes (the others are the far side's words).
FAILURE_REASONS = {
    operations.EXPIRED_LINK: _l("Not sent: the password-reset link in it expired before it could be sent."),
}


def _said(reason) -> str:
    """A readiness reason in the reader's language (its English text if its code is new)."""
    label = READINESS.get(getattr(reason, "code", ""))
    return str(label) % reason.params if label is not None else str(reason)


def _reason(message) -> str:
    said = FAILURE_REASONS.get(message.last_error or "")
    return str(said) if said is not None else (message.last_error or "—")


def _subject(message) -> str:
    """What the message's subject says (the kind as stored if its parameters cannot be read)."""
    try:
        return messages.subject(message.kind, message.params)
    except (ValueError, TypeError, KeyError, AttributeError):
        return message.kind


@bp.get("/status")
@requires(permissions.can_admin)
def status():
    session = transaction.session()
    at = now()
    head = health.migration_head(str(resources.MIGRATIONS))
    beat = operations.heartbeat(session)
    beat_age = (at - beat.beat_at).total_seconds() if beat else None
    failed, total, page = operations.failed_messages(session, page_number(request.args.get("page")))
    runs = [
        (run, JOB_LABELS.get(run.name, run.name), {str(COUNT_LABELS.get(k, k)): v for k, v in counted.items()})
        for run in operations.job_runs(session)
        for counted in [operations.counted(run)]
    ]
    return render_template(
        "admin/status.html",
        versions=operations.versions(session, head),
        readiness=[_said(r) for r in health.readiness(session, str(resources.MIGRATIONS))],
        beat=beat,
        beat_age=beat_age,
        beat_late=beat_age is None or beat_age > HEARTBEAT_LATE_SECONDS,
        runs=runs,
        outbox=operations.outbox(session, at),
        open_by_status=operations.open_by_status(session),
        failed=[(m, _subject(m), _reason(m)) for m in failed],
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


@bp.post("/status/retry-all")
@requires(permissions.can_admin)
def retry_all():
    done, error = attempt(
        operations.retry_all, transaction.session(), now(), current_user, source=request.remote_addr or ""
    )
    if error is not None:
        flash(error_text(error), "error")
        return redirect(url_for("operations.status"))
    sent, expired = done or (0, 0)
    said = []
    if sent:
        said.append(
            ngettext(
                "%(num)d message will be sent again at the next delivery.",
                "%(num)d messages will be sent again at the next delivery.",
                sent,
            )
        )
    if expired:
        said.append(
            ngettext(
                "%(num)d password-reset mail whose link has expired was left: discard it.",
                "%(num)d password-reset mails whose links have expired were left: discard them.",
                expired,
            )
        )
    flash(" ".join(said) or _("No undelivered message was left to send again."), "success" if sent else "error")
    return redirect(url_for("operations.status"))
