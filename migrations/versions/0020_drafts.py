"""drafts of replies and internal notes

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-03

What a member has typed in a reply or an internal note and not sent, kept on the server per
user, consultation and kind, so it survives leaving the page, a crash and signing out; it
goes when the text is sent or discarded, and with the account or the consultation.
"""
import sqlalchemy as sa
from alembic import op

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('drafts',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_drafts_ticket_id_tickets'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_drafts_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'ticket_id', 'kind', name=op.f('pk_drafts'))
    )


def downgrade():
    op.drop_table('drafts')
