"""accounts: the directory, passwords set by others, and the audit trail

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-03

- `users.auth_source` ("local" or "ldap"), `users.directory_key` (the account's stable id in
  the directory, UNIQUE), `users.must_change_password`, `users.password_changed_at`.
- `audit_events`: every change to an account or a permission, every sign-in, reload and
  setting, appended: who, whom, when, from where, what, before and after.
"""
import sqlalchemy as sa
from alembic import op

revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('audit_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor_name', sa.String(length=100), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=True),
    sa.Column('subject_name', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('source', sa.String(length=64), nullable=False),
    sa.Column('before', sa.Text(), nullable=False),
    sa.Column('after', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_audit_events_actor_id_users'),
                            ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['subject_id'], ['users.id'], name=op.f('fk_audit_events_subject_id_users'),
                            ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_events'))
    )
    op.create_index('ix_audit_events_at', 'audit_events', ['at'])
    op.create_index('ix_audit_events_kind_at', 'audit_events', ['kind', 'at'])
    op.create_index('ix_audit_events_subject_at', 'audit_events', ['subject_id', 'at'])
    op.create_index('ix_audit_events_actor_at', 'audit_events', ['actor_id', 'at'])
    # Plain ADD COLUMNs (no table rebuild on SQLite). The UNIQUE on directory_key is an index
    # (SQLite cannot add a constraint to a table it does not rebuild).
    op.add_column('users', sa.Column('auth_source', sa.String(length=16), nullable=False, server_default='local'))
    op.add_column('users', sa.Column('directory_key', sa.String(length=255), nullable=True))
    op.create_index('uq_users_directory_key', 'users', ['directory_key'], unique=True)
    op.add_column('users', sa.Column('must_change_password', sa.Boolean(), nullable=False,
                                     server_default=sa.false()))
    op.add_column('users', sa.Column('password_changed_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    op.drop_index('uq_users_directory_key', table_name='users')
    for column in ('password_changed_at', 'must_change_password', 'directory_key', 'auth_source'):
        op.execute(f"ALTER TABLE users DROP COLUMN {column}")
    op.drop_table('audit_events')
