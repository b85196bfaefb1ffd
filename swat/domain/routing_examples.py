"""The labelled examples as a model: naive Bayes over character n-grams.

config/reference/routing-examples/ holds consultations labelled with their theme; the
scorer (routing.py) adds the model's theme probabilities to its keyword scores.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class ExampleModel:
    counts: Mapping[str, Mapping[str, int]]
    totals: Mapping[str, int]
    vocabulary: int
    alpha: float = 0.5

    def probabilities(self, grams: set[str]) -> dict[str, float]:
        logs = {}
        for theme, counts in self.counts.items():
            denom = self.totals[theme] + self.alpha * self.vocabulary
            logs[theme] = sum(math.log((counts.get(g, 0) + self.alpha) / denom) for g in grams)
        if not logs:
            return {}
        top = max(logs.values())
        z = sum(math.exp(v - top) for v in logs.values())
        return {t: math.exp(v - top) / z for t, v in logs.items()}


def example_grams(title: str, body: str) -> set[str]:
    """Character 2- and 3-grams of the folded text; the title counts as if written twice."""
    text = f"{title} {title} {body}"
    return {text[i : i + n] for n in (2, 3) for i in range(len(text) - n + 1) if " " not in text[i : i + n]}


def train_examples(rows: Sequence[tuple[str, str, str]], themes: Sequence[str]) -> ExampleModel | None:
    """A naive Bayes model from (normalized title, normalized body, theme) rows."""
    counts: dict[str, Counter[str]] = {t: Counter() for t in themes}
    for title, body, theme in rows:
        if theme in counts:
            counts[theme].update(example_grams(title, body))
    vocabulary = len(set().union(*counts.values())) if counts else 0
    if not vocabulary:
        return None
    return ExampleModel(
        counts={t: dict(c) for t, c in counts.items()},
        totals={t: sum(c.values()) for t, c in counts.items()},
        vocabulary=vocabulary,
    )
