"""The notices as a mail client shows them: sent through the real delivery job to a real SMTP
server on loopback (aiosmtpd), parsed back with the email package, and read as a person
would: the subject and sender, the thread, both parts, what the reader is asked to do."""

import io
import re

import pytest
from sqlalchemy import select

from swat.domain import mail_ids
from swat.extensions import db
from swat.jobs.delivery import deliver
from swat.models import Attachment, Notification, OutboxMessage, Ticket, User
from swat.services import tickets
from swat.services.storage import Upload

BASE = "https://swat.pref.example.jp"
INBOUND = "soudan@pref.example.jp"
DOMAIN = "pref.example.jp"  # of mail_from, swat@pref.example.jp


@pytest.fixture
def mail(app, smtp):
    """The desk's address for links, and its inbound address (Reply-To); the test may change them."""
    app.config["SWAT"].update(base_url=BASE, mail_inbound_address=INBOUND)
    return smtp


def with_email(users, name, address, locale="", muted=""):
    u = db.session.get(User, users[name].id)
    u.email, u.locale, u.muted_kinds = address, locale, muted
    db.session.commit()


def plain(msg):
    """The text part as the reader sees it (a 7bit part keeps the wire's CRLF line ends)."""
    return msg.get_body(preferencelist=("plain",)).get_content().replace("\r\n", "\n")


def html(msg):
    return msg.get_body(preferencelist=("html",)).get_content()


def sent_to(smtp, address):
    return [msg for rcpts, msg in smtp.messages if rcpts == [address]]


def forget_outbox():
    db.session.query(OutboxMessage).delete()
    db.session.commit()


def outbox_id(kind):
    return db.session.scalar(
        select(OutboxMessage.id).where(OutboxMessage.kind == kind, OutboxMessage.channel == "email")
    )


def test_a_reply_carries_its_text_and_files_in_both_parts(make_ticket, users, clock, store, limits, mail):
    with_email(users, "staff_health", "kenko@pref.example.jp")
    t = make_ticket()
    forget_outbox()
    tickets.claim_ticket(db.session, users["agent"], clock.now(), t)
    text = "資料を添付します。\n<script>alert('x')</script> & よろしくお願いします。"
    upload = Upload("事例集 2026.pdf", io.BytesIO(b"%PDF-1.4"), "application/pdf")
    tickets.add_reply(db.session, users["agent"], clock.now(), t, text, [upload], store, limits)
    db.session.commit()
    file_id = db.session.scalar(select(Attachment.id).where(Attachment.ticket_id == t.id))
    oid = outbox_id("reply")
    assert deliver(clock.now())["sent"] == 1
    (msg,) = sent_to(mail, "kenko@pref.example.jp")
    link = f"{BASE}/tickets/{t.number}/files/{file_id}"

    # What the reader sees in the list: the desk by name, the consultation's tag and title.
    assert msg["Subject"] == f"[SWAT] [{t.number}] LINEで相談を受けたい"
    sender = msg["From"].addresses[0]
    assert sender.display_name == "コロナSWAT相談窓口" and sender.addr_spec == "swat@pref.example.jp"
    assert b"\nFrom: =?utf-8?" in msg.as_bytes()  # the name in encoded words, as RFC 2047 says
    assert msg["Reply-To"] == INBOUND
    assert msg["Auto-Submitted"] == "auto-generated" and msg["X-Auto-Response-Suppress"] == "All"
    # Threading: its own id, and the consultation's root above it.
    root = f"<swat.{t.number}@{DOMAIN}>"
    assert msg["Message-ID"] == f"<swat.{t.number}.n{oid}@{DOMAIN}>" == mail_ids.notice_id(t.number, oid, DOMAIN)
    assert msg["In-Reply-To"] == root and msg["References"] == root

    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    body = plain(msg)
    assert body.startswith(f"{t.number}: SWATチームから回答がありました\n")
    assert "Agentからの回答" in body and text in body  # the text as written, < and & included
    assert "事例集 2026.pdf" in body and link in body
    assert f"{BASE}/tickets/{t.number}" in body
    assert "このメールに返信すると" in body and f"[{t.number}]" in body

    page = html(msg)
    assert "<script>" not in page and "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; よろしく" in page
    assert f'<a href="{link}"' in page and "事例集 2026.pdf</a>" in page
    # Links to the desk only; no remote images or style sheets.
    assert {h.split("/tickets")[0].split("/settings")[0] for h in re.findall(r'href="([^"]+)"', page)} == {BASE}
    assert "<img" not in page and "<link" not in page and "src=" not in page and "url(" not in page

    # The bell says what it said before, without the text.
    (bell,) = db.session.scalars(select(Notification).where(Notification.kind == "reply"))
    assert "alert" not in bell.params and "LINEで相談を受けたい" in bell.params


