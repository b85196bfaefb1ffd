"""stopped clocks counted by month and business minute

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01

The median and 90th-percentile times of a month, a quarter or a fiscal year are exact
percentiles of the business minutes of every clock that stopped in it (hundreds of thousands
of clocks for a year at a million consultations). `report_time_counts` holds, per target and
Tokyo month, how many clocks stopped (as met or missed) having used each number of business
minutes: about a sixth as many rows as clocks, and fewer for the first response. A report
adds up the whole months from here and reads the clocks of any part month directly.

Triggers on ticket_slas keep it equal to the grouped counts over the clocks as they stand
now, in the same transaction as every change (statement triggers with transition tables on
PostgreSQL, row triggers on SQLite), as migration 0008 does for report_facts. The SQL is
written out here, not imported, so this migration stays as it was applied.

A department head's figures keep reading their department's clocks, through an index of
their own (department, target, stop time) instead of filtering every clock of the period.

It also drops ix_ticket_events_kind_at: reopenings are counted in report_facts since 0008 and
no query reads history by kind any more, while every event written and every bulk load paid
for the index.
"""
import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

COUNTED = ["target", "state", "stopped_at", "used_minutes"]


def _month(dialect: str, expr: str) -> str:
    if dialect == "postgresql":
        return f"CAST(date_trunc('month', ({expr}) AT TIME ZONE 'Asia/Tokyo') AS date)"
    return f"date({expr}, '+9 hours', 'start of month')"


def _upsert(dialect: str, rel: str, sign: str) -> str:
    """Add sign x the stopped clocks of relation `rel` (alias s) to their months' counts."""
    month = _month(dialect, "s.stopped_at")
    return (
        "INSERT INTO report_time_counts (target, month, minutes, clocks)\n"
        f"SELECT s.target, {month}, s.used_minutes, {sign} * COUNT(*)\n"
        f"FROM {rel} s\n"
        "WHERE s.state IN ('met', 'missed') AND s.stopped_at IS NOT NULL\n"
        f"GROUP BY s.target, {month}, s.used_minutes\n"
        f"ORDER BY s.target, {month}, s.used_minutes\n"
        "ON CONFLICT (target, month, minutes) DO UPDATE SET clocks = report_time_counts.clocks + excluded.clocks"
    )


def _sqlite_triggers() -> list[str]:
    cols = ["ticket_id", *COUNTED]

    def row(which: str) -> str:
        return "(SELECT " + ", ".join(f"{which}.{c} AS {c}" for c in cols) + ")"

    changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in COUNTED)
    return [
        "CREATE TRIGGER report_time_counts_ins AFTER INSERT ON ticket_slas FOR EACH ROW BEGIN\n"
        f"{_upsert('sqlite', row('NEW'), '1')};\nEND",
        f"CREATE TRIGGER report_time_counts_upd AFTER UPDATE OF {', '.join(COUNTED)} ON ticket_slas "
        f"FOR EACH ROW WHEN {changed} BEGIN\n"
        f"{_upsert('sqlite', row('OLD'), '-1')};\n{_upsert('sqlite', row('NEW'), '1')};\nEND",
        "CREATE TRIGGER report_time_counts_del AFTER DELETE ON ticket_slas FOR EACH ROW BEGIN\n"
        f"{_upsert('sqlite', row('OLD'), '-1')};\nEND",
    ]


def _pg_triggers() -> list[str]:
    # An updated row counts as changed unless an identical row (same clock, same counted
    # values) is on the other side; so a change of the key itself is counted too.
    same = ("x.ticket_id = y.ticket_id AND (x.target, x.state, x.stopped_at, x.used_minutes) "
            "IS NOT DISTINCT FROM (y.target, y.state, y.stopped_at, y.used_minutes)")
    gone = f"(SELECT x.* FROM old_rows x WHERE NOT EXISTS (SELECT 1 FROM new_rows y WHERE {same}))"
    came = f"(SELECT x.* FROM new_rows x WHERE NOT EXISTS (SELECT 1 FROM old_rows y WHERE {same}))"
    bodies = {
        "ins": (_upsert("postgresql", "new_rows", "1"), "REFERENCING NEW TABLE AS new_rows"),
        "upd": (_upsert("postgresql", gone, "-1") + ";\n" + _upsert("postgresql", came, "1"),
                "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows"),
        "del": (_upsert("postgresql", "old_rows", "-1"), "REFERENCING OLD TABLE AS old_rows"),
    }
    event = {"ins": "INSERT", "upd": "UPDATE", "del": "DELETE"}
    out = []
    for what, (body, transition) in bodies.items():
        out.append(f"CREATE FUNCTION report_time_counts_{what}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
                   f"BEGIN\n{body};\nRETURN NULL;\nEND $$")
        out.append(f"CREATE TRIGGER report_time_counts_{what} AFTER {event[what]} ON ticket_slas {transition} "
                   f"FOR EACH STATEMENT EXECUTE FUNCTION report_time_counts_{what}()")
    return out


def upgrade():
    # A plain DROP INDEX (no table rebuild on SQLite, so the report-fact triggers stay).
    op.drop_index('ix_ticket_events_kind_at', table_name='ticket_events')
    op.create_table(
        'report_time_counts',
        sa.Column('target', sa.String(length=16), nullable=False),
        sa.Column('month', sa.Date(), nullable=False),
        sa.Column('minutes', sa.Integer(), nullable=False),
        sa.Column('clocks', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('target', 'month', 'minutes', name=op.f('pk_report_time_counts')),
    )
    op.create_index('ix_ticket_slas_department_stopped', 'ticket_slas', ['department_id', 'target', 'stopped_at'],
                    postgresql_include=['state', 'used_minutes'])
    d = op.get_bind().dialect.name
    for ddl in (_pg_triggers() if d == "postgresql" else _sqlite_triggers()):
        op.execute(ddl)
    op.execute(_upsert(d, "ticket_slas", "1"))


def downgrade():
    d = op.get_bind().dialect.name
    for what in ("ins", "upd", "del"):
        if d == "postgresql":
            op.execute(f"DROP TRIGGER IF EXISTS report_time_counts_{what} ON ticket_slas")
            op.execute(f"DROP FUNCTION IF EXISTS report_time_counts_{what}()")
        else:
            op.execute(f"DROP TRIGGER IF EXISTS report_time_counts_{what}")
    op.drop_table('report_time_counts')
    op.drop_index('ix_ticket_slas_department_stopped', table_name='ticket_slas')
    op.create_index('ix_ticket_events_kind_at', 'ticket_events', ['kind', 'at'], unique=False)
