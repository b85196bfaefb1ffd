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

from ..domain import mentions
from ..domain.states import PRIORITIES
from . import i18n
from .common import now
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
    return _Words(False).sla_badge(view)


def when(value) -> Markup:
    """An instant as lists show it: the time in Tokyo, then how long ago, in the user's style."""
    return _Words(False).when(value)


def snippet(pieces) -> Markup:
    """Where a search found its words: stored text, escaped, with the words marked."""
    if not pieces:
        return Markup("")
    inner = "".join(f"<mark>{escape(text)}</mark>" if marked else str(escape(text)) for text, marked in pieces)
    return Markup(f'<p class="snippet">{inner}</p>')


def linked(text: str, refs, internal: bool) -> Markup:
    """A message's text, escaped, with what it mentions linked: a consultation (#2026-00042)
    the reader may open, and in an internal note a desk member (@username, shown as typed,
    titled with their name, linking to their consultations in the queue). Anything else
    stays text as typed."""
    out = []
    for piece in mentions.pieces(text, members=internal):
        if piece.kind == "ticket" and piece.value in refs.tickets:
            out.append(f'<a class="ref" href="{escape(ticket_url(piece.value))}">{escape(piece.raw)}</a>')
        elif piece.kind == "member" and piece.value in refs.members:
            uid, name = refs.members[piece.value]
            href = escape(url_for("queue.index", assignee=uid))
            out.append(f'<a class="mention" href="{href}" title="{escape(name)}">{escape(piece.raw)}</a>')
        else:
            out.append(str(escape(piece.raw)))
    return Markup("".join(out))


class _Phrases:
    """What rows say alike in one language: the same for every page in it, made once per
    language in the process (the translations do not change while it runs)."""

    def __init__(self) -> None:
        self.claim = escape(i18n.gettext("Claim"))
        escalated = escape(i18n.gettext("Escalated: not acknowledged"))
        self.escalated = Markup(f' <span class="badge escalated">{escalated}</span>')
        self.status = {s: status_badge(s) for s in LABELS["STATUS_LABELS"]}
        self.priority = {r: priority_badge(r) for r in range(len(PRIORITIES))}
        self.sla = {
            "breached": i18n.gettext("Overdue by %(t)s", t="\0"),
            "at_risk": i18n.gettext("At risk: %(t)s left", t="\0"),
            "ok": i18n.gettext("%(t)s left", t="\0"),
        }
        self.ago = i18n.gettext("(%(ago)s)", ago="\0")


_PHRASES: dict[str, _Phrases] = {}


class _Words:
    """What every row of one page says alike, looked up once for the page: the badges of each
    status and urgency, the SLA and "ago" phrasings, the catalog names met so far, the
    ticket addresses' prefix, the form token and the time now."""

    def __init__(self, can_claim: bool) -> None:
        code = i18n.locale_code()
        self.ja = code == "ja"
        self.locale = i18n.babel_locale()
        self.can_claim = can_claim
        self.csrf = escape(generate_csrf()) if can_claim else ""
        self.now = now()
        phrases = _PHRASES.get(code)
        if phrases is None:
            phrases = _PHRASES[code] = _Phrases()
        self.claim, self.status, self.priority = phrases.claim, phrases.status, phrases.priority
        self.escalated = phrases.escalated
        self.sla, self.ago = phrases.sla, phrases.ago
        self.names: dict[tuple[str, str], Markup] = {}
        # The claim form's address around a ticket number (numbers are ASCII letters, digits
        # and hyphens; any other goes to url_for).
        self.claim_url = url_for("tickets.claim", number="N0").rsplit("N0", 1) if can_claim else ["", ""]

    def claim_action(self, number: str) -> str:
        if number.isascii() and number.replace("-", "").isalnum():
            return self.claim_url[0] + number + self.claim_url[1]
        return url_for("tickets.claim", number=number)

    def name(self, kind: str, item) -> Markup:
        """A catalog item's localized name, escaped (once per item and page); `kind` keeps a
        theme and a department of the same id apart."""
        key = (kind, item.id)
        found = self.names.get(key)
        if found is None:
            found = self.names[key] = escape(i18n.localized(item))
        return found

    def when(self, value) -> Markup:
        if not value:
            return _DASH
        words = ago(value, self.now, self.locale)
        return Markup(
            f'<time datetime="{value.isoformat()}">{escape(dt(value, self.ja))}</time>'
            f' <span class="ago">{escape(self.ago.replace(chr(0), words))}</span>'
        )

    def sla_badge(self, view) -> Markup:
        # The words are the phrases' (message extraction does not look inside f-strings).
        if not view:
            return _DASH
        left = business_minutes(view.remaining, self.ja)
        state = view.state if view.state in ("breached", "at_risk") else "ok"
        kind = {"breached": "breached", "at_risk": "at-risk"}.get(state, "ok")
        return Markup(f'<span class="sla sla-{kind}">{escape(self.sla[state].replace(chr(0), left))}</span>')


