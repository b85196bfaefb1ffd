"""report facts added up by month, minute counts by bucket

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02

A fiscal year's report added up every day's `report_facts` row before the year's end (the
backlog at its end is everything filed minus everything that left the backlog before it):
196,000 rows at 100,000 consultations, for the breakdowns alone. And the median and 90th
percentile of a year ranked every (month, business minute) row of `report_time_counts`,
nearly one row per clock.

- `report_months`: `report_facts` summed per Tokyo month and department. A year's
  figures read 12 months beside the months before them, per department and key: a few
  thousand rows for all five breakdowns, the desk-wide figures summed over the
  departments as they are read.
- `report_time_buckets`: the stopped clocks counted per Tokyo month, department and
  bucket of 64 business minutes. A percentile first finds the bucket holding its rank
  from these (summed over the departments), then reads the exact minutes of that bucket
  only from `report_time_counts`.

Both keep a department's rows apart from every other department's, as report_facts does:
a change to one department's consultations updates only that department's rows, so
writers in different departments never wait for each other on a shared desk-wide row,
nor deadlock when they touch the breakdowns in different orders.

Triggers keep both equal to those sums in the same transaction as every change (and so as
every change to the tickets, which the triggers of 0008 carry into report_facts):
`report_months` by triggers on report_facts, `report_time_buckets` by triggers on
ticket_slas (report_time_counts has no department); statement triggers with transition
tables on PostgreSQL, row triggers on SQLite. The SQL is written out here, not imported,
so this migration stays as it was applied.
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
CLOCK_COLUMNS = ["ticket_id", "target", "department_id", "state", "stopped_at", "used_minutes"]
COUNTED = ["target", "department_id", "state", "stopped_at", "used_minutes"]
WIDTH = 64  # business minutes per bucket


def _month(dialect: str, expr: str) -> str:
    if dialect == "postgresql":
        return f"CAST(date_trunc('month', CAST({expr} AS timestamp)) AS date)"
    return f"date({expr}, 'start of month')"


def _tokyo_month(dialect: str, expr: str) -> str:
    if dialect == "postgresql":
        return f"CAST(date_trunc('month', ({expr}) AT TIME ZONE 'Asia/Tokyo') AS date)"
    return f"date({expr}, '+9 hours', 'start of month')"


def _months_upsert(dialect: str, rel: str) -> str:
    """Add the signed fact rows of relation `rel` (alias f, a column `sign`) to their
    departments' months."""
    month = _month(dialect, "f.day")
    sums = ", ".join(f"SUM(f.sign * f.{c})" for c in COUNTERS)
    updates = ", ".join(f"{c} = report_months.{c} + excluded.{c}" for c in COUNTERS)
    return (
        f"INSERT INTO report_months (dim, department_id, month, key, {', '.join(COUNTERS)})\n"
        f"SELECT f.dim, f.department_id, {month}, f.key, {sums}\n"
        f"FROM {rel} f\n"
        f"GROUP BY f.dim, f.department_id, {month}, f.key\n"
        f"ORDER BY f.dim, f.department_id, {month}, f.key\n"
        f"ON CONFLICT (dim, department_id, month, key) DO UPDATE SET {updates}"
    )


def _buckets_upsert(dialect: str, rel: str) -> str:
    """Add the signed stopped clocks of relation `rel` (alias c, a column `sign`) to their
    departments' buckets."""
    month = _tokyo_month(dialect, "c.stopped_at")
    bucket = f"(c.used_minutes / {WIDTH})"
    return (
        "INSERT INTO report_time_buckets (target, month, department_id, bucket, clocks)\n"
        f"SELECT c.target, {month}, c.department_id, {bucket}, SUM(c.sign)\n"
        f"FROM {rel} c\n"
        "WHERE c.state IN ('met', 'missed') AND c.stopped_at IS NOT NULL\n"
        f"GROUP BY c.target, {month}, c.department_id, {bucket}\n"
        "HAVING SUM(c.sign) <> 0\n"
        f"ORDER BY c.target, {month}, c.department_id, {bucket}\n"
        "ON CONFLICT (target, month, department_id, bucket) DO UPDATE SET "
        "clocks = report_time_buckets.clocks + excluded.clocks"
    )


