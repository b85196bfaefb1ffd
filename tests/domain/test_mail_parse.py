"""parse() as a whole: never raises, and the rules that sit between the decoders."""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from swat.domain.mail_parse import ParsedMail, parse

CORPUS = Path(__file__).resolve().parents[1] / "mail"


CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # what no text of a parsed mail holds (\t and \n may be)


def texts(mail: ParsedMail) -> list[str]:
    """Every text of a parsed mail that the intake stores."""
    found = [mail.subject, mail.sender_name, mail.text, mail.reply_text]
    found += [t for f in mail.files for t in (f.filename, f.content_type)]
    for a in mail.authentication:
        found += [a.authserv_id, a.spf, a.dkim, a.dmarc, a.spf_domain, a.header_from, *a.dkim_domains]
    return found


def well_formed(mail: ParsedMail) -> None:
    """What the filing service relies on, whatever the input."""
    assert isinstance(mail, ParsedMail)
    assert mail.message_id and not re.search(r"[\x00-\x20\x7f]", mail.message_id)
    assert not re.search(r"[\x00-\x20\x7f]", mail.sender + "".join(mail.in_reply_to + mail.references + mail.bounced))
    for text in texts(mail):
        assert not CONTROL.search(text), text
        text.encode("utf-8")  # no lone surrogates
    assert mail.text == mail.text.rstrip() and "\r" not in mail.text
    assert mail.date is None or mail.date.tzinfo is UTC
    assert mail.received is None or mail.received.tzinfo is UTC
    assert all(i.startswith("<") and i.endswith(">") for i in mail.in_reply_to + mail.references)


@pytest.mark.parametrize("name", ["outlook_reply", "attach_rfc2231", "bounce_dsn", "iso2022jp_ibm"])
def test_every_prefix_of_a_mail_parses(name):
    raw = (CORPUS / f"{name}.eml").read_bytes()
    for end in range(len(raw) + 1):
        well_formed(parse(raw[:end]))


def test_random_bytes_and_damaged_mail_parse():
    rng = random.Random(20261203)
    samples = [(CORPUS / f"{n}.eml").read_bytes() for n in ("gmail_reply", "inline_image", "shift_jis", "euc_jp")]
    for _ in range(300):
        well_formed(parse(rng.randbytes(rng.randrange(0, 2000))))
    for _ in range(1500):
        raw = bytearray(rng.choice(samples))
        for _ in range(rng.randrange(1, 20)):
            raw[rng.randrange(len(raw))] = rng.randrange(256)
        well_formed(parse(bytes(raw)))
    for nasty in (
        b"",
        b"\r\n\r\n",
        b"Content-Type: multipart/mixed; boundary=x\r\n\r\n"
        + b"--x\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n" * 200,
        b"Subject: =?UTF-8?B?" + b"A" * 100000 + b"?=\r\n\r\nx",
        b"From: " + b"<" * 5000 + b"\r\n\r\n",
        b"Date: Thu, 03 Dec 99999 10:00:00 +9999\r\n\r\n",
        b'Content-Type: text/plain; charset="\xff\xfe"\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!@@@',
        b"Content-Type: message/rfc822\r\n\r\nContent-Type: multipart/alternative; boundary=\r\n\r\n--\r\n",
        bytes(range(256)) * 8,
        b"Subject: \x00\x01\r\nFrom: \x00 <\x00@\x00>\r\nReceived: x; \x00\r\n\r\n\x00\x0b\x0c\x1b\x7f",
    ):
        well_formed(parse(nasty))


def raw(headers: str, body: bytes = b"", ctype: str = "text/plain; charset=UTF-8") -> bytes:
    head = (
        f"From: a@pref.example.jp\r\nMessage-ID: <m@x>\r\n{headers}MIME-Version: 1.0\r\nContent-Type: {ctype}\r\n\r\n"
    )
    return head.encode() + body


@pytest.mark.parametrize(
    ("value", "when"),
    [
        ("Thu, 03 Dec 2026 10:00:00 +0900", datetime(2026, 12, 3, 1, tzinfo=UTC)),
        ("Thu, 3 Dec 2026 01:00:00 -0000", datetime(2026, 12, 3, 1, tzinfo=UTC)),
        ("3 Dec 2026 10:00 JST", datetime(2026, 12, 3, 1, tzinfo=UTC)),
        ("Thu, 03 Dec 2026 10:00:00 GMT", datetime(2026, 12, 3, 10, tzinfo=UTC)),
        ("2026/12/03 10:00", None),
        ("", None),
    ],
)
def test_the_date_is_utc_or_none(value, when):
    assert parse(raw(f"Date: {value}\r\n")).date == when


def test_an_empty_plain_alternative_gives_way_to_the_html():
    body = (
        b"--a\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n \r\n"
        b"--a\r\nContent-Type: text/html; charset=UTF-8\r\n\r\n<p>\xe6\x9c\xac\xe6\x96\x87</p>\r\n--a--\r\n"
    )
    assert parse(raw("", body, 'multipart/alternative; boundary="a"')).text == "本文"


