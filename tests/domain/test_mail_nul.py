"""NUL and other control characters in a received mail: a PostgreSQL text column cannot hold
NUL, and a mail failing the intake on it each run would block the mailbox. Each mail here is
built as bytes, as it comes off the wire."""

from __future__ import annotations

import base64
import hashlib

from swat.domain.mail_parse import parse

HEAD = b"From: =?UTF-8?B?5bGx55Sw?= <staff_health@pref.example.jp>\r\nTo: swat-desk@pref.example.jp\r\n"
TYPE = b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"


def mail(headers: bytes, body: bytes = "相談です。\r\n".encode(), head: bytes = HEAD) -> bytes:
    return head + headers + TYPE + body


def digest_id(raw: bytes) -> str:
    return "sha256." + hashlib.sha256(raw).hexdigest() + "@swat-desk.invalid"


def test_a_message_id_with_a_nul_or_a_control_character_or_whitespace_gives_the_digest_id():
    for value in (b"<abc\x00@pref.example.jp>", b"<abc\x01@pref.example.jp>", b"<abc\x7f@x>", b"<ab c@x>"):
        raw = mail(b"Subject: x\r\nMessage-ID: " + value + b"\r\n")
        assert parse(raw).message_id == digest_id(raw), value
    for value in (b"<ab\x00c@x>\x00", b"abc\x00@x", b"\x00"):
        raw = mail(b"Subject: x\r\nMessage-ID: " + value + b"\r\n")
        assert parse(raw).message_id == digest_id(raw), value
    assert parse(mail(b"Message-ID: <ok.1@pref.example.jp> (mx)\r\n")).message_id == "ok.1@pref.example.jp"


def test_ids_with_control_characters_are_dropped_from_in_reply_to_and_references():
    raw = mail(
        b"Message-ID: <m@x>\r\nIn-Reply-To: <bad\x00@x> <swat.2026-00042.n5@pref.example.jp>\r\n"
        b"References: <swat.2026-00042@pref.example.jp>\r\n <a\x1fb@x> <c\x00@x>\r\n\t<d@x>\r\n"
    )
    got = parse(raw)
    assert got.in_reply_to == ["<swat.2026-00042.n5@pref.example.jp>"]
    assert got.references == ["<swat.2026-00042@pref.example.jp>", "<d@x>"]
    assert parse(mail(b"In-Reply-To: bad\x00@x, good@x\r\n")).in_reply_to == ["<good@x>"]


def test_a_from_address_with_a_control_character_gives_no_sender():
    for address in (b"staff_health\x00@pref.example.jp", b"staff\x01health@pref.example.jp", b"\x00"):
        got = parse(mail(b"Subject: x\r\n", head=b"From: =?UTF-8?B?5bGx55Sw?= <" + address + b">\r\n"))
        assert (got.sender, got.sender_name) == ("", "山田"), address
    got = parse(mail(b"Subject: x\r\n", head=b"From: staff_health@pref.example.jp\x00\r\n"))
    assert got.sender == ""


def test_no_text_of_the_mail_holds_a_nul_or_a_control_character():
    body = (
        b"--m\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n"
        + "相談\x00です。\x0b\r\n\tタブは残ります。\x1b\x7f\r\n\r\n> 引用\x00\r\n".encode()
        + b"--m\r\nContent-Type: application/pdf\r\n"
        b'Content-Disposition: attachment; filename="=?UTF-8?B?'
        + base64.b64encode("申請\x00書.pdf".encode())
        + b'?="\r\n\r\n%PDF\x00\r\n'
        b"--m\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Disposition: attachment;\r\n"
        b" filename*=UTF-8''memo%00%01.txt\r\n\r\nmemo\r\n--m--\r\n"
    )
    raw = (
        b"From: =?UTF-8?B?" + base64.b64encode("山田\x00花子".encode()) + b"?= <a@pref.example.jp>\r\n"
        b"Subject: =?UTF-8?B?" + base64.b64encode("相談\x00の件\x01".encode()) + b"?=\r\n"
        b"Message-ID: <nul@x>\r\n"
        b"Authentication-Results: mx.pref.example.jp\x00; spf=pass\x00 smtp.mailfrom=pref\x00.example.jp;\r\n"
        b" dkim=pass header.d=pref.example.jp\x00; dmarc=pass header.from=pref.example.jp\r\n"
        b'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="m"\r\n\r\n' + body
    )
    got = parse(raw)
    assert got.subject == "相談の件"
    assert got.sender_name == "山田花子"
    assert got.text == "相談です。\n\tタブは残ります。\n\n> 引用"
    assert got.reply_text == "相談です。\n\tタブは残ります。"
    assert [f.filename for f in got.files] == ["申請書.pdf", "memo.txt"]
    assert got.files[0].data == b"%PDF\x00"  # a file's bytes are the file's: kept as they are
    [auth] = got.authentication
    # An id or a domain holding a control character is none: no trusted server wrote it.
    assert (auth.authserv_id, auth.spf, auth.dkim, auth.dmarc) == ("", "pass", "pass", "pass")
    assert (auth.spf_domain, auth.dkim_domains, auth.header_from) == ("", (), "pref.example.jp")
    assert "\x00" not in repr(got).replace(repr(got.files[0].data), "")


def test_a_nul_in_a_raw_8bit_subject_and_in_base64_text():
    raw = (
        mail(
            b"Subject: NUL\x00\xe5\x85\xa5\xe3\x82\x8a\r\nMessage-ID: <m@x>\r\n",
        )
        .replace(b"8bit", b"base64")
        .replace("相談です。\r\n".encode(), base64.encodebytes("本文\x00です。\x00".encode()))
    )
    got = parse(raw)
    assert (got.subject, got.text, got.reply_text) == ("NUL入り", "本文です。", "本文です。")
    assert (got.message_id, got.sender) == ("m@x", "staff_health@pref.example.jp")
