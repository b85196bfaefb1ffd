"""Drafts: what a member typed and did not send survives leaving the page and signing out,
is theirs alone, and goes when it is sent or discarded."""

import html as html_lib
import re

from sqlalchemy import select

from swat.extensions import db
from swat.models import Draft
from swat.services import tickets


def box(html, name="body"):
    found = re.search(rf'<textarea id="{name}"[^>]*>\s*([^<]*)</textarea>', html)
    return html_lib.unescape(found.group(1)) if found else None


def test_a_draft_survives_signing_out_and_goes_when_sent(auth, make_ticket, users, clock):
    t = make_ticket()
    tickets.claim_ticket(db.session, users["agent"], clock.now(), t)
    db.session.commit()
    b = auth.login("agent")
    r = b.post(f"/tickets/{t.number}/draft", {"kind": "reply", "body": "途中まで書いた回答"})
    assert r.status_code == 302
    assert "下書きを保存しました。" in b.get(r.headers["Location"]).get_data(as_text=True)
    b.logout()

    b = auth.login("agent")
    page = b.get(f"/tickets/{t.number}").get_data(as_text=True)
    assert box(page) == "途中まで書いた回答" and "下書き（" in page
    assert box(auth.login("agent2").get(f"/tickets/{t.number}").get_data(as_text=True)) == ""  # theirs alone
    assert "途中まで書いた回答" not in auth.login("staff_health").get(f"/tickets/{t.number}").get_data(as_text=True)

    b = auth.login("agent")
    assert b.post(f"/tickets/{t.number}/reply", {"body": "途中まで書いた回答、完成"}).status_code == 302
    assert box(b.get(f"/tickets/{t.number}").get_data(as_text=True)) == ""
    assert db.session.scalars(select(Draft)).all() == []


def test_the_script_saves_as_one_types_and_an_empty_box_discards(auth, make_ticket):
    t = make_ticket()
    b = auth.login("agent")
    headers = {"X-Swat-Draft": "1"}
    r = b.post(f"/tickets/{t.number}/draft", {"kind": "note", "body": "メモの下書き"}, headers=headers)
    assert r.status_code == 200 and r.get_json() == {"saved": True}
    assert box(b.get(f"/tickets/{t.number}").get_data(as_text=True), "note-body") == "メモの下書き"
    r = b.post(f"/tickets/{t.number}/draft", {"kind": "note", "body": "  "}, headers=headers)
    assert r.get_json() == {"saved": False}
    assert db.session.scalars(select(Draft)).all() == []
    r = b.post(f"/tickets/{t.number}/draft", {"kind": "reply", "body": "あ" * 20001}, headers=headers)
    assert r.status_code == 400 and "20000文字以内" in r.get_json()["error"]


def test_the_discard_button_and_what_a_requester_may_not_draft(auth, make_ticket):
    t = make_ticket()
    b = auth.login("agent")
    b.post(f"/tickets/{t.number}/draft", {"kind": "reply", "body": "不要な下書き"})
    r = b.post(f"/tickets/{t.number}/draft", {"discard": "reply", "body": "不要な下書き"})
    assert "下書きを破棄しました。" in b.get(r.headers["Location"]).get_data(as_text=True)
    assert db.session.scalars(select(Draft)).all() == []
    staff = auth.login("staff_health")
    assert staff.post(f"/tickets/{t.number}/draft", {"kind": "note", "body": "x"}).status_code == 404
    assert staff.post(f"/tickets/{t.number}/draft", {"kind": "reply", "body": "相談者の下書き"}).status_code == 302
    r = staff.post(f"/tickets/{t.number}/draft", {"kind": "other", "body": "x"}, follow_redirects=True)
    assert "下書きの種類が正しくありません。" in r.get_data(as_text=True)
    assert (
        auth.login("staff_welfare").post(f"/tickets/{t.number}/draft", {"kind": "reply", "body": "x"}).status_code
        == 404
    )
