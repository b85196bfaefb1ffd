"""Japanese charsets as real mail writes them, one class of characters at a time."""

from __future__ import annotations

import base64

import pytest

from swat.domain.mail_charset import decode, decode_euc, decode_jis
from swat.domain.mail_header import decode_header, decode_param, message_ids, parse_address

ESC_KANJI, ESC_ASCII, ESC_KANA = b"\x1b$B", b"\x1b(B", b"\x1b(I"


@pytest.mark.parametrize(
    ("jis", "text"),
    [
        (ESC_KANJI + b"$3$s$K$A$O" + ESC_ASCII, "こんにちは"),  # JIS X 0208
        (ESC_KANJI + b"-!-j-_-b" + ESC_ASCII, "①㈱㍻№"),  # NEC special characters, row 13
        (ESC_KANJI + b"|byu" + ESC_ASCII, "髙﨑"),  # NEC-selected IBM extended kanji, rows 89-92
        (ESC_KANJI + b"!A" + ESC_ASCII, "～"),  # as Windows reads it (CP50220), not U+301C
        (ESC_KANA + b"1236" + ESC_ASCII, "ｱｲｳｶ"),  # half-width kana after ESC ( I
        (b"VPN\x0e1236\x0f OK", "VPNｱｲｳｶ OK"),  # half-width kana between SO and SI
        (b"\x1b$@$3$s" + b"\x1b(J!", "こん!"),  # JIS C 6226-1978 and JIS X 0201 Roman
        (b"\x1b$(Q.!" + ESC_ASCII, "俱"),  # JIS X 0213 plane 1 (ISO-2022-JP-2004)
    ],
)
def test_iso_2022_jp_reads_every_class_of_characters(jis, text):
    assert decode(jis, "ISO-2022-JP") == (text, False)


def test_a_kanji_mode_left_open_over_a_line_end_still_reads():
    assert decode(ESC_KANJI + b"$3$s\r\n$K$A" + ESC_ASCII, "iso-2022-jp").text == "こん\r\nにち"


def test_shift_jis_is_read_as_cp932():
    data = "9時～17時 ①② 髙橋 ﾃｽﾄ".encode("cp932")
    assert decode(data, "Shift_JIS") == ("9時～17時 ①② 髙橋 ﾃｽﾄ", False)
    assert decode(data, "x-sjis").text == "9時～17時 ①② 髙橋 ﾃｽﾄ"


def test_euc_jp_reads_plain_nec_and_jis_x_0213_characters():
    assert decode("在宅勤務 ｱ".encode("euc_jp"), "EUC-JP") == ("在宅勤務 ｱ", False)
    assert decode_euc(b"\xad\xa1\xfc\xe2") == ("①髙", False)  # eucJP-ms / CP51932 rows
    assert decode("俱".encode("euc_jis_2004"), "euc-jp").text == "俱"


def test_a_mislabeled_charset_still_reads_and_says_so():
    assert decode("VPN接続".encode(), "iso-2022-jp") == ("VPN接続", True)
    assert decode("VPN接続".encode(), "shift_jis") == ("VPN接続", True)
    assert decode("VPN接続".encode("cp932"), "utf-8") == ("VPN接続", True)
    assert decode(ESC_KANJI + b"@\\B3" + ESC_ASCII, "utf-8") == ("接続", True)


def test_undeclared_bytes_are_guessed():
    assert decode("あいう漢字テスト".encode("euc_jp"), None).text == "あいう漢字テスト"
    assert decode("あいう漢字テスト".encode("cp932"), None).text == "あいう漢字テスト"
    assert decode("あいう".encode(), "unknown-8bit") == ("あいう", False)


def test_what_no_charset_reads_becomes_the_replacement_character():
    text, trouble = decode(b"ok \xff\xfe\xfd", "utf-8")
    assert trouble and "\ufffd" in text and text.startswith("ok")
    assert decode_jis(ESC_KANJI + b"\x7e\x7e" + ESC_ASCII) == ("\ufffd", True)
    assert decode(b"abc", "no-such-charset") == ("abc", False)


def test_encoded_words_split_mid_character_are_joined_before_decoding():
    data = "接種券".encode()
    value = f"=?UTF-8?B?{base64.b64encode(data[:4]).decode()}?=\r\n =?utf-8?b?{base64.b64encode(data[4:]).decode()}?="
    assert decode_header(value).text == "接種券"


def b_jis(text: str) -> str:
    return base64.b64encode(text.encode("iso2022_jp")).decode()


def test_encoded_words_of_every_broken_kind():
    assert decode_header(f"=?ISO-2022-JP?B?{b_jis('山')}?= a").text == "山 a"
    q = "".join(f"={b:02X}" for b in "山".encode("iso2022_jp"))
    assert decode_header(f"=?iso-2022-jp?q?{q}?=").text == "山"
    assert decode_header("=??B?6KuL5rGC?=").text == "請求"  # no charset
    assert decode_header("=?UTF-8*ja?Q?=E8=AB=8B_x?=").text == "請 x"  # RFC 2231 language
    assert decode_header("=?UTF-8?B?6KuL5rGC?=").text == "請求"  # padding present
    assert decode_header("=?UTF-8?B?6KuL5rG?=").text.startswith("請")  # truncated: no exception
    assert decode_header("Re: =?UTF-8?B?6KuL?= =?UTF-8?B?5rGC?= end").text == "Re: 請求 end"
    assert decode_header("生の件名".encode().decode("ascii", "surrogateescape")).text == "生の件名"
    sjis = "生の件名".encode("cp932").decode("ascii", "surrogateescape")
    assert decode_header(sjis) == ("生の件名", True)


def test_attachment_names_in_rfc_2231_and_rfc_2047():
    name = "申請書（案）.pdf"
    latin = name.encode().decode("latin-1")
    assert decode_param(("utf-8", "ja", latin)).text == name
    assert decode_param(f'"=?ISO-2022-JP?B?{b_jis(name)}?="').text == name
    assert decode_param(("ISO-2022-JP", "", name.encode("iso2022_jp").decode("latin-1"))).text == name


def test_addresses_and_display_names():
    assert parse_address(f'"=?ISO-2022-JP?B?{b_jis("山")}?=" <Staff_Health@Pref.Example.JP>')[:2] == (
        "山",
        "staff_health@pref.example.jp",
    )
    assert parse_address("staff_health@pref.example.jp (山田)")[:2] == ("山田", "staff_health@pref.example.jp")
    assert parse_address("Yamada, Hanako <h@pref.example.jp>")[:2] == ("Yamada, Hanako", "h@pref.example.jp")
    assert parse_address("健康医療部")[:2] == ("健康医療部", "")
    assert parse_address("<not an address>")[1] == ""
    assert parse_address("")[:2] == ("", "")


def test_message_id_lists_tolerate_what_mailers_write():
    assert message_ids("<a@x> <b@x>") == ["<a@x>", "<b@x>"]
    assert message_ids("<a@x>,<b@x>,\r\n\t<a@x>") == ["<a@x>", "<b@x>"]
    assert message_ids("a@x b@x") == ["<a@x>", "<b@x>"]
    assert message_ids("Your message of Thu, 3 Dec <a@x>") == ["<a@x>"]
    assert message_ids("garbage (none)") == []
    assert message_ids(None) == []
