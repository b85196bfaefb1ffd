"""The one folding, the tokens and what a query means (swat/domain/search.py)."""

from __future__ import annotations

import pytest

from swat.domain.search import fold, fold_with_offsets, grams, parse_query, snippet, term, ticket_numbers


@pytest.mark.parametrize(
    "typed, folded",
    [
        ("ハンコ", "はんこ"),
        ("ﾊﾝｺ", "はんこ"),
        ("ｶﾞｲﾄﾞ", "がいど"),
        ("ＬＩＮＥ\u3000公式", "line 公式"),
        ("9時～17時", "9時〜17時"),
        ("9時~17時", "9時〜17時"),
        ("サーバｰ", "さーばー"),
        ("A\tB", "a b"),
    ],
)
def test_folding_is_the_same_whole_and_piece_by_piece(typed, folded):
    assert fold(typed) == folded
    text, offsets = fold_with_offsets(typed)
    assert text == folded and len(offsets) == len(folded)


@pytest.mark.parametrize(
    "typed",
    [
        "ワクチン接種の予約を\nオンラインにしたい。ＬＩＮＥ公式も",
        "㍻の書類と ﬁle と ß を確認（令和２年）",  # folds of two or more characters
        "ｶﾞｲﾄﾞの改訂、ﾊﾟﾝﾌﾚｯﾄ",  # half-width marks join the kana before them
        "e\u0301tude と Å",  # combining marks
        "",
    ],
)
def test_a_snippet_folds_a_text_as_piece_by_piece_folding_does(typed):
    from swat.domain.search import _fold_pieces_with_offsets

    assert fold_with_offsets(typed) == _fold_pieces_with_offsets(typed)
    assert fold_with_offsets(typed)[0] == fold(typed)


def test_tokens_are_two_characters_from_each_place_and_the_runs_last_one():
    assert grams(fold("ワクチン 接種")) == (
        [(1, "わく"), (2, "くち"), (3, "ちん"), (4, "ん"), (6, "接種"), (7, "種")],
        10,
    )
    assert term("わくちん").tokens == ((0, "わく"), (1, "くち"), (2, "ちん"))
    assert term("保").prefix


@pytest.mark.parametrize(
    "typed, number",
    [
        ("2026-00042", (2026, 42)),
        ("０００４２", (None, 42)),
        ("42", (None, 42)),
        ("2026-547215", (2026, 547215)),  # past a year's 99,999th filing
        ("0", None),
        ("2026-", None),
        ("ワクチン", None),
    ],
)
def test_a_ticket_number_typed_alone(typed, number):
    assert parse_query(typed).number == number


def test_numbers_are_written_as_the_desk_writes_them():
    assert ticket_numbers((None, 42), [2025, 2026]) == ["2025-00042", "2026-00042"]
    assert ticket_numbers((2026, 547215), [2026]) == ["2026-547215"]


def test_words_phrases_and_exclusions():
    q = parse_query('ワクチン "接種 会場" -大阪')
    assert [t.text for t in q.terms] == ["わくちん", "接種 会場"]
    assert [t.text for t in q.excluded] == ["大阪"]


def test_a_snippet_marks_the_stored_text_where_the_folded_word_is():
    pieces = snippet("新型コロナのワクチン接種について", ["わくちん"])
    assert ("ワクチン", True) in pieces and "".join(p for p, _ in pieces) == "新型コロナのワクチン接種について"
    assert snippet("関係のない文", ["わくちん"]) is None


def test_a_text_of_characters_the_full_fold_table_has_no_room_for_folds_piece_by_piece(monkeypatch):
    """The learnt table is bounded: past its size a text of new characters is folded piece by
    piece (the same result), and the table does not grow."""
    from swat.domain import search

    fold_with_offsets("ワクチン")
    monkeypatch.setattr(search, "LEARNT", len(search._SEEN))
    before = len(search._TABLE)
    rare = "\u4e00\u4e01\u4e02 \u9fa0\u9fa1 𠀋𠀌"  # characters no other test has shown
    assert fold_with_offsets(rare) == search._fold_pieces_with_offsets(rare)
    assert len(search._TABLE) == before
