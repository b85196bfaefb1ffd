"""Related consultations and a duplicate merged into its original (services.merge): what moves,
what stops, who is told, what the reports count, and what is refused."""

import io

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from swat import messages
from swat.domain import reports as rd
from swat.domain.errors import Conflict, Forbidden, ValidationError
from swat.extensions import db
from swat.models import Attachment, Message, Notification, TicketEvent, TicketSla
from swat.services import drafts, listing, merge, report_facts, reports, similar, tickets
from swat.services.storage import Upload


def told(users):
    names = {u.id: name for name, u in users.items()}
    rows = db.session.scalars(select(Notification).where(Notification.kind == merge.MERGED).order_by(Notification.id))
    with force_locale("ja"):
        return sorted((names[n.user_id], messages.subject(n.kind, n.params)) for n in rows)


def history(ticket):
    return [
        (e.kind, e.new_value)
        for e in db.session.scalars(
            select(TicketEvent).where(TicketEvent.ticket_id == ticket.id).order_by(TicketEvent.id)
        )
    ]


@pytest.fixture
def pair(make_ticket, users, clock, store, limits):
    """An original (claimed and answered) and, a day later, its duplicate from a colleague of the
    same department, with a file, a reply and an internal note of its own."""
    original = make_ticket(title="ワクチン接種の予約システム", body="予約システムを導入したい。")
    tickets.claim_ticket(db.session, users["agent"], clock.now(), original)
    tickets.add_reply(db.session, users["agent"], clock.now(), original, "事例をお送りします。", [], store, limits)
    db.session.commit()
    clock.advance(hours=24)
    duplicate = make_ticket(
        requester="staff_health2",
        title="予約システムについて（再送）",
        body="予約システムの件で、先日と同じ相談です。",
        files=[Upload("要件一覧（案）.xlsx", io.BytesIO(b"sheet"))],
    )
    clock.advance(hours=1)
    tickets.add_reply(db.session, users["staff_health2"], clock.now(), duplicate, "補足：接種券番号", [], store, limits)
    tickets.add_internal_note(db.session, users["lead"], clock.now(), duplicate, "重複の可能性", [], store, limits)
    db.session.commit()
    clock.advance(hours=1)
    return original, duplicate


def test_merging_moves_the_conversation_closes_the_duplicate_and_tells_both_requesters(pair, users, clock):
    original, duplicate = pair
    merge.merge_ticket(db.session, users["lead"], clock.now(), duplicate, f"#{original.number}")
    db.session.commit()

    posts = db.session.scalars(select(Message).where(Message.ticket_id == original.id).order_by(Message.created_at))
    assert [(m.body, m.internal, m.merged_from_id) for m in posts] == [
        ("事例をお送りします。", False, None),
        ("予約システムの件で、先日と同じ相談です。", False, duplicate.id),  # the duplicate's request
        ("補足：接種券番号", False, duplicate.id),
        ("重複の可能性", True, duplicate.id),
    ]
    request = db.session.scalars(select(Message).where(Message.body.startswith("予約システムの件で"))).one()
    assert request.author_id == users["staff_health2"].id and request.created_at == duplicate.created_at
    files = db.session.scalars(select(Attachment)).all()
    assert [(f.filename, f.ticket_id, f.message_id) for f in files] == [
        ("要件一覧（案）.xlsx", original.id, request.id)
    ]
    assert not db.session.scalars(select(Message).where(Message.ticket_id == duplicate.id)).all()

    db.session.refresh(duplicate)
    assert (duplicate.status, duplicate.merged_into_id, duplicate.sla_due_at) == ("closed", original.id, None)
    clocks = db.session.scalars(select(TicketSla).where(TicketSla.ticket_id == duplicate.id)).all()
    assert clocks and {c.state for c in clocks} == {"void"}
    assert history(duplicate)[-2:] == [("status", "closed"), ("merged_into", original.number)]
    assert history(original)[-1] == ("merged_from", duplicate.number)
    # Both requesters and the original's assignee; the lead who merged is not told.
    subject = f"{duplicate.number} は {original.number} に統合されました"
    assert told(users) == [("agent", subject), ("staff_health", subject), ("staff_health2", subject)]
    # The duplicate's words now find the original.
    found = listing.list_tickets(db.session, users["agent"], listing.TicketFilters(q="接種券番号"))
    assert [t.number for t in found.rows] == [original.number]


