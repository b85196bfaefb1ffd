"""Signing in against a real OpenLDAP (tests/fixtures/slapd.py), through the services."""

from __future__ import annotations

from datetime import timedelta

from swat.models import User, UserSession
from swat.services import accounts, directory
from swat.services.signin import AccountSettings, resume_session, sign_in
from swat.settings import load_settings
from tests.conftest import PASSWORD, START


def _cfg(slapd, **overrides) -> AccountSettings:
    s = load_settings(overrides={"password_hash_method": "pbkdf2:sha256:1000", **slapd.settings(**overrides)})
    return AccountSettings(hash_method=s["password_hash_method"], directory=directory.settings_from(s))


def _user(session, username) -> User:
    return session.query(User).filter_by(username=username).one()


def test_first_sign_in_creates_the_account_with_role_department_and_japanese_name(session, slapd):
    outcome = sign_in(session, START, "yamada", slapd.password, "127.0.0.1", _cfg(slapd))
    assert outcome.user is not None and outcome.token
    session.commit()
    user = _user(session, "yamada")
    assert (user.auth_source, user.role, user.department_id) == ("ldap", "staff", "health-medical")
    assert (user.display_name, user.email) == ("山田 太郎", "yamada@pref.example.jp")
    assert user.directory_key == "6148e79f-ad2a-50ef-bf6b-b5f237807591"  # the objectGUID, as AD writes it
    # the highest mapped group wins; the department from a group
    sato = sign_in(session, START, "sato", slapd.password, "127.0.0.1", _cfg(slapd)).user
    assert sato is not None and (sato.role, sato.department_id) == ("agent", "welfare")


def test_over_starttls_too(session, slapd):
    cfg = _cfg(slapd, ldap_url=slapd.starttls_url(), ldap_starttls=True)
    assert sign_in(session, START, "suzuki", slapd.password, "127.0.0.1", cfg).user.role == "lead"
    # plain ldap:// without StartTLS is refused before any password is sent
    plain = _cfg(slapd, ldap_url=slapd.starttls_url(), ldap_starttls=False)
    assert sign_in(session, START, "sato", slapd.password, "127.0.0.1", plain).user is None
    assert not any("uid=sato" in line for line in slapd.binds())


def test_a_certificate_from_another_ca_is_refused(session, slapd):
    other = str(slapd.certs.other_ca_file)
    for url, starttls in ((f"ldaps://127.0.0.1:{slapd.ldaps_port}", False), (slapd.starttls_url(), True)):
        cfg = _cfg(slapd, ldap_url=url, ldap_starttls=starttls, ldap_ca_file=other)
        assert sign_in(session, START, "yamada", slapd.password, "127.0.0.1", cfg).user is None
    assert not slapd.binds()  # not even the service account's password went out
    assert session.query(User).filter_by(username="yamada").count() == 0


def test_a_changed_group_changes_the_role_at_the_next_sign_in(session, slapd):
    cfg = _cfg(slapd)
    assert sign_in(session, START, "yamada", slapd.password, "127.0.0.1", cfg).user.role == "staff"
    session.commit()
    slapd.set_member("swat-admins", "yamada", True)
    assert sign_in(session, START, "yamada", slapd.password, "127.0.0.1", cfg).user.role == "admin"


def test_removed_from_every_mapped_group_is_refused_and_sessions_end(session, slapd):
    cfg = _cfg(slapd)
    token = sign_in(session, START, "yamada", slapd.password, "127.0.0.1", cfg).token
    session.commit()
    slapd.set_member("swat-staff", "yamada", False)
    later = START + timedelta(minutes=5)
    assert sign_in(session, later, "yamada", slapd.password, "127.0.0.1", cfg).user is None
    session.commit()
    assert not _user(session, "yamada").active
    assert resume_session(session, later, token, cfg) is None
    assert session.query(UserSession).filter(UserSession.revoked_at.is_(None)).count() == 0


def test_removed_from_the_directory_is_refused_and_sessions_end(session, slapd):
    cfg = _cfg(slapd)
    token = sign_in(session, START, "sato", slapd.password, "127.0.0.1", cfg).token
    session.commit()
    slapd.delete_person("sato")
    assert sign_in(session, START, "sato", slapd.password, "127.0.0.1", cfg).user is None
    session.commit()
    assert not _user(session, "sato").active
    assert resume_session(session, START, token, cfg) is None


def test_in_no_mapped_group_never_gets_an_account(session, slapd):
    assert sign_in(session, START, "tanaka", slapd.password, "127.0.0.1", _cfg(slapd)).user is None
    assert session.query(User).filter_by(username="tanaka").count() == 0


def test_empty_password_never_binds(session, slapd):
    """The server would take a DN with no password as an anonymous bind and say yes."""
    for password in ("", None):
        assert sign_in(session, START, "yamada", password, "127.0.0.1", _cfg(slapd)).user is None
    direct = _cfg(slapd, ldap_bind_dn="", ldap_user_dn_template="uid={username},ou=people," + slapd.suffix)
    assert sign_in(session, START, "yamada", "", "127.0.0.1", direct).user is None
    assert not any("uid=yamada" in line for line in slapd.binds())


def test_direct_bind_with_a_template(session, slapd):
    direct = _cfg(slapd, ldap_bind_dn="", ldap_user_dn_template="uid={username},ou=people," + slapd.suffix)
    assert sign_in(session, START, "suzuki", slapd.password, "127.0.0.1", direct).user.display_name == "鈴木 一郎"
    assert sign_in(session, START, "suzuki", "wrong", "127.0.0.1", direct).user is None
    assert not any("cn=swat-desk" in line for line in slapd.binds())


def test_a_user_name_cannot_change_the_filter(session, slapd):
    assert sign_in(session, START, "*", slapd.password, "127.0.0.1", _cfg(slapd)).user is None
    assert sign_in(session, START, "yam*", slapd.password, "127.0.0.1", _cfg(slapd)).user is None
    assert session.query(User).count() == 0


def test_local_admin_breaks_glass_and_local_others_follow_the_setting(session, users, slapd):
    admins_only = _cfg(slapd)
    assert sign_in(session, START, "admin", PASSWORD, "127.0.0.1", admins_only).user is not None
    assert sign_in(session, START, "agent", PASSWORD, "127.0.0.1", admins_only).user is None
    everyone = _cfg(slapd, ldap_local_signin="all")
    assert sign_in(session, START, "agent", PASSWORD, "127.0.0.1", everyone).user is not None
    # a directory account's random password hash is never a way in, even without the directory
    sign_in(session, START, "yamada", slapd.password, "127.0.0.1", admins_only)
    yamada = _user(session, "yamada")
    accounts.set_password(session, yamada, "known to someone else", "pbkdf2:sha256:1000", now=START)
    assert sign_in(session, START, "yamada", "known to someone else", "127.0.0.1", AccountSettings()).user is None
