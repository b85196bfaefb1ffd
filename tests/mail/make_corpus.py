"""Writes the mail corpus: NAME.eml (the bytes a client sends) and NAME.expected.json (what a
person reads in it) for every case below. Run from anywhere: `python tests/mail/make_corpus.py`
(or with a folder to write into instead of this one). The output is byte-for-byte stable.

Every expected value is written here by hand from the text the "sender" typed, never taken
from the parser. See README.md for the cases and the JSON format.
"""

from __future__ import annotations

import base64
import hashlib
import json
import quopri
import sys
from pathlib import Path

DESK = "swat-desk@pref.example.jp"
HEALTH = ("健康医療部 山田花子", "staff_health@pref.example.jp")
WELFARE = ("福祉部 佐藤一郎", "staff_welfare@pref.example.jp")
AGENT = ("スマートシティ戦略部 鈴木", "agent@pref.example.jp")
STRANGER = ("", "stranger@example.com")
DAEMON = "MAILER-DAEMON@mx.pref.example.jp"
DATE = "Thu, 03 Dec 2026 10:00:00 +0900"
DATE_UTC = "2026-12-03T01:00:00+00:00"

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
XLSX = b"PK\x03\x04\x14\x00\x06\x00" + bytes(range(256)) + b"[Content_Types].xml"
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
)
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# ---- encoders ----------------------------------------------------------------------------


def jis(text: str) -> bytes:
    """ISO-2022-JP as Outlook writes it (CP50220): JIS X 0208 with the NEC and NEC-selected
    IBM rows, half-width kana as ESC ( I; every line ends in ASCII."""
    out = bytearray()
    mode = "ascii"
    data = text.encode("cp932")
    i = 0
    while i < len(data):
        c = data[i]
        if c < 0x80:
            new, chunk, i = "ascii", bytes((c,)), i + 1
        elif 0xA1 <= c <= 0xDF:
            new, chunk, i = "kana", bytes((c - 0x80,)), i + 1
        else:
            s1, s2 = c, data[i + 1]
            i += 2
            s1 -= 0x40 if s1 >= 0xE0 else 0
            j1 = (s1 - 0x70) * 2 - (1 if s2 < 0x9F else 0)
            j2 = s2 - 0x1F if s2 < 0x7F else (s2 - 0x20 if s2 < 0x9F else s2 - 0x7E)
            new, chunk = "kanji", bytes((j1, j2))
        if new != mode:
            out += {"ascii": b"\x1b(B", "kana": b"\x1b(I", "kanji": b"\x1b$B"}[new]
            mode = new
        out += chunk
    if mode != "ascii":
        out += b"\x1b(B"
    return bytes(out)


def encode(text: str, charset: str) -> bytes:
    """Text in a charset as Japanese clients write it (Shift_JIS is really CP932)."""
    if charset.lower() == "iso-2022-jp":
        return jis(text)
    return text.encode("cp932" if charset.lower() == "shift_jis" else charset)


def word(text: str, charset: str = "UTF-8", q: bool = False) -> str:
    data = encode(text, charset)
    if q:
        return f"=?{charset}?Q?" + "".join(chr(b) if chr(b).isalnum() else f"={b:02X}" for b in data) + "?="
    return f"=?{charset}?B?{base64.b64encode(data).decode()}?="


def mailbox(who: tuple[str, str], charset: str = "ISO-2022-JP") -> str:
    name, address = who
    return f"{word(name, charset)} <{address}>" if name else address


def b64(data: bytes) -> bytes:
    return base64.encodebytes(data)


def leaf(ctype: str, body: bytes, cte: str = "7bit", extra: str = "") -> bytes:
    head = f"Content-Type: {ctype}\nContent-Transfer-Encoding: {cte}\n{extra}"
    return head.encode() + b"\n" + body


def text_part(text: str, charset: str, cte: str, subtype: str = "plain", extra: str = "") -> bytes:
    data = encode(text, charset).replace(b"\r\n", b"\n")
    body = b64(data) if cte == "base64" else quopri.encodestring(data) if cte == "quoted-printable" else data
    if not body.endswith(b"\n"):
        body += b"\n"
    return leaf(f"text/{subtype}; charset={charset}", body, cte, extra)


def multipart(subtype: str, boundary: str, parts: list[bytes], extra: str = "") -> bytes:
    out = f'Content-Type: multipart/{subtype}; boundary="{boundary}"{extra}\n\n'.encode()
    out += b"This is a multi-part message in MIME format.\n\n"
    for part in parts:
        out += f"--{boundary}\n".encode() + part + b"\n"
    return out + f"--{boundary}--\n".encode()


