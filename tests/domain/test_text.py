"""Safe redirects, search folding, LIKE escaping (SECURITY.md: open redirect)."""

import pytest

from swat.domain.text import display_width, escape_like, is_safe_next, normalize_for_search


@pytest.mark.parametrize(
    "target",
    [
        "http://evil.example/",
        "https://evil.example",
        "//evil.example",
        "///evil.example",
        "/\\evil.example",
        "\\\\evil.example",
        "\\/evil.example",
        "/\\/evil.example",
        "javascript:alert(1)",
        "data:text/html,x",
        "evil.example",
        " /queue",
        "/queue\r\nSet-Cookie: x=1",
        "/\t/evil.example",
        "",
        None,
        "http:/evil.example",
        "https:evil.example",
        "\x00/queue",
    ],
)
def test_cve_2020_11034_open_redirect_rejected(target):
    assert not is_safe_next(target)


@pytest.mark.parametrize("target", ["/queue", "/tickets/2026-00001", "/consultations?status=new&q=LINE", "/"])
def test_local_paths_allowed(target):
    assert is_safe_next(target)


def test_full_and_half_width_fold_together():
    assert normalize_for_search("ＬＩＮＥで相談") == normalize_for_search("LINEで相談") == "lineで相談"
    assert normalize_for_search("ｿｳﾀﾞﾝ") == "ソウダン"


def test_like_wildcards_are_escaped():
    assert escape_like("100%_a\\b") == "100\\%\\_a\\\\b"


def test_wide_characters_take_two_columns():
    assert display_width("Opened") == 6
    assert display_width("受付件数") == 8
    assert display_width("ＬＩＮＥ相談 (%)") == 16
    assert display_width("ｶﾀｶﾅ") == 4  # half-width kana are narrow
    assert display_width("e\u0301") == 1  # a combining accent takes no column