def test_which_parts_are_inline_images_and_which_are_files():
    png = b"Content-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n"
    body = (
        b"--m\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\nhello\r\n"
        b"--m\r\nContent-Type: image/png\r\nContent-ID: <c1>\r\n" + png + b"--m\r\nContent-Type: image/png\r\n"
        b"Content-ID: <c2>\r\nContent-Disposition: attachment; filename=a.png\r\n" + png + b"--m\r\n"
        b'Content-Type: text/plain; name="memo.txt"\r\n\r\nmemo\r\n'
        b"--m\r\nContent-Type: message/rfc822\r\n\r\nSubject: =?UTF-8?B?5YWD?=\r\n\r\ninner\r\n--m--\r\n"
    )
    got = parse(raw("", body, 'multipart/mixed; boundary="m"'))
    assert got.text == "hello"
    assert [(f.filename, f.content_type, f.inline) for f in got.files] == [
        ("file.png", "image/png", True),
        ("a.png", "image/png", False),
        ("memo.txt", "text/plain", False),
        ("元.eml", "message/rfc822", False),
    ]
    assert got.files[0].data == b"\x89PNG\r\n\x1a\n"


def test_a_filename_loses_its_folders_and_control_characters():
    body = b'--m\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename="C:\\\\Users\\\\x\\\\a\x01b.pdf"\r\n\r\n%PDF\r\n--m--\r\n'
    assert [f.filename for f in parse(raw("", body, 'multipart/mixed; boundary="m"')).files] == ["a b.pdf"]


def test_charset_trouble_says_when_a_guess_or_replacement_was_needed():
    assert parse(raw("Subject: ok\r\n", "本文".encode())).charset_trouble is False
    assert parse(raw("Subject: ok\r\n", "本文".encode("cp932"))).charset_trouble is True
    assert parse(raw("Subject: ok\r\n", b"\xff\xfe\xfd\xfc")).charset_trouble is True


@pytest.mark.parametrize(
    ("received", "when"),
    [
        # Postfix: the date after the last ";", a comment after it.
        (
            "from mail.pref.example.jp (mail.pref.example.jp [192.0.2.25])\r\n\tby mx.pref.example.jp (Postfix)"
            " with ESMTPS id 4Zx1y2\r\n\tfor <swat-desk@pref.example.jp>; Thu,  3 Dec 2026 10:00:07 +0900 (JST)",
            datetime(2026, 12, 3, 1, 0, 7, tzinfo=UTC),
        ),
        # Exchange Online: a ";" inside the value before the date's.
        (
            "from TY0PR01MB0000.jpnprd01.prod.outlook.com (2603:1096:400::1) by\r\n OS0PR01MB0000.outlook.com"
            " with HTTPS; Thu, 3 Dec 2026 01:00:05 +0000",
            datetime(2026, 12, 3, 1, 0, 5, tzinfo=UTC),
        ),
        ("from a by b; 3 Dec 2026 10:00 JST", datetime(2026, 12, 3, 1, tzinfo=UTC)),
        ("from a by b; yesterday", None),
        ("from a by b with ESMTP", None),
    ],
)
def test_received_is_the_date_of_the_topmost_received_header(received, when):
    below = "Received: from c by a; Wed, 2 Dec 2026 10:00:00 +0900\r\n"
    got = parse(raw(f"Received: {received}\r\n{below}Date: Thu, 03 Dec 2026 09:00:00 +0900\r\n"))
    assert got.received == when
    assert got.date == datetime(2026, 12, 3, 0, tzinfo=UTC)


def test_without_a_received_header_received_is_none():
    assert parse(raw("Date: Thu, 03 Dec 2026 09:00:00 +0900\r\n")).received is None


QUOTE = "2026年12月3日(木) 9:00 鈴木 <agent@pref.example.jp>:\r\n\r\n> 佐藤様\r\n>\r\n> 再起動してください。\r\n"


def test_a_reply_with_nothing_new_says_so():
    got = parse(raw("Subject: Re: [2026-00042] VPN\r\n", QUOTE.encode()))
    assert got.nothing_new is True
    assert got.reply_text == got.text == QUOTE.replace("\r\n", "\n").rstrip()
    got = parse(raw("Subject: Re: [2026-00042] VPN\r\n", ("再起動で直りました。\r\n\r\n" + QUOTE).encode()))
    assert (got.nothing_new, got.reply_text) == (False, "再起動で直りました。")


def test_a_forward_or_an_empty_mail_is_not_nothing_new():
    got = parse(raw("Subject: Fwd: VPN\r\n", QUOTE.encode()))
    assert (got.nothing_new, got.reply_text) == (False, got.text)
    assert parse(raw("Subject: Re: VPN\r\n", b"")).nothing_new is False
