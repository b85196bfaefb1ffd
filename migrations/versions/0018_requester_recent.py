"""tickets: a requester's consultations by when they were filed

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03

Filing a consultation asks whether its requester filed the same title and text in the last
day (going back after filing and sending the form again files nothing without asking). The
index on requester_id alone answers that by reading every consultation the requester ever
filed; (requester_id, created_at) reads the last day's, and serves every look-up by
requester the old one did, so it replaces it.
"""
from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_tickets_requester_created', 'tickets', ['requester_id', 'created_at'], unique=False)
    op.drop_index('ix_tickets_requester_id', table_name='tickets')


def downgrade():
    op.create_index('ix_tickets_requester_id', 'tickets', ['requester_id'], unique=False)
    op.drop_index('ix_tickets_requester_created', table_name='tickets')