def message(headers: list[tuple[str, str | bytes]], body: bytes) -> bytes:
    out = b""
    for name, value in headers:
        out += name.encode() + b": " + (value if isinstance(value, bytes) else value.encode()) + b"\n"
    raw = out + b"MIME-Version: 1.0\n" + body
    return raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def std(
    subject: str, sender: tuple[str, str], msgid: str, charset: str = "ISO-2022-JP", **more: str
) -> list[tuple[str, str | bytes]]:
    headers: list[tuple[str, str | bytes]] = [
        ("From", mailbox(sender, charset if charset != "UTF-8" or not sender[0] else "UTF-8")),
        ("To", DESK),
        ("Subject", word(subject, charset) if not subject.isascii() else subject),
        ("Date", DATE),
        ("Message-ID", f"<{msgid}>"),
    ]
    headers += [(k.replace("_", "-"), v) for k, v in more.items()]
    return headers


def file_entry(filename: str, ctype: str, data: bytes, inline: bool = False) -> dict[str, object]:
    return {
        "filename": filename,
        "content_type": ctype,
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "inline": inline,
    }


def attachment(filename_header: str, ctype: str, data: bytes, disposition: str = "attachment") -> bytes:
    return leaf(ctype, b64(data), "base64", f"Content-Disposition: {disposition};\n {filename_header}\n")


CASES: dict[str, tuple[bytes, dict[str, object]]] = {}


def case(name: str, raw: bytes, subject: str, sender: tuple[str, str], text: str, **expected: object) -> None:
    text = text.rstrip()
    result: dict[str, object] = {
        "subject": subject,
        "sender": sender[1].lower(),
        "sender_name": sender[0],
        "date": DATE_UTC,
        "text": text,
        "reply_text": text,
        "files": [],
        "automatic": None,
        "bounced": [],
        "message_id": f"{name}@mail.pref.example.jp",
        "in_reply_to": [],
        "references": [],
        "authentication": [],
        "charset_trouble": False,
        "looks_automatic": False,
        "received": None,
        "nothing_new": False,
    }
    for key, value in expected.items():
        assert key in result, key
        result[key] = value
    CASES[name] = (raw, result)


def auth(authserv_id: str, **results: object) -> dict[str, object]:
    """One expected Authentication-Results entry: "" (or no domains) for what it does not say."""
    entry: dict[str, object] = {
        "authserv_id": authserv_id,
        "spf": "",
        "dkim": "",
        "dmarc": "",
        "spf_domain": "",
        "dkim_domains": [],
        "header_from": "",
    }
    for key, value in results.items():
        assert key in entry, key
        entry[key] = value
    return entry


def mid(name: str) -> str:
    return f"{name}@mail.pref.example.jp"


# ---- the cases -----------------------------------------------------------------------------


