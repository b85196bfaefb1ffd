"""check constraints on ticket status and priority, user role and SLA state

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01

The database now refuses a ticket status, priority rank, user role or SLA clock state
that the domain does not know, whichever way a row is written. The values are those of
swat/domain/states.py (STATUSES, PRIORITIES ranked 0..3), swat/domain/permissions.py
(ROLES) and swat/domain/sla.py (STATES) when this migration was written; they are
spelled out here, not imported, so this migration stays as it was applied. A later change
to those constants needs a migration of its own.

PostgreSQL adds the constraints in place (checking the rows already stored). SQLite cannot
add a constraint to a table, so batch mode rebuilds tickets, users and ticket_slas: the
report triggers (0008, 0011) step aside during the rebuild and come back from their stored
text, and env.py runs SQLite migrations with foreign keys off, so dropping the old tickets
table deletes nothing that refers to it.
"""
import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

CHECKS = {
    # table: [(column, allowed values)]
    'tickets': [
        ('status', ('new', 'assigned', 'in_progress', 'waiting', 'resolved', 'closed')),
        ('priority', (0, 1, 2, 3)),  # urgent, high, normal, low
    ],
    'users': [('role', ('staff', 'agent', 'lead', 'manager', 'admin'))],
    'ticket_slas': [('state', ('running', 'paused', 'met', 'missed', 'void'))],
}


def _condition(column: str, values: tuple) -> str:
    listed = ", ".join(f"'{v}'" if isinstance(v, str) else str(v) for v in values)
    return f"{column} IN ({listed})"


def _sqlite_triggers_aside() -> list[str]:
    """Drop every trigger and return their CREATE statements, as stored (see 0009's
    downgrade: a rebuilt table loses its triggers, and the rename fails while other tables'
    triggers read the table being replaced)."""
    saved = list(op.get_bind().execute(sa.text(
        "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' ORDER BY name")))
    for name, _ in saved:
        op.execute(f'DROP TRIGGER "{name}"')
    return [ddl for _, ddl in saved]


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        for table, checks in CHECKS.items():
            for column, values in checks:
                op.create_check_constraint(op.f(f'ck_{table}_{column}'), table, _condition(column, values))
        return
    triggers = _sqlite_triggers_aside()
    for table, checks in CHECKS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column, values in checks:
                batch_op.create_check_constraint(op.f(f'ck_{table}_{column}'), _condition(column, values))
    for ddl in triggers:
        op.execute(ddl)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for table, checks in CHECKS.items():
            for column, _ in checks:
                op.drop_constraint(op.f(f'ck_{table}_{column}'), table, type_='check')
        return
    triggers = _sqlite_triggers_aside()
    for table, checks in CHECKS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column, _ in checks:
                batch_op.drop_constraint(op.f(f'ck_{table}_{column}'), type_='check')
    for ddl in triggers:
        op.execute(ddl)
