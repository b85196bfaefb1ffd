"""Reading list filters from the query string (bad values are ignored, never a 500)."""

from __future__ import annotations

from flask import request

from ..services.listing import SORTS, TicketFilters
from .common import now


def _int(value: str | None, default: int, lo: int, hi: int) -> int:
    try:
        return max(lo, min(hi, int(value or default)))
    except ValueError:
        return default


def page_number(value: str | None) -> int:
    """A list's page number from the query string or a form: 1 for anything unreadable."""
    return _int(value, 1, 1, 1_000_000)


def filters_from_request(per_page: int, default_statuses: list[str] | None = None) -> TicketFilters:
    args = request.args
    statuses = [s for s in args.getlist("status") if s]
    if not statuses and "status" not in args and default_statuses:
        statuses = list(default_statuses)
    q = args.get("q", "")[:200]
    # A search is ordered by relevance unless another order is asked for.
    sort = args.get("sort", "relevance" if q.strip() else "priority")
    return TicketFilters(
        statuses=statuses,
        theme=args.get("theme", "")[:64],
        department=args.get("department", "")[:64],
        assignee=args.get("assignee", "")[:20],
        priority=args.get("priority", "")[:16],
        q=q,
        initiative=args.get("initiative", "")[:64],
        period=args.get("period", "")[:40],
        measure=args.get("measure", "")[:16],
        sort=sort if sort in SORTS else "priority",
        descending=args.get("dir") == "desc",
        page=page_number(args.get("page")),
        per_page=_int(args.get("per_page"), per_page, 1, 200),
        exact_count=args.get("count") == "exact",
        sla=args.get("sla", "")[:16],
        at=now(),
    )
