"""parse() as a whole: never raises, and the rules that sit between the decoders."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path

import pytest

from swat.domain.mail_parse import ParsedMail, parse

CORPUS = Path(__file__).resolve().parents[1] / "mail"


def well_formed(mail: ParsedMail) -> None:
    """What the filing service relies on, whatever the input."""
    assert isinstance(mail, ParsedMail)
    assert mail.message_id and "\x00" not in mail.text
    for text in (mail.subject, mail.sender_name, mail.text, mail.reply_text, *(f.filename for f in mail.files)):
        text.encode("utf-8")  # no lone surrogates
    assert mail.text == mail.text.rstrip() and "\r" not in mail.text
    assert mail.date is None or mail.date.tzinfo is UTC
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
