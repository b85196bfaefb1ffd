"""One consultation: its conversation, files and history, and the actions on it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..domain import permissions, states
from ..domain.errors import Conflict, NotFound
from ..services import canned, catalog, classify, drafts, merge
from ..services import tickets as svc
from ..services.ticket_page import TicketPage, ticket_page
from ..services.visibility import MAX_ID, get_visible_file, get_visible_ticket
from ..transaction import session
from .boundary import is_id
from .common import attempt, error_text, form_error, limits, now, store, uploads
from .forms import ActionForm, AssignForm, NoteForm, ReplyForm, StatusForm
from .i18n import STATUS_LABELS

bp = Blueprint("tickets", __name__, url_prefix="/tickets")

REPLY_TARGETS = (states.WAITING, states.RESOLVED)


def _load(number: str):
    try:
        return get_visible_ticket(session(), current_user, number)
    except NotFound:
        abort(404)


def _page(
    number: str,
    reply_form=None,
    note_form=None,
    status_code=200,
    changes=None,
    canned_used="",
    insert=None,
    merge_preview=None,
):
    try:
        page: TicketPage = ticket_page(session(), current_user, number, now())
    except NotFound:
        abort(404)
    kept = drafts.of(session(), current_user, page.ticket.id)
    if "reply" in kept and reply_form is None and insert is None and page.can_reply:
        reply_form = ReplyForm()
        reply_form.body.data = kept["reply"].body
    if "note" in kept and note_form is None and page.desk:
        note_form = NoteForm(prefix="note")
        note_form.body.data = kept["note"].body
    offered = []
    if page.desk and page.can_reply:
        t = page.ticket
        offered = canned.offered(
            session(), current_user, t, now(), t.requester.display_name, t.assignee.display_name if t.assignee else ""
        )
        for c in offered:
            if c.id == insert:
                reply_form = reply_form or ReplyForm()
                reply_form.body.data = c.text
                canned_used = str(c.id)
    assign_form = status_form = choices = None
    if page.desk:
        choices = _classify_choices(page)
        assign_form = AssignForm()
        assign_form.assignee.choices = [("", _("Nobody (back to the queue)"))] + [
            (str(m.id), m.display_name) for m in page.members
        ]
        assign_form.assignee.data = str(page.ticket.assignee_id or "")
        status_form = StatusForm()
        status_form.status.choices = [("", _("Choose the new status"))] + [
            (s, str(STATUS_LABELS[s])) for s in page.status_targets
        ]
    return render_template(
        "tickets/show.html",
        ticket=page.ticket,
        messages=page.messages,
        events=page.events,
        files=page.files,
        by_message=page.by_message,
        show_internal=page.show_internal,
        desk=page.desk,
        requester_side=page.requester_side,
        reply_form=reply_form or ReplyForm(),
        note_form=note_form or NoteForm(prefix="note"),
        assign_form=assign_form,
        status_form=status_form,
        action_form=ActionForm(),
        can_claim=page.can_claim,
        can_close=page.can_close,
        can_reopen=page.can_reopen,
        can_reply=page.can_reply,
        # A desk reply can set the status with it, to these (when the page's status allows).
        reply_targets=[t for t in REPLY_TARGETS if t in page.status_targets],
        info=page.info,
        sla_clocks=page.sla_clocks,
        refs=page.refs,
        escalations=page.escalations,
        choices=choices,
        linked_initiatives=[i.id for i in page.info.initiatives] if page.info and not page.info.proposed else [],
        claim_needs_theme=page.ticket.triage
        and not page.ticket.theme_id
        and not (page.info and page.info.proposal and page.info.proposal.theme_id),
        # The version the page shows, sent back by its actions (services.tickets.check_current).
        seen=max((e.id for e in page.events), default=0),
        changes=changes,
        offered=offered,
        canned_used=canned_used,
        drafts=kept,
        merged_into=page.merged_into,
        duplicates=page.duplicates,
        related=page.related,
        can_link=page.can_link,
        merge_preview=merge_preview,  # the original a merge would go into, to confirm (ticket_links)
    ), status_code


def _classify_choices(page: TicketPage) -> dict:
    """The theme and catalog entries the page offers: the active catalog, and what the ticket
    has that was retired since (marked so), which the change keeps unless it is deselected."""
    stored = catalog.stored_catalog(session())
    retired = _("retired")
    themes = list(stored.active_themes)
    if page.ticket.theme_id and page.ticket.theme_id not in {t.id for t in themes}:
        old = next((t for t in stored.themes if t.id == page.ticket.theme_id), None)
        if old is not None:
            en = f"{old.name_en} ({retired})" if old.name_en else ""
            themes.append(catalog.CatalogName(old.id, f"{old.name}（{retired}）", en))
    entries = list(stored.active_initiatives)
    active = {i.id for i in entries}
    if page.info and not page.info.proposed:
        for i in page.info.initiatives:
            if i.id not in active:
                en = f"{i.name_en} ({retired})" if i.name_en else ""
                entries.append(catalog.CatalogName(i.id, f"{i.name}（{retired}）", en))
    return {"themes": themes, "initiatives": entries, "claim_themes": stored.active_themes}


@bp.get("/<number>")
@login_required
def show(number):
    # ?canned=<id>: the reply box with that canned reply in it (inserting without script).
    chosen = request.args.get("canned", "")
    if not chosen:
        return _page(number)
    if not is_id(chosen):
        abort(400)
    return _page(number, insert=int(chosen))


def _done(ticket_number: str, message: str):
    flash(message, "success")
    return redirect(url_for("tickets.show", number=ticket_number))


def _number_field(name: str) -> int | None:
    """A whole number the page's form carries (absent: None); anything else is a bad request."""
    value = request.form.get(name, "")
    if not value:
        return None
    if not (value.isascii() and value.isdigit() and len(value) <= 18) or int(value) > MAX_ID:
        abort(400)
    return int(value)


