"""mail to the desk

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-03

- `inbound_mails`: every message the desk received, once per Message-ID (UNIQUE, so two
  fetchers never take one in twice) and the digest of its bytes, with what became of it: filed, a reply, held for the
  lead's review, ignored as automatic, refused; attached or discarded after review.
- `tickets.mail_thread_id`: the Message-ID of the mail a consultation was filed by, which
  every notice about it refers to.
- `users.mail_bounced_at`, `users.mail_bounce_reason`: mail to the address came back.
"""
import sqlalchemy as sa
from alembic import op

revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None

STATUSES = "'filed', 'reply', 'held', 'ignored', 'refused', 'attached', 'discarded'"


def upgrade():
    op.create_table('inbound_mails',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.String(length=255), nullable=False),
    sa.Column('raw_sha256', sa.String(length=64), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('mail_date', sa.DateTime(timezone=True), nullable=True),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('sender', sa.String(length=254), nullable=False),
    sa.Column('sender_name', sa.String(length=200), nullable=False),
    sa.Column('subject', sa.String(length=500), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.String(length=32), nullable=False),
    sa.Column('size_bytes', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('ticket_id', sa.Integer(), nullable=True),
    sa.Column('post_id', sa.Integer(), nullable=True),
    sa.Column('raw_key', sa.String(length=100), nullable=True),
    sa.Column('reviewed_by_id', sa.Integer(), nullable=True),
    sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint(f"status IN ({STATUSES})", name=op.f('ck_inbound_mails_status')),
    sa.ForeignKeyConstraint(['post_id'], ['messages.id'], name=op.f('fk_inbound_mails_post_id_messages'),
                            ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['reviewed_by_id'], ['users.id'], name=op.f('fk_inbound_mails_reviewed_by_id_users'),
                            ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_inbound_mails_ticket_id_tickets'),
                            ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_inbound_mails_user_id_users'),
                            ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inbound_mails')),
    sa.UniqueConstraint('message_id', name=op.f('uq_inbound_mails_message_id'))
    )
    op.create_index('ix_inbound_mails_status_received', 'inbound_mails', ['status', 'received_at'])
    op.create_index('ix_inbound_mails_sender_received', 'inbound_mails', ['sender', 'received_at'])
    op.create_index(op.f('ix_inbound_mails_ticket_id'), 'inbound_mails', ['ticket_id'])
    # Plain ADD COLUMNs (no table rebuild on SQLite, so the triggers on tickets stay).
    op.add_column('tickets', sa.Column('mail_thread_id', sa.String(length=255), nullable=True))
    op.add_column('users', sa.Column('mail_bounced_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('users', sa.Column('mail_bounce_reason', sa.String(length=300), nullable=False,
                                     server_default=''))


def downgrade():
    for table, column in (('users', 'mail_bounce_reason'), ('users', 'mail_bounced_at'),
                          ('tickets', 'mail_thread_id')):
        op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    op.drop_table('inbound_mails')
