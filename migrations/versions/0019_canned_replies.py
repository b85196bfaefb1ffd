"""canned replies (定型文)

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03

Texts a desk member inserts into a reply: shared ones (no owner, kept by the team leads)
and each member's own, for every theme or for one, with the number of replies sent with
each. A member's own go with their account.
"""
import sqlalchemy as sa
from alembic import op

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('canned_replies',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=100), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('theme_id', sa.String(length=64), nullable=True),
    sa.Column('uses', sa.Integer(), server_default='0', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_canned_replies_owner_id_users'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['theme_id'], ['themes.id'], name=op.f('fk_canned_replies_theme_id_themes')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_canned_replies'))
    )
    op.create_index('ix_canned_replies_owner_title', 'canned_replies', ['owner_id', 'title'], unique=False)


def downgrade():
    op.drop_index('ix_canned_replies_owner_title', table_name='canned_replies')
    op.drop_table('canned_replies')
