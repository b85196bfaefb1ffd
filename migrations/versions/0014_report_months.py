"""report facts added up by month, minute counts by bucket

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02

A fiscal year's report added up every day's `report_facts` row before the year's end (the
backlog at its end is everything filed minus everything that left the backlog before it):
196,000 rows at 100,000 consultations, for the breakdowns alone. And the median and 90th
percentile of a year ranked every (month, business minute) row of `report_time_counts`,
nearly one row per clock.

- `report_months`: `report_facts` summed per Tokyo month, per department and, under the
  department '*', for the whole desk. A year's figures read 12 months beside the months
  before them, a few thousand rows for all five breakdowns.
- `report_time_buckets`: `report_time_counts` summed per bucket of 64 business minutes. A
  percentile first finds the bucket holding its rank from these, then reads the exact
  minutes of that bucket only.

Triggers on report_facts and report_time_counts keep both equal to those sums in the same
transaction as every change (and so as every change to the tickets, which the triggers of
0008 and 0011 carry into those tables): statement triggers with transition tables on
PostgreSQL, row triggers on SQLite. The SQL is written out here, not imported, so this
migration stays as it was applied.
"""
import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

COUNTERS = ["opened", "resolved", "exited", "reopened", "fr_met", "fr_missed", "fr_minutes",
            "res_met", "res_missed", "res_minutes"]
FACT_COLUMNS = ["dim", "day", "department_id", "key", *COUNTERS]
WIDTH = 64  # business minutes per bucket


def _month(dialect: str, expr: str) -> str:
    if dialect == "postgresql":
        return f"CAST(date_trunc('month', CAST({expr} AS timestamp)) AS date)"
    return f"date({expr}, 'start of month')"


def _months_upsert(dialect: str, rel: str) -> str:
    """Add the signed fact rows of relation `rel` (alias f, a column `sign`) to their
    months, once under their department and once under '*' (the whole desk)."""
    month = _month(dialect, "f.day")
    dept = "CASE WHEN w.whole = 1 THEN '*' ELSE f.department_id END"
    sums = ", ".join(f"SUM(f.sign * f.{c})" for c in COUNTERS)
    updates = ", ".join(f"{c} = report_months.{c} + excluded.{c}" for c in COUNTERS)
    return (
        f"INSERT INTO report_months (dim, department_id, month, key, {', '.join(COUNTERS)})\n"
        f"SELECT f.dim, {dept}, {month}, f.key, {sums}\n"
        f"FROM {rel} f CROSS JOIN (SELECT 0 AS whole UNION ALL SELECT 1) w\n"
        f"GROUP BY f.dim, {dept}, {month}, f.key\n"
        f"ORDER BY f.dim, {dept}, {month}, f.key\n"
        f"ON CONFLICT (dim, department_id, month, key) DO UPDATE SET {updates}"
    )


def _buckets_upsert(rel: str) -> str:
    """Add the signed minute counts of relation `rel` (alias c, a column `sign`) to their buckets."""
    bucket = f"(c.minutes / {WIDTH})"
    return (
        "INSERT INTO report_time_buckets (target, month, bucket, clocks)\n"
        f"SELECT c.target, c.month, {bucket}, SUM(c.sign * c.clocks)\n"
        f"FROM {rel} c\n"
        f"GROUP BY c.target, c.month, {bucket}\n"
        f"ORDER BY c.target, c.month, {bucket}\n"
        "ON CONFLICT (target, month, bucket) DO UPDATE SET clocks = report_time_buckets.clocks + excluded.clocks"
    )


def _signed(rel: str, cols: list[str], sign: str) -> str:
    return f"SELECT {', '.join(cols)}, {sign} AS sign FROM {rel}"


TABLES = {
    "report_facts": (FACT_COLUMNS, lambda d, rel: _months_upsert(d, rel)),
    "report_time_counts": (["target", "month", "minutes", "clocks"], lambda d, rel: _buckets_upsert(rel)),
}


