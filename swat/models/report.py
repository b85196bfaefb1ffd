"""Report facts: per-day counts kept by the database itself, so reports stay fast at any size."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Date, Integer, PrimaryKeyConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base

COUNTERS = (
    "opened",
    "resolved",
    "exited",
    "reopened",
    "fr_met",
    "fr_missed",
    "fr_minutes",
    "res_met",
    "res_missed",
    "res_minutes",
)


class ReportFact(Base):
    """What happened on one Tokyo day to the consultations of one department, for one
    breakdown key: dim is 'all' (key ''), 'theme', 'priority', 'member' (assignee id) or
    'initiative'.

    Triggers on tickets, ticket_initiatives, ticket_events and ticket_slas (migration 0008)
    keep these rows equal to the grouped counts over the tickets as they stand now, in the
    same transaction as the change, however the change is written (ORM, bulk UPDATE, COPY).
    `swat reports facts --check` compares them with a fresh computation.

    - opened: filed that day; resolved: resolved_at that day; exited: left the backlog that day
      (the earlier of resolved_at and closed_at: domain.reports.left_backlog_at), so backlog at
      a day's start is the sum of opened minus exited before it;
    - reopened: reopenings (resolved or closed back to open: domain.reports.is_reopening) that day;
    - fr_/res_: first-response and resolution clocks that stopped that day as met or missed, and
      the business minutes they used.
    """

    __tablename__ = "report_facts"

    # Key order: a breakdown reads one dim over a span of days.
    dim: Mapped[str] = mapped_column(String(12), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    department_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    opened: Mapped[int] = mapped_column(Integer, default=0)
    resolved: Mapped[int] = mapped_column(Integer, default=0)
    exited: Mapped[int] = mapped_column(Integer, default=0)
    reopened: Mapped[int] = mapped_column(Integer, default=0)
    fr_met: Mapped[int] = mapped_column(Integer, default=0)
    fr_missed: Mapped[int] = mapped_column(Integer, default=0)
    fr_minutes: Mapped[int] = mapped_column(Integer, default=0)
    res_met: Mapped[int] = mapped_column(Integer, default=0)
    res_missed: Mapped[int] = mapped_column(Integer, default=0)
    res_minutes: Mapped[int] = mapped_column(Integer, default=0)


class ReportTimeCount(Base):
    """How many clocks of one target stopped (met or missed) in one Tokyo month having used
    `minutes` business minutes: the exact multiset the median and 90th percentile of whole
    months are read from, kept by triggers on ticket_slas (migration 0011) like report_facts.
    `month` is the first day of the month."""

    __tablename__ = "report_time_counts"
    # On SQLite the rows live in the key's B-tree (migration 0016); on PostgreSQL the key
    # INCLUDEs clocks (migration 0017), so a percentile reads the key alone.
    __table_args__ = {"sqlite_with_rowid": False}

    target: Mapped[str] = mapped_column(String(16), primary_key=True)
    month: Mapped[date] = mapped_column(Date, primary_key=True)
    minutes: Mapped[int] = mapped_column(Integer, primary_key=True)
    clocks: Mapped[int] = mapped_column(Integer, default=0)


# The width, in business minutes, of one report_time_buckets bucket (bucket = minutes // width).
TIME_BUCKET_MINUTES = 64


class ReportMonth(Base):
    """report_facts added up per Tokyo calendar month (`month` is its first day) and
    department.

    Triggers on report_facts (migration 0014) keep it equal to those sums in the same
    transaction, so a fiscal year's figures and breakdowns, and the backlog at its end
    (everything filed minus everything that left the backlog before it), add up a few
    rows per month, department and key instead of every day's. There are no desk-wide
    rows: the desk's figures sum the departments' as they are read, so a change to one
    department's consultations writes only that department's rows and never waits on (or
    deadlocks with) a writer in another department."""

    __tablename__ = "report_months"
    # Key order: the reports add up one dim per key over a span of months (migration 0016);
    # on SQLite the rows live in the key's B-tree.
    __table_args__ = (PrimaryKeyConstraint("dim", "key", "month", "department_id"), {"sqlite_with_rowid": False})

    dim: Mapped[str] = mapped_column(String(12), primary_key=True)
    department_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    month: Mapped[date] = mapped_column(Date, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    opened: Mapped[int] = mapped_column(Integer, default=0)
    resolved: Mapped[int] = mapped_column(Integer, default=0)
    exited: Mapped[int] = mapped_column(Integer, default=0)
    reopened: Mapped[int] = mapped_column(Integer, default=0)
    fr_met: Mapped[int] = mapped_column(Integer, default=0)
    fr_missed: Mapped[int] = mapped_column(Integer, default=0)
    fr_minutes: Mapped[int] = mapped_column(Integer, default=0)
    res_met: Mapped[int] = mapped_column(Integer, default=0)
    res_missed: Mapped[int] = mapped_column(Integer, default=0)
    res_minutes: Mapped[int] = mapped_column(Integer, default=0)


class ReportTimeBucket(Base):
    """How many clocks of one target and department stopped (met or missed) in one Tokyo
    month having used business minutes in one bucket of TIME_BUCKET_MINUTES (bucket =
    minutes // 64), kept by triggers on ticket_slas (migration 0014): summed over the
    departments, report_time_counts added up per bucket.

    A percentile of whole months is found in two short reads: these buckets locate the
    bucket that holds the wanted rank, then report_time_counts gives the exact minutes
    inside that one bucket only; a bucket holds at most 64 distinct values per month
    however many clocks there are. Per department, like report_months, so clocks stopping
    in different departments never share a row."""

    __tablename__ = "report_time_buckets"
    # Key order: a percentile adds up each bucket over a span of months (migration 0016);
    # on SQLite the rows live in the key's B-tree.
    __table_args__ = (
        PrimaryKeyConstraint("target", "bucket", "month", "department_id"),
        {"sqlite_with_rowid": False},
    )

    target: Mapped[str] = mapped_column(String(16), primary_key=True)
    month: Mapped[date] = mapped_column(Date, primary_key=True)
    department_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    bucket: Mapped[int] = mapped_column(Integer, primary_key=True)
    clocks: Mapped[int] = mapped_column(Integer, default=0)
