"""Mistakes can be corrected: the theme and related initiatives on the ticket, and a claim of a
consultation waiting for triage that decides it instead of leaving it without a theme."""

import json

from sqlalchemy import select

from swat.domain import reports as rdomain
from swat.extensions import db
from swat.models import RoutingProposal, Ticket, TicketEvent, TicketInitiative
from swat.services import report_breakdowns
from tests.web.test_conflicts import stamp


def fresh(t):
    db.session.expire_all()
    return db.session.get(Ticket, t.id)


def theme_counts(users, clock):
    rows = report_breakdowns.breakdown(
        db.session, users["manager"], rdomain.parse_period("FY2026"), "theme", clock.now()
    )
    return {r["key"]: r["opened"] for r in rows if r["opened"]}


def test_a_member_corrects_the_theme_and_initiatives_and_the_report_moves_the_ticket(auth, make_ticket, users, clock):
    t = make_ticket(theme="telework", initiatives=["telework"])
    before = theme_counts(users, clock)
    b = auth.login("agent")
    page = b.get(f"/tickets/{t.number}").get_data(as_text=True)
    assert 'action="/tickets/' + t.number + '/classify"' in page

    r = b.post(
        f"/tickets/{t.number}/classify",
        {"theme": "healthcare", "initiatives": ["sns-consultation", "telework"], **stamp(page)},
    )

    assert r.status_code == 302
    html = b.get(r.headers["Location"]).get_data(as_text=True)
    assert "テーマと関連する取組を変更しました。" in html
    history = html.split('class="history"', 1)[1]
    assert "テーマを変更" in history and "関連する取組を変更" in history
    t = fresh(t)
    assert t.theme_id == "healthcare"
    links = db.session.scalars(
        select(TicketInitiative.initiative_id)
        .where(TicketInitiative.ticket_id == t.id)
        .order_by(TicketInitiative.position)
    ).all()
    assert links == ["sns-consultation", "telework"]
    after = theme_counts(users, clock)
    assert after.get("telework", 0) == before.get("telework", 0) - 1
    assert after.get("healthcare", 0) == before.get("healthcare", 0) + 1


def test_only_the_desk_corrects_and_a_bad_choice_changes_nothing(auth, make_ticket):
    t = make_ticket(theme="telework")
    staff = auth.login("staff_health")
    assert "/classify" not in staff.get(f"/tickets/{t.number}").get_data(as_text=True)
    r = staff.post(f"/tickets/{t.number}/classify", {"theme": "healthcare"}, follow_redirects=True)
    assert "テーマと関連する取組を変更できるのはSWATメンバーのみです。" in r.get_data(as_text=True)
    agent = auth.login("agent")
    r = agent.post(f"/tickets/{t.number}/classify", {"theme": "no-such-theme"}, follow_redirects=True)
    assert "有効なテーマを選択してください。" in r.get_data(as_text=True)
    assert fresh(t).theme_id == "telework"


def desk_info(html):
    return html.split('class="card desk-info"', 1)[1].split("</section>", 1)[0]


def waiting(make_ticket, theme=None, initiatives=(), clock=None):
    """A consultation left to the lead, with a proposal of this theme (or none)."""
    t = make_ticket(title="職員の働き方について相談", body="よろしくお願いします。")
    t.triage = True
    db.session.add(
        RoutingProposal(
            ticket_id=t.id,
            theme_id=theme,
            initiative_ids=json.dumps(list(initiatives)),
            confidence=0.3,
            confident=False,
            triage_reason="unsure",
            created_at=clock.now(),
        )
    )
    db.session.commit()
    return t


