"""search: trigram index on PostgreSQL

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25

Free-text search in the queue is LIKE '%word%' over the folded title and body.
On PostgreSQL a GIN trigram index serves it; other engines scan.
"""
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute("CREATE INDEX ix_tickets_search_trgm ON tickets USING gin (search_text gin_trgm_ops)")


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX IF EXISTS ix_tickets_search_trgm")
