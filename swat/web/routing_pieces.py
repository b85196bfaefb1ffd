"""What routing proposed and why, in words: the keyword reasons and the confidence.

The triage list draws these for every waiting consultation and the ticket page for its
own; both read the proposal's stored explanation (services/routing_explain.py), so the
figure and the words are those the auto-apply rule had.
"""

from __future__ import annotations

from markupsafe import Markup, escape

from ..services.routing_explain import read_routed
from . import i18n


def percent(value) -> int:
    """A stored confidence (0..1, whole per cent rounded down when it was decided) as per cent."""
    return int(round(float(value or 0) * 100))


def as_written(reason) -> list[str]:
    """A reason's keywords as the requester wrote them; a proposal stored before they were
    kept has the rules' folded terms only."""
    words = reason.get("words")
    return [str(w) for w in words] if isinstance(words, list) and words else list(reason.get("keywords", []))


def reasons_list(reasons, theme_by_id, init_by_id) -> Markup:
    """Why routing proposed what it did: each rule's keywords and what they point to
    (「キーワード」→ a theme or a catalog entry), or that only text similarity spoke."""
    if not reasons:
        words = escape(i18n.gettext("No keyword matched; the proposal rests on text similarity only."))
        return Markup(f'<p class="muted">{words}</p>')
    keywords, theme_word = escape(i18n.gettext("Keywords")), escape(i18n.gettext("theme"))
    items = []
    for r in reasons:  # as the proposal stores them: {"target": "theme:<id>" or "initiative:<id>", "keywords": [...]}
        kind, _sep, rid = str(r.get("target", "")).partition(":")
        target = theme_by_id.get(rid) if kind == "theme" else init_by_id.get(rid)
        quoted = "".join(f"「{escape(k)}」" for k in as_written(r))
        name = escape(i18n.localized(target)) if target else escape(rid)
        kind_note = f" ({theme_word})" if kind == "theme" else ""
        items.append(f"  <li>{keywords} {quoted} → {name}{kind_note}</li>")
    return Markup('<ul class="reasons">\n' + "\n".join(items) + "\n</ul>")


def _theme_name(theme_id, theme_by_id) -> str:
    theme = theme_by_id.get(theme_id) if theme_id else None
    return i18n.localized(theme) if theme is not None else (theme_id or "—")


def confidence_note(explanation, confidence, theme_id, theme_by_id) -> Markup:
    """The confidence and what it rests on, in one sentence, then the bar automatic routing
    sets (explanation: a routing_explain.Explanation; confidence: the proposal's stored figure,
    the one the rule compared; theme_id: the theme proposed)."""
    x = explanation
    c = percent(confidence)
    if not x.known:  # stored before the confidence said what it rests on
        text = i18n.gettext("Confidence %(c)d %%.", c=c)
    elif x.chosen:
        text = i18n.gettext("Confidence %(c)d %%: the requester chose the theme.", c=c)
    elif not x.reasons or not theme_id:
        text = i18n.gettext(
            "Confidence %(c)d %%: no keyword of any theme or catalog entry matched, so nothing is proposed.", c=c
        )
    elif not x.terms:
        text = i18n.gettext(
            "Confidence %(c)d %%: no keyword points to %(theme)s; its score comes from text similarity only.",
            c=c,
            theme=_theme_name(theme_id, theme_by_id),
        )
    else:
        text = i18n.ngettext(
            "Confidence %(c)d %%: %(num)d keyword points to %(theme)s (keyword evidence %(evidence)s), "
            "%(gap)s points ahead of the runner-up, %(runner_up)s.",
            "Confidence %(c)d %%: %(num)d keywords point to %(theme)s (keyword evidence %(evidence)s), "
            "%(gap)s points ahead of the runner-up, %(runner_up)s.",
            x.terms,
            c=c,
            theme=_theme_name(theme_id, theme_by_id),
            evidence=f"{x.evidence or 0:.1f}",
            gap=f"{x.gap or 0:.1f}",
            runner_up=_theme_name(x.runner_up, theme_by_id),
        )
    bar = ""
    if x.threshold is not None and not x.chosen:
        space = "" if i18n.locale_code() == "ja" else " "  # Japanese sentences follow each other unspaced
        bar = space + i18n.gettext(
            "Automatic routing applies a proposal from %(threshold)d %%.", threshold=percent(x.threshold)
        )
    return Markup(f'<p class="confidence" data-testid="confidence">{escape(text)}{escape(bar)}</p>')


def examples_note(explanation, theme_by_id) -> Markup:
    """The labelled examples most like the consultation, each with its theme, as the proposal
    stored them (none for one stored before, or when nothing was proposed)."""
    if not explanation.examples:
        return Markup("")
    sep = "、" if i18n.locale_code() == "ja" else ", "
    named = sep.join(
        i18n.gettext("“%(title)s” (%(theme)s)", title=e["title"], theme=_theme_name(e["theme"], theme_by_id))
        for e in explanation.examples
    )
    text = i18n.gettext("Similar labelled examples: %(examples)s", examples=named)
    return Markup(f'<p class="similar-examples" data-testid="similar-examples">{escape(text)}</p>')


def routed_summary(value, theme_by_id, init_by_id) -> Markup:
    """A "routed" event in the history: what was proposed (theme, initiatives, member, the
    confidence) and the keywords as the requester wrote them; an event written before it
    said what was proposed shows its keywords alone, as it always did."""
    routed = read_routed(value)
    keywords = " ".join("".join(f"「{escape(k)}」" for k in as_written(r)) for r in routed.reasons[:3])
    if not routed.known:
        return Markup(f"({keywords})") if keywords else Markup("")
    ja = i18n.locale_code() == "ja"
    if routed.theme:
        parts = [i18n.gettext("Theme: %(name)s", name=_theme_name(routed.theme, theme_by_id))]
    else:
        parts = [i18n.gettext("No theme proposed")]
    if routed.initiatives:
        names = [i18n.localized(init_by_id[i]) if i in init_by_id else i for i in routed.initiatives]
        parts.append(i18n.gettext("Initiatives: %(names)s", names=("、" if ja else ", ").join(names)))
    if routed.theme:
        member = routed.member
        parts.append(i18n.gettext("Member: %(name)s", name=member) if member else i18n.gettext("No member fits"))
    if routed.confidence is not None:
        parts.append(i18n.gettext("Confidence: %(c)d %%", c=percent(routed.confidence)))
    said = [str(escape(part)) for part in parts]
    if keywords:
        said.append(f"{escape(i18n.gettext('Keywords'))}{'' if ja else ' '}{keywords}")
    opening, closing, between = ("（", "）", "／") if ja else ("(", ")", " / ")
    return Markup(f'<span class="routed" data-testid="routed">{opening}{between.join(said)}{closing}</span>')


GLOBALS = {
    "examples_note": examples_note,
    "routed_summary": routed_summary,
    "as_written": as_written,
    "reasons_list": reasons_list,
    "confidence_note": confidence_note,
    "percent": percent,
}
