"""What each role sees on a ticket's page, and may do there: asserted on what the service returns."""

from __future__ import annotations

import io

import pytest

from swat.domain.errors import NotFound
from swat.services import routing, tickets
from swat.services.storage import Upload
from swat.services.ticket_page import ticket_page
from swat.services.visibility import get_visible_file, get_visible_ticket


@pytest.fixture
def worked(make_ticket, users, clock, session, store, limits):
    """A filed, routed ticket with a file, a desk reply with a file and an internal note with a file."""
    t = make_ticket(files=[Upload("相談資料.txt", io.BytesIO(b"filed"))])
    routing.route_new_ticket(session, t, clock.now(), auto_apply=False)
    tickets.add_reply(
        session, users["agent"], clock.now(), t, "回答です。", [Upload("回答.txt", io.BytesIO(b"reply"))], store, limits
    )
    tickets.add_internal_note(
        session, users["agent"], clock.now(), t, "内部メモ", [Upload("内部.txt", io.BytesIO(b"note"))], store, limits
    )
    session.commit()
    return t


def page_of(session, users, clock, who, ticket):
    return ticket_page(session, users[who], ticket.number, clock.now())


@pytest.mark.parametrize("who", ["agent", "lead", "admin", "manager"])
def test_the_desk_and_desk_wide_managers_see_internal_notes_events_and_files(worked, users, clock, session, who):
    page = page_of(session, users, clock, who, worked)

    assert page.show_internal
    assert [m.body for m in page.messages] == ["回答です。", "内部メモ"]
    assert [f.filename for f in page.files] == ["相談資料.txt", "回答.txt", "内部.txt"]
    assert {"note_added", "routed"} <= {e.kind for e in page.events}
    assert page.info is not None and page.info.proposal is not None and page.info.chain
    # Files are grouped by the message they came with; None holds the filing's own.
    reply, note = page.messages
    assert [f.filename for f in page.by_message[None]] == ["相談資料.txt"]
    assert [f.filename for f in page.by_message[reply.id]] == ["回答.txt"]
    assert [f.filename for f in page.by_message[note.id]] == ["内部.txt"]


@pytest.mark.parametrize("who", ["staff_health", "staff_health2", "manager_health"])
def test_requesters_and_department_managers_never_see_internal_content(worked, users, clock, session, who):
    page = page_of(session, users, clock, who, worked)

    assert not page.show_internal and page.info is None
    assert [m.body for m in page.messages] == ["回答です。"]
    assert [f.filename for f in page.files] == ["相談資料.txt", "回答.txt"]
    assert all(not e.internal for e in page.events)
    assert {"note_added", "routed", "triage"}.isdisjoint(e.kind for e in page.events)
    assert "created" in {e.kind for e in page.events}
    assert all(not f.internal for files in page.by_message.values() for f in files)


def test_what_the_desk_may_do(worked, users, clock, session):
    page = page_of(session, users, clock, "agent", worked)

    assert page.desk and not page.requester_side
    assert page.can_claim and page.can_reply and page.can_close and not page.can_reopen
    assert page.status_targets and all(isinstance(s, str) for s in page.status_targets)
    assert [m.id for m in page.members] == [
        users[n].id for n in sorted(["agent", "agent2", "lead"], key=lambda n: users[n].display_name)
    ]


def test_what_the_requesters_department_may_do(worked, users, clock, session):
    for who in ("staff_health", "staff_health2"):
        page = page_of(session, users, clock, who, worked)
        assert page.requester_side and not page.desk
        assert page.can_reply and page.can_close and not page.can_claim and not page.can_reopen
        assert page.status_targets == [] and list(page.members) == []


def test_a_department_manager_only_reads(worked, users, clock, session):
    page = page_of(session, users, clock, "manager_health", worked)

    assert not page.desk and not page.requester_side
    assert not (page.can_claim or page.can_reply or page.can_close or page.can_reopen)
    assert page.status_targets == [] and list(page.members) == []


def test_closed_tickets_can_be_reopened_not_answered(worked, users, clock, session):
    tickets.close_ticket(session, users["staff_health"], clock.now(), worked)
    session.commit()

    page = page_of(session, users, clock, "staff_health", worked)
    assert page.can_reopen and not page.can_reply and not page.can_close


def test_another_departments_ticket_is_not_found(worked, users, clock, session):
    with pytest.raises(NotFound):
        page_of(session, users, clock, "staff_welfare", worked)


def test_an_internal_file_downloads_for_the_desk_only(worked, users, clock, session):
    desk_page = page_of(session, users, clock, "agent", worked)
    internal = next(f for f in desk_page.files if f.internal)
    public = next(f for f in desk_page.files if not f.internal)
    ticket = get_visible_ticket(session, users["staff_health"], worked.number)

    assert get_visible_file(session, users["agent"], ticket, internal.id).filename == "内部.txt"
    assert get_visible_file(session, users["staff_health"], ticket, public.id).filename == public.filename
    for who in ("staff_health", "manager_health"):
        with pytest.raises(NotFound):
            get_visible_file(session, users[who], ticket, internal.id)
    with pytest.raises(NotFound):
        get_visible_file(session, users["agent"], ticket, 2**31)  # beyond any id: missing, not a database error
