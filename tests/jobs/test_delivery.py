"""The outbox on the wire: a real SMTP server on loopback (aiosmtpd) and a local HTTP receiver."""

import json
import threading
from datetime import timedelta
from email.header import decode_header, make_header
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from sqlalchemy import select

from swat.extensions import db
from swat.jobs import delivery
from swat.jobs.delivery import deliver
from swat.models import Notification, OutboxMessage, User
from swat.services import tickets


@pytest.fixture
def receiver(app):
    got = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            got.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    old = app.config["SWAT"]["webhook_url"]
    app.config["SWAT"]["webhook_url"] = f"http://127.0.0.1:{server.server_port}/hook"
    yield got
    server.shutdown()
    server.server_close()
    thread.join(5)
    app.config["SWAT"]["webhook_url"] = old


def with_email(users, name, address, locale=""):
    u = db.session.get(User, users[name].id)
    u.email, u.locale = address, locale
    db.session.commit()


def subject(msg):
    return str(make_header(decode_header(msg["Subject"])))


def plain(msg):
    return msg.get_body(preferencelist=("plain",)).get_content()


def forget_outbox():
    """The receipts of the filings a test starts from: already out of the way."""
    db.session.query(OutboxMessage).delete()
    db.session.commit()


def test_reply_reaches_the_requester_by_email_once(make_ticket, users, clock, store, limits, smtp):
    with_email(users, "staff_health", "kenko@pref.example.jp")
    t = make_ticket()
    forget_outbox()
    tickets.claim_ticket(db.session, users["agent"], clock.now(), t)
    tickets.add_reply(db.session, users["agent"], clock.now(), t, "回答します", [], store, limits)
    db.session.commit()
    assert deliver(clock.now())["sent"] == 1
    assert deliver(clock.now())["sent"] == 0  # nothing is sent twice
    ((rcpts, msg),) = smtp.messages
    assert rcpts == ["kenko@pref.example.jp"]
    assert subject(msg) == f"[SWAT] [{t.number}] LINEで相談を受けたい"
    assert plain(msg).startswith(f"{t.number}: SWATチームから回答がありました\n")
    assert f"/tickets/{t.number}" in plain(msg)
    assert msg["Message-ID"].startswith(f"<swat.{t.number}.n")


def test_english_readers_get_english(make_ticket, users, clock, store, limits, smtp):
    with_email(users, "staff_health", "kenko@pref.example.jp", locale="en")
    t = make_ticket()
    forget_outbox()
    tickets.claim_ticket(db.session, users["agent"], clock.now(), t)
    tickets.add_reply(db.session, users["agent"], clock.now(), t, "Answer", [], store, limits)
    db.session.commit()
    deliver(clock.now())
    msg = smtp.messages[0][1]
    assert subject(msg) == f"[SWAT] [{t.number}] LINEで相談を受けたい"  # the title as its requester wrote it
    assert plain(msg).startswith(f"{t.number}: the SWAT team replied\n")


def test_smtp_down_retries_with_backoff_then_delivers_without_loss(app, make_ticket, users, clock, store, limits, smtp):
    with_email(users, "staff_health", "kenko@pref.example.jp")
    t = make_ticket()
    forget_outbox()
    tickets.claim_ticket(db.session, users["agent"], clock.now(), t)
    tickets.add_reply(db.session, users["agent"], clock.now(), t, "回答", [], store, limits)
    db.session.commit()
    port = app.config["SWAT"]["smtp_port"]
    app.config["SWAT"]["smtp_port"] = 1  # nothing listens there
    assert deliver(clock.now())["retry"] == 1
    msg = db.session.scalar(select(OutboxMessage).where(OutboxMessage.channel == "email"))
    assert msg.attempts == 1 and msg.sent_at is None and msg.next_attempt_at == clock.now() + timedelta(minutes=1)
    assert deliver(clock.now())["retry"] == 0  # not before its time
    app.config["SWAT"]["smtp_port"] = port
    clock.advance(minutes=1)
    assert deliver(clock.now())["sent"] == 1
    assert len(smtp.messages) == 1


def test_a_crashed_delivery_is_picked_up_after_its_lease(make_ticket, users, clock, store, limits, smtp):
    with_email(users, "staff_health", "kenko@pref.example.jp")
    t = make_ticket()
    forget_outbox()
    tickets.claim_ticket(db.session, users["agent"], clock.now(), t)
    tickets.add_reply(db.session, users["agent"], clock.now(), t, "回答", [], store, limits)
    db.session.commit()
    msg = db.session.scalar(select(OutboxMessage).where(OutboxMessage.channel == "email"))
    msg.claim_token, msg.claimed_until = "dead-worker", clock.now() + delivery.LEASE  # claimed, then crashed
    db.session.commit()
    assert deliver(clock.now())["sent"] == 0
    clock.advance(minutes=delivery.LEASE.total_seconds() / 60 + 1)
    assert deliver(clock.now())["sent"] == 1 and len(smtp.messages) == 1


def test_triage_items_go_to_the_chat_webhook(app, make_ticket, users, clock, receiver):
    from swat.services import routing

    t = make_ticket(title="相談です", body="よろしくお願いします。")
    routing.route_new_ticket(db.session, t, clock.now(), auto_apply=True)
    db.session.commit()
    assert deliver(clock.now())["sent"] >= 1
    assert any(t.number in m["text"] and "振り分け待ち" in m["text"] for m in receiver)


def test_jobs_run_command_sweeps_and_delivers(app, make_ticket, users, clock, smtp):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    lead = db.session.get(User, users["lead"].id)
    lead.email = "lead@pref.example.jp"
    db.session.commit()
    clock.set(datetime(2026, 11, 25, 10, 0, tzinfo=ZoneInfo("Asia/Tokyo")))
    make_ticket(priority="urgent")
    clock.set(datetime(2026, 11, 25, 11, 30, tzinfo=ZoneInfo("Asia/Tokyo")))
    db.session.commit()
    r = app.test_cli_runner().invoke(args=["jobs", "run"])
    assert r.exit_code == 0, r.output
    assert "2 escalations fired" in r.output  # warning (to the leads: nobody holds it) and breach
    # One sweep, one e-mail to each recipient: a digest that lists both, with how late, who and where.
    assert [rcpts for rcpts, _ in smtp.messages] == [["lead@pref.example.jp"]]
    mail = smtp.messages[0][1]
    assert mail["Subject"] == "[SWAT] SLA期限のお知らせ：1件"  # one consultation, at two levels
    assert "In-Reply-To" not in mail and mail["Message-ID"].startswith("<swat.n")  # no consultation's thread
    assert mail["Auto-Submitted"] == "auto-generated"
    assert 'href="http://127.0.0.1:5000/notifications"' in mail.get_body(preferencelist=("html",)).get_content()
    text = plain(mail)
    assert "初回回答の期限が迫っています" in text and "初回回答の期限を超過しました" in text
    assert "30分超過（開庁時間）" in text and "担当：なし" in text and "部局：健康医療部" in text
    assert "/tickets/2026-00001" in text and "「確認済みにする」" in text and "/notifications" in text
    # The bell keeps one entry per ticket and level.
    assert len(db.session.scalars(select(Notification).where(Notification.user_id == lead.id)).all()) == 2
