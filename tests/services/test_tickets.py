"""Filing, claiming, replying and status changes through the services."""

import io
import threading
from datetime import date

import pytest
from sqlalchemy import func, select

from swat.domain.errors import Conflict, Forbidden, NotFound, ValidationError
from swat.extensions import db
from swat.models import Attachment, Message, Ticket, TicketEvent, TicketInitiative
from swat.services import tickets
from swat.services.storage import Upload
from swat.services.visibility import get_visible_ticket


def count(model):
    return db.session.scalar(select(func.count()).select_from(model))


def events(ticket):
    return [
        e.kind
        for e in db.session.scalars(
            select(TicketEvent).where(TicketEvent.ticket_id == ticket.id).order_by(TicketEvent.id)
        )
    ]


def test_filing_makes_a_numbered_ticket_for_the_requesters_department(make_ticket, users):
    t = make_ticket(
        title="  LINE で\n相談  ",
        theme="citizen-services",
        initiatives=["sns-consultation"],
        priority="high",
        due_date=date(2026, 12, 1),
    )
    assert t.number == "2026-00001"
    assert t.title == "LINE で 相談"
    assert t.department_id == "health-medical"
    assert t.status == "new" and t.assignee_id is None and t.priority == 1
    assert [
        link.initiative_id
        for link in db.session.scalars(select(TicketInitiative).where(TicketInitiative.ticket_id == t.id))
    ] == ["sns-consultation"]
    assert events(t) == ["created"]
    assert make_ticket().number == "2026-00002"


def test_files_keep_japanese_names_and_are_stored_under_generated_names(make_ticket, store):
    t = make_ticket(
        files=[
            Upload("申請書（案）.pdf", io.BytesIO(b"%PDF-1.4 data"), "application/pdf"),
            Upload("C:\\Users\\x\\メモ.txt", io.BytesIO("メモ".encode()), "text/plain"),
        ]
    )
    atts = db.session.scalars(select(Attachment).where(Attachment.ticket_id == t.id).order_by(Attachment.id)).all()
    assert [a.filename for a in atts] == ["申請書（案）.pdf", "メモ.txt"]
    for a in atts:
        assert "申請" not in a.storage_key and "/" in a.storage_key
        assert store.path_for(a.storage_key).exists()
    assert store.path_for(atts[0].storage_key).read_bytes() == b"%PDF-1.4 data"


@pytest.mark.parametrize(
    "field, kwargs",
    [
        ("title", {"title": "   "}),
        ("title", {"title": "あ" * 10000}),
        ("body", {"body": ""}),
        ("priority", {"priority": "extreme"}),
        ("theme", {"theme": "no-such-theme"}),
        ("initiatives", {"initiatives": ["sns-consultation", "nope"]}),
        ("due_date", {"due_date": date(2020, 1, 1)}),
    ],
)
def test_bad_input_is_refused_and_nothing_is_written(make_ticket, field, kwargs):
    with pytest.raises(ValidationError) as err:
        make_ticket(**kwargs)
    db.session.rollback()
    assert err.value.field == field
    assert count(Ticket) == 0 and count(TicketEvent) == 0


def test_oversize_file_rolls_back_the_whole_consultation(make_ticket, app, store):
    limit = app.config["SWAT"]["max_attachment_bytes"]
    small = Upload("ok.txt", io.BytesIO(b"fine"), "text/plain")
    big = Upload("大きい.bin", io.BytesIO(b"x" * (limit + 1)), "application/octet-stream")
    with pytest.raises(ValidationError) as err:
        make_ticket(files=[small, big])
    assert "大きい.bin" in err.value.params["name"]
    db.session.rollback()
    assert count(Ticket) == 0 and count(Attachment) == 0
    leftovers = [p for p in store.root.glob("*/*")] if store.root.exists() else []
    # the small file written before the failure was removed with the rollback
    known = set(db.session.scalars(select(Attachment.storage_key)))
    assert [p for p in leftovers if f"{p.parent.name}/{p.name}" not in known] == []


