"""Mentions in a message: @ a desk member, # a consultation, found in the text as typed."""

from hypothesis import given
from hypothesis import strategies as st

from swat.domain.mentions import mentioned, pieces, referenced


def test_names_end_where_a_name_cannot_go_on_and_sentence_marks_are_not_theirs():
    text = "@tanaka 確認お願いします。@suzuki.ichiro、＠sato. と @tanaka にも"
    assert mentioned(text) == ["tanaka", "suzuki.ichiro", "sato"]


def test_an_address_or_a_word_with_an_at_inside_is_not_a_mention():
    assert mentioned("連絡先 someone@pref.example.jp まで") == []
    assert mentioned("a@b @ @- ") == []


def test_consultation_numbers_with_a_half_or_full_width_hash():
    assert referenced("#2026-00042 と ＃2025-12345、#2026-000123") == ["2026-00042", "2025-12345", "2026-000123"]
    assert referenced("No#2026-00042 #2026-0004 #2026-00042-1 #20260-00042") == []


def test_pieces_cut_the_text_and_give_it_back_whole():
    text = "@agent2 さん、#2026-00042 の件です。@agent2."
    got = list(pieces(text))
    assert [(p.kind, p.value) for p in got if p.kind != "text"] == [
        ("member", "agent2"),
        ("ticket", "2026-00042"),
        ("member", "agent2"),
    ]
    assert "".join(p.raw for p in got) == text
    assert [p.kind for p in pieces(text, members=False)] == ["text", "ticket", "text"]


@given(st.text(alphabet=st.sampled_from(list("@＠#＃-._ab12 あ\n0")), max_size=40))
def test_any_text_comes_back_whole(text):
    assert "".join(p.raw for p in pieces(text)) == text
