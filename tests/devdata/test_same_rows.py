"""A seeded consultation and one worked through the services leave the same rows.

Each kind of life `swat seed` generates (filed; claimed or handed out by the lead; answered;
waiting for the requester and answered back; resolved; closed by either side; withdrawn) is
played again through the desk's own use cases (services.tickets.file_consultation,
claim_ticket, assign_ticket, change_status, add_reply), by the same people at the same
instants, and the two tickets' rows are compared: the ticket itself, its initiatives,
messages, history events, SLA timers and SLA events, and which tables hold rows for it.
"""

from __future__ import annotations

from sqlalchemy import func, inspect, select

from swat.devdata.seed import seed
from swat.domain import states
from swat.extensions import db
from swat.models import Base, Message, SlaEvent, Ticket, TicketEvent, TicketInitiative, TicketSla, User
from swat.services import report_facts, search_index, tickets

# What the two may differ in, and why:
# - ids, and the number (a new filing takes the next one);
# - version, the ORM's edit counter for stale forms: every UPDATE of a worked ticket bumps
#   it, a seeded one starts at 1 as if never edited;
SKIP_TICKET = {"id", "number", "version"}
# - the notifications a use case sends to people: the seed delivers nothing to anyone.
NOT_SEEDED = {"notifications"}

# The life the issue names, and the other ones a seed of this size is sure to contain (as
# the start of a life, at least).
FILED_CLAIMED_ANSWERED_RESOLVED = (
    ("created",),
    ("claimed",),
    ("status", states.ASSIGNED, states.IN_PROGRESS),
    ("replied",),
    ("status", states.IN_PROGRESS, states.RESOLVED),
)
MUST_SEE = [
    FILED_CLAIMED_ANSWERED_RESOLVED,
    FILED_CLAIMED_ANSWERED_RESOLVED + (("status", states.RESOLVED, states.CLOSED),),
    (("created",), ("status", states.NEW, states.ASSIGNED), ("assigned",)),
    (("created",), ("status", states.NEW, states.CLOSED)),
    (
        ("created",),
        ("claimed",),
        ("status", states.ASSIGNED, states.IN_PROGRESS),
        ("replied",),
        ("status", states.IN_PROGRESS, states.WAITING),
        ("requester_replied",),
        ("status", states.WAITING, states.IN_PROGRESS),
    ),
]


def columns(row, skip=()) -> dict:
    return {a.key: getattr(row, a.key) for a in inspect(row).mapper.column_attrs if a.key not in skip}


def events(tid: int) -> list[TicketEvent]:
    return list(db.session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == tid).order_by(TicketEvent.id)))


def shape(evs: list[TicketEvent]) -> tuple:
    return tuple((e.kind, e.old_value, e.new_value) if e.kind == "status" else (e.kind,) for e in evs)


def replay(seeded: Ticket, store, limits) -> Ticket:
    """The seeded ticket's history, done again through the services."""
    user = db.session.get
    body_of = {str(m.id): m.body for m in db.session.scalars(select(Message).where(Message.ticket_id == seeded.id))}
    initiatives = db.session.scalars(
        select(TicketInitiative.initiative_id)
        .where(TicketInitiative.ticket_id == seeded.id)
        .order_by(TicketInitiative.position)
    )
    t = tickets.file_consultation(
        db.session,
        user(User, seeded.requester_id),
        seeded.created_at,
        title=seeded.title,
        body=seeded.body,
        theme_id=seeded.theme_id,
        initiative_ids=list(initiatives),
        priority=seeded.priority,
        due_date=seeded.due_date,
        files=[],
        store=store,
        limits=limits,
    )
    history = events(seeded.id)[1:]
    skip_next = False
    for i, e in enumerate(history):
        if skip_next:  # written by the use case of the event before
            skip_next = False
            continue
        actor = user(User, e.actor_id)
        if e.kind == "claimed":
            tickets.claim_ticket(db.session, actor, e.at, t)
        elif e.kind == "status" and e.new_value == states.ASSIGNED:
            assert history[i + 1].kind == "assigned"
            tickets.assign_ticket(db.session, actor, e.at, t, seeded.assignee_id)
            skip_next = True
        elif e.kind == "status":
            tickets.change_status(db.session, actor, e.at, t, e.new_value)
        elif e.kind in ("replied", "requester_replied"):
            tickets.add_reply(db.session, actor, e.at, t, body_of[e.new_value], [], store, limits)
            skip_next = e.kind == "requester_replied" and t.status != states.WAITING
        else:
            raise AssertionError(f"the seed wrote an event no use case is replayed for: {e.kind}")
    db.session.flush()
    return t


def rows(t: Ticket) -> dict:
    """Everything about one ticket, with its own ids and number written as placeholders."""
    messages = list(db.session.scalars(select(Message).where(Message.ticket_id == t.id).order_by(Message.id)))
    nth = {str(m.id): f"message {i}" for i, m in enumerate(messages)}
    evs = []
    for e in events(t.id):
        row = columns(e, {"id", "ticket_id"})
        if e.kind in ("replied", "requester_replied", "note_added"):
            row["new_value"] = nth[e.new_value]
        elif e.kind == "created":
            assert row["new_value"] == t.number
            row["new_value"] = "number"
        evs.append(row)
    return {
        "ticket": columns(t, SKIP_TICKET),
        "initiatives": [
            columns(r, {"ticket_id"})
            for r in db.session.scalars(
                select(TicketInitiative).where(TicketInitiative.ticket_id == t.id).order_by(TicketInitiative.position)
            )
        ],
        "messages": [columns(m, {"id", "ticket_id"}) for m in messages],
        "events": evs,
        "timers": [
            columns(r, {"id", "ticket_id"})
            for r in db.session.scalars(select(TicketSla).where(TicketSla.ticket_id == t.id).order_by(TicketSla.target))
        ],
        "sla_events": [
            columns(r, {"id", "ticket_id"})
            for r in db.session.scalars(select(SlaEvent).where(SlaEvent.ticket_id == t.id).order_by(SlaEvent.id))
        ],
    }


def tables_with_rows(tid: int) -> set[str]:
    return {
        table.name
        for table in Base.metadata.sorted_tables
        if "ticket_id" in table.c
        and table.name != "search_documents"  # an FTS5 table on SQLite: checked whole below
        and db.session.scalar(select(func.count()).select_from(table).where(table.c.ticket_id == tid))
    }


def test_every_seeded_life_is_what_the_services_write(ctx, clock, store, limits):
    seed(db.session, clock.now(), ctx.config["SWAT"], 300, rng_seed=42, years=2)
    by_shape: dict[tuple, Ticket] = {}
    for t in db.session.scalars(select(Ticket).order_by(Ticket.id)):
        by_shape.setdefault(shape(events(t.id)), t)
    for start in MUST_SEE:
        assert any(life[: len(start)] == start for life in by_shape), start
    assert len(by_shape) >= 10

    for life, seeded in by_shape.items():
        worked = replay(seeded, store, limits)
        assert shape(events(worked.id)) == life
        assert rows(worked) == rows(seeded), life
        assert tables_with_rows(worked.id) - NOT_SEEDED == tables_with_rows(seeded.id), life
    db.session.commit()
    # The report facts (kept by triggers) agree with both kinds of ticket.
    assert report_facts.check(db.session) == []
    # So does the search index: every seeded and every worked ticket has its document, as
    # the services write it.
    assert search_index.check(db.session.connection()).ok
