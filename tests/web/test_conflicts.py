"""Two people, one consultation: a change from a page that is out of date is refused and the
page says what changed, instead of being applied over a colleague's change."""

import re

from swat.domain.states import PRIORITIES
from swat.extensions import db
from swat.models import Ticket
from swat.services import tickets
from tests.conftest import Browser

STAMP = re.compile(r'name="seen" value="(\d+)"')


def stamp(html: str) -> dict:
    """What the page's action forms send back: the newest history event the page showed."""
    found = STAMP.search(html)
    assert found, "the page's forms carry no version"
    return {"seen": found.group(1)}


def status_of(t) -> str:
    db.session.expire_all()
    return db.session.get(Ticket, t.id).status


def test_two_members_on_one_page_the_second_change_is_refused_and_shows_the_first(app, auth, make_ticket, users, clock):
    t = make_ticket()
    tickets.claim_ticket(db.session, users["agent"], clock.now(), t)
    db.session.commit()
    first = auth.login("agent")
    second = Browser(app, app.test_client())
    second.login("agent2")
    page_first = stamp(first.get(f"/tickets/{t.number}").get_data(as_text=True))
    page_second = stamp(second.get(f"/tickets/{t.number}").get_data(as_text=True))

    assert first.post(f"/tickets/{t.number}/status", {"status": "waiting", **page_first}).status_code == 302
    r = second.post(f"/tickets/{t.number}/status", {"status": "resolved", **page_second})

    assert r.status_code == 409
    html = r.get_data(as_text=True)
    assert "このページを開いた後に、この相談は変更されました" in html and "状態を変更しました。" not in html
    changes = html.split('class="changes"', 1)[1].split("</div>", 1)[0]
    assert users["agent"].display_name in changes and "相談者の回答待ち" in changes
    assert status_of(t) == "waiting"  # the colleague's change stands

    # The page that says so is current: the same change from it is made.
    again = second.post(f"/tickets/{t.number}/status", {"status": "resolved", **stamp(html)})
    assert again.status_code == 302
    assert "状態を変更しました。" in second.get(again.headers["Location"]).get_data(as_text=True)
    assert status_of(t) == "resolved"


def test_a_second_click_from_the_same_page_is_refused_not_done_twice(auth, make_ticket):
    t = make_ticket()
    b = auth.login("agent")
    page = stamp(b.get(f"/tickets/{t.number}").get_data(as_text=True))
    assert b.post(f"/tickets/{t.number}/priority", {"priority": "high", **page}).status_code == 302
    r = b.post(f"/tickets/{t.number}/priority", {"priority": "low", **page})
    assert r.status_code == 409 and "緊急度" in r.get_data(as_text=True).split('class="changes"', 1)[1]
    db.session.expire_all()
    assert db.session.get(Ticket, t.id).priority == PRIORITIES.index("high")  # as the first click left it


def test_an_internal_note_does_not_refuse_the_requester_nor_show_itself(
    app, auth, make_ticket, users, clock, store, limits
):
    t = make_ticket()
    b = auth.login("staff_health")
    page = stamp(b.get(f"/tickets/{t.number}").get_data(as_text=True))
    tickets.add_internal_note(db.session, users["agent"], clock.now(), t, "部局には見せないメモ", [], store, limits)
    db.session.commit()

    r = b.post(f"/tickets/{t.number}/close", page)

    assert r.status_code == 302
    html = b.get(r.headers["Location"]).get_data(as_text=True)
    assert "相談を完了しました。" in html and "部局には見せないメモ" not in html and "内部メモ" not in html
    assert status_of(t) == "closed"


def test_a_reply_the_member_has_not_seen_refuses_the_resolution(app, auth, make_ticket, users, clock, store, limits):
    t = make_ticket()
    tickets.claim_ticket(db.session, users["agent"], clock.now(), t)
    db.session.commit()
    b = auth.login("agent")
    page = stamp(b.get(f"/tickets/{t.number}").get_data(as_text=True))
    tickets.add_reply(db.session, users["staff_health"], clock.now(), t, "追加の質問です", [], store, limits)
    db.session.commit()

    r = b.post(f"/tickets/{t.number}/status", {"status": "resolved", **page})

    assert r.status_code == 409
    assert "相談者が返信" in r.get_data(as_text=True).split('class="changes"', 1)[1]
    assert status_of(t) == "assigned"


def test_a_version_that_is_not_a_number_is_a_bad_request(auth, make_ticket):
    t = make_ticket()
    b = auth.login("agent")
    for bad in ({"seen": "１"}, {"seen": "x"}, {"seen": "-1"}, {"seen": "9" * 40}, {"seen": str(2**31)}):
        assert b.post(f"/tickets/{t.number}/claim", bad).status_code == 400
    assert status_of(t) == "new"
