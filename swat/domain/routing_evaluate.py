"""How well the rules route labelled consultations (`swat routing evaluate`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .routing import Rules, route


@dataclass(frozen=True)
class Band:
    """The rows whose confidence fell in [low, high): how many, how many were right, and
    their mean confidence. Calibrated means `right / n` is close to `mean`."""

    low: float
    high: float
    n: int
    right: int
    mean: float

    def as_dict(self) -> dict[str, Any]:
        return {"low": self.low, "high": self.high, "n": self.n, "right": self.right, "mean": round(self.mean, 3)}


@dataclass
class Evaluation:
    n: int
    theme_accuracy: float
    initiative_top1: float
    initiative_top3: float
    confusion: dict[str, dict[str, int]]
    misses: list[dict[str, Any]]
    # How far the confidence can be trusted: rows by tenths of confidence, the rows the
    # auto-apply rule would apply at once and how many of those are right, and the Brier
    # score (mean squared gap between confidence and being right; lower is better).
    calibration: list[Band] = field(default_factory=list)
    applied: int = 0
    applied_right: int = 0
    brier: float = 0.0


def evaluate(rows: Sequence[Mapping[str, Any]], rules: Rules) -> Evaluation:
    """Theme accuracy, and initiative hit rates over the rows that list an initiative.

    top-1 counts a row when the first proposal is one of its initiatives;
    top-3 when any of the first three is. The confidence is judged against the theme: its
    calibration by tenths, what the auto-apply rule would apply, and the Brier score.
    """
    theme_ok = top1 = top3 = with_init = applied = applied_right = 0
    squares = 0.0
    bands: dict[int, list[float]] = {}
    right_in: dict[int, int] = {}
    confusion: dict[str, dict[str, int]] = {}
    misses = []
    for row in rows:
        p = route(row.get("title", ""), row.get("body", ""), rules)
        gold = row["theme"]
        got = p.theme or "-"
        confusion.setdefault(gold, {}).setdefault(got, 0)
        confusion[gold][got] += 1
        theme_ok += got == gold
        band = min(int(p.confidence * 10 + 1e-9), 9)
        bands.setdefault(band, []).append(p.confidence)
        right_in[band] = right_in.get(band, 0) + (got == gold)
        squares += (p.confidence - (got == gold)) ** 2
        if p.confident:
            applied += 1
            applied_right += got == gold
        gold_inits = list(row.get("initiatives") or [])
        if gold_inits:
            with_init += 1
            top1 += bool(p.initiatives[:1]) and p.initiatives[0] in gold_inits
            top3 += bool(set(p.initiatives[:3]) & set(gold_inits))
        if got != gold or (gold_inits and not set(p.initiatives[:3]) & set(gold_inits)):
            misses.append(
                {"id": row.get("id"), "theme": gold, "got": got, "initiatives": gold_inits, "proposed": p.initiatives}
            )
    n = len(rows)
    return Evaluation(
        n=n,
        theme_accuracy=theme_ok / n if n else 0.0,
        initiative_top1=top1 / with_init if with_init else 0.0,
        initiative_top3=top3 / with_init if with_init else 0.0,
        confusion=confusion,
        misses=misses,
        calibration=[
            Band(b / 10, (b + 1) / 10, len(cs), right_in[b], sum(cs) / len(cs)) for b, cs in sorted(bands.items())
        ],
        applied=applied,
        applied_right=applied_right,
        brier=squares / n if n else 0.0,
    )
