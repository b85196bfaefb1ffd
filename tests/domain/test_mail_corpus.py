"""Every message of tests/mail/ reads as its NAME.expected.json says a person reads it."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import asdict
from hashlib import sha256
from pathlib import Path

import pytest

from swat.domain.mail_parse import ParsedMail, parse

CORPUS = Path(__file__).resolve().parents[1] / "mail"
NAMES = sorted(p.name.removesuffix(".eml") for p in CORPUS.glob("*.eml"))


def as_expected(mail: ParsedMail) -> dict[str, object]:
    """The parsed mail in the corpus's JSON form (see tests/mail/README.md)."""
    return {
        "subject": mail.subject,
        "sender": mail.sender,
        "sender_name": mail.sender_name,
        "date": mail.date.isoformat() if mail.date else None,
        "text": mail.text,
        "reply_text": mail.reply_text,
        "files": [
            {
                "filename": f.filename,
                "content_type": f.content_type,
                "size": len(f.data),
                "sha256": sha256(f.data).hexdigest(),
                "inline": f.inline,
            }
            for f in mail.files
        ],
        "automatic": mail.automatic,
        "bounced": mail.bounced,
        "message_id": mail.message_id,
        "in_reply_to": mail.in_reply_to,
        "references": mail.references,
        "authentication": [{**asdict(a), "dkim_domains": list(a.dkim_domains)} for a in mail.authentication],
        "charset_trouble": mail.charset_trouble,
        "looks_automatic": mail.looks_automatic,
        "received": mail.received.isoformat() if mail.received else None,
        "nothing_new": mail.nothing_new,
    }


def test_the_corpus_has_its_cases():
    assert len(NAMES) >= 30
    for name in NAMES:
        assert (CORPUS / f"{name}.expected.json").is_file(), name


@pytest.mark.parametrize("name", NAMES)
def test_a_corpus_mail_reads_as_a_person_reads_it(name):
    expected = json.loads((CORPUS / f"{name}.expected.json").read_text(encoding="utf-8"))
    got = as_expected(parse((CORPUS / f"{name}.eml").read_bytes()))
    for key, value in expected.items():
        # Strings compared as lists of characters: a failing diff points at the character.
        if isinstance(value, str) and isinstance(got[key], str):
            assert list(got[key]) == list(value), key
        assert got[key] == value, key
    assert set(got) == set(expected)


def test_the_corpus_script_writes_exactly_the_committed_bytes(tmp_path):
    subprocess.run([sys.executable, str(CORPUS / "make_corpus.py"), str(tmp_path)], check=True)
    written = sorted(p.name for p in tmp_path.iterdir())
    committed = sorted(p.name for p in CORPUS.iterdir() if p.name.endswith((".eml", ".expected.json")))
    assert written == committed
    for name in written:
        assert (tmp_path / name).read_bytes() == (CORPUS / name).read_bytes(), name
