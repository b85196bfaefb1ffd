"""`swat backup` and `swat restore` on the suite's engine: a desk with tickets, replies, internal
notes, files with Japanese names, SLA clocks and report facts is backed up while a writer keeps
filing, restored into a fresh database and attachment folder, and compared table by table and
file by file; the restored desk's report facts agree with its tickets."""

from __future__ import annotations

import hashlib
import io
import json
import threading
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, select, text
from sqlalchemy.engine import make_url

from swat.app import create_app
from swat.extensions import db
from swat.models import Attachment, User
from swat.services import tickets
from swat.services.storage import Upload


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _counts(engine) -> dict[str, int]:
    with engine.connect() as conn:
        names = inspect(conn).get_table_names()
        return {n: conn.execute(text(f'SELECT count(*) FROM "{n}"')).scalar_one() for n in names}


@pytest.fixture
def fresh_desk(app, tmp_path):
    """An app on an empty database and an empty attachment folder, on the suite's engine."""
    url = make_url(app.config["SWAT"]["database_url"])
    server = None
    if url.get_backend_name() == "postgresql":
        name = f"swat_restore_{uuid.uuid4().hex[:8]}"
        server = create_engine(url, isolation_level="AUTOCOMMIT")
        with server.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        target = url.set(database=name).render_as_string(hide_password=False)
    else:
        target = f"sqlite:///{tmp_path / 'restored.db'}"
    desk = create_app(
        {
            "database_url": target,
            "instance_path": str(tmp_path / "restored-instance"),
            "attachment_dir": str(tmp_path / "restored-files"),
        }
    )
    yield desk
    with desk.app_context():
        db.session.remove()
        db.engine.dispose()
    if server is not None:
        with server.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        server.dispose()


def _fill(users, clock, make_ticket, store, limits):
    for i in range(5):
        t = make_ticket(
            title=f"オンライン相談の導入 {i}",
            files=[Upload(f"議事録（案）{i}.pdf", io.BytesIO(f"%PDF-1.4 議事録 {i}".encode()), "application/pdf")],
        )
        tickets.claim_ticket(db.session, users["agent"], clock.now(), t)
        tickets.add_reply(
            db.session,
            users["agent"],
            clock.now(),
            t,
            "過去の事例をお送りします。",
            [Upload("回答資料.xlsx", io.BytesIO(b"sheet %d" % i))],
            store,
            limits,
        )
        tickets.add_internal_note(db.session, users["agent"], clock.now(), t, "横展開の候補あり", [], store, limits)
        db.session.commit()


def test_a_desk_backed_up_beside_a_writer_comes_back_whole(
    app, users, clock, make_ticket, store, limits, fresh_desk, tmp_path
):
    _fill(users, clock, make_ticket, store, limits)
    before = _counts(db.engine)
    assert before["tickets"] == 5 and before["attachments"] == 10 and before["ticket_slas"] > 0
    assert before["report_facts"] > 0

    stop, filed, failed = threading.Event(), [], []
    staff_id = users["staff_health"].id

    def writer():
        with app.app_context():
            try:
                while not stop.is_set():
                    tickets.file_consultation(
                        db.session,
                        db.session.get(User, staff_id),
                        clock.now(),
                        title="バックアップ中の相談",
                        body="書き込みを続けます。",
                        theme_id=None,
                        initiative_ids=[],
                        priority="normal",
                        due_date=None,
                        files=[Upload("添付資料.txt", io.BytesIO(b"while backing up"))],
                        store=store,
                        limits=limits,
                    )
                    db.session.commit()
                    filed.append(1)
            except Exception as exc:  # surfaced below: the writer must not fail beside a backup
                failed.append(exc)
            finally:
                db.session.remove()

    thread = threading.Thread(target=writer)
    db.session.commit()
    thread.start()
    folder = tmp_path / "backup"
    try:
        for _ in range(600):  # the backup starts while the writer is at work
            if len(filed) >= 2 or failed:
                break
            threading.Event().wait(0.05)
        result = app.test_cli_runner().invoke(args=["backup", "--to", str(folder)])
    finally:
        stop.set()
        thread.join(60)
    assert not failed, failed
    assert result.exit_code == 0, result.output
    assert "backed up" in result.output

    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["engine"] == db.engine.dialect.name
    assert manifest["migration_head"] == db.session.scalar(text("SELECT version_num FROM alembic_version"))
    db.session.commit()
    # The copy holds the desk as it was at one instant between the start and the end of the writer.
    after = _counts(db.engine)
    assert before["tickets"] + 2 <= manifest["tables"]["tickets"] <= after["tickets"]
    assert manifest["tables"]["attachments"] - manifest["tables"]["tickets"] == 5  # the replies' files
    # Every file a row of the copy names is in the backup, with the checksum of the original.
    stored = {rel: Path(store.root / rel) for rel in manifest["files"]}
    for rel, entry in manifest["files"].items():
        assert entry["sha256"] == _sha(stored[rel]) == _sha(folder / "attachments" / rel)

    with fresh_desk.app_context():
        runner = fresh_desk.test_cli_runner()
        done = runner.invoke(args=["restore", "--from", str(folder)])
        assert done.exit_code == 0, done.output
        restored = _counts(db.engine)
        assert restored == manifest["tables"]
        root = Path(fresh_desk.config["SWAT"]["attachment_dir"])
        for row in db.session.scalars(select(Attachment)):
            assert _sha(root / row.storage_key) == row.sha256
        names = set(db.session.scalars(select(Attachment.filename)))
        assert {"議事録（案）0.pdf", "回答資料.xlsx", "添付資料.txt"} <= names
        db.session.remove()
        check = runner.invoke(args=["reports", "facts", "--check"])
        assert check.exit_code == 0, check.output
        assert "report facts agree with the tickets" in check.output

        # A desk that holds data is not overwritten unless told.
        again = runner.invoke(args=["restore", "--from", str(folder)])
        assert again.exit_code != 0
        assert "already has tables" in again.output
        db.session.remove()


def test_a_backup_that_does_not_match_its_manifest_is_refused_before_anything_is_touched(
    app, users, clock, make_ticket, store, limits, fresh_desk, tmp_path
):
    _fill(users, clock, make_ticket, store, limits)
    folder = tmp_path / "backup"
    assert app.test_cli_runner().invoke(args=["backup", "--to", str(folder)]).exit_code == 0
    # A second backup into the same folder is refused: a backup folder is written once.
    twice = app.test_cli_runner().invoke(args=["backup", "--to", str(folder)])
    assert twice.exit_code != 0 and "not empty" in twice.output

    damaged = next(p for p in (folder / "attachments").rglob("*") if p.is_file())
    damaged.write_bytes(b"changed")
    with fresh_desk.app_context():
        done = fresh_desk.test_cli_runner().invoke(args=["restore", "--from", str(folder)])
        assert done.exit_code != 0
        assert "does not match its checksum" in done.output
        assert _counts(db.engine) == {}
        assert not Path(fresh_desk.config["SWAT"]["attachment_dir"]).exists()
        db.session.remove()

    (folder / "manifest.json").unlink()
    with fresh_desk.app_context():
        done = fresh_desk.test_cli_runner().invoke(args=["restore", "--from", str(folder)])
        assert done.exit_code != 0 and "not a finished backup" in done.output
        db.session.remove()
