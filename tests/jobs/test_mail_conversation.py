"""A whole conversation by mail: a staff member mails the desk and gets the number back, the
SWAT member answers by 返信 to the notice, the requester answers back the same way; every
mail threads under the first. And a mail the desk cannot take in is answered in Japanese.
All through the real delivery job and a real SMTP server (aiosmtpd) on loopback."""

from email.message import EmailMessage

import pytest
from sqlalchemy import select

from swat.extensions import db
from swat.jobs.delivery import deliver
from swat.models import Message, OutboxMessage, Ticket
from swat.services import tickets
from swat.services.mail_intake import IntakeSettings, ingest

DESK = "swat@pref.example.jp"  # mail_from of the smtp fixture
INBOUND = "soudan@pref.example.jp"
CONFIG = IntakeSettings(domain="pref.example.jp", max_bytes=5_000_000, max_per_hour=30, own_addresses=(DESK, INBOUND))


@pytest.fixture
def desk(app, smtp, users):
    app.config["SWAT"].update(base_url="https://swat.pref.example.jp", mail_inbound_address=INBOUND)
    users["staff_health"].email = "yamada@pref.example.jp"
    users["agent"].email = "suzuki@pref.example.jp"
    db.session.commit()
    return smtp


def reply_to(notice, sender, name, text, quote=True):
    """What a mail client sends for 返信: Re: subject, In-Reply-To and References, the quote."""
    m = EmailMessage()
    m["From"] = f"{name} <{sender}>"
    m["To"] = notice["Reply-To"]
    m["Subject"] = "Re: " + str(notice["Subject"])
    m["Message-ID"] = f"<{sender.split('@')[0]}-{len(text)}@mail.pref.example.jp>"
    m["In-Reply-To"] = notice["Message-ID"]
    m["References"] = f"{notice['References']} {notice['Message-ID']}"
    original = notice.get_body(preferencelist=("plain",)).get_content()
    quoted = "\n".join("> " + line for line in original.splitlines()) if quote else ""
    m.set_content(f"{text}\n\n2026年11月25日(水) 10:00 コロナSWAT相談窓口 <{DESK}>:\n{quoted}\n")
    return m.as_bytes()


def take(raw, clock, store, limits):
    outcome = ingest(db.session, raw, clock.now(), store=store, limits=limits, config=CONFIG)
    db.session.commit()
    return outcome


def delivered(smtp, clock):
    smtp.messages.clear()
    deliver(clock.now())
    return {rcpts[0]: msg for rcpts, msg in smtp.messages}


def text_of(msg):
    return msg.get_body(preferencelist=("plain",)).get_content().replace("\r\n", "\n")


def test_a_consultation_held_from_start_to_end_by_reply(desk, users, clock, store, limits):
    first = EmailMessage()
    first["From"] = "健康医療部 山田花子 <yamada@pref.example.jp>"
    first["To"] = INBOUND
    first["Subject"] = "ワクチン予約のチャットボットについて"
    first["Message-ID"] = "<first@mail.pref.example.jp>"
    first.set_content("予約受付をチャットボットで行いたいです。\n事例はありますか。\n")
    outcome = take(first.as_bytes(), clock, store, limits)
    number = outcome.number
    ticket = db.session.scalars(select(Ticket)).one()
    # The receipt: the number, and it threads under the mail it answers.
    receipt = delivered(desk, clock)["yamada@pref.example.jp"]
    assert f"[{number}]" in str(receipt["Subject"]) and number in text_of(receipt)
    assert receipt["In-Reply-To"] == "<first@mail.pref.example.jp>"
    assert receipt["Reply-To"] == INBOUND and receipt["Auto-Submitted"] == "auto-generated"

    tickets.claim_ticket(db.session, users["agent"], clock.now(), ticket)
    db.session.commit()
    # The SWAT member answers by mail to a notice of it (as if to the receipt's thread).
    answer = reply_to(receipt, "suzuki@pref.example.jp", "鈴木", "堺市の事例があります。資料をお送りします。")
    assert take(answer, clock, store, limits).status == "reply"
    notice = delivered(desk, clock)["yamada@pref.example.jp"]
    assert "堺市の事例があります。資料をお送りします。" in text_of(notice)
    assert "> " not in text_of(notice)  # the quoted history was trimmed off the post
    assert notice["In-Reply-To"] == "<first@mail.pref.example.jp>"

    # The requester answers back by 返信 to that notice.
    back = reply_to(notice, "yamada@pref.example.jp", "山田花子", "ありがとうございます。確認します。")
    assert take(back, clock, store, limits).status == "reply"
    posts = db.session.scalars(select(Message.body).where(Message.ticket_id == ticket.id).order_by(Message.id)).all()
    assert posts == ["堺市の事例があります。資料をお送りします。", "ありがとうございます。確認します。"]
    told = delivered(desk, clock)
    assert "ありがとうございます。確認します。" in text_of(told["suzuki@pref.example.jp"])
    # Nothing loops: the desk's own notice mailed back to it is not taken in, even with its
    # machine headers taken off on the way (a forwarding rule).
    assert take(notice.as_bytes(), clock, store, limits).status == "ignored"
    del notice["Auto-Submitted"], notice["X-Auto-Response-Suppress"]
    notice.replace_header("Message-ID", "<forwarded-notice@mail.pref.example.jp>")
    outcome = take(notice.as_bytes(), clock, store, limits)
    assert (outcome.status, outcome.reason) == ("ignored", "from_desk")