def _sqlite_triggers() -> list[str]:
    out = []
    for table, (cols, upsert) in TABLES.items():
        def row(which: str, sign: str, cols=cols) -> str:
            return "SELECT " + ", ".join(f"{which}.{c} AS {c}" for c in cols) + f", {sign} AS sign"

        # SQLite needs a WHERE before ON CONFLICT in INSERT ... SELECT; the GROUP BY stands in.
        out.append(f"CREATE TRIGGER {table}_sums_ins AFTER INSERT ON {table} FOR EACH ROW BEGIN\n"
                   f"{upsert('sqlite', '(' + row('NEW', '1') + ')')};\nEND")
        out.append(f"CREATE TRIGGER {table}_sums_upd AFTER UPDATE ON {table} FOR EACH ROW BEGIN\n"
                   f"{upsert('sqlite', '(' + row('OLD', '-1') + ' UNION ALL ' + row('NEW', '1') + ')')};\nEND")
        out.append(f"CREATE TRIGGER {table}_sums_del AFTER DELETE ON {table} FOR EACH ROW BEGIN\n"
                   f"{upsert('sqlite', '(' + row('OLD', '-1') + ')')};\nEND")
    return out


def _pg_triggers() -> list[str]:
    out = []
    for table, (cols, upsert) in TABLES.items():
        bodies = {
            "ins": (upsert("postgresql", f"({_signed('new_rows', cols, '1')})"), "INSERT",
                    "REFERENCING NEW TABLE AS new_rows"),
            # Whatever an UPDATE changed, key columns included: the old rows out, the new rows in.
            "upd": (upsert("postgresql", f"({_signed('old_rows', cols, '-1')} UNION ALL "
                                         f"{_signed('new_rows', cols, '1')})"), "UPDATE",
                    "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows"),
            "del": (upsert("postgresql", f"({_signed('old_rows', cols, '-1')})"), "DELETE",
                    "REFERENCING OLD TABLE AS old_rows"),
        }
        for what, (body, event, transition) in bodies.items():
            out.append(f"CREATE FUNCTION {table}_sums_{what}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
                       f"BEGIN\n{body};\nRETURN NULL;\nEND $$")
            out.append(f"CREATE TRIGGER {table}_sums_{what} AFTER {event} ON {table} {transition} "
                       f"FOR EACH STATEMENT EXECUTE FUNCTION {table}_sums_{what}()")
    return out


def upgrade():
    op.create_table(
        'report_months',
        sa.Column('dim', sa.String(length=12), nullable=False),
        sa.Column('department_id', sa.String(length=64), nullable=False),
        sa.Column('month', sa.Date(), nullable=False),
        sa.Column('key', sa.String(length=64), nullable=False),
        *[sa.Column(c, sa.Integer(), nullable=False) for c in COUNTERS],
        sa.PrimaryKeyConstraint('dim', 'department_id', 'month', 'key', name=op.f('pk_report_months')),
    )
    op.create_table(
        'report_time_buckets',
        sa.Column('target', sa.String(length=16), nullable=False),
        sa.Column('month', sa.Date(), nullable=False),
        sa.Column('bucket', sa.Integer(), nullable=False),
        sa.Column('clocks', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('target', 'month', 'bucket', name=op.f('pk_report_time_buckets')),
    )
    op.create_index('ix_tickets_activity', 'tickets', ['last_activity_at', 'id'])
    d = op.get_bind().dialect.name
    for table, (cols, upsert) in TABLES.items():
        op.execute(upsert(d, f"({_signed(table, cols, '1')})"))
    for ddl in (_pg_triggers() if d == "postgresql" else _sqlite_triggers()):
        op.execute(ddl)


def downgrade():
    d = op.get_bind().dialect.name
    for table in TABLES:
        for what in ("ins", "upd", "del"):
            if d == "postgresql":
                op.execute(f"DROP TRIGGER IF EXISTS {table}_sums_{what} ON {table}")
                op.execute(f"DROP FUNCTION IF EXISTS {table}_sums_{what}()")
            else:
                op.execute(f"DROP TRIGGER IF EXISTS {table}_sums_{what}")
    op.drop_table('report_time_buckets')
    op.drop_table('report_months')
    op.drop_index('ix_tickets_activity', table_name='tickets')