def test_a_consultation_filed_by_mail_threads_under_that_mail(make_ticket, users, clock, store, limits, mail):
    with_email(users, "staff_health", "kenko@pref.example.jp")
    t = make_ticket()  # its receipt is queued here, before the intake would set the thread
    thread = "<CAF3x9y@mail.example.jp>"
    db.session.get(Ticket, t.id).mail_thread_id = thread
    db.session.commit()
    tickets.claim_ticket(db.session, users["agent"], clock.now(), t)
    tickets.add_reply(db.session, users["agent"], clock.now(), t, "回答です", [], store, limits)
    db.session.commit()
    assert deliver(clock.now())["sent"] == 2
    receipt, reply = sent_to(mail, "kenko@pref.example.jp")
    root = f"<swat.{t.number}@{DOMAIN}>"
    for msg in (receipt, reply):
        assert msg["In-Reply-To"] == thread
        assert msg["References"].split() == [thread, root]
        assert msg["Subject"] == f"[SWAT] [{t.number}] LINEで相談を受けたい"  # one subject: one conversation
    assert receipt["Message-ID"] != reply["Message-ID"]


def test_no_reply_to_without_an_inbound_address(app, make_ticket, users, clock, store, limits, mail):
    app.config["SWAT"]["mail_inbound_address"] = ""
    with_email(users, "staff_health", "kenko@pref.example.jp")
    t = make_ticket()
    forget_outbox()
    tickets.claim_ticket(db.session, users["agent"], clock.now(), t)
    tickets.change_status(db.session, users["agent"], clock.now(), t, "waiting")
    db.session.commit()
    deliver(clock.now())
    (msg,) = sent_to(mail, "kenko@pref.example.jp")
    assert "Reply-To" not in msg
    body = plain(msg)
    assert "SWATチームがあなたの回答を待っています。\n相談ページで回答してください。" in body
    assert "このメール" not in body  # no reply by mail to offer


@pytest.mark.parametrize(
    ("locale", "waiting", "how"),
    [
        ("ja", "SWATチームがあなたの回答を待っています。", "相談ページで回答するか、このメールに返信してください。"),
        (
            "en",
            "The SWAT team is waiting for your answer.",
            "Answer on the consultation's page or reply to this e-mail.",
        ),
    ],
)
def test_waiting_tells_the_requester_what_to_do(locale, waiting, how, make_ticket, users, clock, mail):
    with_email(users, "staff_health", "kenko@pref.example.jp", locale=locale)
    t = make_ticket()
    forget_outbox()
    tickets.claim_ticket(db.session, users["agent"], clock.now(), t)
    tickets.change_status(db.session, users["agent"], clock.now(), t, "waiting")
    db.session.commit()
    deliver(clock.now())
    msgs = sent_to(mail, "kenko@pref.example.jp")
    status = [m for m in msgs if waiting in plain(m)]
    assert len(status) == 1
    assert f"{waiting}\n{how}" in plain(status[0])
    assert waiting in html(status[0])


def test_a_resolving_reply_says_how_to_reopen(make_ticket, users, clock, store, limits, mail):
    with_email(users, "staff_health", "kenko@pref.example.jp")
    t = make_ticket()
    forget_outbox()
    tickets.claim_ticket(db.session, users["agent"], clock.now(), t)
    tickets.add_reply(
        db.session, users["agent"], clock.now(), t, "以上で解決です。", [], store, limits, then_status="resolved"
    )
    db.session.commit()
    deliver(clock.now())
    (msg,) = sent_to(mail, "kenko@pref.example.jp")  # one change, one message
    body = plain(msg)
    assert "SWATチームがあなたの相談を解決済にしました。" in body
    assert "解決していない点があれば、このメールに返信するか、相談ページで再開してください。" in body
    assert "以上で解決です。" in body


