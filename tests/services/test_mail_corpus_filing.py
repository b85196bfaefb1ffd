"""The whole corpus (tests/mail/) through `swat mail ingest`, on the suite's database: what
became of each message, and what a person then reads, character by character.

The desk has consultation 2026-00042 (filed by staff_health, health-medical), and the
corpus' senders are accounts: staff_health@ and staff_welfare@ are department staff,
agent@ a SWAT member, stranger@example.com nobody. tests/services/test_mail_fetch_filing.py
hands the same messages over through a real IMAP server and expects the same.
"""

from __future__ import annotations

import html as html_lib
import json
from pathlib import Path

from sqlalchemy import select

from swat.extensions import db
from swat.models import Attachment, InboundMail, Message, Ticket, User
from tests.services.conftest import NUMBER

CORPUS = Path(__file__).resolve().parent.parent / "mail"

# What becomes of each message: (status, reason).
FILED = ("filed", "")
OUTCOMES: dict[str, tuple[str, str]] = {
    "attach_rfc2047_jis": FILED,
    "attach_rfc2047_utf8": ("held", "not_staff"),
    "attach_rfc2231": FILED,
    "auto_reply_ja": ("ignored", "out-of-office"),
    "auto_submitted": ("ignored", "out-of-office"),
    "bounce_dsn": ("ignored", "bounce"),
    "bounce_qmail": ("ignored", "bounce"),
    "euc_jp": FILED,
    "flowed": ("held", "not_staff"),
    "forward": FILED,
    "from_without_address": ("held", "no_sender"),
    "gmail_reply": ("reply", ""),
    "html_only": ("held", "unknown_sender"),
    "inline_image": ("held", "not_staff"),
    "iso2022jp_ibm": FILED,
    "iso2022jp_kana": FILED,
    "iso2022jp_nec": ("held", "not_staff"),
    "iso2022jp_plain": FILED,
    "mailing_list": ("ignored", "list"),
    "messy_ids": ("reply", ""),
    "mislabeled_charset": FILED,
    "no_date": ("held", "not_staff"),
    "no_message_id": ("held", "unknown_sender"),
    "odd_encoded_words": FILED,
    # staff of welfare answering a notice of health-medical's consultation
    "outlook_reply": ("held", "not_allowed"),
    "outlook_reply_ja": FILED,
    "precedence_bulk": ("ignored", "precedence"),
    "raw_sjis_headers": FILED,
    "raw_utf8_headers": FILED,
    "shift_jis": FILED,
    "signature_ja": FILED,
    "split_encoded_word": ("held", "not_staff"),
    "subject_tag": ("reply", ""),
    "undecodable_bytes": FILED,
    "utf8_base64": ("held", "not_staff"),
    "utf8_qp": FILED,
}
# A reply or forward prefix is not part of a consultation's title.
TITLES = {"forward": "LINE相談システムにログインできません", "outlook_reply_ja": "LINE相談システムのログイン"}
SAID = {"filed": "filed as ", "reply": f"threaded as a reply to {NUMBER}", "held": "held for review ("}
SAID.update({"ignored": "ignored as automatic (", "refused": "refused ("})
EXIT = {"filed": 0, "reply": 10, "held": 11, "ignored": 12, "refused": 13}


def corpus() -> list[str]:
    return sorted(p.name[: -len(".eml")] for p in CORPUS.glob("*.eml"))


def expected(name: str) -> dict:
    return json.loads((CORPUS / f"{name}.expected.json").read_text(encoding="utf-8"))


def test_every_corpus_message_has_an_expected_outcome():
    assert sorted(OUTCOMES) == corpus()


def check_what_a_person_reads(name: str, row: InboundMail, users: dict, store) -> None:
    """The row says what became of the message; the consultation, post or held mail says
    exactly what the sender wrote."""
    want = expected(name)
    status, reason = OUTCOMES[name]
    assert (row.status, row.reason) == (status, reason), name
    files = [(f["filename"], f["sha256"]) for f in want["files"]]
    if status == "filed":
        ticket = db.session.get(Ticket, row.ticket_id)
        assert ticket.title == TITLES.get(name, want["subject"])
        assert ticket.body == want["text"]
        assert ticket.requester_id == row.user_id
        assert ticket.department_id == db.session.get(User, row.user_id).department_id
        kept = db.session.execute(
            select(Attachment.filename, Attachment.sha256, Attachment.internal)
            .where(Attachment.ticket_id == ticket.id, Attachment.message_id.is_(None))
            .order_by(Attachment.id)
        ).all()
        assert [(n, s) for n, s, internal in kept if not internal] == files
        assert [n for n, _s, internal in kept if internal] == ["original.eml"]
    elif status == "reply":
        post = db.session.get(Message, row.post_id)
        assert (post.body, post.internal, post.author_id) == (want["reply_text"], False, row.user_id)
        assert db.session.get(Ticket, post.ticket_id).number == NUMBER
    elif status == "held":
        assert store.path_for(row.raw_key).is_file()
        assert db.session.scalars(select(Ticket).where(Ticket.id == row.ticket_id)).all() == []
    else:
        assert row.ticket_id is None and row.raw_key is None
    if name == "bounce_dsn":
        db.session.refresh(users["staff_welfare"])
        assert users["staff_welfare"].mail_bounced_at is not None


def test_the_corpus_through_swat_mail_ingest(app, desk, store, auth):
    runner = app.test_cli_runner()
    for name in corpus():
        db.session.commit()  # the command works in its own session
        r = runner.invoke(args=["mail", "ingest", str(CORPUS / f"{name}.eml")])
        status = OUTCOMES[name][0]
        assert (r.exit_code, r.stdout.startswith(SAID[status])) == (EXIT[status], True), (name, r.stdout)
    db.session.commit()
    rows = {r.message_id: r for r in db.session.scalars(select(InboundMail))}
    for name in corpus():
        check_what_a_person_reads(name, rows[expected(name)["message_id"]], desk, store)
    # And as they are shown: a filed one on its page to its requester, a held one to the lead.
    filed = rows[expected("iso2022jp_ibm")["message_id"]]
    page = html_lib.unescape(
        auth.login("staff_welfare")
        .get(f"/tickets/{db.session.get(Ticket, filed.ticket_id).number}")
        .get_data(as_text=True)
    )
    assert expected("iso2022jp_ibm")["text"] in page
    held = rows[expected("iso2022jp_nec")["message_id"]]
    page = html_lib.unescape(auth.login("lead").get(f"/mail/held/{held.id}").get_data(as_text=True))
    assert expected("iso2022jp_nec")["text"] in page
    # The bounce shows on the users page, beside the address that failed.
    page = html_lib.unescape(auth.login("admin").get("/admin/users?q=staff_welfare").get_data(as_text=True))
    assert "staff_welfare@pref.example.jp" in page and "メールが届きませんでした" in page
    # Taken in once: the same messages again change nothing.
    for name in ("iso2022jp_plain", "gmail_reply"):
        db.session.commit()
        r = runner.invoke(args=["mail", "ingest", str(CORPUS / f"{name}.eml")])
        assert (r.exit_code, r.stdout.strip()) == (14, "already taken in")
