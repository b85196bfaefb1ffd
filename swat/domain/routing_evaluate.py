"""How well the rules route labelled consultations (`swat routing evaluate`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .routing import Rules, route


@dataclass
class Evaluation:
    n: int
    theme_accuracy: float
    initiative_top1: float
    initiative_top3: float
    confusion: dict[str, dict[str, int]]
    misses: list[dict[str, Any]]


def evaluate(rows: Sequence[Mapping[str, Any]], rules: Rules) -> Evaluation:
    """Theme accuracy, and initiative hit rates over the rows that list an initiative.

    top-1 counts a row when the first proposal is one of its initiatives;
    top-3 when any of the first three is.
    """
    theme_ok = top1 = top3 = with_init = 0
    confusion: dict[str, dict[str, int]] = {}
    misses = []
    for row in rows:
        p = route(row.get("title", ""), row.get("body", ""), rules)
        gold = row["theme"]
        got = p.theme or "-"
        confusion.setdefault(gold, {}).setdefault(got, 0)
        confusion[gold][got] += 1
        theme_ok += got == gold
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
    )
