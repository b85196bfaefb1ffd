"""Routing on filing and assignment that knows people: skills, load, absence, caps."""

import json
import shutil
from datetime import date, timedelta

import pytest
import yaml
from sqlalchemy import select

from swat.domain.errors import Forbidden
from swat.extensions import db
from swat.models import MemberAbsence, RoutingProposal, Ticket, TicketEvent, TicketInitiative, User
from swat.services import accounts, routing, routing_rules, similar, tickets
from swat.services.reference import ReferenceDataError
from swat.services.routing_explain import read_explanation

from ..conftest import START

LINE = dict(
    title="LINEで子育て相談を受け付けたい",
    body="外出自粛で保護者の不安が増えています。LINEで相談を受け付ける仕組みを作りたいです。",
)


@pytest.fixture
def members(ctx, clock):
    """Three SWAT members for citizen-services, one for telework only."""
    made = {}
    for name, themes in (
        ("m1", ["citizen-services"]),
        ("m2", ["citizen-services"]),
        ("m3", ["citizen-services"]),
        ("tw", ["telework"]),
    ):
        made[name] = accounts.create_user(
            db.session,
            clock.now(),
            username=name,
            password="long password 1",
            role="agent",
            display_name=name.upper(),
            theme_ids=themes,
            hash_method="pbkdf2:sha256:1000",
        )
    made["staff"] = accounts.create_user(
        db.session,
        clock.now(),
        username="staff",
        password="long password 1",
        role="staff",
        department_id="welfare",
        hash_method="pbkdf2:sha256:1000",
    )
    db.session.commit()
    return made


def file(members, clock, store, limits, auto_apply=True, priority="normal", **kw):
    data = dict(LINE)
    data.update(kw)
    t = tickets.file_consultation(
        db.session,
        members["staff"],
        clock.now(),
        title=data["title"],
        body=data["body"],
        theme_id=data.get("theme"),
        initiative_ids=data.get("initiatives", []),
        priority=priority,
        due_date=None,
        files=[],
        store=store,
        limits=limits,
    )
    proposal = routing.route_new_ticket(db.session, t, clock.now(), auto_apply=auto_apply)
    db.session.commit()
    return t, proposal


def test_confident_proposal_is_applied_at_once(members, clock, store, limits):
    t, p = file(members, clock, store, limits)
    assert p.confident and p.theme_id == "citizen-services"
    assert t.theme_id == "citizen-services" and t.status == "assigned" and not t.triage
    assert t.assignee_id in {members[m].id for m in ("m1", "m2", "m3")}
    links = db.session.scalars(select(TicketInitiative.initiative_id).where(TicketInitiative.ticket_id == t.id)).all()
    assert links[0] == "sns-consultation"
    assert "welfare" in json.loads(p.department_ids)  # 横展開: 福祉 already runs LINE consultations
    assert p.panel_id == "panel-citizen-services"
    reasons = read_explanation(p.reasons).reasons
    assert any(r["target"] == "initiative:sns-consultation" and "line" in r["keywords"] for r in reasons)
    kinds = [e.kind for e in db.session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == t.id))]
    assert "routed" in kinds and "assigned" in kinds


def test_fewest_open_tickets_weighted_by_priority_then_longest_wait(members, clock, store, limits):
    first, _ = file(members, clock, store, limits, priority="urgent")  # weight 3
    clock.advance(minutes=1)
    second, _ = file(members, clock, store, limits, priority="low")  # weight 0.5
    clock.advance(minutes=1)
    third, _ = file(members, clock, store, limits)
    # nobody had a ticket: ties go to whoever waited longest (never assigned first, then by id)
    assert [first.assignee_id, second.assignee_id, third.assignee_id] == [
        members["m1"].id,
        members["m2"].id,
        members["m3"].id,
    ]
    clock.advance(minutes=1)
    fourth, _ = file(members, clock, store, limits)
    # m2 holds only a low-priority ticket: the lightest load
    assert fourth.assignee_id == members["m2"].id


def test_absent_members_are_skipped(members, clock, store, limits):
    today = START.date()
    for name in ("m1", "m2"):
        db.session.add(
            MemberAbsence(
                user_id=members[name].id,
                starts_on=today - timedelta(days=1),
                ends_on=today + timedelta(days=2),
                created_at=clock.now(),
            )
        )
    db.session.add(
        MemberAbsence(
            user_id=members["m3"].id, starts_on=date(2026, 12, 1), ends_on=date(2026, 12, 3), created_at=clock.now()
        )
    )  # later: does not count today
    db.session.commit()
    t, _ = file(members, clock, store, limits)
    assert t.assignee_id == members["m3"].id


