"""Machine-written mail: which code each kind gets, whom a bounce bounced for, and what
Authentication-Results said."""

from __future__ import annotations

import pytest

from swat.domain.mail_auto import CODES, Authentication, authentication
from swat.domain.mail_parse import parse


def mail(headers: str, body: str = "本文です。\n", ctype: str = "text/plain; charset=UTF-8") -> bytes:
    head = "From: 山田 <staff_health@pref.example.jp>\nTo: swat-desk@pref.example.jp\nMessage-ID: <t@x>\n"
    raw = head + headers + f"MIME-Version: 1.0\nContent-Type: {ctype}\nContent-Transfer-Encoding: 8bit\n\n" + body
    return raw.replace("\n", "\r\n").encode()


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ("Subject: 相談\n", None),
        ("Subject: 相談\nAuto-Submitted: no\n", None),
        ("Subject: 相談\nAuto-Submitted: auto-generated\n", "auto-submitted"),
        ("Subject: 相談\nAuto-Submitted: auto-replied\n", "out-of-office"),
        ("Subject: 相談\nX-Autoreply: yes\n", "out-of-office"),
        ("Subject: 相談\nX-Autorespond: 1\n", "out-of-office"),
        ("Subject: 相談\nPrecedence: auto_reply\n", "out-of-office"),
        ("Subject: 相談\nPrecedence: bulk\n", "precedence"),
        ("Subject: 相談\nPrecedence: junk\n", "precedence"),
        ("Subject: 相談\nPrecedence: list\n", "list"),
        ("Subject: 相談\nList-Unsubscribe: <mailto:u@x>\n", "list"),
        ("Subject: 相談\nList-Id: <a.b>\n", "list"),
        ("Subject: 相談\nX-Auto-Response-Suppress: All\n", "suppress"),
        ("Subject: 自動応答: 相談\nX-Auto-Response-Suppress: All\n", "out-of-office"),
        ("Subject: 不在: 相談\nAuto-Submitted: auto-generated\n", "out-of-office"),
        ("Subject: Automatic reply: 相談\nX-Auto-Response-Suppress: DR, RN, NRN, OOF, AutoReply\n", "out-of-office"),
        ("Subject: Out of Office: 相談\nPrecedence: bulk\n", "out-of-office"),
        ("Subject: Abwesend: Beratung\nList-Id: <a.b>\n", "out-of-office"),
        ("Subject: 自動応答: 相談\n", None),  # the subject alone: looks_automatic, below
        ("Subject: Undeliverable: 相談\nAuto-Submitted: auto-replied\n", "bounce"),
    ],
)
def test_each_kind_of_machine_mail_has_its_code(headers, code):
    got = parse(mail(headers)).automatic
    assert got == code
    assert got is None or got in CODES


def test_mail_from_the_mailer_daemon_is_a_bounce():
    raw = mail("Subject: Returned mail\n").replace(b"staff_health@pref.example.jp", b"postmaster@mx.example.jp")
    assert parse(raw).automatic == "bounce"


def test_a_dsn_names_only_the_failed_recipients():
    body = (
        "--b\nContent-Type: text/plain\n\nDelivery failed.\n"
        "--b\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx\n\n"
        "Final-Recipient: rfc822; Staff_Welfare@pref.example.jp\nAction: failed\nStatus: 5.1.1\n\n"
        "Final-Recipient: rfc822; slow@pref.example.jp\nAction: delayed\nStatus: 4.4.1\n\n"
        "Original-Recipient: rfc822;alias@pref.example.jp\nFinal-Recipient: rfc822; real@pref.example.jp\n"
        "Action: failed\nStatus: 5.0.0\n--b--\n"
    )
    got = parse(mail("Subject: x\n", body, 'multipart/report; report-type=delivery-status; boundary="b"'))
    assert (got.automatic, got.bounced) == ("bounce", ["staff_welfare@pref.example.jp", "alias@pref.example.jp"])
    assert got.text == "Delivery failed."


def test_an_exchange_text_bounce_names_its_recipient_from_the_text():
    body = (
        "Delivery has failed to these recipients or groups:\n\nstaff_welfare@pref.example.jp\n"
        "The email address you entered couldn't be found.\n\nOriginal message headers:\n\n"
        "From: swat-desk@pref.example.jp\nMessage-ID: <swat.2026-00042.n7@pref.example.jp>\n"
    )
    raw = mail("Subject: Undeliverable: [2026-00042]\n", body).replace(b"staff_health@", b"postmaster@")
    got = parse(raw)
    assert (got.automatic, got.bounced) == ("bounce", ["staff_welfare@pref.example.jp"])


def test_a_read_receipt_is_no_bounce():
    body = "--b\nContent-Type: text/plain\n\n開封されました。\n--b\nContent-Type: message/disposition-notification\n\nx\n--b--\n"
    got = parse(
        mail("Subject: 開封済み: 相談\n", body, 'multipart/report; report-type=disposition-notification; boundary="b"')
    )
    assert (got.automatic, got.bounced) == ("receipt", [])


