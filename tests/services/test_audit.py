"""The audit trail: every change to an account writes exactly its event, with before and
after; sign-ins and failed ones with the source address; reference loads; the trail is
append-only and pruned only past a set retention."""

import io
import json
from datetime import timedelta

import pytest
from sqlalchemy import delete, select, update

from swat.domain import audit as kinds
from swat.domain.errors import ValidationError
from swat.extensions import db
from swat.models import AuditEvent
from swat.services import accounts, audit
from swat.services.signin import AccountSettings
from swat.settings import SettingsError, load_settings

from ..conftest import PASSWORD

CFG = AccountSettings(hash_method="pbkdf2:sha256:1000")


def events():
    db.session.expire_all()
    return [
        (e.kind, e.actor_name, e.subject_name, e.source, json.loads(e.before), json.loads(e.after))
        for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))
    ]


def fresh(session):
    session.execute(delete(AuditEvent).execution_options(swat_audit_prune=True))
    session.commit()


def test_creating_an_account_records_who_made_it_and_its_fields(session, users, clock):
    admin = users["admin"]
    fresh(session)
    accounts.create_user(
        session,
        clock.now(),
        username="sato",
        password="a long password",
        role="agent",
        display_name="佐藤 一",
        department_id="smart-city",
        theme_ids=["telework"],
        hash_method="pbkdf2:sha256:1000",
        actor=admin,
        source="192.0.2.7",
    )
    session.commit()
    ((kind, actor, subject, source, before, after),) = events()
    assert (kind, actor, subject, source, before) == ("account_created", "Admin", "佐藤 一", "192.0.2.7", {})
    assert after == {
        "username": "sato",
        "display_name": "佐藤 一",
        "email": "",
        "role": "agent",
        "department": "smart-city",
        "themes": ["telework"],
        "active": True,
    }
    raw = session.scalar(select(AuditEvent.after))
    assert "佐藤 一" in raw  # Japanese kept as it is (ensure_ascii=False)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"role": "lead"}, [("role_changed", {"role": "agent"}, {"role": "lead"})]),
        (
            {"department_id": "health-medical"},
            [("department_changed", {"department": "smart-city"}, {"department": "health-medical"})],
        ),
        (
            {"theme_ids": ["data", "telework"]},
            [("skills_changed", {"themes": ["telework"]}, {"themes": ["data", "telework"]})],
        ),
        ({"active": False}, [("deactivated", {"active": True}, {"active": False})]),
        (
            {"display_name": "二葉", "email": "futaba@pref.example.jp"},
            [
                (
                    "profile_changed",
                    {"display_name": "Agent2", "email": ""},
                    {"display_name": "二葉", "email": "futaba@pref.example.jp"},
                )
            ],
        ),
        ({"password": "another long password"}, [("password_reset", {}, {})]),
        ({}, []),
        (
            {"role": "lead", "active": False},
            [
                ("role_changed", {"role": "agent"}, {"role": "lead"}),
                ("deactivated", {"active": True}, {"active": False}),
            ],
        ),
    ],
)
def test_each_change_to_an_account_writes_exactly_its_event(session, users, clock, changes, expected):
    user, admin = users["agent2"], users["admin"]
    fresh(session)
    values = {
        "role": user.role,
        "display_name": user.display_name,
        "department_id": user.department_id,
        "theme_ids": ["telework"],
        "active": user.active,
        "email": user.email,
        **changes,
    }
    accounts.update_user(
        session, clock.now(), user, hash_method="pbkdf2:sha256:1000", actor=admin, source="198.51.100.1", **values
    )
    session.commit()
    found = events()
    assert [(k, b, a) for k, _ac, _s, _src, b, a in found] == expected
    assert all((ac, src) == ("Admin", "198.51.100.1") for _k, ac, _s, src, _b, _a in found)
    assert set(db.session.scalars(select(AuditEvent.subject_id))) <= {user.id}


def test_reactivating_and_a_password_set_by_its_holder(session, users, clock):
    user = users["agent2"]
    user.active = False
    session.commit()
    fresh(session)
    accounts.update_user(
        session,
        clock.now(),
        user,
        role=user.role,
        display_name=user.display_name,
        department_id=user.department_id,
        theme_ids=["telework"],
        active=True,
        hash_method="pbkdf2:sha256:1000",
        actor=users["admin"],
    )
    accounts.set_password(session, user, "my own new password", "pbkdf2:sha256:1000", now=clock.now(), actor=user)
    session.commit()
    assert [(k, ac, b, a) for k, ac, _s, _src, b, a in events()] == [
        ("activated", "Admin", {"active": False}, {"active": True}),
        ("password_set", "Agent2", {}, {}),
    ]


