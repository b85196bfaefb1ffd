"""stopped clocks carry their department

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30

A department head's time figures read the stopped clocks of their department only. The
department is copied onto ticket_slas (a consultation never changes department), so those
figures come straight from the covering index instead of a join with tickets.
"""
import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    pg = op.get_bind().dialect.name == "postgresql"
    # A plain ADD COLUMN (no table rebuild on SQLite, so the report-fact triggers stay).
    op.add_column('ticket_slas', sa.Column('department_id', sa.String(length=64), nullable=False,
                                           server_default=''))
    if pg:  # the backfill changes nothing the report facts count
        op.execute("ALTER TABLE ticket_slas DISABLE TRIGGER report_facts_ticket_slas_upd")
    op.execute("UPDATE ticket_slas SET department_id = "
               "(SELECT tickets.department_id FROM tickets WHERE tickets.id = ticket_slas.ticket_id)")
    if pg:
        op.execute("ALTER TABLE ticket_slas ENABLE TRIGGER report_facts_ticket_slas_upd")
        op.drop_index('ix_ticket_slas_target_stopped', table_name='ticket_slas')
        op.create_index('ix_ticket_slas_target_stopped', 'ticket_slas', ['target', 'stopped_at'],
                        postgresql_include=['state', 'used_minutes', 'department_id'])


def _sqlite_triggers_aside() -> list[str]:
    """Drop every trigger and return their CREATE statements, as stored.

    SQLite drops a column by rebuilding the table (copy, drop, rename): dropping ticket_slas
    takes its own report triggers with it, and the rename then fails because the triggers on
    tickets still read a ticket_slas that is gone. So the triggers step aside and come back
    unchanged, from their stored text, once the table is rebuilt."""
    rows = op.get_bind().execute(sa.text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' ORDER BY name"))
    saved = list(rows)
    for name, _ in saved:
        op.execute(f'DROP TRIGGER "{name}"')
    return [sql for _, sql in saved]


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index('ix_ticket_slas_target_stopped', table_name='ticket_slas')
        op.create_index('ix_ticket_slas_target_stopped', 'ticket_slas', ['target', 'stopped_at'],
                        postgresql_include=['state', 'used_minutes'])
        op.drop_column('ticket_slas', 'department_id')
        return
    triggers = _sqlite_triggers_aside()
    with op.batch_alter_table('ticket_slas', schema=None) as batch_op:
        batch_op.drop_column('department_id')
    for ddl in triggers:
        op.execute(ddl)
