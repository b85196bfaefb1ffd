"""operations: the scheduler's heartbeat

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-06

- `scheduler_heartbeats`: one row per scheduler (its name), rewritten each minute: host,
  process id, when it started and its last beat.
"""
import sqlalchemy as sa
from alembic import op

revision = '0026'
down_revision = '0025'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('scheduler_heartbeats',
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('host', sa.String(length=255), nullable=False),
    sa.Column('pid', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('beat_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_scheduler_heartbeats'))
    )


def downgrade():
    op.drop_table('scheduler_heartbeats')
