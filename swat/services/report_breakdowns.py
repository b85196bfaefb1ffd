"""Report breakdowns: every figure per department, theme, urgency, member or initiative,
from the stored facts, and the median and p90 times per key of one breakdown."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, literal, select
from sqlalchemy.orm import Session

from ..domain import permissions, states
from ..domain import reports as rdomain
from ..models import Department, Initiative, Theme, Ticket, TicketInitiative, TicketSla, User
from . import report_facts, report_sums
from .catalog import CatalogName
from .report_times import hours, ranked, stopped_in
from .reports import DIMENSIONS, TARGETS, Figures, Overdue, fact_department, overdue_now


def _drill_filter(dimension: str, key) -> dict:
    """Query-string filters of the ticket list for one breakdown row."""
    if dimension == "department":
        return {"department": key}
    if dimension == "theme":
        return {"theme": key or "none"}
    if dimension == "priority":
        return {"priority": states.PRIORITIES[int(key)]}
    if dimension == "member":
        return {"assignee": key or "none"}
    return {"initiative": key}


def _labels(session: Session, dimension: str, names: dict[str, CatalogName]) -> dict[str, str]:
    """What each key of a dimension is called in Japanese (a member: their display name)."""
    if dimension == "member":
        return {str(i): n for i, n in session.execute(select(User.id, User.display_name))}
    return {k: name.name for k, name in names.items()}


_NAMED: dict[str, type[Department] | type[Theme] | type[Initiative]] = {
    "department": Department,
    "theme": Theme,
    "initiative": Initiative,
}


def _names(session: Session, dimension: str) -> dict[str, CatalogName]:
    """The catalog's names (Japanese and English) of a dimension's keys; none for urgency
    and members (an urgency is a word of the desk, a member's name has no English)."""
    model = _NAMED.get(dimension)
    if model is None:
        return {}
    return {i: CatalogName(i, n, e or "") for i, n, e in session.execute(select(model.id, model.name, model.name_en))}


def breakdowns(
    session: Session,
    actor,
    period: rdomain.Period,
    now: datetime,
    dimensions: tuple[str, ...] = DIMENSIONS,
    overdue: Overdue | None = None,
) -> dict[str, list[dict]]:
    """Every figure the stored facts give, per department/theme/urgency/member/initiative:
    two grouped queries over the stored facts (report_sums.totals), plus the clocks overdue
    right now (overdue_now, when not already read for these dimensions). Rows with nothing
    in the period and no backlog are left out."""
    for dimension in dimensions:
        if dimension not in DIMENSIONS:
            raise ValueError(dimension)
    found: dict[str, dict[str, dict]] = {d: {} for d in dimensions}
    department = fact_department(actor)
    queries: list[tuple[str | None, Any]] = []
    if "department" in dimensions:
        stmt = report_sums.totals(period, ("all",), department, ("department_id",))
        queries.append(("department", stmt))  # rows: department_id, sums
    others = tuple(d for d in dimensions if d != "department")
    if others:
        stmt = report_sums.totals(period, others, department, ("dim", "key"))
        queries.append((None, stmt))  # rows: dim, key, sums
    for fixed, stmt in queries:
        for row in session.execute(stmt):
            dim, k = (fixed, row[0]) if fixed else (row[0], row[1])
            found[dim][k] = {c: int(row._mapping[c]) for c in report_sums.SUMS}
    if overdue is None:
        overdue = overdue_now(session, actor, period, now, dimensions)
    elif not set(dimensions) <= overdue.by.keys():
        raise ValueError("the overdue clocks were counted for other breakdowns")
    prefixes = dict(TARGETS)
    for dimension in dimensions:
        for k, per_target in overdue.by.get(dimension, {}).items():
            entry = found[dimension].get(k)
            if entry is not None:
                for target, n in per_target.items():
                    entry[f"{prefixes[target]}_overdue"] = n
    out = {}
    for dimension in dimensions:
        names = _names(session, dimension)
        labels = _labels(session, dimension, names)
        rows = []
        for k, v in found[dimension].items():
            if not (
                v["opened"]
                or v["resolved"]
                or v["backlog"]
                or v["fr_met"]
                or v["fr_missed"]
                or v["res_met"]
                or v["res_missed"]
            ):
                continue
            fr_ended, res_ended = v["fr_met"] + v["fr_missed"], v["res_met"] + v["res_missed"]
            fr_due, res_due = fr_ended + v.get("fr_overdue", 0), res_ended + v.get("res_overdue", 0)
            if dimension == "priority":
                label = states.PRIORITIES[int(k)]
            else:
                label = labels.get(k, k) if k else "-"
            rows.append(
                {
                    "key": k,
                    "label": label,
                    "name": names.get(k),  # the catalog's names, for the reader's language
                    "opened": v["opened"],
                    "resolved": v["resolved"],
                    "backlog": v["backlog"],
                    "fr_met": v["fr_met"],
                    "fr_due": fr_due,
                    "fr_compliance": Figures.rate(v["fr_met"], fr_due),
                    "res_met": v["res_met"],
                    "res_due": res_due,
                    "res_compliance": Figures.rate(v["res_met"], res_due),
                    "fr_mean_h": hours(v["fr_minutes"] / fr_ended) if fr_ended else None,
                    "res_mean_h": hours(v["res_minutes"] / res_ended) if res_ended else None,
                    "reopened": v["reopened"],
                    "reopened_rate": Figures.rate(v["reopened"], v["resolved"]),
                    "filter": _drill_filter(dimension, k),
                }
            )
        if dimension == "priority":
            rows.sort(key=lambda r: int(r["key"]))
        else:
            rows.sort(key=lambda r: (-r["opened"], -r["backlog"], str(r["label"])))
        out[dimension] = rows
    return out


def time_percentiles(
    session: Session, actor, period: rdomain.Period, dimension: str, figures: Figures | None = None
) -> dict[str, dict]:
    """Median and p90 first-response and resolution times (business hours) per key of one
    breakdown: the clocks that stopped, met or missed, in the period, ranked by the database
    per key (one statement per target; see report_times.ranked), as for the whole desk's figures. Asked
    for one breakdown at a time: over a year of a large desk this reads every clock that
    stopped in it. Given the period's `figures` (for the same actor), a department head's
    department breakdown takes its times from them instead of ranking the clocks again."""
    if dimension not in DIMENSIONS:
        raise ValueError(dimension)
    start, end = period.bounds()
    department = permissions.department_scope(actor)
    if dimension == "department" and department is not None and figures is not None:
        # A department head's one department: the same clocks as the period's figures
        # (reports.figures ranks stopped_in(target, start, end, department) too), ranked once.
        names = [f"{prefix}_{m}_h" for _, prefix in TARGETS for m in ("median", "p90")]
        times = {n: getattr(figures, n) for n in names if getattr(figures, n) is not None}
        return {department: times} if times else {}
    key = TicketSla.department_id if dimension == "department" else report_facts.breakdown_key(dimension)
    out: dict[str, dict] = {}
    for target, prefix in TARGETS:
        stmt = select(func.coalesce(key, "").label("k"), TicketSla.used_minutes.label("v"), literal(1).label("n"))
        if dimension != "department":
            stmt = stmt.join(Ticket, Ticket.id == TicketSla.ticket_id)
        if dimension == "initiative":
            stmt = stmt.join(TicketInitiative, TicketInitiative.ticket_id == Ticket.id)
        stmt = stmt.where(*stopped_in(target, start, end, department))
        for k, (median, p90) in ranked(session, stmt).items():
            row = out.setdefault(k, {})
            row[f"{prefix}_median_h"] = hours(median)
            row[f"{prefix}_p90_h"] = hours(p90)
    return out


def breakdown(session: Session, actor, period: rdomain.Period, dimension: str, now: datetime) -> list[dict]:
    """One dimension of breakdowns()."""
    return breakdowns(session, actor, period, now, (dimension,))[dimension]
