"""operations: each job's last run, and failed messages an admin discarded

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-06

- `job_runs`: one row per scheduled job (its name), rewritten after each run: where it ran,
  when it started and finished, how long it took, whether it went well, what it counted and
  why it failed; and when it last went well. /metrics and the status page read it.
- `outbox.discarded_at`: a message that gave up (`failed_at`) and that an admin chose not to
  send (the audit trail says who); it leaves the list of failed messages and stays on record.
  Nullable and unread by the previous release, so its workers run beside this one.
"""
import sqlalchemy as sa
from alembic import op

revision = '0027'
down_revision = '0026'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('job_runs',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('host', sa.String(length=255), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('duration_ms', sa.Integer(), nullable=False),
    sa.Column('ok', sa.Boolean(), nullable=False),
    sa.Column('counts', sa.Text(), nullable=False),
    sa.Column('error', sa.String(length=500), nullable=False),
    sa.Column('ok_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_job_runs'))
    )
    with op.batch_alter_table('outbox') as batch:
        batch.add_column(sa.Column('discarded_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('outbox') as batch:
        batch.drop_column('discarded_at')
    op.drop_table('job_runs')
