"""report indexes

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25

Indexes the report queries use: resolutions by date, status events by kind and time,
stopped SLA clocks by target and time, and (PostgreSQL) a covering filing-date index
so counts and breakdowns are index-only scans.
"""
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

INCLUDE = ["resolved_at", "closed_at", "department_id", "theme_id", "priority", "assignee_id", "status"]


def upgrade():
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.create_index('ix_tickets_resolved_at', ['resolved_at'], unique=False)
    with op.batch_alter_table('ticket_events', schema=None) as batch_op:
        batch_op.create_index('ix_ticket_events_kind_at', ['kind', 'at'], unique=False)
    with op.batch_alter_table('ticket_slas', schema=None) as batch_op:
        batch_op.create_index('ix_ticket_slas_target_stopped', ['target', 'stopped_at'], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index('ix_tickets_created_at', table_name='tickets')
        op.create_index('ix_tickets_created_at', 'tickets', ['created_at'], postgresql_include=INCLUDE)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index('ix_tickets_created_at', table_name='tickets')
        op.create_index('ix_tickets_created_at', 'tickets', ['created_at'])
    with op.batch_alter_table('ticket_slas', schema=None) as batch_op:
        batch_op.drop_index('ix_ticket_slas_target_stopped')
    with op.batch_alter_table('ticket_events', schema=None) as batch_op:
        batch_op.drop_index('ix_ticket_events_kind_at')
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index('ix_tickets_resolved_at')
