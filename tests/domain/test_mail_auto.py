"""Machine-written mail: which code each kind gets, whom a bounce bounced for, and what
Authentication-Results said."""

from __future__ import annotations

import pytest

from swat.domain.mail_auto import CODES, authentication
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
        ("Subject: 自動応答: 相談\n", "out-of-office"),
        ("Subject: 不在: 相談\n", "out-of-office"),
        ("Subject: Automatic reply: 相談\n", "out-of-office"),
        ("Subject: Out of Office: 相談\n", "out-of-office"),
        ("Subject: Abwesend: Beratung\n", "out-of-office"),
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
    ("value", "result"),
    [
        ("mx.pref.example.jp; spf=pass smtp.mailfrom=x; dkim=pass header.d=x", ("mx.pref.example.jp", "pass", "pass")),
        ("MX.example 1; SPF=SoftFail (sender not allowed) smtp.mailfrom=x", ("mx.example", "softfail", "")),
        ("mx; dkim=fail header.d=a; dkim=pass header.d=b; spf=none", ("mx", "none", "pass")),
        ("mx (comment; spf=pass); none", ("mx", "", "")),
        ("", ("", "", "")),
        ("garbage without semicolons", ("garbage", "", "")),
    ],
)
def test_authentication_results(value, result):
    assert authentication(value) == result


def test_every_authentication_results_header_is_kept():
    raw = mail("Subject: x\nAuthentication-Results: a.jp; spf=fail\nAuthentication-Results: b.jp; dkim=pass\n")
    got = [(a.authserv_id, a.spf, a.dkim) for a in parse(raw).authentication]
    assert got == [("a.jp", "fail", ""), ("b.jp", "", "pass")]
