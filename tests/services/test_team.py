"""The team: workload, caps, absences and who may set them, for every role."""

import shutil
from datetime import UTC, date, datetime

import pytest
import yaml
from sqlalchemy import select

from swat.domain.errors import Forbidden, NotFound, ValidationError
from swat.extensions import db
from swat.models import MemberAbsence
from swat.services import routing_rules, team, tickets


def absences():
    return db.session.scalars(select(MemberAbsence).order_by(MemberAbsence.id)).all()


# Who sets an absence for whom: the lead and admins for any member, a member for
# themself; people who are not on the team have no absences to set.
OWN = {
    "agent": "ok",
    "lead": "ok",
    "staff_health": NotFound,  # not an assignable member
    "manager": NotFound,
    "admin": NotFound,  # admins stand in for the lead but are not assigned work
}
A_COLLEAGUE = {
    "agent": Forbidden,
    "lead": "ok",
    "admin": "ok",
    "staff_health": Forbidden,
    "manager": Forbidden,
}


@pytest.mark.parametrize("actor", sorted(OWN))
def test_own_absence_by_role(users, clock, actor):
    outcome = OWN[actor]
    if outcome == "ok":
        a = team.add_absence(db.session, users[actor], clock.now(), users[actor].id, "2026-12-01", "2026-12-02")
        assert (a.user_id, a.starts_on, a.ends_on) == (users[actor].id, date(2026, 12, 1), date(2026, 12, 2))
    else:
        with pytest.raises(outcome):
            team.add_absence(db.session, users[actor], clock.now(), users[actor].id, "2026-12-01")
        assert absences() == []


@pytest.mark.parametrize("actor", sorted(A_COLLEAGUE))
def test_a_colleagues_absence_by_role(users, clock, actor):
    outcome = A_COLLEAGUE[actor]
    target = users["agent2"]
    if outcome == "ok":
        team.add_absence(db.session, users[actor], clock.now(), target.id, "2026-12-01")
        assert [a.user_id for a in absences()] == [target.id]
    else:
        with pytest.raises(outcome):
            team.add_absence(db.session, users[actor], clock.now(), target.id, "2026-12-01")
        assert absences() == []


def test_nobody_and_non_members_are_not_found_for_the_lead_and_forbidden_for_a_member(users, clock):
    with pytest.raises(NotFound):
        team.add_absence(db.session, users["lead"], clock.now(), 999_999, "2026-12-01")
    with pytest.raises(NotFound):
        team.add_absence(db.session, users["lead"], clock.now(), users["staff_health"].id, "2026-12-01")
    with pytest.raises(Forbidden):
        team.add_absence(db.session, users["agent"], clock.now(), 999_999, "2026-12-01")
    assert absences() == []


def test_absence_records_who_and_when_and_defaults_to_one_day(users, clock):
    a = team.add_absence(db.session, users["lead"], clock.now(), users["agent"].id, "2026-12-01", "", "  研修  ")
    db.session.commit()
    db.session.expire_all()
    (saved,) = absences()
    assert (saved.starts_on, saved.ends_on, saved.note) == (date(2026, 12, 1), date(2026, 12, 1), "研修")
    assert (saved.created_by_id, saved.created_at) == (users["lead"].id, clock.now())
    assert saved.id == a.id


@pytest.mark.parametrize(
    ("starts", "ends", "field", "message"),
    [
        ("", "", "starts_on", "Enter a valid date (YYYY-MM-DD)."),
        ("2026-13-01", "", "starts_on", "Enter a valid date (YYYY-MM-DD)."),
        ("12/01/2026", "", "starts_on", "Enter a valid date (YYYY-MM-DD)."),
        ("2026-12-01", "tomorrow", "ends_on", "Enter a valid date (YYYY-MM-DD)."),
        ("2026-12-05", "2026-12-01", "ends_on", "The last day cannot be before the first day."),
    ],
)
def test_absence_dates_are_checked(users, clock, starts, ends, field, message):
    with pytest.raises(ValidationError) as caught:
        team.add_absence(db.session, users["agent"], clock.now(), users["agent"].id, starts, ends)
    assert (caught.value.field, caught.value.message) == (field, message)
    assert absences() == []


def test_absence_note_is_at_most_200_characters(users, clock):
    team.add_absence(db.session, users["agent"], clock.now(), users["agent"].id, "2026-12-01", None, "あ" * 200)
    with pytest.raises(ValidationError) as caught:
        team.add_absence(db.session, users["agent"], clock.now(), users["agent"].id, "2026-12-02", None, "あ" * 201)
    assert caught.value.field == "note" and caught.value.params == {"max": 200}
    assert [a.note for a in absences()] == ["あ" * 200]


def test_delete_absence_by_role(users, clock):
    own = team.add_absence(db.session, users["agent"], clock.now(), users["agent"].id, "2026-12-01")
    other = team.add_absence(db.session, users["lead"], clock.now(), users["agent2"].id, "2026-12-01")
    db.session.commit()
    for actor in ("agent", "staff_health", "manager"):  # a colleague's looks like a missing one
        with pytest.raises(NotFound):
            team.delete_absence(db.session, users[actor], other.id)
    with pytest.raises(NotFound):
        team.delete_absence(db.session, users["lead"], 999_999)
    team.delete_absence(db.session, users["agent"], own.id)
    team.delete_absence(db.session, users["admin"], other.id)
    db.session.commit()
    assert absences() == []


def test_team_page_shows_load_caps_absences_and_whose_the_actor_may_set(users, clock, make_ticket, app, tmp_path):
    reference = tmp_path / "ref"
    shutil.copytree(app.config["SWAT"]["reference_dir"], reference)
    doc = yaml.safe_load((reference / "routing.yaml").read_text(encoding="utf-8"))
    doc["members"] = {"agent2": {"cap": 3}}
    (reference / "routing.yaml").write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    routing_rules.load_routing(db.session, reference, clock.now())
    for _ in range(2):
        t = make_ticket(title="相談", body="本文")
        tickets.claim_ticket(db.session, users["agent"], clock.now(), t)
    team.add_absence(db.session, users["lead"], clock.now(), users["agent"].id, "2026-11-20", "2026-11-24")  # over
    current = team.add_absence(db.session, users["lead"], clock.now(), users["agent"].id, "2026-11-25", "2026-11-26")
    db.session.commit()

    # 01:00 in Tokyo on the 25th is still the 24th in UTC: the team's day is Tokyo's.
    page = team.team_page(db.session, users["agent"], datetime(2026, 11, 24, 16, 0, tzinfo=UTC))
    assert [m.username for m in page.members] == ["agent", "agent2", "lead"]
    assert {t.id for t in page.members[0].themes} == {"citizen-services", "healthcare"}
    assert page.workload == {users["agent"].id: 2}
    assert page.caps == {
        users["agent"].id: doc["default_cap"],
        users["agent2"].id: 3,
        users["lead"].id: doc["default_cap"],
    }
    assert page.today == date(2026, 11, 25)
    assert {uid: [a.id for a in rows] for uid, rows in page.absences.items()} == {users["agent"].id: [current.id]}
    assert page.manageable == {users["agent"].id}
    assert team.team_page(db.session, users["lead"], clock.now()).manageable == {m.id for m in page.members}
    for outsider in ("staff_health", "manager"):
        with pytest.raises(Forbidden):
            team.team_page(db.session, users[outsider], clock.now())
