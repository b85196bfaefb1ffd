"""Pages that only read go on while another connection is in the middle of a write.

On SQLite another connection holds the database's one write lock (BEGIN
IMMEDIATE), as a long write by another worker or the scheduler would; on
PostgreSQL another transaction holds an EXCLUSIVE lock on the tables a reply
writes, which lets readers through and stops writers. Either way the member's
pages must open at once, while a reply sent meanwhile waits for the lock and is
stored after it, next to a colleague's reply sent at the same moment.

Each request runs in a thread of its own, like a second web worker, so the
test can see which requests finish while the lock is still held.
"""

from __future__ import annotations

import sqlite3
import threading
from contextlib import contextmanager

import pytest
from sqlalchemy import select

from swat.extensions import db
from swat.models import Message, UserSession
from swat.services import tickets

WAIT = 15  # seconds: far beyond any page, short of the 30 s busy timeout a blocked read would wait


@contextmanager
def write_lock_held_elsewhere():
    """Another connection, outside the desk, holds the write lock until the block ends."""
    db.session.commit()  # the test's own session holds nothing either
    url = db.engine.url
    if url.get_backend_name() == "sqlite":
        conn = sqlite3.connect(url.database, isolation_level=None, timeout=0)
        conn.execute("BEGIN IMMEDIATE")
    else:
        import psycopg

        conn = psycopg.connect(url.set(drivername="postgresql").render_as_string(hide_password=False))
        conn.execute("LOCK TABLE tickets, messages IN EXCLUSIVE MODE")
    try:
        yield
    finally:
        conn.rollback()
        conn.close()


class InThread:
    """One request in a thread of its own; `done(seconds)` says whether it has finished."""

    def __init__(self, send, *args, **kwargs):
        self.response = None
        self.error: BaseException | None = None

        def run():
            try:
                self.response = send(*args, **kwargs)
            except BaseException as exc:  # shown by the test's assertion, not lost in the thread
                self.error = exc

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()

    def done(self, seconds: float = WAIT) -> bool:
        self.thread.join(seconds)
        if self.error is not None:
            raise self.error
        return not self.thread.is_alive()


@pytest.fixture
def worked_ticket(make_ticket, users, clock):
    """A consultation assigned to the member by the lead, so that it is on every page the member reads."""
    t = make_ticket(title="オンライン申請の受付を始めたい")
    tickets.assign_ticket(db.session, users["lead"], clock.now(), t, users["agent"].id)
    db.session.commit()
    return t


def test_a_members_pages_open_while_another_connection_holds_the_write_lock(worked_ticket, users, clock, auth):
    member = auth.login("agent")
    # Over a minute later: the sign-in's last-seen time is due to be written, and may not wait either.
    clock.advance(minutes=2)
    pages = ["/queue", f"/tickets/{worked_ticket.number}", "/consultations", "/notifications"]
    with write_lock_held_elsewhere():
        opened = {}
        for url in pages:
            request = InThread(member.get, url)
            assert request.done(), f"{url} waited for the write lock"
            opened[url] = request.response
    for url, response in opened.items():
        assert response.status_code == 200, url
        assert worked_ticket.number in response.get_data(as_text=True), url
    assert "オンライン申請の受付を始めたい" in opened[f"/tickets/{worked_ticket.number}"].get_data(as_text=True)
    # The member is still signed in, and with the lock gone the last-seen time is written again.
    assert member.get("/queue").status_code == 200
    seen = db.session.scalars(select(UserSession.last_seen_at).where(UserSession.user_id == users["agent"].id))
    assert list(seen) == [clock.now()]


def test_replies_sent_during_the_lock_wait_for_it_and_both_are_stored(app, worked_ticket, make_ticket, auth, browser):
    other = make_ticket(requester="staff_welfare", title="在宅勤務の端末を増やしたい")
    member = auth.login("agent")
    lead = type(browser)(app, app.test_client())
    assert lead.login("lead").status_code == 302
    mine, theirs = worked_ticket.number, other.number  # read now: the test's own session must not wait either
    with write_lock_held_elsewhere():
        first = InThread(member.post, f"/tickets/{mine}/reply", {"body": "手順書をお送りします。"})
        second = InThread(lead.post, f"/tickets/{theirs}/reply", {"body": "事例を二つ添えます。"})
        assert not first.done(0.5) and not second.done(0), "a reply was written while another writer held the lock"
        # A page still opens beside the waiting writers.
        page = InThread(member.get, f"/tickets/{mine}")
        assert page.done() and page.response.status_code == 200
    assert first.done() and second.done()
    assert first.response.status_code == 302 and second.response.status_code == 302
    for ticket, reply in ((worked_ticket, "手順書をお送りします。"), (other, "事例を二つ添えます。")):
        assert reply in member.get(f"/tickets/{ticket.number}").get_data(as_text=True)
        bodies = db.session.scalars(select(Message.body).where(Message.ticket_id == ticket.id)).all()
        assert bodies.count(reply) == 1  # stored once: not lost, not doubled


def test_queue_filters_opened_during_the_lock_are_remembered(worked_ticket, auth):
    """Opening the queue with filters remembers them: a write on a page that reads, which must not be lost."""
    member = auth.login("agent")
    with write_lock_held_elsewhere():
        filtered = InThread(member.get, "/queue?assignee=me")
        filtered.done(0.5)
    assert filtered.done() and filtered.response.status_code == 200
    assert worked_ticket.number in filtered.response.get_data(as_text=True)
    back = member.get("/queue")
    assert back.status_code == 302 and back.headers["Location"].endswith("/queue?assignee=me")
    with write_lock_held_elsewhere():
        reset = InThread(member.get, "/queue?reset=1")
        reset.done(0.5)
    assert reset.done() and reset.response.status_code == 302
    assert member.get("/queue").status_code == 200  # the defaults, not the forgotten filters