def queue_row(t, sla_view, can_claim: bool, found=None, words: _Words | None = None, escalated: bool = False) -> Markup:
    """One consultation as a queue row (services.listing.ListRow): the queue page draws every
    row with it (queue_rows), and the side panel fetches a single row again
    (/queue/row/<number>) after it changes the ticket. `escalated`: an escalation of it
    waits to be acknowledged (a badge beside its SLA)."""
    w = words if words is not None else _Words(can_claim)
    number = escape(t.number)
    url = escape(ticket_url(t.number))
    if t.assignee is not None:
        assignee = escape(t.assignee.display_name)
    elif w.can_claim and t.status == "new":
        label = escape(i18n.gettext("Claim %(number)s", number=t.number))
        assignee = Markup(
            f'\n    <form method="post" action="{escape(w.claim_action(t.number))}"'
            ' class="inline" data-panel-form>\n'
            f'      <input type="hidden" name="csrf_token" value="{w.csrf}">\n'
            f'      <button type="submit" class="small" aria-label="{label}">{w.claim}</button>\n'
            "    </form>"
        )
    else:
        assignee = _DASH
    theme = w.name("theme", t.theme) if t.theme else _DASH
    due = escape(date_(t.due_date, w.ja)) if t.due_date else _DASH
    pick = ""
    if w.can_claim:  # a desk member ticks rows for an action on several at once (form "bulk")
        label = escape(i18n.gettext("Select %(number)s", number=t.number))
        pick = f'  <td class="pick"><input type="checkbox" name="t" value="{number}" form="bulk" aria-label="{label}"></td>\n'
    return Markup(
        f'<tr data-number="{number}">\n'
        f"{pick}"
        f'  <td class="nowrap"><a href="{url}" data-panel-open>{number}</a></td>\n'
        f'  <td class="title-cell"><a href="{url}" data-panel-open>{escape(t.title)}</a>{snippet(found) if found else ""}</td>\n'
        f'  <td class="opt">{w.name("department", t.department)}</td>\n'
        f'  <td class="opt">{theme}</td>\n'
        f"  <td>{w.priority.get(t.priority) or priority_badge(t.priority)}</td>\n"
        f"  <td>{w.status.get(t.status) or status_badge(t.status)}</td>\n"
        f"  <td>{assignee}</td>\n"
        f"  <td>{w.sla_badge(sla_view)}{w.escalated if escalated else ''}</td>\n"
        f'  <td class="opt">{w.when(t.created_at)}</td>\n'
        f'  <td class="opt">{due}</td>\n'
        "</tr>"
    )


def consultation_rows(rows, snippets: dict) -> Markup:
    """A page of the consultations list (services.listing.ListRow), as its requesters see it."""
    w = _Words(False)
    nobody = escape(i18n.gettext("Not assigned yet"))
    out = []
    for t in rows:
        number = escape(t.number)
        url = escape(ticket_url(t.number))
        found = snippets.get(t.id)
        assignee = escape(t.assignee.display_name) if t.assignee is not None else nobody
        out.append(
            "<tr>\n"
            f'    <td><a href="{url}">{number}</a></td>\n'
            f'    <td><a href="{url}">{escape(t.title)}</a>\n'
            f'      <small class="muted">{w.name("department", t.department)} · {escape(t.requester.display_name)}</small>'
            f"{snippet(found) if found else ''}</td>\n"
            f"    <td>{w.status.get(t.status) or status_badge(t.status)}</td>\n"
            f"    <td>{w.priority.get(t.priority) or priority_badge(t.priority)}</td>\n"
            f"    <td>{assignee}</td>\n"
            f"    <td>{w.when(t.last_activity_at)}</td>\n"
            "  </tr>"
        )
    return Markup("\n".join(out))


def queue_rows(rows, sla_of: dict, can_claim: bool, snippets: dict, escalated=frozenset()) -> Markup:
    """A page of queue rows, with what they say alike looked up once; `escalated`: the ids of
    those with an escalation nobody has acknowledged."""
    w = _Words(can_claim)
    return Markup("\n").join(
        queue_row(t, sla_of.get(t.id), can_claim, snippets.get(t.id), w, t.id in escalated) for t in rows
    )


def field(f, hint=None) -> Markup:
    """A form field (WTForms) with its label, its hint and its errors, the errors and the hint
    tied to the control by aria-describedby (and aria-invalid when it has errors)."""
    if f.errors:
        control = f(**{"aria-describedby": f"{f.id}-error", "aria-invalid": "true"})
    elif hint:
        control = f(**{"aria-describedby": f"{f.id}-hint"})
    else:
        control = f()
    html = [f'<div class="field{" has-error" if f.errors else ""}">\n  {f.label}\n  {control}\n']
    if hint:
        html.append(f'  <p class="hint" id="{escape(f.id)}-hint">{escape(hint)}</p>\n')
    if f.errors:
        errors = " ".join(str(escape(e)) for e in f.errors)
        html.append(f'  <p class="error" id="{escape(f.id)}-error" role="alert">{errors}</p>\n')
    html.append("</div>")
    return Markup("".join(html))


class Choices:
    """A choice's <option>s, made once for a page that offers the same choice many times (the
    triage list offers every theme, entry and member with each waiting consultation): catalog
    items by their localized name, or any items by the attribute `label`."""

    def __init__(self, items, label: str | None = None) -> None:
        self._options = [
            (
                value := str(item.id),
                f'<option value="{escape(value)}"',
                f">{escape(getattr(item, label) if label else i18n.localized(item))}</option>",
            )
            for item in items
        ]

    def html(self, selected) -> Markup:
        """The options with those whose id (as text) is `selected` marked: one value, or a
        list or set of them for a multiple choice."""
        if isinstance(selected, list | tuple | set | frozenset):
            chosen = {str(v) for v in selected}
        else:
            chosen = {"" if selected is None else str(selected)}
        return Markup("".join(f"{pre}{' selected' if v in chosen else ''}{post}" for v, pre, post in self._options))


def options(items, selected, label: str | None = None) -> Markup:
    """<option>s of a choice offered once on a page (Choices for one offered many times)."""
    return Choices(items, label).html(selected)


GLOBALS = {
    "Choices": Choices,
    "consultation_rows": consultation_rows,
    "field": field,
    "options": options,
    "queue_row": queue_row,
    "queue_rows": queue_rows,
    "status_badge": status_badge,
    "priority_badge": priority_badge,
    "sla_badge": sla_badge,
    "when": when,
    "snippet": snippet,
    "linked": linked,
}
