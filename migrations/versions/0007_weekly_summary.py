"""weekly summary mailings

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26

One row per summary e-mail per (kind, period, reader). The weekly summary job inserts
it with ON CONFLICT DO NOTHING and writes the outbox message only when its insert
created the row, so two schedulers at once still send each manager one mail a week.
"""
import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('report_mailings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('period_key', sa.String(length=32), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('outbox_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['outbox_id'], ['outbox.id'], name=op.f('fk_report_mailings_outbox_id_outbox'),
                            ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_report_mailings_user_id_users'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_mailings')),
    sa.UniqueConstraint('kind', 'period_key', 'user_id', name='uq_report_mailings_kind_period_user')
    )
    with op.batch_alter_table('report_mailings', schema=None) as batch_op:
        batch_op.create_index('ix_report_mailings_user_id', ['user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('report_mailings', schema=None) as batch_op:
        batch_op.drop_index('ix_report_mailings_user_id')
    op.drop_table('report_mailings')
