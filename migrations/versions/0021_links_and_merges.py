"""related consultations, and duplicates merged into their original

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-03

- `ticket_links`: two consultations marked as related, one row each way, so either's page
  lists the other by its own key.
- `tickets.merged_into_id`: the consultation a duplicate was merged into (NULL otherwise);
  `messages.merged_from_id`: the duplicate a post of the original came from. Plain numbers
  beside an index, not foreign keys: SQLite could not drop such a column again, and a
  consultation is never deleted while another points to it.
- The report facts leave a merged duplicate out (the reports count its original once): the
  triggers of 0008 are made again with the condition that the ticket is not merged, and an
  UPDATE that merges one takes its contributions away. The trigger SQL is 0008's own,
  loaded from that file with its `LIVE` condition set, so both stay as they were applied.
  No consultation is merged yet when this runs, so the facts need no rebuild.
"""
import importlib.util
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def _facts_sql(merged_left_out: bool):
    path = Path(__file__).resolve().parent / "0008_report_facts.py"
    spec = importlib.util.spec_from_file_location("report_facts_0008", path)
    m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m)
    if merged_left_out:
        m.LIVE = " AND t.merged_into_id IS NULL"
        m.COLUMNS["tickets"] = [*m.TICKET_COLUMNS, "merged_into_id"]
        m.CHANGED["tickets"] = [*m.CHANGED["tickets"], "merged_into_id"]
    return m


def _drop_fact_triggers(m, d: str) -> None:
    for table in m.COLUMNS:
        for what in ("ins", "upd", "del"):
            if d == "postgresql":
                op.execute(f"DROP TRIGGER IF EXISTS report_facts_{table}_{what} ON {table}")
                op.execute(f"DROP FUNCTION IF EXISTS report_facts_{table}_{what}()")
            else:
                op.execute(f"DROP TRIGGER IF EXISTS report_facts_{table}_{what}")


def _make_fact_triggers(merged_left_out: bool) -> None:
    d = op.get_bind().dialect.name
    m = _facts_sql(merged_left_out)
    _drop_fact_triggers(m, d)
    for ddl in (m._pg_triggers() if d == "postgresql" else m._sqlite_triggers()):
        op.execute(ddl)


def upgrade():
    op.create_table('ticket_links',
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('linked_id', sa.Integer(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_ticket_links_created_by_id_users')),
    sa.ForeignKeyConstraint(['linked_id'], ['tickets.id'], name=op.f('fk_ticket_links_linked_id_tickets'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_ticket_links_ticket_id_tickets'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('ticket_id', 'linked_id', name=op.f('pk_ticket_links'))
    )
    # Plain ADD COLUMNs (no table rebuild on SQLite, so the other triggers on tickets stay).
    op.add_column('tickets', sa.Column('merged_into_id', sa.Integer(), nullable=True))
    op.create_index('ix_tickets_merged_into', 'tickets', ['merged_into_id'])
    op.add_column('messages', sa.Column('merged_from_id', sa.Integer(), nullable=True))
    _make_fact_triggers(merged_left_out=True)


def downgrade():
    _make_fact_triggers(merged_left_out=False)
    # The merged duplicates count again, as 0008 counts every consultation. Their clocks
    # stay void: a merge cannot be undone.
    d = op.get_bind().dialect.name
    merged = "(SELECT * FROM tickets WHERE merged_into_id IS NOT NULL)"
    op.execute(_facts_sql(merged_left_out=False).statements(d, "tickets", merged, "1"))
    op.drop_index('ix_tickets_merged_into', table_name='tickets')
    # SQLite's own DROP COLUMN, not a table rebuild (which would take the triggers with it).
    for table, column in (('messages', 'merged_from_id'), ('tickets', 'merged_into_id')):
        op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    op.drop_table('ticket_links')
