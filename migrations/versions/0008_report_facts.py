"""report facts kept by triggers

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30

`report_facts` holds per-day counts by department and breakdown key (see models/report.py).
Triggers keep it equal to the grouped counts over tickets as they stand now, in the same
transaction as every change, whichever way the change is written:

- tickets: filing adds the ticket's contributions; an UPDATE that changes a counted column
  (department, theme, urgency, assignee, filing, resolution or closing time) takes away the
  old row's contributions and adds the new row's;
- ticket_initiatives: a linked initiative adds (or its removal takes away) the ticket's
  contributions under that initiative;
- ticket_events: a reopening adds to `reopened`;
- ticket_slas: a clock that stops as met or missed (or stops no longer) moves its outcome.

PostgreSQL runs one statement-level trigger per statement with transition tables (a COPY of
thousands of rows is one grouped upsert); SQLite runs the same SQL per row. Upserts go in key
order. The SQL is written out here, not imported, so this migration stays as it was applied.
"""
import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

COUNTERS = ["opened", "resolved", "exited", "reopened", "fr_met", "fr_missed", "fr_minutes",
            "res_met", "res_missed", "res_minutes"]
TICKET_COLUMNS = ["id", "department_id", "theme_id", "priority", "assignee_id", "created_at", "resolved_at",
                  "closed_at"]
SLA_COLUMNS = ["ticket_id", "target", "state", "stopped_at", "used_minutes"]
INIT_COLUMNS = ["ticket_id", "initiative_id"]
EVENT_COLUMNS = ["ticket_id", "kind", "old_value", "new_value", "at"]
# "Reopened" as swat/domain/reports.py defines it (is_reopening: REOPEN_EVENT_KIND,
# REOPENED_FROM, REOPENED_TO), spelled out as applied; tests/test_migrations.py checks they agree.
# A condition on the ticket (alias t) every contribution must meet; none here. Migration 0021
# loads this module and sets it, to leave consultations merged into another out.
LIVE = ""
REOPEN = ("e.kind = 'status' AND e.old_value IN ('resolved', 'closed') "
          "AND e.new_value IN ('new', 'assigned', 'in_progress', 'waiting')")


def _day(dialect: str, expr: str) -> str:
    if dialect == "postgresql":
        return f"(({expr}) AT TIME ZONE 'Asia/Tokyo')::date"
    return f"date({expr}, '+9 hours')"


def _row(values: dict) -> str:
    """One contribution row: (tid, day, counters...) with zeros where not given."""
    return ", ".join([values["tid"] + " AS tid", values["day"] + " AS day"]
                     + [values.get(c, "0") + f" AS {c}" for c in COUNTERS])


def _ticket_events(d: str, t: str) -> list[str]:
    """Contributions carried by the ticket row itself (alias `t` over relation)."""
    # "Left the backlog" as swat/domain/reports.py defines it (left_backlog_at): the earlier
    # of resolved_at and closed_at, whichever is set.
    exit_at = (f"CASE WHEN {t}.resolved_at IS NULL THEN {t}.closed_at "
               f"WHEN {t}.closed_at IS NULL OR {t}.resolved_at <= {t}.closed_at THEN {t}.resolved_at "
               f"ELSE {t}.closed_at END")
    return [
        ("SELECT " + _row({"tid": f"{t}.id", "day": _day(d, f"{t}.created_at"), "opened": "1"}),
         ""),
        ("SELECT " + _row({"tid": f"{t}.id", "day": _day(d, f"{t}.resolved_at"), "resolved": "1"}),
         f"{t}.resolved_at IS NOT NULL"),
        ("SELECT " + _row({"tid": f"{t}.id", "day": _day(d, exit_at), "exited": "1"}),
         f"({t}.resolved_at IS NOT NULL OR {t}.closed_at IS NOT NULL)"),
    ]


