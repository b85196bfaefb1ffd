"""A delivery run on the wire: a storm drains batch after batch over one SMTP connection, a
refused message costs only itself, and a run stops after its time."""

import pytest
from sqlalchemy import func, insert, select

from swat.extensions import db
from swat.jobs import delivery
from swat.jobs.delivery import deliver
from swat.models import OutboxMessage, User
from swat.services import notify, operations, tickets


def queue_replies(users, make_ticket, clock, store, limits, recipients):
    """One real reply mail to the requester, then the same mail queued for each of
    `recipients`; returns how many are waiting."""
    u = db.session.get(User, users["staff_health"].id)
    u.email = "kenko@pref.example.jp"
    db.session.commit()
    t = make_ticket()
    db.session.query(OutboxMessage).delete()
    db.session.commit()
    tickets.claim_ticket(db.session, users["agent"], clock.now(), t)
    tickets.add_reply(db.session, users["agent"], clock.now(), t, "回答します", [], store, limits)
    db.session.commit()
    first = db.session.scalar(select(OutboxMessage).where(OutboxMessage.channel == "email"))
    rows = [notify.outbox_row("email", r, "ja", first.kind, first.params, clock.now()) for r in recipients]
    if rows:
        db.session.execute(insert(OutboxMessage), rows)
    db.session.commit()
    return db.session.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.sent_at.is_(None)))


def test_a_storm_drains_in_one_run_over_one_connection(make_ticket, users, clock, store, limits, smtp):
    waiting = queue_replies(
        users, make_ticket, clock, store, limits, [f"member{i}@pref.example.jp" for i in range(3 * delivery.BATCH)]
    )
    assert waiting == 3 * delivery.BATCH + 1
    assert deliver(clock.now()) == {"sent": waiting, "retry": 0, "failed": 0}
    assert len(smtp.messages) == waiting
    assert len(smtp.sessions) == 1
    assert {to[0] for to, _ in smtp.messages} >= {"kenko@pref.example.jp", "member0@pref.example.jp"}
    assert (
        db.session.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.sent_at.is_(None))) == 0
    )


def test_a_refused_recipient_costs_only_its_own_message(make_ticket, users, clock, store, limits, smtp):
    queue_replies(users, make_ticket, clock, store, limits, ["refused@pref.example.jp", "after@pref.example.jp"])
    assert deliver(clock.now()) == {"sent": 2, "retry": 1, "failed": 0}
    assert sorted(to[0] for to, _ in smtp.messages) == ["after@pref.example.jp", "kenko@pref.example.jp"]
    refused = db.session.scalar(select(OutboxMessage).where(OutboxMessage.recipient == "refused@pref.example.jp"))
    assert refused.sent_at is None and refused.attempts == 1 and "no such mailbox" in refused.last_error
    # the server refused one recipient, not the connection: the next mail went over the same one
    assert len(smtp.sessions) == 1


def test_a_run_stops_after_its_time_and_the_next_goes_on(monkeypatch, make_ticket, users, clock, store, limits, smtp):
    waiting = queue_replies(
        users, make_ticket, clock, store, limits, [f"member{i}@pref.example.jp" for i in range(delivery.BATCH + 10)]
    )
    ticks = iter(range(10_000))
    monkeypatch.setattr(delivery, "elapsed_clock", lambda: next(ticks))  # a second per look at the time
    monkeypatch.setattr(delivery, "RUN_SECONDS", 5.0)
    assert deliver(clock.now())["sent"] == 4  # started at 0; messages at 1 … 4; at 5 the time is up
    untried = db.session.scalars(select(OutboxMessage).where(OutboxMessage.sent_at.is_(None))).all()
    assert len(untried) == waiting - 4
    assert all(m.claim_token is None and m.attempts == 0 for m in untried)  # given back untouched
    monkeypatch.setattr(delivery, "RUN_SECONDS", 1000.0)
    assert deliver(clock.now())["sent"] == waiting - 4
    assert len(smtp.messages) == waiting


def test_an_unreachable_server_costs_one_attempt_not_the_whole_backlog(
    app, make_ticket, users, clock, store, limits, smtp
):
    waiting = queue_replies(users, make_ticket, clock, store, limits, [f"m{i}@pref.example.jp" for i in range(120)])
    port = app.config["SWAT"]["smtp_port"]
    app.config["SWAT"]["smtp_port"] = 1  # nothing listens there
    try:
        assert deliver(clock.now()) == {"sent": 0, "retry": 1, "failed": 0}
    finally:
        app.config["SWAT"]["smtp_port"] = port
    rows = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    assert rows[0].attempts == 1 and "Connection refused" in rows[0].last_error
    assert all(m.attempts == 0 and m.claim_token is None for m in rows[1:])
    assert deliver(clock.now())["sent"] == waiting - 1  # the server is back; the first waits its minute
    clock.advance(minutes=1)
    assert deliver(clock.now())["sent"] == 1


@pytest.mark.parametrize("step", ["MAIL", "RCPT", "DATA"])
def test_a_relay_that_says_421_after_each_few_messages_gets_them_all(
    step, make_ticket, users, clock, store, limits, smtp
):
    """A 421 (the relay's limit per connection) is not the message's fault, at whichever step it
    comes: the message goes again at once over a new connection, without costing an attempt."""
    smtp.busy_after, smtp.busy_at = 2, step
    waiting = queue_replies(users, make_ticket, clock, store, limits, [f"m{i}@pref.example.jp" for i in range(6)])
    assert deliver(clock.now()) == {"sent": waiting, "retry": 0, "failed": 0}
    assert len(smtp.messages) == waiting and len(smtp.sessions) == -(-waiting // 2)
    assert {m.attempts for m in db.session.scalars(select(OutboxMessage))} == {1}


def test_a_relay_that_says_421_to_everything_ends_the_run_at_one_attempt(
    make_ticket, users, clock, store, limits, smtp
):
    smtp.busy_after = 0
    queue_replies(users, make_ticket, clock, store, limits, [f"m{i}@pref.example.jp" for i in range(5)])
    assert deliver(clock.now()) == {"sent": 0, "retry": 1, "failed": 0}
    rows = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    assert rows[0].attempts == 1 and "421" in rows[0].last_error
    assert all(m.attempts == 0 and m.claim_token is None and m.sent_at is None for m in rows[1:])
    smtp.busy_after = None  # the relay lets mail through again
    assert deliver(clock.now())["sent"] == len(rows) - 1


def test_a_reset_link_that_expired_while_it_waited_is_not_sent(make_ticket, users, clock, store, limits, smtp):
    queue_replies(users, make_ticket, clock, store, limits, [])
    params = '{"salt": "s", "minutes": 30, "name": "保健 花子", "username": "staff_health"}'
    row = notify.outbox_row("email", "kenko@pref.example.jp", "ja", "password_reset", params, clock.now())
    db.session.execute(insert(OutboxMessage), [{**row, "created_at": clock.now() - delivery.timedelta(minutes=31)}])
    db.session.commit()
    assert deliver(clock.now()) == {"sent": 1, "retry": 0, "failed": 1}
    assert [m["Subject"] for _to, m in smtp.messages] != [] and all(
        "パスワード" not in m["Subject"] for _to, m in smtp.messages
    )
    reset = db.session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "password_reset"))
    assert reset.sent_at is None and reset.failed_at is not None and reset.last_error == operations.EXPIRED_LINK
