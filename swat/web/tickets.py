"""One consultation: its conversation, files and history, and the actions on it."""

from __future__ import annotations

import json
from urllib.parse import quote

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError

from ..domain import permissions, states
from ..domain.errors import DomainError, NotFound
from ..extensions import db
from ..models import (
    Attachment,
    EscalationStep,
    Initiative,
    Message,
    RoutingProposal,
    Theme,
    Ticket,
    TicketEvent,
    TicketInitiative,
)
from ..services import routing, sla
from ..services import tickets as svc
from ..services.visibility import get_visible_ticket
from .common import error_text, form_error, limits, now, store, uploads
from .forms import ActionForm, AssignForm, NoteForm, ReplyForm, StatusForm
from .i18n import STATUS_LABELS
from .queue import desk_members

bp = Blueprint("tickets", __name__, url_prefix="/tickets")


def _load(number: str, *options) -> Ticket:
    try:
        return get_visible_ticket(db.session, current_user, number, *options)
    except NotFound:
        abort(404)


def _page(ticket: Ticket, reply_form=None, note_form=None, status_code=200):
    internal = permissions.can_see_internal(current_user)
    messages = select(Message).where(Message.ticket_id == ticket.id).options(selectinload(Message.author))
    events = select(TicketEvent).where(TicketEvent.ticket_id == ticket.id).options(selectinload(TicketEvent.actor))
    files = select(Attachment).where(Attachment.ticket_id == ticket.id)
    if not internal:
        messages = messages.where(Message.internal.is_(False))
        events = events.where(TicketEvent.internal.is_(False))
        files = files.where(Attachment.internal.is_(False))
    messages = db.session.scalars(messages.order_by(Message.created_at, Message.id)).all()
    events = db.session.scalars(events.order_by(TicketEvent.at, TicketEvent.id)).all()
    files = db.session.scalars(files.order_by(Attachment.created_at, Attachment.id)).all()
    by_message: dict[int | None, list[Attachment]] = {}
    for f in files:
        by_message.setdefault(f.message_id, []).append(f)
    desk = permissions.is_desk(current_user)
    side = permissions.side_of(current_user)
    assign_form = status_form = None
    if desk:
        assign_form = AssignForm()
        assign_form.assignee.choices = [("", _("Nobody (back to the queue)"))] + [
            (str(m.id), m.display_name) for m in desk_members()
        ]
        assign_form.assignee.data = str(ticket.assignee_id or "")
        status_form = StatusForm()
        status_form.status.choices = [("", _("Choose the new status"))] + [
            (s, str(STATUS_LABELS[s])) for s in states.target_statuses(ticket.status, side)
        ]
    requester_side = permissions.can_act_as_requester(current_user, ticket.department_id)
    desk_info = _desk_info(ticket) if internal else None
    sla_clocks = sla.views(db.session, [ticket.id], now()).get(ticket.id, [])
    return render_template(
        "tickets/show.html",
        ticket=ticket,
        messages=messages,
        events=events,
        files=files,
        by_message=by_message,
        show_internal=internal,
        desk=desk,
        requester_side=requester_side,
        reply_form=reply_form or ReplyForm(),
        note_form=note_form or NoteForm(prefix="note"),
        assign_form=assign_form,
        status_form=status_form,
        action_form=ActionForm(),
        can_claim=desk and ticket.status == states.NEW and ticket.assignee_id is None,
        can_close=(desk or requester_side) and ticket.status != states.CLOSED,
        can_reopen=(desk or requester_side) and ticket.status in (states.RESOLVED, states.CLOSED),
        can_reply=(desk or requester_side) and states.is_open(ticket.status),
        info=desk_info,
        sla_clocks=sla_clocks,
    ), status_code


def _desk_info(ticket: Ticket) -> dict:
    """What the desk knows that helps: the proposal and its reasons, the catalog
    entries and their departments, the panel and escalation chain, similar cases."""
    proposal = db.session.get(RoutingProposal, ticket.id)
    reasons = json.loads(proposal.reasons) if proposal else []
    linked = [link.initiative for link in ticket.initiative_links]
    proposed = []
    if not linked and proposal:
        ids = json.loads(proposal.initiative_ids)
        if ids:
            found = {
                i.id: i
                for i in db.session.scalars(
                    select(Initiative).where(Initiative.id.in_(ids)).options(selectinload(Initiative.departments))
                )
            }
            proposed = [found[i] for i in ids if i in found]
    chain = db.session.scalars(select(EscalationStep).order_by(EscalationStep.level)).all()
    themes = {t.id: t for t in db.session.scalars(select(Theme))}
    inits = {i.id: i for i in db.session.scalars(select(Initiative))}
    return {
        "proposal": proposal,
        "reasons": reasons,
        "initiatives": linked or proposed,
        "proposed": not linked,
        "panel": ticket.theme.panel if ticket.theme else None,
        "chain": chain,
        "similar": routing.similar_tickets(db.session, current_user, ticket),
        "theme_by_id": themes,
        "init_by_id": inits,
    }


