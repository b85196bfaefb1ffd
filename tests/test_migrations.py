"""Migrations round-trip: upgrade -> downgrade to base -> upgrade, on the suite's engine.

Runs on SQLite (a database file of its own) and, when SWAT_TEST_DATABASE_URL is set, on
PostgreSQL in a fresh database of its own (named after the suite's, with `_migrations`), so
the session's test database is never touched. After the round trip the schema is the one
the models describe, and the report triggers and CHECK constraints are all back.
"""

from __future__ import annotations

import os

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from swat.app import create_app
from swat.extensions import db
from swat.models import Base
from swat.models.base import include_object_for


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
    return compare_metadata(MigrationContext.configure(conn, opts=opts), Base.metadata)


def _model_checks() -> dict[str, list[str]]:
    found = {}
    for table in Base.metadata.sorted_tables:
        names = sorted(c.name for c in table.constraints if c.__visit_name__ == "check_constraint")
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


def test_upgrade_downgrade_to_base_upgrade(fresh_app):
    with fresh_app.app_context():
        upgrade()
        with db.engine.connect() as conn:
            triggers, checks = _triggers(conn), _checks(conn)
        assert triggers, "the report triggers are made by the migrations"
        assert checks == _model_checks()

        downgrade(revision="base")
        with db.engine.connect() as conn:
            assert inspect(conn).get_table_names() == ["alembic_version"]
            assert _triggers(conn) == []

        upgrade()
        with db.engine.connect() as conn:
            assert _schema_diff(conn) == []
            assert _triggers(conn) == triggers
            assert _checks(conn) == checks
