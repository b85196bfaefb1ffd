"""tickets.left_backlog_at, generated, indexed

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02

When a consultation left the backlog (swat/domain/reports.py, left_backlog_at): the earlier
of its resolution and its closing, whichever is set, NULL while it has neither. The backlog
at an instant E is then "filed before E and left_backlog_at NULL or not before E", and the
drill-down list of a past year's backlog reads it off an index instead of walking the
whole desk by latest activity.

A generated column, not one the application writes: the database computes it from
resolved_at and closed_at on every write (the services, `swat seed`'s COPY, a repair by
hand), so it cannot drift. PostgreSQL stores it (adding it rewrites the table once);
SQLite can only add a virtual one to an existing table, computed when read, and its index
stores the values. The expression is the one migration 0008's triggers use for "left the
backlog", written out here as applied.

The index differs by engine. "Filed before E and left_backlog_at NULL or not before E" is
two open ranges on two columns, and PostgreSQL's planner takes them for independent: at a
million consultations it reckons a past year's backlog (13,000) at a quarter of the desk,
and walks the whole list by latest activity for the first page. So on PostgreSQL a GiST
index on the span (filed, left the backlog] as a tstzrange, empty if the two are out of
order, whose statistics know the backlog's size; on SQLite a B-tree on (left_backlog_at,
created_at).
"""
import sqlalchemy as sa
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

LEFT_BACKLOG_AT = ("CASE WHEN resolved_at IS NULL THEN closed_at "
                   "WHEN closed_at IS NULL OR resolved_at <= closed_at THEN resolved_at "
                   "ELSE closed_at END")


def upgrade():
    postgres = op.get_bind().dialect.name == "postgresql"
    op.add_column('tickets', sa.Column('left_backlog_at', sa.DateTime(timezone=True),
                                       sa.Computed(LEFT_BACKLOG_AT, persisted=postgres), nullable=True))
    if postgres:
        op.execute("CREATE INDEX ix_tickets_backlog_span ON tickets USING gist "
                   "(tstzrange(LEAST(created_at, left_backlog_at), left_backlog_at, '(]'))")
    else:
        op.create_index('ix_tickets_left_backlog', 'tickets', ['left_backlog_at', 'created_at'], unique=False)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index('ix_tickets_backlog_span', table_name='tickets')
    else:
        op.drop_index('ix_tickets_left_backlog', table_name='tickets')
    op.drop_column('tickets', 'left_backlog_at')
