"""What an operator watches: /metrics (who may scrape it, the requests it counts, the outbox,
the scheduler and its jobs, the open consultations) and the admin status page, where a
message that gave up is sent again or discarded, each in the audit trail."""

from datetime import timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import insert, select

from swat.domain import audit as kinds
from swat.extensions import db
from swat.jobs import runner, scheduler
from swat.models import AuditEvent, OutboxMessage
from swat.resources import MIGRATIONS
from swat.services import notify, operations
from swat.services.health import migration_head

ELSEWHERE = {"environ_base": {"REMOTE_ADDR": "203.0.113.5"}}
TOKEN = "m" * 40


def samples(text):
    """{(name, sorted labels): value} of a scrape."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def scrape(client, **kw):
    r = client.get("/metrics", **kw)
    assert r.status_code == 200, r.get_data(as_text=True)
    assert r.headers["Content-Type"].startswith("text/plain; version=")
    return samples(r.get_data(as_text=True))


def queue(clock, n, channel="email", **values):
    rows = [
        {**notify.outbox_row(channel, f"m{i}@pref.example.jp", "ja", "status", '{"number": 1}', clock.now()), **values}
        for i in range(n)
    ]
    db.session.execute(insert(OutboxMessage), rows)
    db.session.commit()


@pytest.fixture
def token(app):
    old = app.config["SWAT"]["metrics_token"]
    app.config["SWAT"]["metrics_token"] = TOKEN
    yield TOKEN
    app.config["SWAT"]["metrics_token"] = old


def test_metrics_answer_this_host_and_the_token_only(client, token):
    assert client.get("/metrics").status_code == 200  # the test client comes from 127.0.0.1
    refused = client.get("/metrics", **ELSEWHERE)
    assert refused.status_code == 403 and b"swat_" not in refused.data
    wrong = client.get("/metrics", headers={"Authorization": "Bearer " + "x" * 40}, **ELSEWHERE)
    assert wrong.status_code == 403
    right = client.get("/metrics", headers={"Authorization": f"Bearer {token}"}, **ELSEWHERE)
    assert right.status_code == 200 and b"swat_database_up 1.0" in right.data
    assert "Set-Cookie" not in right.headers  # a scrape opens no session


def test_a_forwarded_address_is_believed_only_from_a_proxy_on_this_host(client, app):
    through_proxy = {"X-Forwarded-For": "198.51.100.7"}
    # no proxy configured: a request that came through one is the proxy's, not loopback's
    assert app.config["SWAT"]["proxy_count"] == 0
    assert client.get("/metrics", headers=through_proxy).status_code == 403
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "::ffff:127.0.0.1"}).status_code == 200
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "::1"}).status_code == 200


def test_a_made_up_method_adds_no_series_and_refused_requests_are_counted(client):
    client.open("/healthz", method="ZZZTOP")
    client.post("/logout")  # no CSRF token: refused before the view
    text = client.get("/metrics").get_data(as_text=True)
    assert "ZZZTOP" not in text and 'method="other"' in text
    assert 'swat_http_requests_total{endpoint="auth.logout",method="POST",status="400"}' in text


def test_an_empty_token_lets_no_one_in(client, app):
    assert app.config["SWAT"]["metrics_token"] == ""
    assert client.get("/metrics", headers={"Authorization": "Bearer "}, **ELSEWHERE).status_code == 403


def test_requests_are_counted_by_endpoint_and_status(client):
    key = ("swat_http_requests_total", (("endpoint", "health.healthz"), ("method", "GET"), ("status", "200")))
    missing = ("swat_http_requests_total", (("endpoint", "unmatched"), ("method", "GET"), ("status", "404")))
    before = scrape(client)
    for _ in range(3):
        client.get("/healthz")
    client.get("/no-such-page")
    after = scrape(client)
    assert after[key] - before.get(key, 0) == 3
    assert after[missing] - before.get(missing, 0) == 1
    took = ("swat_http_request_duration_seconds_count", (("endpoint", "health.healthz"),))
    assert after[took] - before.get(took, 0) == 3


def test_the_outbox_backlog_failures_and_oldest_age(client, clock, ctx):
    queue(clock, 3)
    clock.advance(minutes=10)
    queue(clock, 2, attempts=2, next_attempt_at=clock.now() + timedelta(minutes=5))  # retrying, not yet due
    queue(clock, 1, channel="webhook", failed_at=clock.now(), attempts=8, last_error="webhook answered 500")
    got = scrape(client)
    email, webhook = (("channel", "email"),), (("channel", "webhook"),)
    assert got[("swat_outbox_pending", email)] == 5
    assert got[("swat_outbox_due", email)] == 3
    assert got[("swat_outbox_retrying", email)] == 2
    assert got[("swat_outbox_oldest_pending_age_seconds", email)] == 600
    assert got[("swat_outbox_failed", email)] == 0
    assert got[("swat_outbox_failed", webhook)] == 1 and got[("swat_outbox_pending", webhook)] == 0


def test_the_scheduler_heartbeat_and_each_jobs_last_run(app, client, clock, ctx):
    assert scrape(client)[("swat_scheduler_heartbeat_age_seconds", ())] == float("inf")  # never beat
    scheduler.beat(db.session(), clock.now() - timedelta(seconds=90), clock.now() - timedelta(hours=1))
    db.session.commit()
    runner._run(app, lambda now: {"checked": 12, "escalated": 1}, "failed", "sla-sweep")

    def broken(now):
        raise RuntimeError("the SMTP server is gone")

    runner._run(app, lambda now: {"sent": 4}, "failed", "outbox-delivery")
    clock.advance(seconds=30)
    with pytest.raises(RuntimeError):
        runner._run(app, broken, "delivery failed", "outbox-delivery")
    got = scrape(client)
    assert got[("swat_scheduler_heartbeat_age_seconds", ())] == 120
    sweep, delivery = (("job", "sla-sweep"),), (("job", "outbox-delivery"),)
    assert got[("swat_job_last_run_ok", sweep)] == 1 and got[("swat_job_last_run_ok", delivery)] == 0
    assert ("swat_job_last_run_duration_seconds", sweep) in got
    assert got[("swat_job_last_run_items", (("item", "checked"), ("job", "sla-sweep")))] == 12
    assert got[("swat_job_last_run_age_seconds", delivery)] == 0


def test_open_consultations_by_status(client, make_ticket):
    make_ticket()
    make_ticket()
    got = scrape(client)
    assert got[("swat_tickets_open", (("status", "new"),))] == 2
    assert got[("swat_tickets_open", (("status", "waiting"),))] == 0


# --- the status page ---------------------------------------------------------------------


def test_only_admins_see_the_status_page(auth, users):
    for name in ("agent", "lead", "manager", "staff_health"):
        assert auth.login(name).get("/admin/status").status_code == 403, name
    page = auth.login("admin").get("/admin/status")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "デスクの状態" in html and f'data-testid="schema">{migration_head(str(MIGRATIONS))}' in html
    assert "スケジューラーがこのデータベースで動いたことがありません" in html


def test_an_admin_sends_a_failed_message_again_and_it_is_audited(auth, clock, users):
    queue(clock, 1, failed_at=clock.now(), attempts=8, last_error="550 5.1.1 no such mailbox")
    message = db.session.scalar(select(OutboxMessage))
    browser = auth.login("admin")
    html = browser.get("/admin/status").get_data(as_text=True)
    assert "550 5.1.1 no such mailbox" in html and "m0@pref.example.jp" in html
    r = browser.post("/admin/status/retry", {"message": str(message.id)})
    assert r.status_code == 302
    db.session.expire_all()
    message = db.session.get(OutboxMessage, message.id)
    assert message.failed_at is None and message.attempts == 0 and message.next_attempt_at <= clock.now()
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.kind == kinds.OUTBOX_RETRIED))
    assert event.actor_id == users["admin"].id and '"recipient": "m0@pref.example.jp"' in event.before
    after = browser.get("/admin/status").get_data(as_text=True)
    assert "もう一度送ります" in after and "送れなかったメッセージはありません" in after
    # sending it again twice is refused, in words
    again = browser.post("/admin/status/retry", {"message": str(message.id)})
    assert "送れなかったメッセージの中にありません" in browser.get(again.headers["Location"]).get_data(as_text=True)


def test_an_admin_discards_a_failed_message_and_it_stays_on_record(auth, clock, users):
    queue(clock, 1, channel="webhook", failed_at=clock.now(), attempts=8, last_error="webhook answered 500")
    message = db.session.scalar(select(OutboxMessage))
    browser = auth.login("admin")
    assert browser.post("/admin/status/discard", {"message": str(message.id)}).status_code == 302
    db.session.expire_all()
    message = db.session.get(OutboxMessage, message.id)
    assert message.discarded_at is not None and message.sent_at is None
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.kind == kinds.OUTBOX_DISCARDED))
    assert event.actor_id == users["admin"].id
    audit = browser.get("/admin/audit?kind=outbox_discarded").get_data(as_text=True)
    assert "送れなかったメッセージを破棄" in audit
    assert "送れなかったメッセージはありません" in browser.get("/admin/status").get_data(as_text=True)


def test_a_manager_cannot_retry_or_discard(auth, clock, users):
    queue(clock, 1, failed_at=clock.now(), attempts=8, last_error="boom")
    message = db.session.scalar(select(OutboxMessage))
    browser = auth.login("manager")
    assert browser.post("/admin/status/retry", {"message": str(message.id)}).status_code == 403
    assert browser.post("/admin/status/discard", {"message": str(message.id)}).status_code == 403
    db.session.expire_all()
    assert db.session.get(OutboxMessage, message.id).failed_at is not None


def test_a_page_past_the_end_shows_the_last_one(auth, clock, users):
    queue(clock, 1, failed_at=clock.now(), attempts=8, last_error="550 5.1.1 no such mailbox")
    html = auth.login("admin").get("/admin/status?page=5").get_data(as_text=True)
    assert "m0@pref.example.jp" in html and "送れなかったメッセージはありません" not in html


def reset_mail(clock, minutes_ago, **values):
    params = '{"salt": "s", "minutes": 30, "name": "保健 花子", "username": "staff_health"}'
    created = clock.now() - timedelta(minutes=minutes_ago)
    queue(clock, 1, kind="password_reset", params=params, created_at=created, **values)
    return db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id.desc())).first()


def test_an_expired_password_reset_mail_is_not_sent_again(auth, clock, users):
    message = reset_mail(clock, 45, failed_at=clock.now(), attempts=1, last_error=operations.EXPIRED_LINK)
    browser = auth.login("admin")
    html = browser.get("/admin/status").get_data(as_text=True)
    assert "<td>新しいパスワードの設定</td>" in html  # the subject says what the mail was
    assert "送りませんでした" in html and operations.EXPIRED_LINK not in html  # the reason, in words
    r = browser.post("/admin/status/retry", {"message": str(message.id)})
    assert "リンクは期限が切れているため" in browser.get(r.headers["Location"]).get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(OutboxMessage, message.id).failed_at is not None
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.kind == kinds.OUTBOX_RETRIED)) is None


def test_send_all_again_leaves_expired_reset_links(auth, clock, users):
    queue(clock, 3, failed_at=clock.now(), attempts=8, last_error="421 too busy")
    expired = reset_mail(clock, 45, failed_at=clock.now(), attempts=8, last_error="421 too busy")
    fresh = reset_mail(clock, 5, failed_at=clock.now(), attempts=8, last_error="421 too busy")
    queue(clock, 1, failed_at=clock.now(), discarded_at=clock.now(), attempts=8)  # discarded: stays so
    browser = auth.login("admin")
    assert "すべてをもう一度送る" in browser.get("/admin/status").get_data(as_text=True)
    r = browser.post("/admin/status/retry-all", {})
    said = browser.get(r.headers["Location"]).get_data(as_text=True)
    assert "4 件のメッセージを次の配信でもう一度送ります" in said and "期限が切れたパスワード再設定メール 1 件" in said
    db.session.expire_all()
    rows = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    waiting = [m.id for m in rows if m.failed_at is None]
    assert len(waiting) == 4 and fresh.id in waiting and expired.id not in waiting
    assert all(m.attempts == 0 for m in rows if m.failed_at is None)
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.kind == kinds.OUTBOX_RETRIED)).one()
    assert event.actor_id == users["admin"].id and '"count": 4' in event.before
    again = browser.post("/admin/status/retry-all", {})  # nothing left but the expired one
    said = browser.get(again.headers["Location"]).get_data(as_text=True)
    assert "期限が切れたパスワード再設定メール 1 件" in said and "件のメッセージを次の配信" not in said
    assert len(db.session.scalars(select(AuditEvent).where(AuditEvent.kind == kinds.OUTBOX_RETRIED)).all()) == 1
    assert auth.login("manager").post("/admin/status/retry-all", {}).status_code == 403


def test_the_status_page_says_jobs_counts_and_readiness_in_words(app, auth, clock, users, monkeypatch):
    runner._run(app, lambda now: {"checked": 12, "fired": 1}, "failed", "sla-sweep")
    monkeypatch.setattr("swat.services.health.migration_head", lambda _migrations: "9999_future")
    html = auth.login("admin").get("/admin/status").get_data(as_text=True)
    assert "SLAの見回り" in html and "確認したSLAの時計 12" in html and "エスカレーション 1" in html
    current = migration_head(str(MIGRATIONS))
    assert f"データベースのマイグレーションは {current}、コードは 9999_future です" in html
