"""The weekly summary e-mail to managers: last week's figures beside the week before.

Every Monday morning (Asia/Tokyo) each active manager who keeps the summary on gets
the figures of the previous week (Monday to Sunday, Tokyo) for what they may see: a
department head their department, a manager without department the whole desk (the
same `ticket_scope` rule as the reports page). The figures are the report's own
(`reports.figures`); the age of open consultations is taken at the week's end so that
both weeks can stand side by side.

Exactly once per (week, reader): a `report_mailings` row is inserted with ON CONFLICT
DO NOTHING under a UNIQUE constraint, and the outbox message is written in the same
transaction only when that insert created the row. Two schedulers at once, a rerun,
or a run later in the week all send last week's summary once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ..domain import permissions
from ..domain import reports as rdomain
from ..domain.tz import TOKYO
from ..models import Department, OutboxMessage, ReportMailing, User
from . import reports
from .statements import insert_or_nothing

KIND = "weekly_summary"


@dataclass
class MailingResult:
    week: str
    queued: int = 0  # summaries written to the outbox by this run
    already: int = 0  # readers who had this week's summary from an earlier (or a parallel) run


def week_of(d: date) -> rdomain.Period:
    """The Monday-to-Sunday week (Tokyo dates) that contains `d`, as a report range."""
    monday = d - timedelta(days=d.weekday())
    return rdomain.date_range(monday, monday + timedelta(days=6))


def last_week(now: datetime) -> rdomain.Period:
    """The latest week that has ended by `now` (Tokyo): on any day, the week before this one."""
    return week_of(now.astimezone(TOKYO).date()).previous()


def wants_summary(user: User) -> bool:
    """Active managers with an e-mail address who did not turn e-mail or the summary off."""
    muted = {k for k in (user.muted_kinds or "").split(",") if k}
    return (
        user.active
        and permissions.receives_weekly_summary(user)
        and bool(user.email)
        and user.notify_email
        and KIND not in muted
    )


def _figures(session: Session, actor, week: rdomain.Period, now: datetime) -> dict:
    f = reports.figures(session, actor, week, now, with_ages=False)
    return {
        "opened": f.opened,
        "resolved": f.resolved,
        "backlog": f.backlog,
        "fr_compliance": f.fr_compliance,
        "res_compliance": f.res_compliance,
        "res_median_h": f.res_median_h,
        "ages": reports.ages(session, actor, now, at=week.bounds()[1]),
    }


def summary(session: Session, actor, week: rdomain.Period, now: datetime) -> dict:
    """What one reader's mail says (JSON-ready): the week, its scope, and both weeks' figures."""
    scope = permissions.department_scope(actor)
    department = None
    if scope is not None:
        dep = session.get(Department, scope)
        department = {"ja": dep.name if dep else scope, "en": (dep.name_en or dep.name) if dep else scope}
    return {
        "period": week.key(),
        "department": department,
        "current": _figures(session, actor, week, now),
        "previous": _figures(session, actor, week.previous(), now),
    }


def _insert_once(session: Session, values: dict) -> int | None:
    stmt = insert_or_nothing(session, ReportMailing, values).returning(ReportMailing.id)
    return session.execute(stmt).scalar_one_or_none()


def send_weekly_summaries(
    session: Session, now: datetime, base_url: str, week: rdomain.Period | None = None
) -> MailingResult:
    """Queue last week's summary (or `week`'s, once it has ended) for every manager who
    wants it and has not had it; flushes, never commits.

    Readers are taken in id order, so two runs at once wait on the same rows in the same
    order (no deadlock) and the later one finds every row taken. Figures are computed
    once per scope (department or whole desk), and only when a mail is actually queued.
    """
    week = week or last_week(now)
    if week.bounds()[1] > now:
        raise ValueError(f"the week {week.key()} has not ended yet")
    result = MailingResult(week=week.key())
    base = base_url.rstrip("/")
    by_scope: dict[str | None, dict] = {}
    readers = session.scalars(
        select(User)
        .where(User.active, User.role.in_(permissions.WEEKLY_SUMMARY_ROLES), User.email != "")
        .order_by(User.id)
    ).all()
    for user in readers:
        if not wants_summary(user):
            continue
        mailing_id = _insert_once(
            session, {"kind": KIND, "period_key": week.key(), "user_id": user.id, "created_at": now}
        )
        if mailing_id is None:
            result.already += 1
            continue
        scope = permissions.department_scope(user)
        if scope not in by_scope:
            by_scope[scope] = summary(session, user, week, now)
        params = {
            **by_scope[scope],
            "link": f"{base}/reports?period={week.key()}",
            "settings": f"{base}/settings/notifications",
        }
        message = OutboxMessage(
            channel="email",
            recipient=user.email,
            locale=user.locale or "ja",
            kind=KIND,
            params=json.dumps(params, ensure_ascii=False),
            created_at=now,
            next_attempt_at=now,
        )
        session.add(message)
        session.flush()
        session.execute(
            update(ReportMailing)
            .where(ReportMailing.id == mailing_id)
            .values(outbox_id=message.id)
            .execution_options(synchronize_session=False)
        )
        result.queued += 1
    session.flush()
    return result