@pytest.mark.parametrize(
    ("subject", "looks"),
    [
        # Consultations whose subject merely starts with the word: a person's mail.
        ("自動応答 チャットボット導入の相談", False),
        ("不在 連絡の電子化について", False),
        ("休暇 申請のシステム化", False),
        ("Auto reply 機能", False),
        ("自動応答の設定方法", False),
        # The forms auto-replies write: held for a person, never dropped.
        ("自動応答: [2026-00042] 相談", True),
        ("自動応答：相談", True),
        ("不在: 相談", True),
        ("不在通知： 相談", True),
        ("Automatic reply: 相談", True),
        ("Out of Office: 相談", True),
        ("AutoReply: 相談", True),
        ("Auto-Reply: 相談", True),
        ("【自動返信】お問い合わせありがとうございます", True),
    ],
)
def test_a_subject_alone_never_makes_mail_automatic(subject, looks):
    got = parse(mail(f"Subject: {subject}\n"))
    assert (got.automatic, got.looks_automatic) == (None, looks)
    assert got.subject == subject


def test_a_real_auto_reply_is_automatic_and_not_only_looks_so():
    got = parse(mail("Subject: 自動応答: 相談\nAuto-Submitted: auto-replied\n"))
    assert (got.automatic, got.looks_automatic) == ("out-of-office", False)
    got = parse(mail("Subject: 休暇 申請のシステム化\nPrecedence: bulk\n"))  # as before: a header signal
    assert (got.automatic, got.looks_automatic) == ("out-of-office", False)


POSTFIX = (
    "mx.pref.example.jp; spf=pass (sender SPF authorized) smtp.mailfrom=pref.example.jp; dkim=pass (2048-bit key)"
    " header.d=pref.example.jp header.i=@pref.example.jp header.b=abc; dmarc=pass (p=none dis=none)"
    " header.from=pref.example.jp"
)
EXCHANGE = (
    "spf=pass (sender IP is 192.0.2.1) smtp.mailfrom=pref.example.jp; dkim=none (message not signed)"
    " header.d=none;dmarc=pass action=none header.from=pref.example.jp;compauth=pass reason=100"
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (
            POSTFIX,
            Authentication(
                "mx.pref.example.jp", "pass", "pass", "pass", "pref.example.jp", ("pref.example.jp",), "pref.example.jp"
            ),
        ),
        (EXCHANGE, Authentication("", "pass", "none", "pass", "pref.example.jp", (), "pref.example.jp")),
        # Folded as OpenDKIM and OpenDMARC write theirs, upper case, an address as mailfrom.
        (
            "MX.Pref.Example.JP;\r\n\tdkim=pass (1024-bit key; unprotected) header.d=City.Example.JP\r\n"
            "\theader.i=@city.example.jp header.a=rsa-sha256 header.s=sel header.b=Xy1z;\r\n"
            "\tdkim=pass header.i=@Lg.Example.JP; dkim=fail (bad signature) header.d=evil.example;\r\n"
            "\tspf=softfail (domain of transitioning x@y does not designate) smtp.mailfrom=Staff@Sub.Example.JP",
            Authentication(
                "mx.pref.example.jp", "softfail", "pass", "", "sub.example.jp", ("city.example.jp", "lg.example.jp"), ""
            ),
        ),
        # An empty MAIL FROM: the HELO name's; a quoted value; a version after the id.
        (
            'mx.example 1; spf=none smtp.mailfrom=<> smtp.helo=Relay.Example.COM; dmarc=fail header.from="Example.COM"',
            Authentication("mx.example", "none", "", "fail", "relay.example.com", (), "example.com"),
        ),
        ("mx (comment; spf=pass); none", Authentication("mx")),
        ("", Authentication("")),
        ("garbage without semicolons", Authentication("garbage")),
        (
            "mx; dkim=fail header.d=a.jp; dkim=pass header.d=b.jp; spf=none",
            Authentication("mx", "none", "pass", "", "", ("b.jp",)),
        ),
    ],
)
def test_authentication_results(value, expected):
    assert authentication(value) == expected


def test_every_authentication_results_header_is_kept_topmost_first():
    raw = mail(
        "Subject: x\nAuthentication-Results: a.jp; spf=fail\nAuthentication-Results: b.jp; dkim=pass header.d=B.jp\n"
        f"Authentication-Results: {EXCHANGE}\n"
    )
    got = [(a.authserv_id, a.spf, a.dkim, a.dkim_domains, a.dmarc) for a in parse(raw).authentication]
    assert got == [("a.jp", "fail", "", (), ""), ("b.jp", "", "pass", ("b.jp",), ""), ("", "pass", "none", (), "pass")]