def test_too_many_files_refused(make_ticket, app):
    n = app.config["SWAT"]["max_attachments_per_post"] + 1
    with pytest.raises(ValidationError):
        make_ticket(files=[Upload(f"{i}.txt", io.BytesIO(b"x")) for i in range(n)])


def _submission(store, limits, token):
    """One filing form's fields, as the same form sends them each time it is submitted."""
    return dict(
        title="二重送信",
        body="本文",
        theme_id=None,
        initiative_ids=[],
        priority="normal",
        due_date=None,
        files=[],
        store=store,
        limits=limits,
        submission_token=token,
    )


def test_same_submission_token_makes_one_ticket(users, clock, store, limits, session):
    kw = _submission(store, limits, "tok-123")
    a = tickets.file_consultation(session, users["staff_health"], clock.now(), **kw)
    session.commit()
    b = tickets.file_consultation(session, users["staff_health"], clock.now(), **kw)
    session.commit()
    assert a.id == b.id and count(Ticket) == 1
    with pytest.raises(Conflict):
        tickets.file_consultation(session, users["staff_health2"], clock.now(), **kw)


def test_the_same_form_sent_twice_at_once_makes_one_ticket_and_uses_one_number(app, users, clock, store, limits):
    """Both submissions may pass the token check before either commits (PostgreSQL lets
    them; SQLite's immediate transactions queue them): the loser gets the winner's
    ticket, and the number it drew goes back."""
    kw = _submission(store, limits, "tok-race")
    requester_id = users["staff_health"].id
    db.session.commit()
    barrier = threading.Barrier(2)
    numbers = []

    def submit():
        with app.app_context():
            from swat.models import User

            s = db.session
            actor = s.get(User, requester_id)
            s.commit()
            barrier.wait()
            try:
                numbers.append(tickets.file_consultation(s, actor, clock.now(), **kw).number)
                s.commit()
            finally:
                db.session.remove()

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(30)
    assert numbers == ["2026-00001", "2026-00001"] and count(Ticket) == 1
    kw["submission_token"] = "tok-next"
    assert tickets.file_consultation(db.session, users["staff_health"], clock.now(), **kw).number == "2026-00002"


def test_only_staff_with_a_department_file(users, clock, store, limits, session):
    for who in ("agent", "manager", "admin"):
        with pytest.raises(Forbidden):
            tickets.file_consultation(session, users[who], clock.now(), **_submission(store, limits, None))


def test_claim_assigns_and_records(make_ticket, users, clock, session):
    t = make_ticket()
    tickets.claim_ticket(session, users["agent"], clock.now(), t)
    session.commit()
    assert t.assignee_id == users["agent"].id and t.status == "assigned"
    assert events(t) == ["created", "claimed"]
    with pytest.raises(Conflict) as err:
        tickets.claim_ticket(session, users["agent2"], clock.now(), t)
    assert err.value.params["name"] == users["agent"].display_name


def test_claim_race_exactly_one_wins(app, make_ticket, users, clock):
    t = make_ticket()
    ticket_id = t.id
    ids = {name: users[name].id for name in ("agent", "agent2", "lead")}
    db.session.commit()  # end this thread's transaction (on SQLite it holds the write lock)
    barrier = threading.Barrier(len(ids))
    results = {}

    def claim(name):
        with app.app_context():
            s = db.session
            from swat.models import User

            actor = s.get(User, ids[name])
            ticket = s.get(Ticket, ticket_id)
            s.commit()  # both sides hold loaded objects but no transaction
            barrier.wait()
            try:
                tickets.claim_ticket(s, actor, clock.now(), ticket)
                s.commit()
                results[name] = "won"
            except Conflict as exc:
                s.rollback()
                results[name] = exc.params["name"]
            finally:
                db.session.remove()

    threads = [threading.Thread(target=claim, args=(n,)) for n in ids]
    for th in threads:
        th.start()
    for th in threads:
        th.join(30)
    winners = [n for n, r in results.items() if r == "won"]
    assert len(results) == 3 and len(winners) == 1
    winner = users[winners[0]]
    assert all(r == winner.display_name for n, r in results.items() if n != winners[0])
    db.session.expire_all()
    assert db.session.get(Ticket, ticket_id).assignee_id == winner.id
    assert events(db.session.get(Ticket, ticket_id)).count("claimed") == 1


