"""The labelled examples: a naive Bayes model over character n-grams, and an index of them.

config/reference/routing-examples/ holds consultations labelled with their theme; the
scorer (routing.py) adds the model's theme probabilities to its keyword scores, and the
index names the examples most like a consultation when the desk is told why.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


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


@dataclass(frozen=True)
class SimilarExample:
    """A labelled example like the consultation: its title, its theme and how alike (0..1)."""

    title: str
    theme: str
    similarity: float

    def as_dict(self) -> dict[str, Any]:
        return {"title": self.title, "theme": self.theme, "similarity": round(self.similarity, 2)}


@dataclass(frozen=True)
class ExampleIndex:
    """The labelled examples by their character n-grams (idf-weighted, as the example model
    reads them), to name the ones most like a consultation: the desk sees which examples the
    model's lean comes from. An inverted index, so a look-up reads only the examples that
    share a gram with the text."""

    titles: tuple[str, ...]
    themes: tuple[str, ...]
    norms: tuple[float, ...]
    postings: Mapping[str, tuple[tuple[int, float], ...]]  # gram -> (example, weight)
    idf: Mapping[str, float]

    def nearest(self, grams: set[str], n: int = 3, floor: float = 0.0) -> list[SimilarExample]:
        """The n examples most like these grams (ties: first in the files), each at least
        `floor` alike; examples with the same title count once."""
        weights = {g: self.idf[g] for g in grams if g in self.idf}
        norm = math.sqrt(sum(w * w for w in weights.values()))
        if not norm:
            return []
        dots: dict[int, float] = {}
        for g, w in weights.items():
            for i, weight in self.postings[g]:
                dots[i] = dots.get(i, 0.0) + w * weight
        ranked = sorted(((dot / (norm * self.norms[i]), i) for i, dot in dots.items()), key=lambda si: (-si[0], si[1]))
        out: list[SimilarExample] = []
        seen: set[str] = set()
        for similarity, i in ranked:
            if similarity < floor or len(out) == n:
                break
            if self.titles[i] not in seen:
                seen.add(self.titles[i])
                out.append(SimilarExample(self.titles[i], self.themes[i], similarity))
        return out


def index_examples(rows: Sequence[tuple[str, str, str, str]]) -> ExampleIndex | None:
    """An ExampleIndex from (title as written, normalized title, normalized body, theme) rows."""
    docs = [example_grams(t, b) for _title, t, b, _theme in rows]
    df = Counter(g for d in docs for g in d)
    if not df:
        return None
    idf = {g: math.log((1 + len(docs)) / (1 + k)) + 1 for g, k in df.items()}
    postings: dict[str, list[tuple[int, float]]] = {}
    norms = []
    for i, d in enumerate(docs):
        for g in d:
            postings.setdefault(g, []).append((i, idf[g]))
        norms.append(math.sqrt(sum(idf[g] ** 2 for g in d)) or 1.0)
    return ExampleIndex(
        titles=tuple(r[0] for r in rows),
        themes=tuple(r[3] for r in rows),
        norms=tuple(norms),
        postings={g: tuple(p) for g, p in postings.items()},
        idf=idf,
    )