def _act(number: str, action, success: str | Callable[[Any], str], *args):
    """Run one state-changing action in one transaction; a refusal goes back to the page.

    The form says which version of the ticket its page showed (the newest history event on
    it): a change from a page that a colleague's change has made out of date is refused, and
    the page shows what changed.
    """
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    seen = _number_field("seen")
    ticket = _load(number)

    def checked(db_session, actor, at, ticket, *args):
        svc.check_current(db_session, actor, ticket, seen)
        return action(db_session, actor, at, ticket, *args)

    result, error = attempt(checked, session(), current_user, now(), ticket, *args)
    if isinstance(error, svc.Stale):
        flash(error_text(error), "error")
        return _page(number, status_code=409, changes=error.changes)
    if error is not None:
        flash(error_text(error), "error")
        return redirect(url_for("tickets.show", number=number))
    return _done(number, success(result) if callable(success) else success)


@bp.post("/<number>/claim")
@login_required
def claim(number):
    # A consultation waiting for triage without a theme asks for one with the claim.
    theme = request.form.get("theme", "")[:64] or None
    return _act(number, classify.claim, _("You took this consultation."), theme)


@bp.post("/<number>/classify")
@login_required
def reclassify(number):
    theme = request.form.get("theme", "")[:64] or None
    initiatives = [i[:64] for i in request.form.getlist("initiatives")[:50]]

    def change(db_session, actor, at, ticket):
        return classify.reclassify(db_session, actor, at, ticket, theme_id=theme, initiative_ids=initiatives)

    return _act(number, change, _("The theme and related initiatives were changed."))


@bp.post("/<number>/assign")
@login_required
def assign(number):
    value = request.form.get("assignee", "")
    if value and not value.isdigit():
        abort(400)
    return _act(number, svc.assign_ticket, _("The assignee was changed."), int(value) if value else None)


@bp.post("/<number>/status")
@login_required
def status(number):
    return _act(number, svc.change_status, _("The status was changed."), request.form.get("status", ""))


@bp.post("/<number>/priority")
@login_required
def priority(number):
    return _act(number, svc.change_priority, _("The urgency was changed."), request.form.get("priority", ""))


@bp.post("/<number>/close")
@login_required
def close(number):
    return _act(number, svc.close_ticket, _("The consultation was closed."))


@bp.post("/<number>/reopen")
@login_required
def reopen(number):
    return _act(number, svc.reopen_ticket, _("The consultation was reopened."))


