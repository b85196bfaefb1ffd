"""search: a document of n-gram tokens per consultation (tsvector + GIN, FTS5 on SQLite)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02

Search no longer matches LIKE '%word%' against the folded title and body (a trigram index
on PostgreSQL, a scan elsewhere): the index now holds every reply, internal note (found by
the desk only), the requester's name and department and the file names, as tokens that
serve words of any length (see swat/domain/search.py). The folded copy of title and body
on tickets and its trigram index go.

The documents of the tickets already stored are written here, by the same code as
`swat search reindex` (a derived index, rebuilt whole whenever its tokens change): about a
minute per 100,000 tickets.
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    from swat.services.search_index import rebuild

    conn = op.get_bind()
    if conn.dialect.name == "postgresql":
        op.create_table(
            'search_documents',
            sa.Column('ticket_id', sa.Integer(), nullable=False),
            sa.Column('part', sa.SmallInteger(), nullable=False),
            sa.Column('terms', postgresql.TSVECTOR(), nullable=False),
            sa.Column('internal_terms', postgresql.TSVECTOR(), nullable=True),
            sa.ForeignKeyConstraint(
                ['ticket_id'], ['tickets.id'], name='fk_search_documents_ticket_id_tickets', ondelete='CASCADE'
            ),
            sa.PrimaryKeyConstraint('ticket_id', 'part', name='pk_search_documents'),
        )
        rebuild(conn)
        op.create_index('ix_search_documents_terms', 'search_documents', ['terms'], postgresql_using='gin')
        op.create_index(
            'ix_search_documents_internal_terms', 'search_documents', ['internal_terms'], postgresql_using='gin'
        )
        op.execute("DROP INDEX IF EXISTS ix_tickets_search_trgm")
        op.drop_column('tickets', 'search_text')
    else:
        op.execute(
            "CREATE VIRTUAL TABLE search_documents USING fts5(title, public, internal, tokenize = 'ascii')"
        )
        rebuild(conn)
        op.execute("ALTER TABLE tickets DROP COLUMN search_text")


def downgrade():
    import unicodedata

    conn = op.get_bind()
    op.add_column('tickets', sa.Column('search_text', sa.Text(), nullable=False, server_default=''))
    rows = conn.execute(sa.text("SELECT id, title, body FROM tickets")).all()
    if rows:
        conn.execute(
            sa.text("UPDATE tickets SET search_text = :s WHERE id = :id"),
            [{"id": i, "s": unicodedata.normalize("NFKC", f"{t}\n{b}").casefold()} for i, t, b in rows],
        )
    op.drop_table('search_documents')
    if conn.dialect.name == "postgresql":
        op.execute("CREATE INDEX ix_tickets_search_trgm ON tickets USING gin (search_text gin_trgm_ops)")