def _sla_row(d: str) -> str:
    met = "CASE WHEN s.state = 'met' THEN 1 ELSE 0 END"
    missed = "CASE WHEN s.state = 'missed' THEN 1 ELSE 0 END"
    fr, res = "s.target = 'first_response'", "s.target = 'resolution'"
    return "SELECT " + _row({
        "tid": "s.ticket_id", "day": _day(d, "s.stopped_at"),
        "fr_met": f"CASE WHEN {fr} THEN {met} ELSE 0 END", "fr_missed": f"CASE WHEN {fr} THEN {missed} ELSE 0 END",
        "fr_minutes": f"CASE WHEN {fr} THEN s.used_minutes ELSE 0 END",
        "res_met": f"CASE WHEN {res} THEN {met} ELSE 0 END",
        "res_missed": f"CASE WHEN {res} THEN {missed} ELSE 0 END",
        "res_minutes": f"CASE WHEN {res} THEN s.used_minutes ELSE 0 END"})


def _reopen_row(d: str) -> str:
    return "SELECT " + _row({"tid": "e.ticket_id", "day": _day(d, "e.at"), "reopened": "1"})


def _union(parts: list[str]) -> str:
    return "\n    UNION ALL ".join(parts)


def _upsert(d: str, tickets: str, events: list[str], dims: list[str], sign: str) -> str:
    """INSERT the contributions of `events` x `dims` for the tickets in relation `tickets`,
    multiplied by sign, adding to existing rows."""
    sums = ", ".join(f"{sign} * SUM(ev.{c})" for c in COUNTERS)
    updates = ", ".join(f"{c} = report_facts.{c} + excluded.{c}" for c in COUNTERS)
    return (
        f"INSERT INTO report_facts (day, department_id, dim, key, {', '.join(COUNTERS)})\n"
        f"SELECT ev.day, t.department_id, dm.dim, dm.key, {sums}\n"
        f"FROM {tickets} t\n"
        f"JOIN ({_union(events)}) ev ON ev.tid = t.id\n"
        f"JOIN ({_union(dims)}) dm ON dm.tid = t.id\n"
        f"WHERE ev.day IS NOT NULL{LIVE}\n"
        f"GROUP BY ev.day, t.department_id, dm.dim, dm.key\n"
        f"ORDER BY ev.day, t.department_id, dm.dim, dm.key\n"
        f"ON CONFLICT (day, department_id, dim, key) DO UPDATE SET {updates}"
    )


def _where(sql_: str, cond: str) -> str:
    return f"{sql_} WHERE {cond}" if cond else sql_


def _own_dims(t: str) -> list[str]:
    return [
        f"SELECT {t}.id AS tid, 'all' AS dim, '' AS key FROM {{rel}} {t}",
        f"SELECT {t}.id, 'theme', COALESCE({t}.theme_id, '') FROM {{rel}} {t}",
        f"SELECT {t}.id, 'priority', CAST({t}.priority AS VARCHAR(12)) FROM {{rel}} {t}",
        f"SELECT {t}.id, 'member', COALESCE(CAST({t}.assignee_id AS VARCHAR(12)), '') FROM {{rel}} {t}",
    ]


def _all_dims(rel: str) -> list[str]:
    own = [p.format(rel=rel) for p in _own_dims("t2")]
    return own + [f"SELECT ti.ticket_id, 'initiative', ti.initiative_id FROM ticket_initiatives ti "
                  f"JOIN {rel} t3 ON t3.id = ti.ticket_id"]


def _all_events(d: str, rel: str) -> list[str]:
    own = [_where(f"{q} FROM {rel} t2", cond) for q, cond in _ticket_events(d, "t2")]
    # SQLite would otherwise walk every status event or stopped clock by the kind/state index
    # for one ticket; a unary + keeps those columns out of its index choice.
    plus = "+" if d == "sqlite" else ""
    return own + [
        f"{_reopen_row(d)} FROM ticket_events e JOIN {rel} t3 ON t3.id = e.ticket_id "
        f"WHERE {REOPEN.replace('e.kind', plus + 'e.kind')}",
        f"{_sla_row(d)} FROM ticket_slas s JOIN {rel} t3 ON t3.id = s.ticket_id "
        f"WHERE {plus}s.state IN ('met', 'missed')",
    ]