def add_people() -> None:
    """Mail persons write: charsets, multiparts, replies, forwards, files."""
    subject = "ワクチン予約チャットボットの応答について"
    body = (
        "SWATデスク ご担当者様\n\n"
        "健康医療部の山田です。\n"
        "ワクチン予約チャットボットが、夜間に「ただいま混み合っています」と応答し\n"
        "予約画面に進めないとの問い合わせが府民から届いています。\n"
        "原因と対処についてご教示ください。\n\n"
        "以上、よろしくお願いいたします。\n"
    )
    # What the desk's server prepends on arrival sits above the sender's own.
    received = [
        (
            "Received",
            "from mail.pref.example.jp (mail.pref.example.jp [192.0.2.25])\n"
            "\tby mx.pref.example.jp (Postfix) with ESMTPS id 4Zx1y2\n"
            "\tfor <swat-desk@pref.example.jp>; Thu,  3 Dec 2026 10:00:07 +0900 (JST)",
        ),
        (
            "Authentication-Results",
            "mx.pref.example.jp; spf=pass (sender SPF authorized)\n\tsmtp.mailfrom=staff_health@Pref.Example.JP;"
            " dkim=none (no sig)",
        ),
        ("Received", "from [10.0.0.5] by mail.pref.example.jp with ESMTPSA; Thu, 3 Dec 2026 10:00:01 +0900"),
    ]
    raw = message(
        received + std(subject, HEALTH, mid("iso2022jp_plain")) + [("X-Mailer", "Becky! ver. 2.81.04")],
        text_part(body, "ISO-2022-JP", "7bit"),
    )
    case(
        "iso2022jp_plain",
        raw,
        subject,
        HEALTH,
        body,
        received="2026-12-03T01:00:07+00:00",
        authentication=[
            auth("mx.pref.example.jp", spf="pass", dkim="none", spf_domain="pref.example.jp"),
        ],
    )

    subject = "ﾃﾚﾜｰｸ用VPNの接続ｴﾗｰ"
    body = "ﾃﾚﾜｰｸ中にVPNへ接続すると「ｴﾗｰ 809」と表示されます。\nｸﾗｲｱﾝﾄは最新版です。\n"
    raw = message(std(subject, WELFARE, mid("iso2022jp_kana")), text_part(body, "ISO-2022-JP", "7bit"))
    case("iso2022jp_kana", raw, subject, WELFARE, body)

    subject = "①LINE相談システムの件（㈱ベンダー）"
    body = (
        "①LINE相談システムの保守契約（㈱ベンダー、㍻30年度締結）\n"
        "②相談件数の集計（№12、℡窓口分を含む）\n"
        "③㌔・㌢など単位記号が文字化けするとのことです。\n"
    )
    raw = message(std(subject, AGENT, mid("iso2022jp_nec")), text_part(body, "ISO-2022-JP", "7bit"))
    case("iso2022jp_nec", raw, subject, AGENT, body)

    subject = "髙﨑さんのアカウント追加"
    body = "保健所の髙橋と山﨑のアカウントを追加してください。\nⅰ 髙橋 ⅱ 山﨑（昻）\n"
    raw = message(std(subject, WELFARE, mid("iso2022jp_ibm")), text_part(body, "ISO-2022-JP", "7bit"))
    case("iso2022jp_ibm", raw, subject, WELFARE, body)

    subject = "接種会場の受付時間（9時～17時）"
    body = "受付時間は9時～17時です。\n①平日 ②土日祝 のいずれも同じです。\n髙橋が担当します。\n"
    raw = message(std(subject, HEALTH, mid("shift_jis"), charset="Shift_JIS"), text_part(body, "Shift_JIS", "8bit"))
    case("shift_jis", raw, subject, HEALTH, body)

    subject = "在宅勤務端末のアップデート"
    body = "在宅勤務端末のアップデート後、メールが開けなくなりました。\n対応をお願いします。\n"
    raw = message(std(subject, WELFARE, mid("euc_jp"), charset="EUC-JP"), text_part(body, "EUC-JP", "8bit"))
    case("euc_jp", raw, subject, WELFARE, body)

    subject = "テレワーク用ノートPCの貸出について"
    body = "テレワーク用ノートPCの貸出申請は、どの様式を使えばよいでしょうか。\n急ぎではありません。\n"
    raw = message(std(subject, AGENT, mid("utf8_base64"), charset="UTF-8"), text_part(body, "UTF-8", "base64"))
    case("utf8_base64", raw, subject, AGENT, body)

    subject = "LINE相談の受付終了メッセージ = 変更依頼"
    body = "LINE相談の受付終了メッセージを変更したいです。\n文面: 「本日の受付は終了しました。」 \n"
    raw = message(std(subject, HEALTH, mid("utf8_qp"), charset="UTF-8"), text_part(body, "UTF-8", "quoted-printable"))
    case("utf8_qp", raw, subject, HEALTH, body)

    subject = "Re: [SWAT] [2026-00042] ワクチン予約チャットボットの応答について"
    new = "鈴木様\n\nご回答ありがとうございます。\n設定を変更したところ、正しく応答するようになりました。\n\n山田\n"
    quote = (
        "2026年12月3日(木) 9:30 スマートシティ戦略部 鈴木 <agent@pref.example.jp>:\n\n"
        "> 山田様\n>\n> 混雑時の応答はチャットボットの設定画面で変更できます。\n> -- \n> 鈴木\n"
    )
    html = (
        '<div dir="ltr">鈴木様<div><br></div><div>ご回答ありがとうございます。</div>'
        "<div>設定を変更したところ、正しく応答するようになりました。</div><div><br></div><div>山田</div></div>"
        '<br><div class="gmail_quote"><div dir="ltr" class="gmail_attr">2026年12月3日(木) 9:30 '
        "スマートシティ戦略部 鈴木 &lt;agent@pref.example.jp&gt;:<br></div>"
        '<blockquote class="gmail_quote">山田様<br><br>混雑時の応答はチャットボットの設定画面で変更できます。</blockquote></div>'
    )
    raw = message(
        std(
            subject,
            HEALTH,
            mid("gmail_reply"),
            charset="UTF-8",
            In_Reply_To="<swat.2026-00042.n5@pref.example.jp>",
            References="<swat.2026-00042@pref.example.jp> <swat.2026-00042.n5@pref.example.jp>",
        ),
        multipart(
            "alternative",
            "000000000000a1b2c3",
            [
                text_part(new + "\n" + quote, "UTF-8", "quoted-printable"),
                text_part(html, "UTF-8", "quoted-printable", "html"),
            ],
        ),
    )
    case(
        "gmail_reply",
        raw,
        subject,
        HEALTH,
        new + "\n" + quote,
        reply_text=new.rstrip(),
        in_reply_to=["<swat.2026-00042.n5@pref.example.jp>"],
        references=["<swat.2026-00042@pref.example.jp>", "<swat.2026-00042.n5@pref.example.jp>"],
    )

    subject = "RE: [2026-00042] テレワーク用VPNの接続について"
    new = "鈴木様\n\n福祉部の佐藤です。\nご案内の手順で接続できました。ありがとうございました。\n"
    history = (
        "\n-----Original Message-----\n"
        "From: スマートシティ戦略部 鈴木 <agent@pref.example.jp>\n"
        "Sent: Thursday, December 3, 2026 9:00 AM\n"
        "To: 福祉部 佐藤一郎 <staff_welfare@pref.example.jp>\n"
        "Subject: [2026-00042] テレワーク用VPNの接続について\n\n"
        "佐藤様\n\nVPNクライアントを再インストールしてください。\n"
    )
    html = (
        "<html><head><style>p.MsoNormal{margin:0}</style></head><body>"
        '<p class="MsoNormal">鈴木様<o:p></o:p></p><p class="MsoNormal"><o:p>&nbsp;</o:p></p>'
        '<p class="MsoNormal">福祉部の佐藤です。<o:p></o:p></p>'
        '<p class="MsoNormal">ご案内の手順で接続できました。ありがとうございました。<o:p></o:p></p>'
        "</body></html>"
    )
    raw = message(
        std(subject, WELFARE, mid("outlook_reply"), In_Reply_To="<swat.2026-00042.n9@pref.example.jp>")
        + [("X-Mailer", "Microsoft Outlook 16.0")],
        multipart(
            "alternative",
            "----=_NextPart_000_0001_01DB0000.00000000",
            [
                text_part(new + history, "ISO-2022-JP", "7bit"),
                text_part(html, "ISO-2022-JP", "quoted-printable", "html"),
            ],
        ),
    )
    case(
        "outlook_reply",
        raw,
        subject,
        WELFARE,
        new + history,
        reply_text=new.rstrip(),
        in_reply_to=["<swat.2026-00042.n9@pref.example.jp>"],
    )

    subject = "RE: LINE相談システムのログイン"
    new = "承知しました。明日再度試します。\n"
    history = (
        "\n________________________________\n"
        "差出人： スマートシティ戦略部 鈴木 <agent@pref.example.jp>\n"
        "送信日時： 2026年12月3日 9:00\n"
        "宛先： 健康医療部 山田花子 <staff_health@pref.example.jp>\n"
        "件名： LINE相談システムのログイン\n\n"
        "ブラウザのキャッシュを削除してから再度ログインしてください。\n"
    )
    raw = message(std(subject, HEALTH, mid("outlook_reply_ja")), text_part(new + history, "ISO-2022-JP", "7bit"))
    case("outlook_reply_ja", raw, subject, HEALTH, new + history, reply_text=new.rstrip())

    subject = "新型コロナ相談窓口のウェブページ"
    html = (
        '<!DOCTYPE html><html><head><meta charset="utf-8"><title>無題</title>'
        "<style>body{font-family:sans-serif}</style><script>alert('x')</script></head>"
        "<body><p>はじめまして。</p><p>府の相談窓口ページで、<b>電話番号</b>&amp;受付時間が"
        "古いままです&#12290;</p><div>掲載箇所:<br>トップ &gt; 新型コロナ &gt; 相談窓口</div>"
        "<p>&nbsp;</p><p>よろしくお願いします。</p></body></html>"
    )
    text = (
        "はじめまして。\n府の相談窓口ページで、電話番号&受付時間が古いままです。\n掲載箇所:\n"
        "トップ > 新型コロナ > 相談窓口\n\nよろしくお願いします。"
    )
    raw = message(std(subject, STRANGER, mid("html_only"), charset="UTF-8"), text_part(html, "UTF-8", "base64", "html"))
    case("html_only", raw, subject, STRANGER, text)

    subject = "チャットボットの画面表示"
    plain = "画面のスクリーンショットを貼ります。\n\n[image: 画面.png]\n\nこのボタンが押せません。\n"
    html = '<div>画面のスクリーンショットを貼ります。<br><img src="cid:ii_screen01" alt="画面.png"><br>このボタンが押せません。</div>'
    related = multipart(
        "related",
        "rel-boundary-01",
        [
            text_part(html, "UTF-8", "quoted-printable", "html"),
            leaf(
                'image/png; name="image001.png"',
                b64(PNG),
                "base64",
                'Content-ID: <ii_screen01>\nContent-Disposition: inline; filename="image001.png"\n',
            ),
        ],
    )
    raw = message(
        std(subject, AGENT, mid("inline_image"), charset="UTF-8"),
        multipart("alternative", "alt-boundary-01", [text_part(plain, "UTF-8", "base64"), related]),
    )
    case("inline_image", raw, subject, AGENT, plain, files=[file_entry("image001.png", "image/png", PNG, True)])

    name = "申請書（案）.pdf"
    encoded = "".join(f"%{b:02X}" for b in name.encode("utf-8"))
    cont = "\n ".join(
        f"filename*{i}*={'UTF-8' + chr(39) * 2 if i == 0 else ''}{encoded[i * 30 : i * 30 + 30]};"
        for i in range((len(encoded) + 29) // 30)
    )
    body = "申請書の案を添付します。ご確認ください。\n"
    raw = message(
        std("申請書（案）の送付", HEALTH, mid("attach_rfc2231"), charset="UTF-8"),
        multipart(
            "mixed",
            "mixed-2231",
            [text_part(body, "UTF-8", "base64"), attachment(cont.rstrip(";"), "application/pdf", PDF)],
        ),
    )
    case("attach_rfc2231", raw, "申請書（案）の送付", HEALTH, body, files=[file_entry(name, "application/pdf", PDF)])

    body = "申請書（案）と接種予定者一覧を添付します。\n"
    raw = message(
        std("申請書（案）と一覧", WELFARE, mid("attach_rfc2047_jis")) + [("X-Mailer", "Microsoft Outlook 16.0")],
        multipart(
            "mixed",
            "mixed-2047-jis",
            [
                text_part(body, "ISO-2022-JP", "7bit"),
                attachment(
                    f'filename="{word(name, "ISO-2022-JP")}"',
                    f'application/pdf; name="{word(name, "ISO-2022-JP")}"',
                    PDF,
                ),
                attachment(f'filename="{word("接種予定者一覧.xlsx", "ISO-2022-JP")}"', XLSX_TYPE, XLSX),
            ],
        ),
    )
    case(
        "attach_rfc2047_jis",
        raw,
        "申請書（案）と一覧",
        WELFARE,
        body,
        files=[file_entry(name, "application/pdf", PDF), file_entry("接種予定者一覧.xlsx", XLSX_TYPE, XLSX)],
    )

    data = "接種予定者一覧.xlsx".encode()
    split = f"=?UTF-8?B?{base64.b64encode(data[:8]).decode()}?=\n =?UTF-8?B?{base64.b64encode(data[8:]).decode()}?="
    body = "接種予定者一覧を送ります。\n"
    raw = message(
        std("接種予定者一覧", AGENT, mid("attach_rfc2047_utf8"), charset="UTF-8"),
        multipart(
            "mixed",
            "mixed-2047-utf8",
            [
                text_part(body, "UTF-8", "base64"),
                attachment(f'filename="{split}"', f'{XLSX_TYPE}; name="{split}"', XLSX),
            ],
        ),
    )
    case(
        "attach_rfc2047_utf8",
        raw,
        "接種予定者一覧",
        AGENT,
        body,
        files=[file_entry("接種予定者一覧.xlsx", XLSX_TYPE, XLSX)],
    )

    subject = "Fwd: LINE相談システムにログインできません"
    body = (
        "SWATデスク様\n\n府民の方から以下の問い合わせがありました。対応をお願いします。\n\n"
        "---------- Forwarded message ---------\n"
        "From: stranger@example.com\n"
        "Date: 2026年12月2日(水) 18:20\n"
        "Subject: LINE相談システムにログインできません\n"
        "To: <staff_health@pref.example.jp>\n\n"
        "LINE相談システムにログインしようとすると、エラーになります。\n"
    )
    raw = message(std(subject, HEALTH, mid("forward"), charset="UTF-8"), text_part(body, "UTF-8", "base64"))
    case("forward", raw, subject, HEALTH, body)


def add_broken() -> None:
    """Real-world breakage: raw 8-bit headers, split words, wrong labels, missing headers."""
    subject = "ワクチン接種記録システムの操作方法"
    body = "接種記録システムで、入力済みの記録を修正する方法を教えてください。\n"
    headers: list[tuple[str, str | bytes]] = [
        ("From", f"{HEALTH[0]} <{HEALTH[1]}>".encode()),
        ("To", DESK),
        ("Subject", subject.encode()),
        ("Date", DATE),
        ("Message-ID", f"<{mid('raw_utf8_headers')}>"),
    ]
    raw = message(headers, text_part(body, "UTF-8", "8bit"))
    case("raw_utf8_headers", raw, subject, HEALTH, body)

    subject = "在宅勤務の申請様式"
    body = "在宅勤務の申請様式はどこにありますか。\n"
    headers = [
        ("From", b'"' + WELFARE[0].encode("cp932") + b'" <' + WELFARE[1].encode() + b">"),
        ("To", DESK),
        ("Subject", subject.encode("cp932")),
        ("Date", DATE),
        ("Message-ID", f"<{mid('raw_sjis_headers')}>"),
    ]
    raw = message(headers, text_part(body, "Shift_JIS", "8bit"))
    case("raw_sjis_headers", raw, subject, WELFARE, body, charset_trouble=True)

    subject = "ワクチン接種券の再発行について"
    data = subject.encode()
    cut = 10  # inside the fourth character: its bytes are in both words
    folded = (
        f"=?UTF-8?B?{base64.b64encode(data[:cut]).decode()}?=\n =?UTF-8?B?{base64.b64encode(data[cut:]).decode()}?="
    )
    name = AGENT[0].encode("utf-8")
    sender = f"=?utf-8?b?{base64.b64encode(name[:5]).decode()}?= =?UTF-8?B?{base64.b64encode(name[5:]).decode()}?="
    body = "接種券の再発行の受付方法を教えてください。\n"
    headers = [
        ("From", f'"{sender}" <{AGENT[1]}>'),
        ("To", DESK),
        ("Subject", folded),
        ("Date", DATE),
        ("Message-ID", f"<{mid('split_encoded_word')}>"),
    ]
    raw = message(headers, text_part(body, "UTF-8", "base64"))
    case("split_encoded_word", raw, subject, AGENT, body)

    subject = "保健所システムの帳票"
    body = "帳票の印刷で①の欄がずれます。\n"
    q = "".join(f"={b:02X}" for b in subject.encode("cp932"))
    headers = [
        ("From", f"=??B?{base64.b64encode(HEALTH[0].encode('cp932')).decode()}?= <{HEALTH[1]}>"),
        ("To", DESK),
        ("Subject", f"=?SHIFT-JIS?q?{q}?="),
        ("Date", DATE),
        ("Message-ID", f"<{mid('odd_encoded_words')}>"),
    ]
    raw = message(headers, text_part(body, "Shift_JIS", "base64"))
    case("odd_encoded_words", raw, subject, HEALTH, body, charset_trouble=True)

    subject = "VPN接続の手順書"
    body = "VPN接続の手順書を送ってください。\n"
    raw = message(
        std(subject, WELFARE, mid("mislabeled_charset")),
        leaf("text/plain; charset=ISO-2022-JP", body.encode("utf-8"), "8bit"),
    )
    case("mislabeled_charset", raw, subject, WELFARE, body, charset_trouble=True)

    body = "接種会場の駐車場について\n" + "\ufffd\ufffd" + "\n"
    raw = message(
        std("駐車場", HEALTH, mid("undecodable_bytes"), charset="UTF-8"),
        leaf("text/plain; charset=UTF-8", "接種会場の駐車場について\n".encode() + b"\xff\xfe\n", "8bit"),
    )
    case("undecodable_bytes", raw, "駐車場", HEALTH, body, charset_trouble=True)

    body = "メッセージIDのない相談です。\n"
    headers = [("From", mailbox(STRANGER)), ("To", DESK), ("Subject", word("問い合わせ")), ("Date", DATE)]
    raw = message(headers, text_part(body, "UTF-8", "base64"))
    digest = "sha256." + hashlib.sha256(raw).hexdigest() + "@swat-desk.invalid"
    case("no_message_id", raw, "問い合わせ", STRANGER, body, message_id=digest)

    body = "日付のない相談です。\n"
    headers = [("From", mailbox(AGENT)), ("To", DESK), ("Subject", word("日付なし", "ISO-2022-JP"))]
    headers.append(("Message-ID", f"<{mid('no_date')}>"))
    raw = message(headers, text_part(body, "ISO-2022-JP", "7bit"))
    case("no_date", raw, "日付なし", AGENT, body, date=None)

    body = "差出人のアドレスがない相談です。\n"
    headers = [("From", word(HEALTH[0], "ISO-2022-JP")), ("To", DESK), ("Subject", "no address"), ("Date", DATE)]
    headers.append(("Message-ID", f"<{mid('from_without_address')}>"))
    raw = message(headers, text_part(body, "ISO-2022-JP", "7bit"))
    case("from_without_address", raw, "no address", (HEALTH[0], ""), body)

    subject = "Re: [SWAT] [2026-00042] ワクチン予約チャットボットの応答について"
    body = "追加の質問です。夜間の応答文は変更できますか。\n"
    raw = message(
        std(
            subject,
            HEALTH,
            mid("subject_tag"),
            In_Reply_To="<swat.2026-00042.n7@pref.example.jp>",
            References="<swat.2026-00042@pref.example.jp>\n <swat.2026-00042.n7@pref.example.jp>",
        ),
        text_part(body, "ISO-2022-JP", "7bit"),
    )
    case(
        "subject_tag",
        raw,
        subject,
        HEALTH,
        body,
        in_reply_to=["<swat.2026-00042.n7@pref.example.jp>"],
        references=["<swat.2026-00042@pref.example.jp>", "<swat.2026-00042.n7@pref.example.jp>"],
    )

    body = "参照ヘッダが崩れたメールです。\n"
    headers = std("Re: 参照", AGENT, mid("messy_ids"), charset="UTF-8")
    headers[-1] = ("Message-ID", f"  <{mid('messy_ids')}> (added by mx)")
    headers += [
        ("In-Reply-To", "swat.2026-00042.n7@pref.example.jp (鈴木's message)"),
        (
            "References",
            "<swat.2026-00042@pref.example.jp>,<a@b.example>\n\t<swat.2026-00042.n7@pref.example.jp>, garbage",
        ),
    ]
    raw = message(headers, text_part(body, "UTF-8", "base64"))
    case(
        "messy_ids",
        raw,
        "Re: 参照",
        AGENT,
        body,
        in_reply_to=["<swat.2026-00042.n7@pref.example.jp>"],
        references=["<swat.2026-00042@pref.example.jp>", "<a@b.example>", "<swat.2026-00042.n7@pref.example.jp>"],
    )

    new = "LINE相談の夜間受付を、12月から22時まで延長したいと考えています。\n設定変更は可能でしょうか。\n"
    sig = (
        "\n━━━━━━━━━━━━━━━━━━━━━━━━\n"
        "大阪府 健康医療部 保健医療室\n"
        "山田 花子（やまだ はなこ）\n"
        "TEL：06-0000-0000（内線1234）\n"
        "E-mail：staff_health@pref.example.jp\n"
        "━━━━━━━━━━━━━━━━━━━━━━━━\n"
    )
    raw = message(
        std("LINE相談の受付時間延長", HEALTH, mid("signature_ja")), text_part(new + sig, "ISO-2022-JP", "7bit")
    )
    case("signature_ja", raw, "LINE相談の受付時間延長", HEALTH, new + sig, reply_text=new.rstrip())

    new = "Thunderbird から送っています。この段落は一行の長い文ですが、 送信時に折り返されます。\n"
    flowed = "Thunderbird から送っています。この段落は一行の長い文ですが、 \n送信時に折り返されます。\n\n-- \n鈴木\n"
    raw = message(
        std("format=flowed", AGENT, mid("flowed"), charset="UTF-8"),
        leaf("text/plain; charset=UTF-8; format=flowed", b64(flowed.encode()), "base64"),
    )
    case("flowed", raw, "format=flowed", AGENT, new + "\n-- \n鈴木\n", reply_text=new.rstrip())


def add_machines() -> None:
    """Mail machines write: bounces, auto-replies, bulk and list mail."""
    human = (
        "This is the mail system at host mx.pref.example.jp.\n\n"
        "I'm sorry to have to inform you that your message could not\n"
        "be delivered to one or more recipients.\n\n"
        "<staff_welfare@pref.example.jp>: host mailbox.pref.example.jp[192.0.2.10] said:\n"
        "    550 5.1.1 User unknown\n"
    )
    status = (
        "Reporting-MTA: dns; mx.pref.example.jp\n"
        "Arrival-Date: Thu,  3 Dec 2026 10:00:00 +0900 (JST)\n\n"
        "Final-Recipient: rfc822; staff_welfare@pref.example.jp\n"
        "Original-Recipient: rfc822;staff_welfare@pref.example.jp\n"
        "Action: failed\n"
        "Status: 5.1.1\n"
        "Diagnostic-Code: smtp; 550 5.1.1 User unknown\n"
    )
    original = (
        f"From: SWAT Desk <{DESK}>\nTo: staff_welfare@pref.example.jp\n"
        "Subject: [2026-00042] =?ISO-2022-JP?B?GyRCMnNFeiQ3JF4kNyQ/GyhC?=\n"
        "Message-ID: <swat.2026-00042.n7@pref.example.jp>\n"
    )
    raw = message(
        [
            ("From", "MAILER-DAEMON@mx.pref.example.jp (Mail Delivery System)"),
            ("To", DESK),
            ("Subject", "Undelivered Mail Returned to Sender"),
            ("Date", DATE),
            ("Message-ID", f"<{mid('bounce_dsn')}>"),
            ("Auto-Submitted", "auto-replied"),
        ],
        multipart(
            "report",
            "bounce-dsn-01",
            [
                leaf("text/plain; charset=us-ascii", human.encode(), "7bit", "Content-Description: Notification\n"),
                leaf("message/delivery-status", status.encode(), "7bit"),
                leaf("text/rfc822-headers", original.encode(), "7bit"),
            ],
            extra="; report-type=delivery-status",
        ),
    )
    case(
        "bounce_dsn",
        raw,
        "Undelivered Mail Returned to Sender",
        ("Mail Delivery System", DAEMON.lower()),
        human,
        automatic="bounce",
        bounced=["staff_welfare@pref.example.jp"],
    )

    text = (
        "Hi. This is the qmail-send program at mx.example.com.\n"
        "I'm afraid I wasn't able to deliver your message to the following addresses.\n"
        "This is a permanent error; I've given up. Sorry it didn't work out.\n\n"
        "<stranger@example.com>:\nSorry, no mailbox here by that name. (#5.1.1)\n\n"
        "--- Below this line is a copy of the message.\n\n"
        f"Return-Path: <{DESK}>\nFrom: {DESK}\nTo: stranger@example.com\nSubject: [2026-00043] reply\n"
    )
    raw = message(
        [
            ("From", "MAILER-DAEMON@mx.example.com"),
            ("To", DESK),
            ("Subject", "failure notice"),
            ("Date", DATE),
            ("Message-ID", f"<{mid('bounce_qmail')}>"),
        ],
        leaf("text/plain; charset=us-ascii", text.encode(), "7bit"),
    )
    case(
        "bounce_qmail",
        raw,
        "failure notice",
        ("", "mailer-daemon@mx.example.com"),
        text,
        reply_text=text.split("\n\n---", 1)[0],
        automatic="bounce",
        bounced=["stranger@example.com"],
    )

    subject = "自動応答: [2026-00042] ワクチン予約チャットボットの応答について"
    body = "12月3日から12月7日まで不在にしております。\n急ぎの場合は福祉部総務課までご連絡ください。\n"
    raw = message(
        std(subject, WELFARE, mid("auto_reply_ja"), X_Auto_Response_Suppress="All"),
        text_part(body, "ISO-2022-JP", "7bit"),
    )
    case("auto_reply_ja", raw, subject, WELFARE, body, automatic="out-of-office")

    subject = "Re: [2026-00042] ワクチン予約チャットボットの応答について"
    body = "このメールは自動送信されています。お問い合わせを受け付けました。\n"
    raw = message(
        std(subject, AGENT, mid("auto_submitted"), charset="UTF-8", Auto_Submitted="auto-replied (vacation)"),
        text_part(body, "UTF-8", "base64"),
    )
    case("auto_submitted", raw, subject, AGENT, body, automatic="out-of-office")

    subject = "【府庁メールマガジン】12月号"
    body = "府庁メールマガジン12月号をお届けします。\n"
    raw = message(
        std(subject, STRANGER, mid("precedence_bulk"), charset="UTF-8", Precedence="bulk"),
        text_part(body, "UTF-8", "base64"),
    )
    case("precedence_bulk", raw, subject, STRANGER, body, automatic="precedence")

    subject = "[ict-users:0123] VPN 保守のお知らせ"
    body = "今夜22時からVPNの保守作業を行います。\n"
    raw = message(
        std(subject, AGENT, mid("mailing_list"), charset="UTF-8", List_Id="<ict-users.pref.example.jp>"),
        text_part(body, "UTF-8", "base64"),
    )
    case("mailing_list", raw, subject, AGENT, body, automatic="list")


def main() -> None:
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent
    folder.mkdir(parents=True, exist_ok=True)
    add_people()
    add_broken()
    add_machines()
    for name, (raw, expected) in sorted(CASES.items()):
        (folder / f"{name}.eml").write_bytes(raw)
        text = json.dumps(expected, ensure_ascii=False, indent=1) + "\n"
        (folder / f"{name}.expected.json").write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