def test_members_at_their_cap_are_skipped(members, clock, store, limits, app, tmp_path):
    reference = tmp_path / "ref"
    shutil.copytree(app.config["SWAT"]["reference_dir"], reference)
    doc = yaml.safe_load((reference / "routing.yaml").read_text(encoding="utf-8"))
    doc["default_cap"] = 1
    doc["members"] = {"m3": {"cap": 2}}
    (reference / "routing.yaml").write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    routing_rules.load_routing(db.session, reference, clock.now())
    db.session.commit()
    got = [file(members, clock, store, limits)[0].assignee_id for _ in range(4)]
    assert sorted(got[:3]) == sorted(members[m].id for m in ("m1", "m2", "m3"))
    assert got[3] == members["m3"].id  # only m3 has room for a second
    t, p = file(members, clock, store, limits)
    assert t.assignee_id is None and t.triage and p.triage_reason == "nobody_fits"


def test_nobody_with_the_skill_goes_to_triage_never_to_nobody_silently(members, clock, store, limits):
    for name in ("m1", "m2", "m3"):
        db.session.get(User, members[name].id).active = False
    db.session.commit()
    t, p = file(members, clock, store, limits)
    assert (t.assignee_id, t.status, t.triage, p.triage_reason) == (None, "new", True, "nobody_fits")
    assert p.theme_id == "citizen-services"  # the proposal is kept for the lead


def test_unsure_proposals_wait_for_the_lead(members, clock, store, limits):
    t, p = file(members, clock, store, limits, title="相談です", body="よろしくお願いします。")
    assert not p.confident and t.triage and t.assignee_id is None and p.triage_reason == "unsure"


# Issue 14, as reported: an obviously healthcare consultation (eight of the theme's keywords)
# showed a low figure and waited; one that matched no keyword showed 90 % with a complete proposal.
VACCINATION = dict(
    title="ワクチン接種の予約をLINEで受け付けたい",
    body="集団接種の予約を保健所で電話受付しています。医師と看護師の配置、接種券の確認、高齢者の予約、"
    "副反応の相談、発熱がある方の受診案内まで電話で対応していて回りません。LINEやホームページで予約を受けたいです。",
)
NO_KEYWORD = dict(title="相談があります", body="よろしくお願いします。")


def test_eight_healthcare_keywords_are_confident_and_applied_with_what_the_confidence_rests_on(
    members, clock, store, limits
):
    hc = accounts.create_user(
        db.session,
        clock.now(),
        username="hc",
        password="long password 1",
        role="agent",
        display_name="HC",
        theme_ids=["healthcare"],
        hash_method="pbkdf2:sha256:1000",
    )
    db.session.commit()
    t, p = file(members, clock, store, limits, **VACCINATION)  # the old figure: 30 %, to triage
    assert (p.theme_id, p.confident, t.theme_id, t.assignee_id, t.triage) == (
        "healthcare",
        True,
        "healthcare",
        hc.id,
        False,
    )
    x = read_explanation(p.reasons)
    assert x.confidence == p.confidence >= x.threshold == 0.8  # the figure shown is the one the rule compared
    assert x.runner_up == "citizen-services" and x.gap > 5 and x.evidence > 20
    healthcare = next(r for r in x.reasons if r["target"] == "theme:healthcare")
    assert len(healthcare["keywords"]) == 8
    # The labelled examples most like it, named with their themes (config/reference/routing-examples/).
    assert [(e["title"], e["theme"]) for e in x.examples] == [
        ("接種会場で接種券を読み取って受付を早くしたい", "healthcare"),
        ("農業者からの相談をＬＩＮＥで受けたい", "citizen-services"),
        ("ワクチン接種の進み具合を市町村から集めたい", "healthcare"),
    ]
    alike = [e["similarity"] for e in x.examples]
    assert alike == sorted(alike, reverse=True) and all(0.1 <= a <= 1 for a in alike)


def test_a_consultation_with_no_keyword_is_proposed_nothing_at_zero(members, clock, store, limits):
    t, p = file(members, clock, store, limits, **NO_KEYWORD)  # the old figure: 90 %, with a theme and an entry
    assert (p.theme_id, json.loads(p.initiative_ids), p.member_id) == (None, [], None)
    assert (p.confidence, p.confident, p.triage_reason, t.triage) == (0.0, False, "unsure", True)
    x = read_explanation(p.reasons)
    assert (x.confidence, x.reasons, x.examples) == (0.0, [], [])  # nothing proposed, nothing to explain it


def test_requesters_theme_is_kept(members, clock, store, limits):
    t, p = file(members, clock, store, limits, theme="telework", title="相談です", body="よろしくお願いします。")
    assert t.theme_id == "telework" and t.assignee_id == members["tw"].id
    assert p.confidence == 1.0 and read_explanation(p.reasons).chosen  # certain, and said so


def test_auto_apply_off_sends_everything_to_triage(members, clock, store, limits):
    t, p = file(members, clock, store, limits, auto_apply=False)
    assert p.confident and t.triage and t.assignee_id is None and t.theme_id is None


