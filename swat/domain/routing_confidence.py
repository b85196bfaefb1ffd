"""How sure the scorer is of the theme it proposes: one number, shown and used alike.

The confidence is the proposed theme's share of all theme scores (a softmax with a
temperature, so a lead of a few points over the runner-up counts and a tie is 50 %),
times a gate on the keyword evidence the request itself gives for that theme:

    confidence = share × (1 − exp(−evidence / evidence_scale))

A theme no keyword points to gets 0 whatever the example model or the text
similarity say (they speak for any text, "よろしくお願いします" included); more
keywords for the proposed theme never lower it, more points for another theme never
raise it. On the labelled examples, each judged by a model that never saw it, the figure
is close to the share of proposals that are right (the table is in bench/ROUTING.md;
`swat routing evaluate` prints it for any labelled file). The auto-apply rule compares this very number with
`confidence_threshold`; it is kept to whole per cent, rounded down, so the page shows
exactly what the rule read.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

DEFAULT_TEMPERATURE = 3.0
DEFAULT_EVIDENCE_SCALE = 2.0


@dataclass(frozen=True)
class Confidence:
    """The confidence in a proposed theme and what it rests on, for the words the desk reads."""

    value: float  # 0..1 in whole per cent, rounded down
    share: float  # the proposed theme's share of the scores
    evidence: float  # its keyword evidence
    terms: int  # how many keywords point to it
    runner_up: str | None  # the next theme by score
    gap: float  # points between the proposed theme's score and the runner-up's

    def as_dict(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "share": round(self.share, 3),
            "evidence": round(self.evidence, 2),
            "terms": self.terms,
            "runner_up": self.runner_up,
            "gap": round(self.gap, 2),
        }


NONE = Confidence(0.0, 0.0, 0.0, 0, None, 0.0)


def confidence(
    scores: Mapping[str, float],
    top: str | None,
    evidence: float,
    terms: int,
    *,
    temperature: float = DEFAULT_TEMPERATURE,
    evidence_scale: float = DEFAULT_EVIDENCE_SCALE,
) -> Confidence:
    """The confidence in `top` given every theme's score and top's keyword evidence (see above)."""
    if top is None or top not in scores:
        return NONE
    best = max(scores.values())
    total = sum(math.exp((s - best) / temperature) for s in scores.values())
    share = math.exp((scores[top] - best) / temperature) / total
    if evidence <= 0:
        gate = 0.0
    else:  # a scale of 0: any keyword evidence is enough
        gate = 1.0 - math.exp(-evidence / evidence_scale) if evidence_scale > 0 else 1.0
    others = sorted(((s, t) for t, s in scores.items() if t != top), key=lambda st: (-st[0], st[1]))
    runner_up, second = (others[0][1], others[0][0]) if others else (None, 0.0)
    return Confidence(
        value=math.floor(share * gate * 100 + 1e-9) / 100,
        share=share,
        evidence=evidence,
        terms=terms,
        runner_up=runner_up,
        gap=scores[top] - second,
    )
