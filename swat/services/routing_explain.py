"""What a routing proposal rests on, as stored with it and as the desk reads it.

`RoutingProposal.reasons` holds one JSON document written by `stored_reasons`: the
keyword reasons, the confidence with what it rests on (the number the auto-apply rule
compared, the threshold it compared it with, the keyword evidence and the runner-up) and
the labelled examples most like the consultation.
Proposals stored before that hold only the list of reasons; `read_explanation` reads both,
so the triage list and the ticket page explain every proposal they show.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..domain.routing import Proposal
from ..domain.routing_examples import SimilarExample


@dataclass(frozen=True)
class Explanation:
    """Why routing proposed what it did. The confidence fields are None for a proposal
    stored before they were (its reasons are all that is known)."""

    reasons: list[dict[str, Any]] = field(default_factory=list)  # {target, keywords, words, score}
    confidence: float | None = None  # the number the auto-apply rule compared
    threshold: float | None = None  # what it was compared with
    chosen: bool = False  # the requester chose the theme: certain, whatever the scorer says
    evidence: float | None = None  # the proposed theme's keyword evidence
    terms: int | None = None  # how many keywords point to it
    runner_up: str | None = None  # the next theme by score
    gap: float | None = None  # points ahead of the runner-up
    # The labelled examples most like the consultation: {title, theme, similarity}
    examples: list[dict[str, Any]] = field(default_factory=list)

    @property
    def known(self) -> bool:
        return self.confidence is not None


def stored_reasons(
    p: Proposal,
    threshold: float,
    chosen: bool,
    confidence: float,
    examples: Sequence[SimilarExample] = (),
    limit: int = 6,
) -> str:
    """The JSON document a proposal keeps of its reasons, its confidence and the labelled
    examples most like the consultation."""
    doc = {
        "reasons": [r.as_dict() for r in p.reasons[:limit]],
        "confidence": {**p.basis.as_dict(), "value": confidence, "threshold": threshold, "chosen": chosen},
        "examples": [e.as_dict() for e in examples],
    }
    return json.dumps(doc, ensure_ascii=False)


def read_explanation(text: str | None) -> Explanation:
    """The stored document read back; a list (an older proposal) is its reasons alone, and
    anything unreadable explains nothing rather than breaking the page."""
    try:
        doc = json.loads(text or "[]")
    except ValueError:
        return Explanation()
    if isinstance(doc, list):
        return Explanation(reasons=[r for r in doc if isinstance(r, dict)])
    if not isinstance(doc, dict):
        return Explanation()
    reasons = [r for r in doc.get("reasons") or [] if isinstance(r, dict)]
    found = doc.get("confidence")
    c: dict[str, Any] = found if isinstance(found, dict) else {}

    def number(key: str) -> float | None:
        value = c.get(key)
        return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None

    terms = c.get("terms")
    runner_up = c.get("runner_up")
    return Explanation(
        reasons=reasons,
        confidence=number("value"),
        threshold=number("threshold"),
        chosen=c.get("chosen") is True,
        evidence=number("evidence"),
        terms=terms if isinstance(terms, int) and not isinstance(terms, bool) else None,
        runner_up=runner_up if isinstance(runner_up, str) else None,
        gap=number("gap"),
        examples=[
            e
            for e in doc.get("examples") or []
            if isinstance(e, dict) and isinstance(e.get("title"), str) and isinstance(e.get("theme"), str)
        ],
    )


# --- the history's "routed" event ----------------------------------------------------------


@dataclass(frozen=True)
class Routed:
    """What a "routed" event says was proposed. Events written before it said so hold only
    the keyword reasons (`known` is False then)."""

    reasons: list[dict[str, Any]]
    known: bool = False
    theme: str | None = None
    initiatives: list[str] = field(default_factory=list)
    member: str = ""  # the proposed member's display name then; "" when nobody fit
    confidence: float | None = None
    chosen: bool = False


def routed_payload(
    p: Proposal, theme: str | None, initiatives: list[str], member: str, confidence: float, chosen: bool
) -> str:
    """The "routed" event's value: the proposal as made (theme, initiatives, member, the
    confidence) and its first keyword reasons, as the requester wrote them."""
    doc = {
        "theme": theme,
        "initiatives": list(initiatives),
        "member": member,
        "confidence": confidence,
        "chosen": chosen,
        "reasons": [r.as_dict() for r in p.reasons[:3]],
    }
    return json.dumps(doc, ensure_ascii=False)


def read_routed(value: str | None) -> Routed:
    """A "routed" event's value read back, old (a list of reasons) or new."""
    try:
        doc = json.loads(value or "[]")
    except ValueError:
        return Routed(reasons=[])
    if isinstance(doc, list):
        return Routed(reasons=[r for r in doc if isinstance(r, dict)])
    if not isinstance(doc, dict):
        return Routed(reasons=[])
    theme, member, confidence = doc.get("theme"), doc.get("member"), doc.get("confidence")
    return Routed(
        reasons=[r for r in doc.get("reasons") or [] if isinstance(r, dict)],
        known=True,
        theme=theme if isinstance(theme, str) and theme else None,
        initiatives=[i for i in doc.get("initiatives") or [] if isinstance(i, str)],
        member=member if isinstance(member, str) else "",
        confidence=float(confidence)
        if isinstance(confidence, int | float) and not isinstance(confidence, bool)
        else None,
        chosen=doc.get("chosen") is True,
    )