def statements(d: str, table: str, rel: str, sign: str) -> str:
    """The upsert for `table`'s changed rows in relation `rel` (transition table or one row)."""
    if table == "tickets":
        return _upsert(d, rel, _all_events(d, rel), _all_dims(rel), sign)
    owners = f"(SELECT * FROM tickets WHERE id IN (SELECT ticket_id FROM {rel} x))"
    if table == "ticket_slas":
        ev = [f"{_sla_row(d)} FROM {rel} s WHERE s.state IN ('met', 'missed')"]
        return _upsert(d, owners, ev, _all_dims(owners), sign)
    if table == "ticket_events":
        ev = [f"{_reopen_row(d)} FROM {rel} e WHERE {REOPEN}"]
        return _upsert(d, owners, ev, _all_dims(owners), sign)
    # ticket_initiatives
    dims = [f"SELECT ti.ticket_id AS tid, 'initiative' AS dim, ti.initiative_id AS key FROM {rel} ti"]
    return _upsert(d, owners, _all_events(d, owners), dims, sign)


CHANGED = {
    "tickets": TICKET_COLUMNS[1:],
    "ticket_slas": ["state", "stopped_at", "used_minutes", "target"],
    "ticket_initiatives": INIT_COLUMNS,
    "ticket_events": [],
}


def _sqlite_row(cols: list[str], which: str) -> str:
    return "(SELECT " + ", ".join(f"{which}.{c} AS {c}" for c in cols) + ")"


COLUMNS = {"tickets": TICKET_COLUMNS, "ticket_slas": SLA_COLUMNS, "ticket_initiatives": INIT_COLUMNS,
           "ticket_events": EVENT_COLUMNS}


def _sqlite_triggers() -> list[str]:
    out = []
    for table, cols in COLUMNS.items():
        new, old = _sqlite_row(cols, "NEW"), _sqlite_row(cols, "OLD")
        # SQLite needs a WHERE before ON CONFLICT in INSERT ... SELECT; the GROUP BY stands in.
        out.append(f"CREATE TRIGGER report_facts_{table}_ins AFTER INSERT ON {table} FOR EACH ROW BEGIN\n"
                   f"{statements('sqlite', table, new, '1')};\nEND")
        if table == "ticket_events":
            continue
        changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in CHANGED[table])
        out.append(f"CREATE TRIGGER report_facts_{table}_upd AFTER UPDATE OF {', '.join(CHANGED[table])} "
                   f"ON {table} FOR EACH ROW WHEN {changed} BEGIN\n"
                   f"{statements('sqlite', table, old, '-1')};\n{statements('sqlite', table, new, '1')};\nEND")
        if table != "tickets":
            out.append(f"CREATE TRIGGER report_facts_{table}_del AFTER DELETE ON {table} FOR EACH ROW BEGIN\n"
                       f"{statements('sqlite', table, old, '-1')};\nEND")
    return out


