"""The new part of a reply: what each mailer's quoting and each signature style leave."""

from __future__ import annotations

import pytest

from swat.domain.mail_html import html_to_text
from swat.domain.mail_trim import Trimmed, reply_text, trim

NEW = "設定を変更しました。\n確認をお願いします。"


@pytest.mark.parametrize(
    "history",
    [
        "> 以前の本文\n> 二行目",
        "On Thu, Dec 3, 2026 at 10:00 AM Suzuki <agent@pref.example.jp> wrote:\n\n> 以前の本文",
        "On Thu, Dec 3, 2026 at 10:00 AM Suzuki <\nagent@pref.example.jp> wrote:\n> 以前の本文",
        "2026年12月3日(木) 10:00 鈴木 <agent@pref.example.jp>:\n\n> 以前の本文",
        "2026/12/03 10:00 鈴木 さんは書きました:\n＞ 以前の本文",
        "-----Original Message-----\nFrom: 鈴木\nSent: Thursday\nTo: 山田\nSubject: 件名\n\n以前の本文",
        "-----元のメッセージ-----\n差出人: 鈴木\n送信日時: 2026年12月3日\n宛先: 山田\n件名: 件名\n\n以前の本文",
        "From: 鈴木 <agent@pref.example.jp>\nSent: Thursday, December 3, 2026 10:00\nTo: 山田\nSubject: x\n\n以前",
        "差出人： 鈴木\n送信日時： 2026年12月3日 10:00\n宛先： 山田\n件名： 件名\n\n以前の本文",
        "________________________________\nFrom: 鈴木\nSent: Thursday\nTo: 山田\n\n以前の本文",
        "---------- Forwarded message ---------\nFrom: 鈴木\n\n以前の本文",
        "---------- 転送メッセージ ----------\n差出人: 鈴木\n\n以前の本文",
    ],
)
def test_quoted_history_is_trimmed(history):
    assert reply_text(f"{NEW}\n\n{history}\n") == NEW


def test_answers_written_between_quoted_lines_stay():
    text = "鈴木様\n\n2026年12月3日(木) 10:00 鈴木 <agent@pref.example.jp>:\n> 質問1\n回答1です。\n> 質問2\n回答2です。"
    assert reply_text(text) == "鈴木様\n\n回答1です。\n回答2です。"


def test_a_bottom_posted_answer_stays():
    text = "On Thu, Dec 3, 2026 at 10:00 AM Suzuki <a@b.jp> wrote:\n> 質問\n\n回答です。"
    assert reply_text(text) == "回答です。"


@pytest.mark.parametrize(
    "signature",
    [
        "-- \n山田花子\n健康医療部",
        "━━━━━━━━━━━━\n大阪府 健康医療部\n山田 花子\nTEL：06-0000-0000\n━━━━━━━━━━━━",
        "＝＝＝＝＝＝＝＝＝＝\n山田 花子\n＝＝＝＝＝＝＝＝＝＝",
        "――――――――――\n山田 花子",
        "********************\n山田 花子\n内線 1234",
        "-----------------------------\n健康医療部 山田",
        "■□■□■□■□■□■□\n健康医療部 山田\n■□■□■□■□■□■□",
    ],
)
def test_signatures_are_trimmed(signature):
    assert reply_text(f"{NEW}\n\n{signature}\n") == NEW


def test_a_long_block_after_a_delimiter_is_text_not_a_signature():
    body = NEW + "\n\n━━━━━━━━━━\n" + "\n".join(f"手順{i}を実施しました。" for i in range(12))
    assert reply_text(body) == body


def test_a_forward_keeps_the_forwarded_consultation():
    text = "対応をお願いします。\n\n---------- Forwarded message ---------\nFrom: 府民\n\n問い合わせ本文"
    for subject in ("Fwd: 問い合わせ", "FW: 問い合わせ", "転送: 問い合わせ", "Fw：問い合わせ"):
        assert reply_text(text, subject) == text
    assert reply_text(text, "Re: 問い合わせ") == "対応をお願いします。"


def test_trimming_that_would_leave_nothing_leaves_everything():
    assert reply_text("> 引用だけ\n> です") == "> 引用だけ\n> です"
    assert reply_text("-- \n署名だけ") == "-- \n署名だけ"
    assert reply_text("") == ""


def test_html_reads_as_its_text():
    html = (
        "<html><head><style>p{margin:0}</style><script>x()</script></head><body>"
        "<p>山田様</p><p>&nbsp;</p><p>お世話に&amp;<b>なって</b>おります&#12290;</p>"
        "<div>一行目<br>二行目</div><div><br></div><div>三行目</div>"
        "<blockquote>引用<br>です</blockquote><pre>  整形\n  済み</pre></body></html>"
    )
    assert html_to_text(html) == (
        "山田様\n\nお世話に&なっております。\n一行目\n二行目\n\n三行目\n> 引用\n> です\n  整形\n  済み"
    )
    assert html_to_text("<p>unclosed <b>bold") == "unclosed bold"
    assert html_to_text("<<<>>>&bogus;") == "<<<>>>&bogus;"


def test_trim_says_when_nothing_new_was_left():
    assert trim("> 引用だけ\n> です") == Trimmed("> 引用だけ\n> です", True)
    assert trim("-- \n署名だけ") == Trimmed("-- \n署名だけ", True)
    assert trim("回答です。\n\n> 引用") == Trimmed("回答です。", False)
    assert trim("> 転送の引用", "Fwd: 相談") == Trimmed("> 転送の引用", False)
    assert trim("") == Trimmed("", False)
