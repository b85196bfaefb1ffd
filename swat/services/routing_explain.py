"""What a routing proposal rests on, as stored with it and as the desk reads it.

`RoutingProposal.reasons` holds one JSON document written by `stored_reasons`: the
keyword reasons and the confidence with what it rests on (the number the auto-apply rule
compared, the threshold it compared it with, the keyword evidence and the runner-up).
Proposals stored before that hold only the list of reasons; `read_explanation` reads both,
so the triage list and the ticket page explain every proposal they show.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ..domain.routing import Proposal


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

    @property
    def known(self) -> bool:
        return self.confidence is not None


def stored_reasons(p: Proposal, threshold: float, chosen: bool, confidence: float, limit: int = 6) -> str:
    """The JSON document a proposal keeps of its reasons and its confidence."""
    doc = {
        "reasons": [r.as_dict() for r in p.reasons[:limit]],
        "confidence": {**p.basis.as_dict(), "value": confidence, "threshold": threshold, "chosen": chosen},
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
    )