def _post(
    number: str, form, service, success: str, page_form: str, then_status: str | None = None, canned_used: str = ""
):
    """Save a reply or a note with its files in one transaction; on error, the page with the form.
    A reply that sets the status too is a change of the ticket: refused, like any other,
    when the page it was sent from is out of date."""
    ticket = _load(number)
    seen = _number_field("seen") if then_status else None
    if form.validate_on_submit():
        extra = {"then_status": then_status} if then_status else {}

        def checked(db_session, actor, at, ticket, *args):
            svc.check_current(db_session, actor, ticket, seen)
            return service(db_session, actor, at, ticket, *args, **extra)

        _, error = attempt(
            checked,
            session(),
            current_user,
            now(),
            ticket,
            form.body.data,
            uploads(form.attachments.data),
            store(),
            limits(),
        )
        if error is None:
            return _done(number, success)
        if isinstance(error, svc.Stale):
            flash(error_text(error), "error")
            return _page(number, status_code=409, changes=error.changes, canned_used=canned_used, **{page_form: form})
        if isinstance(error, Conflict):
            carried = _carry_over(ticket, page_form, form.body.data)
            if carried is not None:
                return carried
            flash(error_text(error), "error")  # a lost race: nothing wrong with what was typed
        else:
            form_error(form, error, "body")
    return _page(number, status_code=400, canned_used=canned_used, **{page_form: form})


def _carry_over(ticket, page_form: str, body: str):
    """A reply or note sent to a consultation merged meanwhile: what was typed becomes the
    sender's draft on the original, and they are taken there (None when not merged)."""
    kind = "reply" if page_form == "reply_form" else "note"
    original, error = attempt(merge.carry_over, session(), current_user, now(), ticket, kind, body or "")
    if error is not None or original is None:
        return None
    flash(
        _(
            "This consultation was merged into %(number)s while you wrote: nothing was sent, and your text waits there as a draft.",
            number=original.number,
        ),
        "error",
    )
    return redirect(url_for("tickets.show", number=original.number))


@bp.post("/<number>/draft")
@login_required
def draft(number):
    """Keep (or, empty, discard) the signed-in member's draft of a reply or a note. The page's
    script saves while one types (JSON back); the form's 下書き保存 button without it."""
    discard = request.form.get("discard", "")
    kind = discard or request.form.get("kind", "")
    # The note's box is "note-body" on the page (the forms share it); the script sends "body".
    body = "" if discard else request.form.get("body", request.form.get("note-body", ""))
    if kind == "note" and "note-body" in request.form:
        body = "" if discard else request.form.get("note-body", "")
    _kept, error = attempt(drafts.keep, session(), current_user, now(), _load(number), kind, body)
    if isinstance(error, NotFound):
        abort(404)
    scripted = request.headers.get("X-Swat-Draft") == "1"
    if error is not None:
        if scripted:
            return jsonify({"saved": False, "error": error_text(error)}), 400
        flash(error_text(error), "error")
    elif scripted:
        return jsonify({"saved": bool(body.strip())})
    else:
        flash(_("The draft was saved.") if body.strip() else _("The draft was discarded."), "success")
    return redirect(url_for("tickets.show", number=number))


@bp.post("/<number>/reply")
@login_required
def reply(number):
    target = request.form.get("then_status") or None
    if target is not None and target not in REPLY_TARGETS:
        abort(400)
    if target is None:
        done = _("Your reply was sent.")
    else:
        done = _("Your reply was sent and the status is now %(status)s.", status=STATUS_LABELS[target])
    # The canned replies inserted into it (the page's script, or ?canned=), counted once each.
    used_field = request.form.get("canned_used", "")[:200]
    used = [int(i) for i in used_field.split(",") if is_id(i)][:20]

    def send(db_session, actor, at, ticket, *args, **kw):
        message = svc.add_reply(db_session, actor, at, ticket, *args, **kw)
        if used and permissions.is_desk(actor):
            canned.count_uses(db_session, actor, used)
        return message

    return _post(number, ReplyForm(), send, done, "reply_form", then_status=target, canned_used=used_field)


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
    try:
        att = get_visible_file(session(), current_user, _load(number), file_id)
    except NotFound:
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
