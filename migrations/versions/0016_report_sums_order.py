"""report sums stored in the order the reports add them up

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02

The reports group `report_months` by breakdown key (dim, key) and `report_time_buckets`
by bucket (target, bucket), while their primary keys led with the department and the
month: every read sorted its rows first (a fiscal year's breakdowns, 12,000 rows at
100,000 consultations; a year's buckets, 17,000). The keys now lead with what the reads
group by, then the month, then the department:

- report_months: (dim, key, month, department_id);
- report_time_buckets: (target, bucket, month, department_id).

A grouped read then walks the key in order and adds up as it goes, and one read of the
buckets serves a fiscal year and the year before it together. The rows and the triggers
that keep them (migration 0014: ON CONFLICT names the same columns) are unchanged.

On SQLite the two tables, and `report_time_counts` (its key unchanged), are also stored
WITHOUT ROWID: the rows live in the key's B-tree, so reading a row's counts is not a
second lookup into a rowid table. SQLite cannot change a table's key in place: each is
built again under a new name, filled, and renamed over the old one, with the legacy
rename so the triggers on report_facts and ticket_slas, which name these tables, are
left as they are. PostgreSQL only rebuilds the primary keys.
"""
from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

COUNTERS = ("opened", "resolved", "exited", "reopened", "fr_met", "fr_missed", "fr_minutes",
            "res_met", "res_missed", "res_minutes")

COLUMNS = {
    'report_months': [('dim', 'VARCHAR(12)'), ('department_id', 'VARCHAR(64)'), ('month', 'DATE'),
                      ('"key"', 'VARCHAR(64)'), *[(c, 'INTEGER') for c in COUNTERS]],
    'report_time_buckets': [('target', 'VARCHAR(16)'), ('month', 'DATE'), ('department_id', 'VARCHAR(64)'),
                            ('bucket', 'INTEGER'), ('clocks', 'INTEGER')],
    'report_time_counts': [('target', 'VARCHAR(16)'), ('month', 'DATE'), ('minutes', 'INTEGER'),
                           ('clocks', 'INTEGER')],
}
OLD_KEYS = {
    'report_months': ('dim', 'department_id', 'month', '"key"'),
    'report_time_buckets': ('target', 'month', 'department_id', 'bucket'),
    'report_time_counts': ('target', 'month', 'minutes'),
}
NEW_KEYS = {
    'report_months': ('dim', '"key"', 'month', 'department_id'),
    'report_time_buckets': ('target', 'bucket', 'month', 'department_id'),
    'report_time_counts': ('target', 'month', 'minutes'),
}


def _sqlite_rebuild(table: str, key: tuple[str, ...], without_rowid: bool) -> None:
    cols = COLUMNS[table]
    names = ", ".join(name for name, _ in cols)
    body = ", ".join(f"{name} {kind} NOT NULL" for name, kind in cols)
    op.execute(f"CREATE TABLE new_{table} ({body}, CONSTRAINT pk_{table} PRIMARY KEY ({', '.join(key)}))"
               + (" WITHOUT ROWID" if without_rowid else ""))
    op.execute(f"INSERT INTO new_{table} ({names}) SELECT {names} FROM {table}")
    op.execute(f"DROP TABLE {table}")
    op.execute(f"ALTER TABLE new_{table} RENAME TO {table}")


def _apply(keys: dict, without_rowid: bool) -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in ('report_months', 'report_time_buckets'):
            op.execute(f"ALTER TABLE {table} DROP CONSTRAINT pk_{table}, "
                       f"ADD CONSTRAINT pk_{table} PRIMARY KEY ({', '.join(keys[table])})")
        return
    # The legacy rename leaves the triggers that name these tables as they are (a modern
    # rename would check them while the old table is gone).
    op.execute("PRAGMA legacy_alter_table = ON")
    for table, key in keys.items():
        _sqlite_rebuild(table, key, without_rowid)
    op.execute("PRAGMA legacy_alter_table = OFF")


def upgrade():
    _apply(NEW_KEYS, without_rowid=True)


def downgrade():
    _apply(OLD_KEYS, without_rowid=False)