def test_a_merged_duplicate_takes_no_more_changes(pair, users, clock, store, limits):
    original, duplicate = pair
    merge.merge_ticket(db.session, users["agent"], clock.now(), duplicate, original.number)
    db.session.commit()
    refusals = [
        lambda: tickets.add_reply(
            db.session, users["staff_health2"], clock.now(), duplicate, "まだ？", [], store, limits
        ),
        lambda: tickets.reopen_ticket(db.session, users["staff_health2"], clock.now(), duplicate),
        lambda: tickets.add_internal_note(
            db.session, users["agent"], clock.now(), duplicate, "メモ", [], store, limits
        ),
        lambda: tickets.change_priority(db.session, users["agent"], clock.now(), duplicate, "urgent"),
        lambda: merge.merge_ticket(db.session, users["agent"], clock.now(), duplicate, original.number),
    ]
    for refuse in refusals:
        with pytest.raises(Conflict) as err:
            refuse()
        assert err.value.message == "This consultation was merged into another one: continue there."
        db.session.rollback()


@pytest.mark.parametrize(
    ("who", "number", "error", "message"),
    [
        ("staff_health", "original", Forbidden, "You cannot change this consultation."),
        ("agent", "", ValidationError, "Enter the number of the other consultation."),
        ("agent", "42", ValidationError, "Enter a consultation number such as 2026-00042."),
        ("agent", "2026-99999", ValidationError, "There is no consultation %(number)s that you may see."),
        ("agent", "itself", ValidationError, "Choose another consultation than this one."),
        ("agent", "welfare", ValidationError, "Only consultations of the same department can be merged: relate them instead."),
    ],
)  # fmt: skip
def test_what_a_merge_refuses(pair, make_ticket, users, clock, who, number, error, message):
    original, duplicate = pair
    other = make_ticket(requester="staff_welfare", title="福祉の相談")
    typed = {"original": original.number, "itself": duplicate.number, "welfare": other.number}.get(number, number)
    with pytest.raises(error) as err:
        merge.merge_ticket(db.session, users[who], clock.now(), duplicate, typed)
    assert err.value.message == message
    db.session.rollback()
    db.session.refresh(duplicate)
    assert duplicate.merged_into_id is None and duplicate.status == "new"


def test_a_number_typed_in_full_width_is_understood(pair, users, clock):
    original, duplicate = pair
    typed = original.number.translate(str.maketrans("0123456789-", "０１２３４５６７８９－"))
    assert merge.merge_ticket(db.session, users["agent"], clock.now(), duplicate, typed).id == original.id


def test_merging_into_a_merged_one_is_refused_and_a_chain_points_to_the_last_original(pair, make_ticket, users, clock):
    original, duplicate = pair
    third = make_ticket(title="三通目")
    merge.merge_ticket(db.session, users["agent"], clock.now(), third, duplicate.number)  # into the duplicate
    db.session.commit()
    merge.merge_ticket(db.session, users["agent"], clock.now(), duplicate, original.number)
    db.session.commit()
    db.session.refresh(third)
    assert third.merged_into_id == original.id  # follows its original into the new one
    with pytest.raises(ValidationError) as err:
        merge.merge_ticket(db.session, users["agent"], clock.now(), make_ticket(title="四通目"), duplicate.number)
    assert err.value.params == {"number": duplicate.number}


def test_the_reports_count_the_original_once(pair, users, clock, app):
    original, duplicate = pair
    manager = users["manager"]
    period = rd.month(2026, 11)
    before = reports.figures(db.session, manager, period, clock.now(), with_ages=False)
    tickets.change_status(db.session, users["agent"], clock.now(), duplicate, "resolved")  # a stopped clock too
    db.session.commit()
    merge.merge_ticket(db.session, users["agent"], clock.now(), duplicate, original.number)
    db.session.commit()

    after = reports.figures(db.session, manager, period, clock.now(), with_ages=False)
    assert (before.opened, after.opened) == (2, 1)
    assert after.resolved == 0 and after.res_met == 0
    assert report_facts.check(db.session) == []
    assert report_facts.stored_time_counts(db.session) == report_facts.computed_time_counts(db.session)
    listed = listing.list_tickets(db.session, manager, listing.TicketFilters(period="2026-11", measure="opened"))
    assert [t.number for t in listed.rows] == [original.number]


