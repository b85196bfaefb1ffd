"""Migrations round-trip: upgrade -> downgrade to base -> upgrade, on the suite's engine.

Runs on SQLite (a database file of its own) and, when SWAT_TEST_DATABASE_URL is set, on
PostgreSQL in a fresh database of its own (named after the suite's, with `_migrations`), so
the session's test database is never touched. After the round trip the schema is the one
the models describe, and the report triggers and CHECK constraints are all back.
"""

from __future__ import annotations

import importlib.util
import os
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import CheckConstraint, create_engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

from swat.app import create_app
from swat.domain import reports as rd
from swat.extensions import db
from swat.models import Base, User
from swat.models.base import include_object_for
from swat.services import accounts, merge, report_facts, search_index, tickets
from swat.services.reference import load_reference
from swat.services.routing_rules import load_routing
from swat.services.sla import load_sla
from swat.services.storage import AttachmentStore


def _fresh_database(tmp_path) -> str:
    url = os.environ.get("SWAT_TEST_DATABASE_URL")
    if not url:
        return f"sqlite:///{tmp_path}/migrations.db"
    suite = make_url(url)
    own = suite.set(database=f"{suite.database}_migrations")
    admin = create_engine(suite, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{own.database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{own.database}"'))
    admin.dispose()
    return own.render_as_string(hide_password=False)


def _triggers(conn) -> list[str]:
    if conn.dialect.name == "postgresql":
        sql = "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal ORDER BY tgname"
    else:
        sql = "SELECT name FROM sqlite_master WHERE type = 'trigger' ORDER BY name"
    return list(conn.execute(text(sql)).scalars())


def _checks(conn) -> dict[str, list[str]]:
    found = {}
    for table in inspect(conn).get_table_names():
        names = sorted(c["name"] for c in inspect(conn).get_check_constraints(table) if c["name"])
        if names:
            found[table] = names
    return found


def _schema_diff(conn) -> list:
    opts = {"compare_type": True, "include_object": include_object_for(conn.dialect.name)}
    with warnings.catch_warnings():
        # The PostgreSQL-only expression index (models.base.engine_only) is seen by Alembic
        # on SQLite before the include hook leaves it out; PostgreSQL compares it.
        warnings.filterwarnings("ignore", "autogenerate skipping metadata-specified expression-based index")
        return compare_metadata(MigrationContext.configure(conn, opts=opts), Base.metadata)


def _model_checks() -> dict[str, list[str]]:
    found = {}
    for table in Base.metadata.sorted_tables:
        names = sorted(c.name for c in table.constraints if isinstance(c, CheckConstraint))
        if names:
            found[table.name] = names
    return found


@pytest.fixture
def fresh_app(tmp_path):
    application = create_app(
        {
            "database_url": _fresh_database(tmp_path),
            "instance_path": str(tmp_path / "instance"),
            "attachment_dir": str(tmp_path / "attachments"),
        }
    )
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()
    url = make_url(application.config["SWAT"]["database_url"])
    if url.get_backend_name() == "postgresql":
        admin = create_engine(url.set(database=url.database.removesuffix("_migrations")), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
        admin.dispose()


def _time_counts_key(conn) -> str:
    """How report_time_counts' rows are keyed: its primary key's definition on PostgreSQL,
    the table's on SQLite (its rows live in the key's B-tree)."""
    if conn.dialect.name == "postgresql":
        return conn.execute(text("SELECT pg_get_indexdef('pk_report_time_counts'::regclass)")).scalar_one()
    return conn.execute(text("SELECT sql FROM sqlite_master WHERE name = 'report_time_counts'")).scalar_one()


def test_upgrade_downgrade_to_base_upgrade(fresh_app):
    with fresh_app.app_context():
        upgrade()
        with db.engine.connect() as conn:
            triggers, checks = _triggers(conn), _checks(conn)
            key = _time_counts_key(conn)
        assert triggers, "the report triggers are made by the migrations"
        assert checks == _model_checks()
        # A percentile reads the counts from the key alone (0016 on SQLite, 0017 on PostgreSQL).
        assert "INCLUDE (clocks)" in key if db.engine.dialect.name == "postgresql" else "WITHOUT ROWID" in key
        downgrade(revision="0016")
        with db.engine.connect() as conn:
            assert "INCLUDE" not in _time_counts_key(conn)
        upgrade()

        downgrade(revision="base")
        with db.engine.connect() as conn:
            assert inspect(conn).get_table_names() == ["alembic_version"]
            assert _triggers(conn) == []

        upgrade()
        with db.engine.connect() as conn:
            assert _schema_diff(conn) == []
            assert _triggers(conn) == triggers
            assert _checks(conn) == checks


def _work(session, now, people, store, limits, n):
    """File n consultations and move them through the life that report facts count:
    claims, replies (first response), resolving, reopening, closing."""
    made = []
    for i in range(n):
        at = now + timedelta(hours=5 * i)
        t = tickets.file_consultation(
            session,
            people["staff"],
            at,
            title=f"相談 {i}",
            body="本文",
            theme_id=None,
            initiative_ids=["sns-consultation"] if i % 2 else [],
            priority=("urgent", "high", "normal", "low")[i % 4],
            due_date=None,
            files=[],
            store=store,
            limits=limits,
        )
        tickets.claim_ticket(session, people["agent"], at + timedelta(hours=1), t)
        tickets.add_reply(session, people["agent"], at + timedelta(hours=2), t, "回答", [], store, limits)
        if i % 3:
            tickets.change_status(session, people["agent"], at + timedelta(hours=3), t, "resolved")
        if i % 3 == 2:
            tickets.reopen_ticket(session, people["staff"], at + timedelta(hours=4), t)
            tickets.close_ticket(session, people["agent"], at + timedelta(hours=5), t)
        made.append(t)
    session.commit()
    return made


def _counts(session) -> dict[str, int]:
    tables = ("tickets", "users", "messages", "ticket_events", "ticket_slas", "sla_events", "ticket_initiatives")
    return {t: session.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar_one() for t in tables}


def test_check_constraints_keep_rows_and_report_facts(fresh_app, tmp_path):
    """0012 rebuilds tickets, users and ticket_slas on SQLite: every row stays (nothing
    cascades from the old tables), the report triggers come back and keep counting, and the
    stored facts still equal a fresh computation, both ways. 0013 on the way builds the
    search index of the tickets already stored.

    The work is written by today's services, so at the head; the migrations then go down
    to 0011 and up again over it."""
    with fresh_app.app_context():
        upgrade()
        session, now, people, store, limits = _desk(fresh_app, tmp_path)
        _work(session, now, people, store, limits, 9)
        before, facts = _counts(session), report_facts.stored(session)
        assert facts and report_facts.check(session) == []
        computed = report_facts.computed(session)
        ids = {role: user.id for role, user in people.items()}
        session.remove()

        downgrade(revision="0011")
        assert _counts(session) == before
        assert report_facts.stored(session) == facts
        assert _facts_agree(session, computed)
        session.execute(text("UPDATE tickets SET status = 'lost' WHERE id = 1"))
        session.rollback()
        session.remove()

        upgrade()
        assert _counts(session) == before
        assert report_facts.stored(session) == facts
        assert report_facts.check(session) == []
        assert search_index.check(session.connection()).ok
        session.remove()
        # The triggers are back: new work is counted as it is written.
        people = {role: session.get(User, id_) for role, id_ in ids.items()}
        _work(session, now + timedelta(days=3), people, store, limits, 6)
        assert report_facts.check(session) == []
        with pytest.raises(IntegrityError):
            session.execute(text("UPDATE tickets SET status = 'lost' WHERE id = 1"))
        session.rollback()
        after, facts = _counts(session), report_facts.stored(session)
        computed = report_facts.computed(session)
        session.remove()

        downgrade(revision="0011")
        assert _counts(session) == after
        assert report_facts.stored(session) == facts
        assert _facts_agree(session, computed)
        session.execute(text("UPDATE tickets SET status = 'lost' WHERE id = 1"))
        session.rollback()
        session.remove()


def _desk(app, tmp_path):
    """The reference data, the SLA and routing rules, a staff member and an agent, at the head."""
    s = app.config["SWAT"]
    session = db.session
    now = datetime(2026, 11, 2, 0, 30, tzinfo=UTC)
    load_reference(session, s["reference_dir"])
    load_routing(session, s["reference_dir"], now)
    load_sla(session, s["reference_dir"], now)
    people = {
        role: accounts.create_user(
            session,
            now,
            username=role,
            password="correct horse battery",
            role=role,
            department_id="health-medical" if role == "staff" else "smart-city",
            hash_method="pbkdf2:sha256:1000",
        )
        for role in ("staff", "agent")
    }
    store = AttachmentStore(str(tmp_path / "attachments"))
    limits = tickets.Limits(s["max_attachment_bytes"], s["max_attachments_per_post"])
    return session, now, people, store, limits


def test_going_below_0021_counts_the_merged_duplicates_again(fresh_app, tmp_path):
    """0021 leaves merged duplicates out of the report facts; below it they are counted again,
    as 0008's own computation over the same rows counts them (their clocks stay void)."""
    with fresh_app.app_context():
        upgrade()
        session, now, people, store, limits = _desk(fresh_app, tmp_path)
        made = _work(session, now, people, store, limits, 6)
        open_ones = [t for t in made if t.status not in ("resolved", "closed")]
        merge.merge_ticket(session, people["agent"], now + timedelta(days=2), made[1], open_ones[0].number)
        session.commit()
        assert report_facts.check(session) == []
        session.remove()

        downgrade(revision="0020")
        stored = report_facts.stored(session)
        m = _migration("0008_report_facts.py")
        dialect = session.get_bind().dialect.name
        session.execute(text("DELETE FROM report_facts"))
        session.execute(text(m.statements(dialect, "tickets", "tickets", "1")))
        assert report_facts.stored(session) == stored
        session.rollback()
        session.remove()


def _facts_agree(session, computed_at_head) -> bool:
    """report_facts and report_time_counts equal a fresh computation (what check() compares
    before 0014 added their monthly and per-bucket sums). The facts' computation reads a
    column of 0021 (merged consultations are left out): below it, the facts are compared
    with the computation made at the head over the same rows."""
    return report_facts.stored(session) == computed_at_head and report_facts.stored_time_counts(
        session
    ) == report_facts.computed_time_counts(session)


def _migration(name: str):
    path = Path(__file__).resolve().parent.parent / "migrations" / "versions" / name
    spec = importlib.util.spec_from_file_location(f"migration_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_trigger_sql_says_what_the_domain_defines():
    """The report triggers spell "reopened" and "left the backlog" out as applied (0008); they
    still mean what domain.reports defines, which the facts recomputation is built from."""
    m = _migration("0008_report_facts.py")

    def listed(values):
        return ", ".join(f"'{v}'" for v in values)

    assert m.REOPEN == (
        f"e.kind = '{rd.REOPEN_EVENT_KIND}' AND e.old_value IN ({listed(rd.REOPENED_FROM)}) "
        f"AND e.new_value IN ({listed(rd.REOPENED_TO)})"
    )
    exit_sql = m._ticket_events("sqlite", "t")[2][0]
    case = exit_sql[exit_sql.index("CASE") : exit_sql.index("END") + 3]
    day1, day2 = datetime(2026, 11, 2, 3, tzinfo=UTC), datetime(2026, 11, 4, 3, tzinfo=UTC)
    engine = create_engine("sqlite://")
    with engine.connect() as conn:
        for resolved, closed in [(None, None), (day1, None), (None, day1), (day1, day2), (day2, day1), (day1, day1)]:
            row = {"r": resolved and resolved.replace(tzinfo=None), "c": closed and closed.replace(tzinfo=None)}
            got = conn.execute(
                text(f"SELECT {case} FROM (SELECT :r AS resolved_at, :c AS closed_at) t"), row
            ).scalar_one()
            want = rd.left_backlog_at(resolved, closed)
            assert got == (want and str(want.replace(tzinfo=None))), (resolved, closed)
    engine.dispose()
