"""@ a desk member in an internal note tells them and links them; # a consultation links it
for a reader who may open it; anything else stays text."""

import html as html_lib

from sqlalchemy import select

from swat.extensions import db
from swat.models import Notification
from swat.services import tickets


def bell(users, who):
    return db.session.scalars(select(Notification).where(Notification.user_id == users[who].id)).all()


def test_a_note_tells_the_desk_members_it_names_and_no_one_else(auth, make_ticket, users):
    t = make_ticket()
    b = auth.login("agent")
    note = "@agent2 と @lead に確認お願いします。@staff_health @nobody @agent"
    assert b.post(f"/tickets/{t.number}/note", {"note-body": note}).status_code == 302

    told = bell(users, "agent2") + bell(users, "lead")
    assert sorted((n.user_id, n.kind) for n in told) == sorted(
        [(users["agent2"].id, "mention"), (users["lead"].id, "mention")]
    )
    assert bell(users, "staff_health") == [] and [n.kind for n in bell(users, "agent")] == []
    inbox = auth.login("agent2").get("/notifications").get_data(as_text=True)
    assert f"{t.number}: Agentさんが内部メモであなたに言及しました" in inbox


def test_the_page_links_members_in_notes_and_consultations_the_reader_may_open(
    auth, make_ticket, users, clock, store, limits
):
    other = make_ticket("staff_welfare", title="福祉部の件")
    own = make_ticket(title="前回の件")
    t = make_ticket(body=f"#{own.number} の続きです。#{other.number} も参考に。")
    tickets.add_internal_note(
        db.session, users["agent"], clock.now(), t, "@agent2 見てください <b>@lead</b>", [], store, limits
    )
    tickets.add_reply(
        db.session, users["agent"], clock.now(), t, f"@agent2 に回します。#{own.number}", [], store, limits
    )
    db.session.commit()

    desk = auth.login("agent").get(f"/tickets/{t.number}").get_data(as_text=True)
    assert f'<a class="mention" href="/queue?assignee={users["agent2"].id}" title="Agent2">@agent2</a>' in desk
    assert (
        f'&lt;b&gt;<a class="mention" href="/queue?assignee={users["lead"].id}" title="Lead">@lead</a>&lt;/b&gt;'
        in desk
    )
    assert "@agent2 に回します。" in desk  # a reply is for the requester: no member links in it
    assert f'<a class="ref" href="/tickets/{own.number}">#{own.number}</a>' in desk
    assert (
        f'<a class="ref" href="/tickets/{other.number}">#{other.number}</a>' in desk
    )  # the desk sees every department

    staff = auth.login("staff_health").get(f"/tickets/{t.number}").get_data(as_text=True)
    assert f'<a class="ref" href="/tickets/{own.number}">#{own.number}</a>' in staff
    # Another department's consultation is not linked: the page says nothing of whether it exists.
    assert f"#{other.number} も参考に。" in html_lib.unescape(staff) and f"/tickets/{other.number}" not in staff
    assert "見てください" not in staff and 'class="mention"' not in staff