def test_linking_lists_each_on_the_other_and_hides_another_departments_one(pair, make_ticket, users, clock):
    original, duplicate = pair
    welfare = make_ticket(requester="staff_welfare", title="福祉の相談")
    merge.link_tickets(db.session, users["agent"], clock.now(), original, duplicate.number)
    merge.link_tickets(db.session, users["agent"], clock.now(), original, welfare.number)
    db.session.commit()

    assert [t.number for t in merge.related(db.session, users["agent"], original)] == [
        duplicate.number,
        welfare.number,
    ]
    assert [t.number for t in merge.related(db.session, users["agent"], welfare)] == [original.number]
    # The department's staff see their own related consultation, not the other department's,
    # and their history does not name it.
    assert [t.number for t in merge.related(db.session, users["staff_health"], original)] == [duplicate.number]
    public = db.session.scalars(
        select(TicketEvent.new_value).where(
            TicketEvent.ticket_id == original.id, TicketEvent.kind == "linked", TicketEvent.internal.is_(False)
        )
    ).all()
    assert public == [duplicate.number]
    with pytest.raises(ValidationError) as err:
        merge.link_tickets(db.session, users["agent"], clock.now(), duplicate, original.number)
    assert err.value.message == "These consultations are already related."
    db.session.rollback()

    merge.unlink_tickets(db.session, users["agent"], clock.now(), duplicate, original.number)
    db.session.commit()
    assert [t.number for t in merge.related(db.session, users["agent"], original)] == [welfare.number]
    assert history(duplicate)[-1] == ("unlinked", original.number)
    with pytest.raises(ValidationError):
        merge.unlink_tickets(db.session, users["agent"], clock.now(), duplicate, original.number)


def test_a_request_is_not_merged_into_a_closed_original(pair, users, clock):
    original, duplicate = pair
    tickets.change_status(db.session, users["agent"], clock.now(), original, "resolved")
    db.session.commit()
    with pytest.raises(ValidationError) as err:
        merge.merge_ticket(db.session, users["agent"], clock.now(), duplicate, original.number)
    assert err.value.message == "%(number)s is resolved or closed: reopen it first, then merge into it."


def test_links_and_drafts_follow_the_duplicate_into_the_original(pair, make_ticket, users, clock):
    original, duplicate = pair
    third = make_ticket(title="関連する別件")
    merge.link_tickets(db.session, users["agent"], clock.now(), duplicate, third.number)
    merge.link_tickets(db.session, users["agent"], clock.now(), duplicate, original.number)
    drafts.keep(db.session, users["staff_health2"], clock.now(), duplicate, "reply", "書きかけの返信")
    drafts.keep(db.session, users["agent"], clock.now(), duplicate, "note", "重複側のメモ")
    drafts.keep(db.session, users["agent"], clock.now(), original, "note", "原本側のメモ")
    db.session.commit()
    merge.merge_ticket(db.session, users["agent"], clock.now(), duplicate, original.number)
    db.session.commit()

    assert [t.number for t in merge.related(db.session, users["agent"], original)] == [third.number]
    assert [t.number for t in merge.related(db.session, users["agent"], third)] == [original.number]
    assert merge.related(db.session, users["agent"], duplicate) == []
    assert drafts.of(db.session, users["staff_health2"], original.id)["reply"].body == "書きかけの返信"
    assert drafts.of(db.session, users["agent"], original.id)["note"].body == "原本側のメモ\n\n重複側のメモ"
    assert drafts.of(db.session, users["agent"], duplicate.id) == {}
    # A merged duplicate is not related any more, from either side.
    with pytest.raises(Conflict):
        merge.link_tickets(db.session, users["agent"], clock.now(), third, duplicate.number)


def test_a_merged_duplicate_is_not_offered_as_a_similar_case(pair, users, clock):
    original, duplicate = pair
    assert duplicate.id in {s.ticket.id for s in similar.similar_tickets(db.session, users["agent"], original)}
    merge.merge_ticket(db.session, users["agent"], clock.now(), duplicate, original.number)
    db.session.commit()
    assert duplicate.id not in {s.ticket.id for s in similar.similar_tickets(db.session, users["agent"], original)}
