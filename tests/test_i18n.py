"""Japanese first, English complete: the catalogs cover every string in the code."""

import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "swat" / "translations"


def extract(tmp_path) -> set[str]:
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "_l",
            "-k",
            "lazy_gettext",
            "-k",
            "DomainError",
            "-k",
            "ValidationError",
            "-k",
            "Conflict",
            "-k",
            "Forbidden",
            "-k",
            "InvalidTransition",
            "-k",
            "NotFound",
            "--no-location",
            "-o",
            str(pot),
            ".",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    with pot.open("rb") as fh:
        return {m.id for m in read_po(fh) if m.id}


def catalog(lang):
    with (TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        return read_po(fh)


def test_both_catalogs_have_every_string_of_the_code(tmp_path):
    in_code = extract(tmp_path)
    assert len(in_code) > 150
    for lang in ("ja", "en"):
        ids = {m.id for m in catalog(lang) if m.id}
        missing = in_code - ids
        assert not missing, f"{lang}: run `make messages` and translate: {sorted(missing)[:10]}"


def test_japanese_catalog_is_complete_and_keeps_placeholders():
    import re

    placeholder = re.compile(r"%\(\w+\)[sd]")
    for m in catalog("ja"):
        if not m.id:
            continue
        # A message with plural forms (ngettext) has its ids and its one Japanese form as tuples.
        ids = m.id if isinstance(m.id, tuple) else (m.id,)
        strings = m.string if isinstance(m.string, tuple) else (m.string,)
        assert all(strings), f"untranslated: {m.id!r}"
        assert "fuzzy" not in m.flags, f"fuzzy: {m.id!r}"
        for string in strings:
            assert sorted(placeholder.findall(ids[-1])) == sorted(placeholder.findall(string)), m.id
        # Templates format every message with %: a lone % would break the page.
        for text in (*ids, *strings):
            assert "%" not in re.sub(r"%\(\w+\)[sd]|%%", "", text), text


def test_pages_are_japanese_by_default_and_english_on_request(auth, browser):
    html = browser.get("/login").get_data(as_text=True)
    assert '<html lang="ja" ' in html and "ログイン" in html
    browser.post("/language", {"locale": "en", "next": "/login"})
    html = browser.get("/login").get_data(as_text=True)
    assert '<html lang="en" ' in html and "Sign in" in html and "ログイン" not in html


def test_a_users_language_follows_them(auth, browser, users):
    auth.login("agent")
    assert "対応キュー" in browser.get("/queue").get_data(as_text=True)
    r = browser.post("/language", {"locale": "en", "next": "/queue"})
    assert r.headers["Location"] == "/queue"
    assert "SWAT queue" in browser.get("/queue").get_data(as_text=True)
    browser.logout()
    browser.client.delete_cookie("swat_session")
    auth.login("agent")
    assert "SWAT queue" in browser.get("/queue").get_data(as_text=True)


def test_japanese_dates_read_naturally(make_ticket, auth, browser):
    t = make_ticket()
    auth.login("agent")
    html = browser.get(f"/tickets/{t.number}").get_data(as_text=True)
    assert "2026年11月25日 10:00" in html  # 01:00 UTC shown in Tokyo time