def test_claiming_a_waiting_consultation_takes_the_proposal_and_leaves_triage(auth, make_ticket, users, clock):
    t = waiting(make_ticket, theme="telework", initiatives=["telework"], clock=clock)
    b = auth.login("agent2")
    page = b.get(f"/tickets/{t.number}").get_data(as_text=True)
    assert 'id="claim-theme"' not in page  # the proposal has a theme: nothing to ask
    assert "振り分け待ち" in desk_info(page)

    assert b.post(f"/tickets/{t.number}/claim", stamp(page)).status_code == 302

    t = fresh(t)
    assert (t.theme_id, t.assignee_id, t.triage, t.status) == ("telework", users["agent2"].id, False, "assigned")
    assert db.session.scalars(
        select(TicketInitiative.initiative_id).where(TicketInitiative.ticket_id == t.id)
    ).all() == ["telework"]
    proposal = db.session.get(RoutingProposal, t.id)
    assert proposal.decided_by_id == users["agent2"].id
    lead = auth.login("lead")
    assert f'id="t-{t.number}"' not in lead.get("/triage").get_data(as_text=True)
    assert "振り分け待ち" not in desk_info(lead.get(f"/tickets/{t.number}").get_data(as_text=True))


def test_claiming_a_waiting_consultation_without_any_theme_asks_for_one(auth, make_ticket, users, clock):
    t = waiting(make_ticket, clock=clock)
    b = auth.login("agent")
    page = b.get(f"/tickets/{t.number}").get_data(as_text=True)
    assert 'id="claim-theme"' in page and "担当になるとテーマが決まります。" in page

    refused = b.post(f"/tickets/{t.number}/claim", stamp(page), follow_redirects=True)
    assert "担当になるにはテーマを選択してください。" in refused.get_data(as_text=True)
    assert fresh(t).assignee_id is None and fresh(t).triage

    assert b.post(f"/tickets/{t.number}/claim", {"theme": "healthcare", **stamp(page)}).status_code == 302
    t = fresh(t)
    assert (t.theme_id, t.assignee_id, t.triage) == ("healthcare", users["agent"].id, False)
    kinds = db.session.scalars(select(TicketEvent.kind).where(TicketEvent.ticket_id == t.id)).all()
    assert "claimed" in kinds and "theme" in kinds and "triaged" in kinds


def retire(clock, active: bool):
    """Retire (or bring back) the telework theme and entry, as a reference load would: the
    tables and the stored catalog document the pages read."""
    from swat.models import Initiative, Theme
    from swat.services import catalog, documents

    db.session.get(Theme, "telework").active = active
    db.session.get(Initiative, "telework").active = active
    documents.store(db.session, catalog.CATALOG_DOC, catalog.catalog_document(db.session), clock.now())
    db.session.commit()


def test_a_retired_theme_and_entry_stay_unless_deselected(auth, make_ticket, users, clock):
    t = make_ticket(theme="telework", initiatives=["telework"])
    other = make_ticket(theme="healthcare")
    retire(clock, False)
    try:
        b = auth.login("agent")
        page = b.get(f"/tickets/{t.number}").get_data(as_text=True)
        form = page.split('class="classify"', 1)[1].split("</form>", 1)[0]
        assert '<option value="telework" selected>テレワーク（廃止）</option>' in form

        # Adding an entry keeps the retired theme and entry the ticket has.
        r = b.post(
            f"/tickets/{t.number}/classify",
            {"theme": "telework", "initiatives": ["telework", "sns-consultation"], **stamp(page)},
        )
        assert r.status_code == 302
        t = fresh(t)
        assert t.theme_id == "telework"
        links = db.session.scalars(select(TicketInitiative.initiative_id).where(TicketInitiative.ticket_id == t.id))
        assert sorted(links) == ["sns-consultation", "telework"]
        # A retired theme cannot be newly chosen for another ticket.
        r = b.post(f"/tickets/{other.number}/classify", {"theme": "telework"}, follow_redirects=True)
        assert "有効なテーマを選択してください。" in r.get_data(as_text=True) and fresh(other).theme_id == "healthcare"
    finally:
        retire(clock, True)


def test_an_acknowledged_escalation_does_not_make_the_page_out_of_date(auth, make_ticket, users, clock):
    from tests.web.test_escalations import breaches, late_tickets

    (t,) = late_tickets(make_ticket, users, clock, 1)
    b = auth.login("agent")
    page = stamp(b.get(f"/tickets/{t.number}").get_data(as_text=True))
    from swat.services import escalation

    escalation.acknowledge(db.session, users["lead"], clock.now(), breaches(t)[0].id, "確認")
    db.session.commit()
    assert b.post(f"/tickets/{t.number}/status", {"status": "in_progress", **page}).status_code == 302