def test_a_mail_over_the_limits_is_answered_in_japanese(desk, users, clock, store, limits):
    m = EmailMessage()
    m["From"] = "yamada@pref.example.jp"
    m["To"] = INBOUND
    m["Subject"] = "資料一式"
    m["Message-ID"] = "<many@mail.pref.example.jp>"
    m.set_content("資料を送ります。")
    for i in range(limits.max_files + 1):
        m.add_attachment(b"x", maintype="text", subtype="plain", filename=f"資料{i}.txt")
    outcome = take(m.as_bytes(), clock, store, limits)
    assert (outcome.status, outcome.reason) == ("refused", "too_many_files")
    answer = delivered(desk, clock)["yamada@pref.example.jp"]
    assert "資料一式" in str(answer["Subject"])
    body = text_of(answer)
    assert f"一度に受け付けられるファイルの数を超えています（最大{limits.max_files}件）" in body
    assert "登録されていません" in body
    assert db.session.scalars(select(Ticket)).all() == []
    assert db.session.scalars(select(OutboxMessage).where(OutboxMessage.sent_at.is_(None))).all() == []


def test_a_reply_to_a_notice_for_the_desk_alone_never_reaches_the_requester(desk, users, clock, store, limits):
    users["lead"].email = "hancho@pref.example.jp"
    db.session.commit()
    first = EmailMessage()
    first["From"] = "yamada@pref.example.jp"
    first["Subject"] = "LINE相談の事例"
    first["Message-ID"] = "<line@mail.pref.example.jp>"
    first.set_content("事例を教えてください。")
    take(first.as_bytes(), clock, store, limits)
    ticket = db.session.scalars(select(Ticket)).one()
    tickets.add_internal_note(
        db.session, users["agent"], clock.now(), ticket, "@lead 以前トラブルのあった部局です。", [], store, limits
    )
    db.session.commit()
    notice = delivered(desk, clock)["hancho@pref.example.jp"]
    assert "Reply-To" not in notice
    assert ".i" in notice["Message-ID"] and str(notice["Subject"]).startswith("[SWAT内部]")
    answer = reply_to(notice, "hancho@pref.example.jp", "班長", "了解。相談者には伝えないでください。")
    outcome = take(answer, clock, store, limits)
    assert (outcome.status, outcome.reason) == ("held", "internal_notice")
    # Its ids taken off on the way, the subject still says it was for the desk alone.
    bare = EmailMessage()
    bare["From"] = "hancho@pref.example.jp"
    bare["Subject"] = "Re: " + str(notice["Subject"])
    bare["Message-ID"] = "<bare@mail.pref.example.jp>"
    bare.set_content("了解。")
    assert take(bare.as_bytes(), clock, store, limits).reason == "internal_notice"
    assert db.session.scalars(select(Message.body).where(Message.internal.is_(False))).all() == []