def test_a_refused_change_writes_no_event(session, users, clock):
    fresh(session)
    user = users["agent2"]
    with pytest.raises(ValidationError):
        accounts.update_user(
            session,
            clock.now(),
            user,
            role="nonsense",
            display_name="x",
            department_id=None,
            theme_ids=[],
            active=True,
            actor=users["admin"],
        )
    session.rollback()
    assert events() == []


def test_the_csv_import_records_each_account_it_creates(session, users, clock):
    fresh(session)
    data = "username,display_name,department\r\nyamada,山田 太郎,welfare\r\nsuzuki,=HYPERLINK(1),education\r\n"
    accounts.import_staff_csv(
        session, clock.now(), data.encode(), "pbkdf2:sha256:1000", actor=users["admin"], source="203.0.113.9"
    )
    session.commit()
    found = events()
    assert [(k, ac, s, src, a["username"], a["role"]) for k, ac, s, src, _b, a in found] == [
        ("account_created", "Admin", "山田 太郎", "203.0.113.9", "yamada", "staff"),
        ("account_created", "Admin", "=HYPERLINK(1)", "203.0.113.9", "suzuki", "staff"),
    ]


def test_the_cli_records_its_accounts_and_reference_loads_with_no_actor(app, session, users):
    fresh(session)
    cli = app.test_cli_runner()
    r = cli.invoke(
        args=["users", "create", "--username", "kimura", "--role", "admin"], input=f"{PASSWORD}\n{PASSWORD}\n"
    )
    assert r.exit_code == 0, r.output
    r = cli.invoke(args=["reference", "load"])
    assert r.exit_code == 0, r.output
    (created, loaded) = events()
    assert created[:4] == ("account_created", "", "kimura", "cli")
    assert created[5]["role"] == "admin"
    assert loaded[:4] == ("reference_loaded", "", "", "cli")
    after = loaded[5]
    assert after["digest"] == audit.reference_digest(app.config["SWAT"]["reference_dir"])
    assert len(after["digest"]) == 64 and set(after["created"]) >= {"departments", "themes"}
    assert after["routing_changed"] is False and after["sla_changed"] is False


def test_sign_in_and_failed_sign_ins_record_the_source_address(session, users, clock):
    fresh(session)
    ok = accounts.sign_in(session, clock.now(), "agent", PASSWORD, "192.0.2.1", CFG)
    wrong = accounts.sign_in(session, clock.now(), "AGENT", "wrong password", "192.0.2.2", CFG)
    unknown = accounts.sign_in(session, clock.now(), "nobody\x07\u200bhere" + "x" * 100, "pw", "192.0.2.3", CFG)
    session.commit()
    assert ok.user is not None and wrong.user is None and unknown.user is None
    assert events() == [
        ("signed_in", "Agent", "Agent", "192.0.2.1", {}, {}),
        ("sign_in_failed", "", "Agent", "192.0.2.2", {}, {"reason": "password"}),
        (
            "sign_in_failed",
            "",
            "",
            "192.0.2.3",
            {},
            {"username": ("nobodyhere" + "x" * 100)[:64], "reason": "unknown_user"},
        ),
    ]
    subject_ids = list(session.scalars(select(AuditEvent.subject_id).order_by(AuditEvent.id)))
    assert subject_ids == [users["agent"].id, users["agent"].id, None]


def test_a_deactivated_or_throttled_sign_in_says_why(session, users, clock):
    users["agent2"].active = False
    session.commit()
    fresh(session)
    accounts.sign_in(session, clock.now(), "agent2", PASSWORD, "192.0.2.1", CFG)
    for _ in range(CFG.max_failures):
        accounts.sign_in(session, clock.now(), "agent", "wrong", "192.0.2.9", CFG)
    throttled = accounts.sign_in(session, clock.now(), "agent", PASSWORD, "192.0.2.9", CFG)
    session.commit()
    assert throttled.throttled
    reasons = [(s, a["reason"]) for k, _ac, s, _src, _b, a in events() if k == "sign_in_failed"]
    assert reasons == [("Agent2", "inactive")] + [("Agent", "password")] * CFG.max_failures + [("Agent", "throttled")]


