"""Uploaded files and the transaction: acknowledged means on disk; rolled back means gone."""

import io
import os
import time

from sqlalchemy import select

from swat.extensions import db
from swat.models import Attachment
from swat.services.storage import Upload


def stored_files(store):
    return {f"{p.parent.name}/{p.name}" for p in store.root.glob("*/*")} if store.root.exists() else set()


def test_committed_files_are_on_disk_with_their_rows(make_ticket, store):
    make_ticket(files=[Upload("一.txt", io.BytesIO(b"1")), Upload("二.txt", io.BytesIO(b"2"))])
    keys = set(db.session.scalars(select(Attachment.storage_key)))
    assert len(keys) == 2 and keys == stored_files(store)


def test_rolled_back_transaction_removes_its_files(ctx, users, clock, store, limits):
    from swat.services import tickets

    tickets.file_consultation(
        db.session,
        users["staff_health"],
        clock.now(),
        title="t",
        body="b",
        theme_id=None,
        initiative_ids=[],
        priority="normal",
        due_date=None,
        files=[Upload("消える.txt", io.BytesIO(b"x"))],
        store=store,
        limits=limits,
    )
    assert len(stored_files(store)) == 1
    db.session.rollback()
    assert stored_files(store) == set()


def test_sweeper_removes_only_old_orphans(make_ticket, store, session):
    make_ticket(files=[Upload("残る.txt", io.BytesIO(b"keep"))])
    kept = stored_files(store)
    orphan = store.root / "ab" / ("ab" + "0" * 30)
    orphan.parent.mkdir(parents=True, exist_ok=True)
    orphan.write_bytes(b"left by a crash")
    fresh = store.root / "cd" / ("cd" + "1" * 30)
    fresh.parent.mkdir(parents=True, exist_ok=True)
    fresh.write_bytes(b"being written right now")
    old = time.time() - 7200
    os.utime(orphan, (old, old))
    assert store.sweep_orphans(session, older_than_seconds=3600) == 1
    assert not orphan.exists() and fresh.exists()
    assert kept <= stored_files(store)
