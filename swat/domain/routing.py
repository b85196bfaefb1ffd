"""The routing scorer: which theme, initiatives and panel a consultation belongs to.

Pure functions over compiled rules (from config/reference/routing.yaml and
the catalog). Text is folded with NFKC and lower case, synonyms are rewritten
to one canonical term, then weighted keywords score themes and initiatives;
a character-bigram similarity to the catalog's own texts breaks ties and
catches requests that name no keyword. Every score keeps its reasons, so the
desk can say why it proposed what it did.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .routing_confidence import DEFAULT_EVIDENCE_SCALE, DEFAULT_TEMPERATURE, NONE, Confidence, confidence
from .routing_examples import ExampleIndex, ExampleModel, SimilarExample, example_grams, index_examples, train_examples
from .routing_text import Folded, fold, terms_written


class RulesError(ValueError):
    """The routing rules are malformed; the message names the place."""


@dataclass(frozen=True)
class Rules:
    threshold: float
    # The confidence (routing_confidence.py): its softmax temperature and evidence scale.
    evidence_scale: float
    default_cap: int
    title_weight: float
    priority_weights: Mapping[str, float]
    synonyms: tuple[tuple[str, str], ...]
    theme_keywords: Mapping[str, Mapping[str, float]]
    initiative_keywords: Mapping[str, Mapping[str, float]]
    initiative_themes: Mapping[str, tuple[str, ...]]
    # A theme's own keyword score is multiplied by its boost: concerns such as ICT
    # governance decide the main purpose whenever they are really raised.
    theme_boosts: Mapping[str, float] = field(default_factory=dict)
    members: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    # Labelled examples (config/reference/routing-examples/) as a naive Bayes model over
    # character 2- and 3-grams (routing_examples.py); its theme probabilities, times
    # example_weight, join the scores.
    example_weight: float = 0.0
    example_model: ExampleModel | None = None
    example_index: ExampleIndex | None = None
    theme_profiles: Mapping[str, Counter[str]] = field(default_factory=dict)
    initiative_profiles: Mapping[str, Counter[str]] = field(default_factory=dict)
    idf: Mapping[str, float] = field(default_factory=dict)
    # Each profile's weighted length, computed once with the rules (a profile never changes).
    theme_norms: Mapping[str, float] = field(default_factory=dict)
    initiative_norms: Mapping[str, float] = field(default_factory=dict)
    _synonym_re: re.Pattern[str] | None = None
    _synonym_map: Mapping[str, str] = field(default_factory=dict)
    _keyword_re: re.Pattern[str] | None = None
    temperature: float = DEFAULT_TEMPERATURE


@dataclass
class Reason:
    """Keywords that led to a target ("theme:telework" or "initiative:rpa"): as the rules
    name them (folded) and, in the same order, as the requester wrote them."""

    target: str
    keywords: list[str]
    score: float
    words: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"target": self.target, "keywords": self.keywords, "words": self.words, "score": round(self.score, 2)}


@dataclass
class Proposal:
    """What the scorer proposes. `confidence` is the one number the desk sees and the
    auto-apply rule reads (`confident` is it against the threshold); `basis` says what it
    rests on. With no keyword at all nothing is proposed: no theme, no initiatives."""

    theme: str | None
    confidence: float
    confident: bool
    initiatives: list[str]
    theme_scores: dict[str, float]
    initiative_scores: dict[str, float]
    reasons: list[Reason]
    basis: Confidence = NONE


def _num(value: Any, where: str, lo: float = 0.0, hi: float = 1e9) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not lo <= value <= hi:
        raise RulesError(f"{where}: expected a number between {lo:g} and {hi:g}, got {value!r}")
    return float(value)


def _keywords(block: Any, where: str, allowed: frozenset[str] = frozenset({"keywords"})) -> dict[str, float]:
    if not isinstance(block, Mapping) or set(block) - allowed:
        raise RulesError(f"{where}: expected a mapping with only {', '.join(sorted(allowed))}")
    kws = block.get("keywords") or {}
    if not isinstance(kws, Mapping):
        raise RulesError(f"{where}.keywords: expected term: weight pairs")
    out = {}
    for term, weight in kws.items():
        term = fold(str(term)).strip()
        if not term:
            raise RulesError(f"{where}.keywords: empty term")
        out[term] = _num(weight, f"{where}.keywords.{term}", 0.0, 10.0)
    return out


def bigrams(text: str) -> Counter[str]:
    text = re.sub(r"\s+", " ", text)
    return Counter(text[i : i + 2] for i in range(len(text) - 1) if not text[i : i + 2].isspace())


def compile_rules(
    doc: Mapping[str, Any],
    initiative_themes: Mapping[str, Sequence[str]],
    theme_texts: Mapping[str, str],
    initiative_texts: Mapping[str, str],
    examples: Sequence[Mapping[str, str]] = (),
) -> Rules:
    """Check and compile the routing document against the catalog.

    Raises RulesError naming the key at fault: unknown top-level keys, unknown
    theme or initiative ids, weights out of range.
    """
    allowed = {
        "confidence_threshold",
        "confidence_temperature",
        "evidence_scale",
        "min_score",
        "default_cap",
        "title_weight",
        "priority_weights",
        "synonyms",
        "themes",
        "initiatives",
        "members",
        "example_weight",
    }
    if not isinstance(doc, Mapping):
        raise RulesError("the file must be a mapping")
    unknown = set(doc) - allowed
    if unknown:
        raise RulesError(f"unknown key {sorted(unknown)[0]!r}")
    themes = doc.get("themes") or {}
    inits = doc.get("initiatives") or {}
    for tid in themes:
        if tid not in theme_texts:
            raise RulesError(f"themes.{tid}: no such theme")
    for iid in inits:
        if iid not in initiative_themes:
            raise RulesError(f"initiatives.{iid}: no such initiative")
    synonyms: dict[str, str] = {}
    for canon, variants in (doc.get("synonyms") or {}).items():
        if not isinstance(variants, list):
            raise RulesError(f"synonyms.{canon}: expected a list of variants")
        for v in variants:
            v = fold(str(v)).strip()
            if v and v != fold(str(canon)):
                synonyms[v] = fold(str(canon))
    weights = doc.get("priority_weights") or {"urgent": 3, "high": 2, "normal": 1, "low": 0.5}
    for p in ("urgent", "high", "normal", "low"):
        if p not in weights:
            raise RulesError(f"priority_weights: missing {p}")
        _num(weights[p], f"priority_weights.{p}", 0.0, 100.0)
    members = doc.get("members") or {}
    if not isinstance(members, Mapping):
        raise RulesError("members: expected username: {cap: N}")
    for name, m in members.items():
        if not isinstance(m, Mapping) or set(m) - {"cap", "themes"}:
            raise RulesError(f"members.{name}: only 'cap' and 'themes' can be set here")
        if "cap" in m:
            _num(m["cap"], f"members.{name}.cap", 0, 1000)
        if "themes" in m:
            if not isinstance(m["themes"], list) or any(t not in theme_texts for t in m["themes"]):
                raise RulesError(f"members.{name}.themes: expected a list of theme ids")
    # Longest variants first, so "line works" wins over "line".
    ordered = sorted(synonyms, key=len, reverse=True)
    synonym_re = re.compile("|".join(re.escape(v) for v in ordered)) if ordered else None
    theme_kw = {t: _keywords(themes.get(t, {}), f"themes.{t}", frozenset({"keywords", "boost"})) for t in theme_texts}
    boosts = {t: _num((themes.get(t) or {}).get("boost", 1.0), f"themes.{t}.boost", 0.1, 10.0) for t in theme_texts}
    init_kw = {i: _keywords(inits.get(i, {}), f"initiatives.{i}") for i in initiative_themes}

    def rewrite(text: str) -> str:
        return synonym_re.sub(lambda m: synonyms[m.group(0)], text) if synonym_re else text

    every_term = sorted({k for kws in (*theme_kw.values(), *init_kw.values()) for k in kws}, key=len, reverse=True)
    keyword_re = re.compile("|".join(re.escape(k) for k in every_term)) if every_term else None
    theme_profiles = {t: bigrams(rewrite(fold(theme_texts[t] + " " + " ".join(theme_kw[t])))) for t in theme_texts}
    init_profiles = {
        i: bigrams(rewrite(fold(initiative_texts[i] + " " + " ".join(init_kw[i])))) for i in initiative_themes
    }
    docs = list(theme_profiles.values()) + list(init_profiles.values())
    df = Counter(g for d in docs for g in d)
    idf = {g: math.log((1 + len(docs)) / (1 + n)) + 1 for g, n in df.items()}

    def fold_syn(text: str) -> str:
        return rewrite(fold(text))

    folded = [(e["title"], fold_syn(e["title"]), fold_syn(e["body"]), e["theme"]) for e in examples]
    model = train_examples([(t, b, theme) for _title, t, b, theme in folded], list(theme_texts)) if examples else None
    return Rules(
        example_weight=_num(doc.get("example_weight", 0.0), "example_weight", 0, 100),
        example_model=model,
        example_index=index_examples([row for row in folded if row[3] in theme_texts]),
        threshold=_num(doc.get("confidence_threshold", 0.8), "confidence_threshold", 0, 1),
        # min_score is the older name of the same keyword evidence (it was a floor, now a scale).
        evidence_scale=_num(
            doc.get("evidence_scale", doc.get("min_score", DEFAULT_EVIDENCE_SCALE)), "evidence_scale", 0, 100
        ),
        temperature=_num(doc.get("confidence_temperature", DEFAULT_TEMPERATURE), "confidence_temperature", 0.1, 100),
        default_cap=int(_num(doc.get("default_cap", 12), "default_cap", 0, 1000)),
        title_weight=_num(doc.get("title_weight", 1.5), "title_weight", 0, 10),
        priority_weights={k: float(v) for k, v in weights.items()},
        synonyms=tuple((v, synonyms[v]) for v in ordered),
        theme_keywords=theme_kw,
        initiative_keywords=init_kw,
        initiative_themes={i: tuple(ts) for i, ts in initiative_themes.items()},
        theme_boosts=boosts,
        members={str(k): dict(v) for k, v in members.items()},
        theme_profiles=theme_profiles,
        initiative_profiles=init_profiles,
        idf=idf,
        theme_norms={t: _norm(p, idf) for t, p in theme_profiles.items()},
        initiative_norms={i: _norm(p, idf) for i, p in init_profiles.items()},
        _synonym_re=synonym_re,
        _synonym_map=synonyms,
        _keyword_re=keyword_re,
    )


def normalize(text: str, rules: Rules) -> str:
    """The text as the scorer reads it: folded, synonyms rewritten to their canonical term."""
    return Folded(text, rules._synonym_re, rules._synonym_map).text


def _match(
    keywords: Mapping[str, float], in_title: set[str], in_body: set[str], title_weight: float
) -> tuple[float, list[str]]:
    score = 0.0
    hits = []
    for term, weight in keywords.items():
        if term in in_title:
            score += weight * title_weight
            hits.append(term)
        elif term in in_body:
            score += weight
            hits.append(term)
    return score, hits


def _norm(a: Counter[str], idf: Mapping[str, float]) -> float:
    return math.sqrt(sum((n * idf.get(g, 1.0)) ** 2 for g, n in a.items()))


def _cosine(
    a: Counter[str], b: Counter[str], idf: Mapping[str, float], na: float | None = None, nb: float | None = None
) -> float:
    """The idf-weighted cosine of two bigram counts; `na` and `nb` are their norms when already known."""
    if not a or not b:
        return 0.0
    dot = sum(n * b[g] * idf.get(g, 1.0) ** 2 for g, n in a.items() if g in b)
    if na is None:
        na = _norm(a, idf)
    if nb is None:
        nb = _norm(b, idf)
    return dot / (na * nb) if na and nb else 0.0


# How much an initiative's score lends to its primary and secondary theme, and
# how much the text similarity counts next to keywords.
INITIATIVE_TO_THEME = (0.5, 0.25)
SIMILARITY_WEIGHT = 4.0


def route(title: str, body: str, rules: Rules) -> Proposal:
    """Score a consultation: the theme, up to three initiatives, the reasons."""
    folded_title = Folded(title, rules._synonym_re, rules._synonym_map)
    folded_body = Folded(body, rules._synonym_re, rules._synonym_map)
    t, b = folded_title.text, folded_body.text
    grams = bigrams(t + " " + b)
    norm = _norm(grams, rules.idf)
    # Each keyword found, with how the requester wrote it (the title's spelling first, as it counts more).
    title_terms = terms_written(folded_title, rules._keyword_re)
    body_terms = terms_written(folded_body, rules._keyword_re)
    written = body_terms | title_terms
    in_title, in_body = set(title_terms), set(body_terms)
    reasons: list[Reason] = []
    init_scores: dict[str, float] = {}
    for iid, kws in rules.initiative_keywords.items():
        score, hits = _match(kws, in_title, in_body, rules.title_weight)
        sim = _cosine(
            grams, rules.initiative_profiles.get(iid, Counter()), rules.idf, norm, rules.initiative_norms.get(iid)
        )
        init_scores[iid] = score + SIMILARITY_WEIGHT * sim
        if hits:
            reasons.append(Reason(f"initiative:{iid}", hits, score, [written[h] for h in hits]))
    theme_scores: dict[str, float] = {}
    # Keyword evidence alone (no similarity, no example model), and the keywords behind it:
    # the confidence counts only what the request itself says (routing_confidence.py).
    evidence: dict[str, float] = {}
    terms: dict[str, set[str]] = {}
    for tid, kws in rules.theme_keywords.items():
        score, hits = _match(kws, in_title, in_body, rules.title_weight)
        sim = _cosine(grams, rules.theme_profiles.get(tid, Counter()), rules.idf, norm, rules.theme_norms.get(tid))
        evidence[tid] = score * rules.theme_boosts.get(tid, 1.0)
        terms[tid] = set(hits)
        theme_scores[tid] = evidence[tid] + SIMILARITY_WEIGHT * sim
        if hits:
            reasons.append(Reason(f"theme:{tid}", hits, score, [written[h] for h in hits]))
    by_target = {r.target: r for r in reasons}
    for iid, themes in rules.initiative_themes.items():
        lent = by_target.get(f"initiative:{iid}")
        for share, tid in zip(INITIATIVE_TO_THEME, themes, strict=False):
            if tid in theme_scores:
                theme_scores[tid] += share * init_scores[iid]
                if lent is not None:
                    evidence[tid] += share * lent.score
                    terms[tid].update(lent.keywords)
    if rules.example_model is not None and rules.example_weight:
        for tid, prob in rules.example_model.probabilities(example_grams(t, b)).items():
            if tid in theme_scores:
                theme_scores[tid] += rules.example_weight * prob
    reasons.sort(key=lambda r: -r.score)
    if not reasons or not theme_scores:
        # Not one keyword: whatever the similarity and the example model lean to, it is a
        # guess about any text at all; the lead decides from nothing proposed. (Nor is
        # anything proposed from a catalog without themes, whatever its entries match.)
        return Proposal(None, 0.0, False, [], theme_scores, init_scores, reasons)
    top = min(theme_scores, key=lambda tid: (-theme_scores[tid], tid))
    basis = confidence(
        theme_scores,
        top,
        evidence[top],
        len(terms[top]),
        temperature=rules.temperature,
        evidence_scale=rules.evidence_scale,
    )
    inits = [i for i, s in sorted(init_scores.items(), key=lambda kv: (-kv[1], kv[0])) if s > 0.5][:3]
    return Proposal(
        theme=top,
        confidence=basis.value,
        confident=basis.value >= rules.threshold,
        initiatives=inits,
        theme_scores=theme_scores,
        initiative_scores=init_scores,
        reasons=reasons,
        basis=basis,
    )


def similar_examples(title: str, body: str, rules: Rules, n: int = 3, floor: float = 0.0) -> list[SimilarExample]:
    """The labelled examples most like a consultation (read as the example model reads it),
    at least `floor` alike: what the model's lean comes from, for the desk to judge."""
    if rules.example_index is None:
        return []
    return rules.example_index.nearest(example_grams(normalize(title, rules), normalize(body, rules)), n, floor)