def test_skills_set_by_the_routing_file_are_recorded(session, users, clock, app, tmp_path):
    import shutil

    from swat.services import routing_rules

    ref = tmp_path / "ref"
    shutil.copytree(app.config["SWAT"]["reference_dir"], ref)
    routing = ref / "routing.yaml"
    text = routing.read_text(encoding="utf-8")
    assert "\nmembers: {}\n" in text
    text = text.replace("\nmembers: {}\n", "\nmembers:\n  agent2:\n    themes: [data]\n")
    routing.write_text(text, encoding="utf-8")
    fresh(session)
    routing_rules.load_routing(session, ref, clock.now())
    session.commit()
    assert events() == [("skills_changed", "", "Agent2", "cli", {"themes": ["telework"]}, {"themes": ["data"]})]


def test_the_service_offers_no_way_to_change_or_delete_an_event():
    public = {
        n
        for n in dir(audit)
        if not n.startswith("_") and callable(getattr(audit, n)) and getattr(audit, n).__module__ == audit.__name__
    }
    writers = {n for n in public if n.startswith(("record", "prune"))}
    assert writers == {"record", "record_account_created", "record_account_changes", "record_password"} | {
        "record_sign_in",
        "record_reference_load",
        "prune",
    }
    assert not {n for n in public if any(w in n for w in ("update", "delete", "edit", "change_", "remove"))}


def test_the_orm_refuses_to_change_or_delete_an_event(session, users, clock):
    fresh(session)
    audit.record(session, clock.now(), actor=users["admin"], kind=kinds.ROLE_CHANGED, subject=users["agent"])
    session.commit()
    event = session.scalar(select(AuditEvent))
    event.after = '{"role": "admin"}'
    with pytest.raises(audit.AppendOnly):
        session.commit()
    session.rollback()
    session.delete(session.scalar(select(AuditEvent)))
    with pytest.raises(audit.AppendOnly):
        session.commit()
    session.rollback()
    with pytest.raises(audit.AppendOnly):
        session.execute(update(AuditEvent).values(kind="signed_in"))
    session.rollback()
    with pytest.raises(audit.AppendOnly):
        session.execute(delete(AuditEvent))
    session.rollback()
    assert [k for k, *_ in events()] == ["role_changed"]


def test_prune_deletes_only_past_the_retention_and_records_itself(session, users, clock, app):
    fresh(session)
    old = clock.now() - timedelta(days=3651)
    audit.record(session, old, actor=None, kind=kinds.SIGNED_IN, subject=users["agent"], source="192.0.2.1")
    audit.record(session, clock.now() - timedelta(days=3649), actor=None, kind=kinds.SIGNED_IN, source="192.0.2.2")
    session.commit()
    with pytest.raises(ValidationError):
        audit.prune(session, clock.now(), 0)
    with pytest.raises(ValidationError):
        audit.prune(session, clock.now(), 30)
    assert audit.prune(session, clock.now(), 3650) == 1
    session.commit()
    found = events()
    assert [(k, src) for k, _a, _s, src, _b, _af in found] == [("signed_in", "192.0.2.2"), ("audit_pruned", "cli")]
    assert found[1][5]["deleted"] == 1 and found[1][5]["retention_days"] == 3650


def test_swat_audit_prune_keeps_everything_without_a_retention(app, session, users, clock, monkeypatch):
    fresh(session)
    audit.record(session, clock.now() - timedelta(days=9000), actor=None, kind=kinds.SIGNED_IN)
    session.commit()
    cli = app.test_cli_runner()
    r = cli.invoke(args=["audit", "prune"])
    assert r.exit_code == 0 and "nothing was deleted" in r.output
    assert len(events()) == 1
    monkeypatch.setitem(app.config["SWAT"], "audit_retention_days", 3650)
    r = cli.invoke(args=["audit", "prune"])
    assert r.exit_code == 0 and "deleted 1 audit events" in r.output, r.output
    assert [k for k, *_ in events()] == ["audit_pruned"]


@pytest.mark.parametrize("days", [-1, 1, 365, 3649])
def test_the_app_refuses_to_start_with_a_retention_shorter_than_the_tickets(days):
    with pytest.raises(SettingsError, match="audit_retention_days"):
        load_settings({"audit_retention_days": days}, environ={})


@pytest.mark.parametrize("days", [0, 3650, 10000])
def test_keeping_forever_or_ten_years_is_allowed(days):
    assert load_settings({"audit_retention_days": days}, environ={})["audit_retention_days"] == days


def test_the_staff_import_file_bytes_are_not_kept(session, users, clock):
    """The trail keeps the accounts made, never a generated password."""
    fresh(session)
    result = accounts.import_staff_csv(
        session,
        clock.now(),
        io.BytesIO(b"username,display_name,department\nito,Ito,welfare\n").read(),
        "pbkdf2:sha256:1000",
    )
    session.commit()
    generated = result.created[0][1]
    assert generated and all(generated not in json.dumps(e) for e in events())
