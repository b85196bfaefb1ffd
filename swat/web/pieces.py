"""The pieces a list draws on every row: status, urgency and SLA badges, an instant, a
search snippet, and the queue's row itself.

They are Python functions, not Jinja macros, because a list page draws them hundreds of
times and a macro call (or any call from a template) costs several times what building the
same markup here does. Every value is escaped (Markup's % formatting); the words come from
the same translations and labels as the templates'.
"""

from __future__ import annotations

from flask import url_for
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup, escape

from . import i18n
from .filters import LABELS, ago, business_minutes, date_, dt, priority_name, ticket_url

# Built with escape() and f-strings: markupsafe's C escaping, not Markup's % formatting,
# which wraps every argument in a helper object (four times slower on a row).
_DASH = Markup("—")


def status_badge(status: str) -> Markup:
    return Markup(f'<span class="badge status-{escape(status)}">{escape(LABELS["STATUS_LABELS"][status])}</span>')


def priority_badge(rank: int) -> Markup:
    name = priority_name(rank)
    return Markup(f'<span class="badge priority-{name}">{escape(LABELS["PRIORITY_LABELS"][name])}</span>')


def sla_badge(view) -> Markup:
    """The nearest clock of a ticket (services.sla.SlaView), or a dash without one."""
    if not view:
        return _DASH
    left = business_minutes(view.remaining)
    # The words outside the f-strings: message extraction does not look inside them.
    if view.state == "breached":
        kind, words = "breached", i18n.gettext("Overdue by %(t)s", t=left)
    elif view.state == "at_risk":
        kind, words = "at-risk", i18n.gettext("At risk: %(t)s left", t=left)
    else:
        kind, words = "ok", i18n.gettext("%(t)s left", t=left)
    return Markup(f'<span class="sla sla-{kind}">{escape(words)}</span>')


def when(value) -> Markup:
    """An instant as lists show it: the time in Tokyo, then how long ago, in the user's style."""
    if not value:
        return _DASH
    ago_text = escape(i18n.gettext("(%(ago)s)", ago=ago(value)))
    return Markup(
        f'<time datetime="{value.isoformat()}">{escape(dt(value))}</time> <span class="ago">{ago_text}</span>'
    )


def snippet(pieces) -> Markup:
    """Where a search found its words: stored text, escaped, with the words marked."""
    if not pieces:
        return Markup("")
    inner = "".join(f"<mark>{escape(text)}</mark>" if marked else str(escape(text)) for text, marked in pieces)
    return Markup(f'<p class="snippet">{inner}</p>')


def queue_row(t, sla_view, can_claim: bool, found=None) -> Markup:
    """One consultation as a queue row (services.listing.ListRow): the queue page draws every
    row with it, and the side panel fetches a single row again (/queue/row/<number>) after
    it changes the ticket."""
    number = escape(t.number)
    url = escape(ticket_url(t.number))
    if t.assignee is not None:
        assignee = escape(t.assignee.display_name)
    elif can_claim and t.status == "new":
        label = escape(i18n.gettext("Claim %(number)s", number=t.number))
        claim = escape(i18n.gettext("Claim"))
        assignee = Markup(
            f'\n    <form method="post" action="{escape(url_for("tickets.claim", number=t.number))}"'
            ' class="inline" data-panel-form>\n'
            f'      <input type="hidden" name="csrf_token" value="{escape(generate_csrf())}">\n'
            f'      <button type="submit" class="small" aria-label="{label}">{claim}</button>\n'
            "    </form>"
        )
    else:
        assignee = _DASH
    theme = escape(i18n.localized(t.theme)) if t.theme else _DASH
    due = escape(date_(t.due_date)) if t.due_date else _DASH
    return Markup(
        f'<tr data-number="{number}">\n'
        f'  <td class="nowrap"><a href="{url}" data-panel-open>{number}</a></td>\n'
        f'  <td class="title-cell"><a href="{url}" data-panel-open>{escape(t.title)}</a>{snippet(found)}</td>\n'
        f'  <td class="opt">{escape(i18n.localized(t.department))}</td>\n'
        f'  <td class="opt">{theme}</td>\n'
        f"  <td>{priority_badge(t.priority)}</td>\n"
        f"  <td>{status_badge(t.status)}</td>\n"
        f"  <td>{assignee}</td>\n"
        f"  <td>{sla_badge(sla_view)}</td>\n"
        f'  <td class="opt">{when(t.created_at)}</td>\n'
        f'  <td class="opt">{due}</td>\n'
        "</tr>"
    )


GLOBALS = {
    "queue_row": queue_row,
    "status_badge": status_badge,
    "priority_badge": priority_badge,
    "sla_badge": sla_badge,
    "when": when,
    "snippet": snippet,
}