def test_the_desk_reads_the_requesters_reply_and_files(make_ticket, users, clock, store, limits, mail):
    with_email(users, "agent", "agent@pref.example.jp")
    t = make_ticket()
    tickets.claim_ticket(db.session, users["agent"], clock.now(), t)
    db.session.commit()
    forget_outbox()
    upload = Upload("追加資料.xlsx", io.BytesIO(b"data"))
    tickets.add_reply(db.session, users["staff_health"], clock.now(), t, "追加の資料です。", [upload], store, limits)
    db.session.commit()
    file_id = db.session.scalar(select(Attachment.id).where(Attachment.ticket_id == t.id))
    deliver(clock.now())
    (msg,) = sent_to(mail, "agent@pref.example.jp")
    body = plain(msg)
    assert body.startswith(f"{t.number}: 相談者から返信とファイルがありました\n")
    assert "送信者：Staff Health" in body and "追加の資料です。" in body
    assert f"{BASE}/tickets/{t.number}/files/{file_id}" in body
    assert "追加の資料です。" in html(msg) and f'href="{BASE}/tickets/{t.number}/files/{file_id}"' in html(msg)
    assert "このメールに返信すると" not in body  # the desk answers on the page


def test_the_receipt_goes_to_the_requester_by_email_only(make_ticket, users, clock, mail):
    with_email(users, "staff_health", "kenko@pref.example.jp")
    t = make_ticket()
    assert deliver(clock.now())["sent"] == 1
    (msg,) = sent_to(mail, "kenko@pref.example.jp")
    assert msg["Subject"] == f"[SWAT] [{t.number}] LINEで相談を受けたい"
    body = plain(msg)
    assert body.startswith(f"{t.number}: 相談を受け付けました\n")
    assert f"相談番号は {t.number} です。" in body
    # Filed Wednesday 10:00; a normal consultation's first response is due one business day
    # (525 business minutes) later: Thursday 10:00.
    assert "初回回答の目標期限は2026年11月26日 10:00です。" in body
    assert f"このメールに返信すると、相談に追記できます（件名の [{t.number}] は残してください）。" in body
    assert msg["Reply-To"] == INBOUND
    assert db.session.scalars(select(Notification)).all() == []  # no bell for one's own filing


def test_a_muted_receipt_is_not_sent(make_ticket, users, clock, mail):
    with_email(users, "staff_health", "kenko@pref.example.jp", muted="receipt")
    make_ticket()
    assert db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "receipt")).all() == []
    assert deliver(clock.now())["sent"] == 0 and mail.messages == []


def test_iso_2022_jp_for_old_gateways(app, make_ticket, users, clock, store, limits, mail):
    app.config["SWAT"]["mail_iso_2022_jp"] = True
    with_email(users, "staff_health", "kenko@pref.example.jp")
    t = make_ticket(title="髙島屋さんの件①")
    forget_outbox()
    tickets.claim_ticket(db.session, users["agent"], clock.now(), t)
    long_line = "あ" * 700 + "abc" * 100  # longer than a 7bit line may be
    text = f"髙橋です。①確認しました😀 ～ ｱｲｳ ㈱\n{long_line}"
    tickets.add_reply(db.session, users["agent"], clock.now(), t, text, [], store, limits)
    db.session.commit()
    assert deliver(clock.now())["sent"] == 1
    (msg,) = sent_to(mail, "kenko@pref.example.jp")
    raw = msg.as_bytes()
    assert raw.isascii() and max(len(line) for line in raw.split(b"\n")) <= 998

    part = msg.get_body(preferencelist=("plain",))
    assert part.get_content_charset() == "iso-2022-jp" and part["Content-Transfer-Encoding"] == "7bit"
    body = plain(msg)
    # 髙 and 😀 cannot be carried: 〓; ① ～ ｱｲｳ ㈱ take their JIS forms.
    assert "〓橋です。(1)確認しました〓 〜 アイウ (株)" in body
    assert long_line in body.replace("\n", "")
    assert "SWATチームから回答がありました" in body
    assert msg["Subject"] == f"[SWAT] [{t.number}] 〓島屋さんの件(1)"
    assert b"=?iso-2022-jp?" in raw.split(b"\n\n")[0]
    assert msg["From"].addresses[0].display_name == "コロナSWAT相談窓口"
    # The HTML part is UTF-8 and keeps every character as written.
    assert "髙橋です。①確認しました😀 ～ ｱｲｳ ㈱" in html(msg)