def test_reply_flow_waiting_and_back(make_ticket, users, clock, session, store, limits):
    t = make_ticket()
    tickets.claim_ticket(session, users["agent"], clock.now(), t)
    tickets.change_status(session, users["agent"], clock.now(), t, "in_progress")
    tickets.add_reply(session, users["agent"], clock.now(), t, "状況を教えてください。", [], store, limits)
    tickets.change_status(session, users["agent"], clock.now(), t, "waiting")
    session.commit()
    assert t.status == "waiting"
    tickets.add_reply(session, users["staff_health2"], clock.now(), t, "同時接続は300です。", [], store, limits)
    session.commit()
    assert t.status == "in_progress"  # the requester's answer hands it back
    tickets.change_status(session, users["agent"], clock.now(), t, "resolved")
    session.commit()
    assert t.status == "resolved" and t.resolved_at is not None
    with pytest.raises(ValidationError):
        tickets.add_reply(session, users["staff_health"], clock.now(), t, "追加で", [], store, limits)
    tickets.reopen_ticket(session, users["staff_health"], clock.now(), t)
    assert t.status == "in_progress" and t.resolved_at is None
    tickets.close_ticket(session, users["staff_health"], clock.now(), t)
    session.commit()
    assert t.status == "closed"
    assert events(t) == [
        "created",
        "claimed",
        "status",
        "replied",
        "status",
        "requester_replied",
        "status",
        "status",
        "status",
        "status",
    ]


def test_requester_cannot_use_desk_moves(make_ticket, users, clock, session):
    t = make_ticket()
    with pytest.raises(Forbidden):
        tickets.change_status(session, users["staff_health"], clock.now(), t, "resolved")
    with pytest.raises(Forbidden):
        tickets.claim_ticket(session, users["staff_health"], clock.now(), t)
    with pytest.raises(Forbidden):
        tickets.change_status(session, users["staff_welfare"], clock.now(), t, "closed")


def test_internal_notes_only_for_the_desk(make_ticket, users, clock, session, store, limits):
    t = make_ticket()
    tickets.add_internal_note(session, users["agent"], clock.now(), t, "内部メモ", [], store, limits)
    session.commit()
    with pytest.raises(NotFound):
        tickets.add_internal_note(session, users["staff_health"], clock.now(), t, "x", [], store, limits)
    note = session.scalar(select(Message).where(Message.ticket_id == t.id))
    assert note.internal is True
    assert session.scalar(select(TicketEvent).where(TicketEvent.kind == "note_added")).internal is True


def test_assign_to_member_and_back_to_queue(make_ticket, users, clock, session):
    t = make_ticket()
    tickets.assign_ticket(session, users["lead"], clock.now(), t, users["agent2"].id)
    assert (t.assignee_id, t.status) == (users["agent2"].id, "assigned")
    with pytest.raises(ValidationError):
        tickets.assign_ticket(session, users["lead"], clock.now(), t, users["staff_health"].id)
    tickets.assign_ticket(session, users["lead"], clock.now(), t, None)
    assert (t.assignee_id, t.status) == (None, "new")


def test_visibility_hides_other_departments(make_ticket, users, session):
    mine = make_ticket()
    theirs = make_ticket(requester="staff_welfare")
    assert get_visible_ticket(session, users["staff_health2"], mine.number).id == mine.id
    with pytest.raises(NotFound):
        get_visible_ticket(session, users["staff_health"], theirs.number)
    with pytest.raises(NotFound):
        get_visible_ticket(session, users["manager_health"], theirs.number)
    assert get_visible_ticket(session, users["manager"], theirs.number).id == theirs.id