def test_lead_decides_triage_in_one_step(members, clock, store, limits, users):
    t, p = file(members, clock, store, limits, title="相談です", body="よろしくお願いします。")
    routing.decide_triage(
        db.session,
        users["lead"],
        clock.now(),
        t,
        theme_id="telework",
        initiative_ids=["telework"],
        assignee_id=members["tw"].id,
    )
    db.session.commit()
    assert (t.theme_id, t.assignee_id, t.status, t.triage) == ("telework", members["tw"].id, "assigned", False)
    assert db.session.get(RoutingProposal, t.id).decided_by_id == users["lead"].id
    with pytest.raises(Forbidden):
        routing.decide_triage(
            db.session, users["agent"], clock.now(), t, theme_id=None, initiative_ids=[], assignee_id=None
        )


def test_yaml_change_changes_routing_after_reload(members, clock, store, limits, app, tmp_path):
    text = dict(title="象の飼育記録を共有したい", body="動物園の象について")
    t, p = file(members, clock, store, limits, **text)
    assert p.theme_id != "mobility"
    reference = tmp_path / "ref"
    shutil.copytree(app.config["SWAT"]["reference_dir"], reference)
    doc = yaml.safe_load((reference / "routing.yaml").read_text(encoding="utf-8"))
    doc["themes"]["mobility"]["keywords"]["象"] = 9
    (reference / "routing.yaml").write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    assert routing_rules.load_routing(db.session, reference, clock.now()) is True
    assert routing_rules.load_routing(db.session, reference, clock.now()) is False  # idempotent
    db.session.commit()
    t2, p2 = file(members, clock, store, limits, **text)
    assert p2.theme_id == "mobility"


def test_bad_routing_file_names_itself_and_loads_nothing(app, ctx, tmp_path, clock):
    reference = tmp_path / "ref"
    shutil.copytree(app.config["SWAT"]["reference_dir"], reference)
    (reference / "routing.yaml").write_text("themes:\n  no-such-theme: {keywords: {x: 1}}\n", encoding="utf-8")
    before = routing_rules.current_rules(db.session)[0]
    with pytest.raises(ReferenceDataError, match="routing.yaml.*no-such-theme"):
        routing_rules.load_routing(db.session, reference, clock.now())
    assert routing_rules.current_rules(db.session)[0] is before


def test_similar_consultations_resolved_first_with_answers(members, clock, store, limits, users):
    old, _ = file(members, clock, store, limits, title="LINEで若者の自殺相談を受けたい")
    tickets.add_reply(
        db.session, users["agent"], clock.now(), old, "福祉部のLINE相談の事例を紹介します。", [], store, limits
    )
    tickets.change_status(db.session, users["agent"], clock.now(), old, "resolved")
    db.session.commit()
    clock.advance(minutes=5)
    recent, _ = file(members, clock, store, limits, title="LINEでいじめ相談を受けたい")
    clock.advance(minutes=5)
    unrelated = tickets.file_consultation(
        db.session,
        members["staff"],
        clock.now(),
        title="道路の補修",
        body="舗装工事の件",
        theme_id="mobility",
        initiative_ids=[],
        priority="normal",
        due_date=None,
        files=[],
        store=store,
        limits=limits,
    )
    new, _ = file(members, clock, store, limits)
    found = similar.similar_tickets(db.session, users["agent"], new)
    assert [s.ticket.id for s in found][:2] == [old.id, recent.id]
    assert unrelated.id not in [s.ticket.id for s in found]
    assert found[0].answer == "福祉部のLINE相談の事例を紹介します。"
    assert similar.similar_tickets(db.session, members["staff"], new) == []
    assert db.session.get(Ticket, new.id)


def test_skills_and_caps_can_live_in_routing_yaml(members, clock, app, tmp_path):
    from sqlalchemy.orm import selectinload

    reference = tmp_path / "ref"
    shutil.copytree(app.config["SWAT"]["reference_dir"], reference)
    doc = yaml.safe_load((reference / "routing.yaml").read_text(encoding="utf-8"))
    doc["members"] = {"m1": {"cap": 3, "themes": ["telework", "data"]}, "nobody-here": {"themes": ["data"]}}
    (reference / "routing.yaml").write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    routing_rules.load_routing(db.session, reference, clock.now())
    db.session.commit()
    m1 = db.session.scalar(select(User).where(User.username == "m1").options(selectinload(User.themes)))
    assert sorted(t.id for t in m1.themes) == ["data", "telework"]
    rules, _ = routing_rules.current_rules(db.session)
    assert [c.username for c in routing.candidates(db.session, rules, "telework", clock.now())] == ["m1", "tw"]
    assert (
        next(c for c in routing.candidates(db.session, rules, "telework", clock.now()) if c.username == "m1").cap == 3
    )
