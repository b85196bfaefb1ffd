"""/healthz answers while the process runs, database or not; /readyz says whether the desk can
serve: the database answers, its schema is at the code's migration head, the reference data is
loaded; otherwise 503 with the reason an operator needs."""

from __future__ import annotations

import pytest
from flask_migrate import upgrade
from sqlalchemy import text

from swat import resources
from swat.app import create_app
from swat.extensions import db
from swat.services.health import migration_head


def _desk(tmp_path, url=None):
    return create_app(
        {
            "database_url": url or f"sqlite:///{tmp_path / 'desk.db'}",
            "instance_path": str(tmp_path / "instance"),
            "attachment_dir": str(tmp_path / "files"),
        }
    )


def test_a_desk_with_its_schema_and_reference_data_is_ready(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.get_json() == {"status": "ready"}


def test_without_a_database_the_process_is_alive_but_not_ready(tmp_path):
    desk = _desk(tmp_path, "postgresql+psycopg://postgres@127.0.0.1:9/nowhere")
    with desk.test_client() as c:
        alive = c.get("/healthz")
        assert alive.status_code == 200 and alive.get_json() == {"status": "ok"}
        ready = c.get("/readyz")
    assert ready.status_code == 503
    body = ready.get_json()
    assert body["status"] == "not ready"
    assert body["reasons"][0].startswith("database: not reachable")
    with desk.app_context():
        db.engine.dispose()


@pytest.fixture
def empty_desk(tmp_path):
    desk = _desk(tmp_path)
    yield desk
    with desk.app_context():
        db.session.remove()
        db.engine.dispose()


def _reasons(desk):
    with desk.test_client() as c:
        ready = c.get("/readyz")
    assert ready.status_code == 503
    return ready.get_json()["reasons"]


def test_a_database_before_its_migrations_or_its_reference_data_is_not_ready(empty_desk):
    head = migration_head(str(resources.MIGRATIONS))
    assert _reasons(empty_desk) == [f"migrations: the database has none; run `swat db upgrade` (head {head})"]
    with empty_desk.app_context():
        upgrade()
        db.session.remove()
    assert _reasons(empty_desk) == ["reference data: not loaded (catalog, routing, sla); run `swat reference load`"]
    with empty_desk.app_context():
        db.session.execute(text("UPDATE alembic_version SET version_num = '0023'"))
        db.session.commit()
        db.session.remove()
    assert _reasons(empty_desk) == [f"migrations: the database is at 0023, the code at {head}; run `swat db upgrade`"]
    with empty_desk.app_context():
        db.session.execute(text("UPDATE alembic_version SET version_num = :head"), {"head": head})
        db.session.commit()
        db.session.remove()
    result = empty_desk.test_cli_runner().invoke(args=["reference", "load"])
    assert result.exit_code == 0, result.output
    with empty_desk.test_client() as c:
        assert c.get("/readyz").status_code == 200