def _pg_triggers() -> list[str]:
    out = []
    for table in COLUMNS:
        key = "ticket_id, target" if table == "ticket_slas" else (
            "ticket_id, initiative_id" if table == "ticket_initiatives" else "id")
        if table == "ticket_events":
            key = "id"
        ins = statements("postgresql", table, "new_rows", "1")
        out.append(f"CREATE FUNCTION report_facts_{table}_ins() RETURNS trigger LANGUAGE plpgsql AS $$\n"
                   f"BEGIN\n{ins};\nRETURN NULL;\nEND $$")
        out.append(f"CREATE TRIGGER report_facts_{table}_ins AFTER INSERT ON {table} "
                   f"REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT "
                   f"EXECUTE FUNCTION report_facts_{table}_ins()")
        if table == "ticket_events":
            continue
        join = " AND ".join(f"o.{k.strip()} = n.{k.strip()}" for k in key.split(","))
        diff = (f"({', '.join('o.' + c for c in CHANGED[table])}) IS DISTINCT FROM "
                f"({', '.join('n.' + c for c in CHANGED[table])})")
        old_changed = f"(SELECT o.* FROM old_rows o JOIN new_rows n ON {join} WHERE {diff})"
        new_changed = f"(SELECT n.* FROM new_rows n JOIN old_rows o ON {join} WHERE {diff})"
        if table == "ticket_initiatives":  # the key itself may change: compare whole sets
            old_changed = "(SELECT * FROM old_rows)"
            new_changed = "(SELECT * FROM new_rows)"
        upd = (f"{statements('postgresql', table, old_changed, '-1')};\n"
               f"{statements('postgresql', table, new_changed, '1')}")
        out.append(f"CREATE FUNCTION report_facts_{table}_upd() RETURNS trigger LANGUAGE plpgsql AS $$\n"
                   f"BEGIN\n{upd};\nRETURN NULL;\nEND $$")
        out.append(f"CREATE TRIGGER report_facts_{table}_upd AFTER UPDATE ON {table} "
                   f"REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT "
                   f"EXECUTE FUNCTION report_facts_{table}_upd()")
        if table != "tickets":
            dele = statements("postgresql", table, "old_rows", "-1")
            out.append(f"CREATE FUNCTION report_facts_{table}_del() RETURNS trigger LANGUAGE plpgsql AS $$\n"
                       f"BEGIN\n{dele};\nRETURN NULL;\nEND $$")
            out.append(f"CREATE TRIGGER report_facts_{table}_del AFTER DELETE ON {table} "
                       f"REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT "
                       f"EXECUTE FUNCTION report_facts_{table}_del()")
    return out


def _rebuild(d: str) -> str:
    """Facts for every ticket already stored."""
    return statements(d, "tickets", "tickets", "1")


def upgrade():
    op.create_table(
        'report_facts',
        sa.Column('dim', sa.String(length=12), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('department_id', sa.String(length=64), nullable=False),
        sa.Column('key', sa.String(length=64), nullable=False),
        *[sa.Column(c, sa.Integer(), nullable=False) for c in COUNTERS],
        sa.PrimaryKeyConstraint('dim', 'day', 'department_id', 'key', name=op.f('pk_report_facts')),
    )
    d = op.get_bind().dialect.name
    if d == "postgresql":  # the time figures read stopped clocks' outcomes straight from the index
        op.drop_index('ix_ticket_slas_target_stopped', table_name='ticket_slas')
        op.create_index('ix_ticket_slas_target_stopped', 'ticket_slas', ['target', 'stopped_at'],
                        postgresql_include=['state', 'used_minutes'])
    for ddl in (_pg_triggers() if d == "postgresql" else _sqlite_triggers()):
        op.execute(ddl)
    op.execute(_rebuild(d))


def downgrade():
    d = op.get_bind().dialect.name
    for table in COLUMNS:
        for what in ("ins", "upd", "del"):
            if d == "postgresql":
                op.execute(f"DROP TRIGGER IF EXISTS report_facts_{table}_{what} ON {table}")
                op.execute(f"DROP FUNCTION IF EXISTS report_facts_{table}_{what}()")
            else:
                op.execute(f"DROP TRIGGER IF EXISTS report_facts_{table}_{what}")
    op.drop_table('report_facts')
    if d == "postgresql":
        op.drop_index('ix_ticket_slas_target_stopped', table_name='ticket_slas')
        op.create_index('ix_ticket_slas_target_stopped', 'ticket_slas', ['target', 'stopped_at'])
