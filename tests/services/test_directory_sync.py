"""`swat users sync` against the real slapd: one pass brings every directory account in line,
creates nobody, and takes out whoever left the directory or every mapped group."""

from __future__ import annotations

from swat.extensions import db
from swat.models import AuditEvent, User, UserSession
from swat.services import directory
from swat.services.signin import resume_session, sign_in
from swat.settings import load_settings
from tests.conftest import START
from tests.services.test_directory import _cfg, _user


def test_one_pass_updates_takes_out_and_creates_nobody(app, session, slapd, monkeypatch):
    cfg = _cfg(slapd)
    tokens = {
        name: sign_in(session, START, name, slapd.password, "127.0.0.1", cfg).token
        for name in ("yamada", "sato", "suzuki")
    }
    session.commit()
    slapd.set_member("swat-admins", "yamada", True)  # promoted in the directory
    slapd.set_member("swat-staff", "sato", False)  # still an agent through swat-agents
    slapd.delete_person("suzuki")  # left the prefecture
    for key, value in slapd.settings().items():
        monkeypatch.setitem(app.config["SWAT"], key, value)
    r = app.test_cli_runner().invoke(args=["users", "sync"])
    assert r.exit_code == 0, r.output
    lines = r.stdout.strip().splitlines()
    assert "yamada: role staff -> admin" in lines[0]
    assert "suzuki: deactivated (no longer in the directory or in a mapped group)" in lines
    assert lines[-1].startswith("1 updated, 1 deactivated, 1 unchanged")
    db.session.expire_all()
    assert _user(session, "yamada").role == "admin"
    assert not _user(session, "suzuki").active
    assert resume_session(session, START, tokens["suzuki"], cfg) is None
    # A changed role ends the sessions, as an admin's change does; the unchanged keep theirs.
    assert resume_session(session, START, tokens["yamada"], cfg) is None
    assert resume_session(session, START, tokens["sato"], cfg) is not None
    # Nobody who never signed in got an account (tanaka is in no mapped group; others unseen).
    assert sorted(u.username for u in session.query(User).filter(User.auth_source == "ldap")) == [
        "sato",
        "suzuki",
        "yamada",
    ]
    assert session.query(UserSession).filter(UserSession.revoked_at.is_(None)).count() == 1
    # The audit trail says the directory did it.
    trail = {
        (e.kind, e.subject_name, e.source)
        for e in session.query(AuditEvent).filter(AuditEvent.kind.in_(["role_changed", "deactivated"]))
    }
    assert trail == {("role_changed", "山田 太郎", "directory"), ("deactivated", "鈴木 一郎", "directory")}


def test_without_a_directory_the_command_says_so(app):
    r = app.test_cli_runner().invoke(args=["users", "sync"])
    assert r.exit_code == 1 and "no directory is configured (ldap_url)" in r.output


def test_settings_carry_the_sync(slapd):
    assert directory.settings_from(load_settings(overrides=slapd.settings())) is not None


def test_a_directory_that_cannot_be_read_takes_nobody_out(app, session, slapd, monkeypatch):
    cfg = _cfg(slapd)
    for name in ("yamada", "sato", "suzuki"):
        sign_in(session, START, name, slapd.password, "127.0.0.1", cfg)
    session.commit()
    for key, value in slapd.settings(ldap_base_dn="ou=typo,dc=pref,dc=example,dc=jp").items():
        monkeypatch.setitem(app.config["SWAT"], key, value)
    r = app.test_cli_runner().invoke(args=["users", "sync"])
    assert r.exit_code == 1 and "the directory could not be read: search refused" in r.output
    db.session.expire_all()
    assert all(u.active for u in session.query(User).filter(User.auth_source == "ldap"))
    # Nor does a sign-in against it: the right password, a directory in trouble, still active.
    broken = _cfg(slapd, ldap_base_dn="ou=typo,dc=pref,dc=example,dc=jp")
    assert sign_in(session, START, "yamada", slapd.password, "127.0.0.1", broken).user is None
    session.commit()
    assert _user(session, "yamada").active


def test_an_account_an_admin_took_out_stays_out(session, users, slapd):
    from swat.services import accounts

    cfg = _cfg(slapd)
    sign_in(session, START, "yamada", slapd.password, "127.0.0.1", cfg)
    session.commit()
    accounts.deactivate_account(session, START, _user(session, "yamada"), actor=users["admin"])
    session.commit()
    assert sign_in(session, START, "yamada", slapd.password, "127.0.0.1", cfg).user is None
    session.commit()
    assert not _user(session, "yamada").active


def test_a_manager_the_directory_gives_no_department_is_not_signed_in(session, slapd):
    from tests.fixtures.slapd import group_dn

    cfg = _cfg(slapd, ldap_role_groups={group_dn("swat-agents"): "manager", group_dn("swat-staff"): "manager"})
    assert sign_in(session, START, "suzuki", slapd.password, "127.0.0.1", cfg).user is None  # no department
    assert sign_in(session, START, "yamada", slapd.password, "127.0.0.1", cfg).user.department_id == "health-medical"