def _load_full(number: str) -> Ticket:
    return _load(
        number,
        selectinload(Ticket.department),
        selectinload(Ticket.theme).selectinload(Theme.panel),
        selectinload(Ticket.requester),
        selectinload(Ticket.assignee),
        selectinload(Ticket.initiative_links)
        .selectinload(TicketInitiative.initiative)
        .selectinload(Initiative.departments),
    )


@bp.get("/<number>")
@login_required
def show(number):
    return _page(_load_full(number))


def _done(ticket_number: str, message: str):
    flash(message, "success")
    return redirect(url_for("tickets.show", number=ticket_number))


def _act(number: str, action, success: str):
    """Run one state-changing action in one transaction; errors go back to the page."""
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    ticket = _load(number)
    try:
        action(ticket)
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        flash(error_text(exc), "error")
        return redirect(url_for("tickets.show", number=number))
    except StaleDataError:
        db.session.rollback()
        flash(_("Someone else changed this consultation at the same time. Check it and try again."), "error")
        return redirect(url_for("tickets.show", number=number))
    return _done(number, success)


@bp.post("/<number>/claim")
@login_required
def claim(number):
    return _act(
        number, lambda t: svc.claim_ticket(db.session, current_user, now(), t), _("You took this consultation.")
    )


@bp.post("/<number>/assign")
@login_required
def assign(number):
    value = request.form.get("assignee", "")
    if value and not value.isdigit():
        abort(400)
    return _act(
        number,
        lambda t: svc.assign_ticket(db.session, current_user, now(), t, int(value) if value else None),
        _("The assignee was changed."),
    )


@bp.post("/<number>/status")
@login_required
def status(number):
    target = request.form.get("status", "")
    return _act(
        number, lambda t: svc.change_status(db.session, current_user, now(), t, target), _("The status was changed.")
    )


@bp.post("/<number>/priority")
@login_required
def priority(number):
    value = request.form.get("priority", "")
    return _act(
        number, lambda t: svc.change_priority(db.session, current_user, now(), t, value), _("The urgency was changed.")
    )


@bp.post("/<number>/close")
@login_required
def close(number):
    return _act(
        number, lambda t: svc.close_ticket(db.session, current_user, now(), t), _("The consultation was closed.")
    )


@bp.post("/<number>/reopen")
@login_required
def reopen(number):
    return _act(
        number, lambda t: svc.reopen_ticket(db.session, current_user, now(), t), _("The consultation was reopened.")
    )


def _post(number: str, form, service, success: str, page_form: str):
    """Save a reply or a note with its files in one transaction; on error, the page with the form."""
    ticket = _load(number)
    if form.validate_on_submit():
        try:
            service(
                db.session,
                current_user,
                now(),
                ticket,
                form.body.data,
                uploads(form.attachments.data),
                store(),
                limits(),
            )
            db.session.commit()
            return _done(number, success)
        except DomainError as exc:
            db.session.rollback()
            form_error(form, exc, "body")
        except StaleDataError:
            db.session.rollback()
            flash(_("Someone else changed this consultation at the same time. Check it and try again."), "error")
    return _page(_load_full(number), status_code=400, **{page_form: form})


@bp.post("/<number>/reply")
@login_required
def reply(number):
    return _post(number, ReplyForm(), svc.add_reply, _("Your reply was sent."), "reply_form")


@bp.post("/<number>/note")
@login_required
def note(number):
    if not permissions.is_desk(current_user):
        _load(number)  # a hidden ticket stays a 404 like any other
        abort(404)
    return _post(number, NoteForm(prefix="note"), svc.add_internal_note, _("The internal note was saved."), "note_form")


@bp.get("/<number>/files/<int:file_id>")
@login_required
def download(number, file_id):
    """A file of a visible ticket, always as a download: never rendered inline."""
    ticket = _load(number)
    stmt = select(Attachment).where(Attachment.id == file_id, Attachment.ticket_id == ticket.id)
    if not permissions.can_see_internal(current_user):
        stmt = stmt.where(Attachment.internal.is_(False))
    att = db.session.scalar(stmt)
    if att is None:
        abort(404)
    path = store().path_for(att.storage_key)
    if not path.exists():
        abort(404)
    response = send_file(
        path,
        mimetype="application/octet-stream",
        as_attachment=True,
        download_name=att.filename,
        max_age=0,
        conditional=False,
        etag=False,
    )
    ascii_name = "".join(c if c.isascii() and c.isprintable() and c not in '"\\;' else "_" for c in att.filename)
    response.headers["Content-Disposition"] = (
        f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(att.filename, safe='')}"
    )
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, no-store"
    return response