def _signed(rel: str, cols: list[str], sign: str) -> str:
    return f"SELECT {', '.join(cols)}, {sign} AS sign FROM {rel}"


# table -> (trigger prefix, columns read, the upsert, the columns whose change counts)
TABLES = {
    "report_facts": ("report_months", FACT_COLUMNS, _months_upsert, FACT_COLUMNS),
    "ticket_slas": ("report_time_buckets", CLOCK_COLUMNS, _buckets_upsert, COUNTED),
}


def _sqlite_triggers() -> list[str]:
    out = []
    for table, (name, cols, upsert, counted) in TABLES.items():
        def row(which: str, sign: str, cols=cols) -> str:
            return "SELECT " + ", ".join(f"{which}.{c} AS {c}" for c in cols) + f", {sign} AS sign"

        # An update of ticket_slas that changes nothing counted (the due time, the next
        # check) leaves the buckets alone.
        when = (" WHEN " + " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in counted)) if table == "ticket_slas" else ""
        # SQLite needs a WHERE before ON CONFLICT in INSERT ... SELECT; the GROUP BY stands in.
        out.append(f"CREATE TRIGGER {name}_ins AFTER INSERT ON {table} FOR EACH ROW BEGIN\n"
                   f"{upsert('sqlite', '(' + row('NEW', '1') + ')')};\nEND")
        out.append(f"CREATE TRIGGER {name}_upd AFTER UPDATE ON {table} FOR EACH ROW{when} BEGIN\n"
                   f"{upsert('sqlite', '(' + row('OLD', '-1') + ' UNION ALL ' + row('NEW', '1') + ')')};\nEND")
        out.append(f"CREATE TRIGGER {name}_del AFTER DELETE ON {table} FOR EACH ROW BEGIN\n"
                   f"{upsert('sqlite', '(' + row('OLD', '-1') + ')')};\nEND")
    return out


def _pg_triggers() -> list[str]:
    out = []
    for table, (name, cols, upsert, _) in TABLES.items():
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
            out.append(f"CREATE FUNCTION {name}_{what}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
                       f"BEGIN\n{body};\nRETURN NULL;\nEND $$")
            out.append(f"CREATE TRIGGER {name}_{what} AFTER {event} ON {table} {transition} "
                       f"FOR EACH STATEMENT EXECUTE FUNCTION {name}_{what}()")
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
        sa.Column('department_id', sa.String(length=64), nullable=False),
        sa.Column('bucket', sa.Integer(), nullable=False),
        sa.Column('clocks', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('target', 'month', 'department_id', 'bucket', name=op.f('pk_report_time_buckets')),
    )
    op.create_index('ix_tickets_activity', 'tickets', ['last_activity_at', 'id'])
    d = op.get_bind().dialect.name
    for table, (_, cols, upsert, _) in TABLES.items():
        op.execute(upsert(d, f"({_signed(table, cols, '1')})"))
    for ddl in (_pg_triggers() if d == "postgresql" else _sqlite_triggers()):
        op.execute(ddl)


def downgrade():
    d = op.get_bind().dialect.name
    for table, (name, *_) in TABLES.items():
        for what in ("ins", "upd", "del"):
            if d == "postgresql":
                op.execute(f"DROP TRIGGER IF EXISTS {name}_{what} ON {table}")
                op.execute(f"DROP FUNCTION IF EXISTS {name}_{what}()")
            else:
                op.execute(f"DROP TRIGGER IF EXISTS {name}_{what}")
    op.drop_table('report_time_buckets')
    op.drop_table('report_months')
    op.drop_index('ix_tickets_activity', table_name='tickets')
