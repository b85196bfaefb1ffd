"""report_time_counts' key carries the counts (PostgreSQL)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02

A percentile of whole months reads the exact minutes of one bucket from
`report_time_counts`: one range of its key (target, month, minutes) per month. On
PostgreSQL each of those rows was then fetched from the table for its `clocks`: the rows
of one month were written as the minutes first occurred, so a bucket's 64 values lie on
64 different pages (a fiscal year beside the previous one read about 4,000 pages, and
the planner sent the read to parallel workers). The primary key now INCLUDEs `clocks`, so
the read is an index-only scan of the key. The price: an update of `clocks` (a clock that
stops) can no longer be made in place in the table's page (a HOT update), it writes a new
key entry too; the table holds a few hundred thousand rows at 1,000,000 consultations and
autovacuum keeps the key's size. On SQLite the table is already stored in its key's B-tree
(WITHOUT ROWID, migration 0016): nothing changes there.
"""
from alembic import op

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def _key(include: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE report_time_counts DROP CONSTRAINT pk_report_time_counts, "
               f"ADD CONSTRAINT pk_report_time_counts PRIMARY KEY (target, month, minutes){include}")


def upgrade():
    _key(" INCLUDE (clocks)")


def downgrade():
    _key("")
