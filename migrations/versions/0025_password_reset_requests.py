"""accounts: password-reset requests wait for the delivery job

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-06

- `password_reset_requests`: a reset asked for at /password/reset, as typed; the page writes
  only this row, whoever was named, and the delivery job looks the account up and mails it.
"""
import sqlalchemy as sa
from alembic import op

revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('password_reset_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=254), nullable=False),
    sa.Column('ip', sa.String(length=64), nullable=False, server_default=''),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_password_reset_requests'))
    )
    op.create_index('ix_password_reset_requests_ip', 'password_reset_requests', ['ip'])


def downgrade():
    op.drop_index('ix_password_reset_requests_ip', table_name='password_reset_requests')
    op.drop_table('password_reset_requests')
