"""queue: remembered filters and saved views

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01

The filters a member used last live on their user row (one short string, read with the
user at no extra query); the views they save by name get a table of their own, with
names unique per user (the constraint, not only a check, so two saves at once cannot
both win).
"""
import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    # A plain ADD COLUMN with a default: no table rebuild on SQLite.
    op.add_column('users', sa.Column('queue_query', sa.String(length=1000), nullable=False,
                                     server_default=''))
    op.create_table('queue_views',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('query', sa.String(length=1000), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_queue_views_user_id_users'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_queue_views')),
    sa.UniqueConstraint('user_id', 'name', name='uq_queue_views_user_name')
    )


def downgrade():
    op.drop_table('queue_views')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('queue_query')
