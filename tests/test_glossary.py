"""The Japanese catalog speaks the glossary (docs/glossary.yaml): one term per concept, never
one of its variants, and no button that does not say what it does."""

import re
from pathlib import Path

import pytest
import yaml
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
GLOSSARY = yaml.safe_load((ROOT / "docs" / "glossary.yaml").read_text(encoding="utf-8"))["terms"]


def _texts(value) -> list[str]:
    return [value] if isinstance(value, str) else [v for v in value if v]


def catalog() -> list[tuple[str, str]]:
    """Every (English text, Japanese translation) of the catalog, plural forms each."""
    with open(ROOT / "swat" / "translations" / "ja" / "LC_MESSAGES" / "messages.po", "rb") as f:
        cat = read_po(f)
    return [(_texts(m.id)[0], text) for m in cat if m.id for text in _texts(m.string)]


def violations(entries, terms) -> list[str]:
    """What breaks the glossary: each message with the variant it uses and the term to use."""
    found = []
    for entry in terms:
        where = re.compile(entry["where"]) if entry.get("where") else None
        for english, japanese in entries:
            if where is not None and not where.search(english):
                continue
            for variant in entry.get("avoid", []):
                if variant in japanese:
                    found.append(f"{english!r}: 「{japanese}」 says {variant}; the glossary says {entry['ja']}")
            if japanese in entry.get("exact_avoid", []):
                found.append(f"{english!r}: 「{japanese}」 does not say what it does")
    return found


def test_the_glossary_is_well_formed():
    assert len(GLOSSARY) >= 20
    for entry in GLOSSARY:
        assert {"concept", "en", "ja"} <= entry.keys(), entry
        assert entry.get("avoid") or entry.get("exact_avoid"), entry
        # A term never lists itself (or a part of itself) as a variant to avoid.
        for variant in entry.get("avoid", []):
            assert variant not in entry["ja"], entry


def test_the_japanese_catalog_follows_the_glossary():
    assert violations(catalog(), GLOSSARY) == []


@pytest.mark.parametrize(
    ("english", "japanese", "broken"),
    [
        ("Backlog at the end", "期末の未解決件数", "未解決"),
        ("New", "新規", None),  # the status: right where it is not a notification
        ("%(n)d unread", "新着%(n)d件", "新着"),
        ("Resolution, median (business hours)", "解決時間の中央値（営業時間）", "営業時間"),
        ("Send", "送信", "does not say what it does"),
    ],
)
def test_the_check_finds_a_variant_in_its_context(english, japanese, broken):
    found = violations([(english, japanese)], GLOSSARY)
    if broken is None:
        assert found == []
    else:
        assert len(found) == 1 and broken in found[0]
