"""Passwords: the strength rule, changing your own, and a reset link that works once."""

import json
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from werkzeug.security import check_password_hash

from swat.domain import audit as kinds
from swat.domain.errors import ValidationError
from swat.extensions import db
from swat.models import AuditEvent, OutboxMessage, PasswordReset, PasswordResetRequest, User, UserSession
from swat.services import accounts, passwords

from ..conftest import PASSWORD

FAST = "pbkdf2:sha256:1000"
CFG = accounts.AccountSettings(hash_method=FAST, max_failures=5, delay_seconds=60, window_minutes=15)
SECRET = "s" * 40
NEW = "kansai blue ferry 2099"
IP = "192.0.2.20"


@pytest.fixture
def users(users):
    """The standard cast, each with a mailbox."""
    for name, user in users.items():
        db.session.get(User, user.id).email = f"{name}@pref.example.jp"
    db.session.commit()
    return users


@pytest.mark.parametrize(
    "password",
    ["short", "password123", "aaaaaaaaaaaa", "qwertyuiop", "1234567890", "staff_health2026", "x" * 257],
)
def test_weak_or_overlong_passwords_are_refused_with_a_reason(password):
    with pytest.raises(ValidationError) as refused:
        passwords.check_strength(password, passwords.inputs_of(User(username="staff_health", display_name="")))
    assert refused.value.field == "password"


def test_a_phrase_of_unrelated_words_is_strong_enough():
    assert passwords.check_strength(NEW, ["agent"]) == NEW


@pytest.mark.parametrize("length", [72, 80, 256])
def test_a_long_passphrase_is_scored_not_refused(length):
    phrase = ("the ferry to awaji leaves at nine, take the lantern and the blue umbrella " * 4)[:length]
    assert passwords.check_strength(phrase, ["agent"]) == phrase


def _own(username):
    db.session.expire_all()
    return db.session.scalar(select(User).where(User.username == username))


def _sessions_open(user_id):
    return db.session.scalar(
        select(func.count())
        .select_from(UserSession)
        .where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
    )


def _change(clock, username, current, new, keep=None):
    outcome = passwords.change_own(
        db.session,
        clock.now(),
        _own(username),
        current=current,
        new=new,
        hash_method=FAST,
        ip=IP,
        cfg=CFG,
        keep_token=keep,
    )
    db.session.commit()
    return outcome


def test_changing_your_own_keeps_this_session_and_ends_the_others(users, clock):
    agent = users["agent"]
    here = accounts.start_session(db.session, clock.now(), agent, IP)
    accounts.start_session(db.session, clock.now(), agent, "198.51.100.1")
    db.session.commit()
    assert _change(clock, "agent", PASSWORD, NEW, keep=here) == (passwords.CHANGED, None)
    account = _own("agent")
    assert check_password_hash(account.password_hash, NEW) and not account.must_change_password
    assert account.password_changed_at == clock.now()
    assert _sessions_open(agent.id) == 1
    assert accounts.resume_session(db.session, clock.now(), here, CFG) is not None
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.kind == kinds.PASSWORD_SET)).one()
    assert (event.actor_id, event.subject_id, event.source) == (agent.id, agent.id, IP)


def test_a_wrong_current_password_is_counted_as_a_failed_sign_in(users, clock):
    for _ in range(CFG.max_failures):
        assert _change(clock, "agent", "not my password", NEW) == (passwords.WRONG, None)
    outcome, wait = _change(clock, "agent", PASSWORD, NEW)
    assert outcome == passwords.WAIT and wait == timedelta(seconds=CFG.delay_seconds)
    assert check_password_hash(_own("agent").password_hash, PASSWORD)


def test_the_same_password_again_and_a_weak_one_change_nothing(users, clock):
    assert _change(clock, "agent", PASSWORD, PASSWORD) == (passwords.SAME, None)
    with pytest.raises(ValidationError):
        _change(clock, "agent", PASSWORD, "password1234")
    db.session.rollback()
    assert check_password_hash(_own("agent").password_hash, PASSWORD)


def test_a_directory_account_changes_its_password_in_the_directory(users, clock):
    _own("agent").auth_source = "ldap"
    db.session.commit()
    assert _change(clock, "agent", PASSWORD, NEW) == (passwords.DIRECTORY, None)


def test_a_password_set_by_an_admin_must_be_changed_and_ends_every_session(users, clock):
    agent = users["agent"]
    accounts.start_session(db.session, clock.now(), agent, IP)
    db.session.commit()
    accounts.set_password(db.session, _own("agent"), NEW, FAST, now=clock.now(), actor=users["admin"], source=IP)
    db.session.commit()
    assert _own("agent").must_change_password
    assert _sessions_open(agent.id) == 0
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.kind == kinds.PASSWORD_RESET)).one()
    assert event.actor_id == users["admin"].id


def test_a_new_account_changes_the_password_its_creator_chose(users, clock):
    made = accounts.create_user(
        db.session, clock.now(), username="mori", password=NEW, role="agent", department_id="smart-city"
    )
    assert made.must_change_password


def _ask(clock, name, ip=IP, minutes=30):
    sent = passwords.request_reset(db.session, clock.now(), name, ip, secret=SECRET, minutes=minutes)
    db.session.commit()
    return sent


def _token_of_last_mail():
    row = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "password_reset")).all()[-1]
    return passwords.reset_token(SECRET, json.loads(row.params)["salt"]), row


def test_a_reset_mail_holds_the_only_copy_of_its_token(users, clock):
    assert _ask(clock, "STAFF_HEALTH")  # the name in any case
    token, row = _token_of_last_mail()
    assert row.recipient == users["staff_health"].email and row.channel == "email"
    assert token not in row.params
    reset = db.session.scalars(select(PasswordReset)).one()
    assert reset.token_hash != token and len(reset.token_hash) == 64
    assert reset.expires_at == clock.now() + timedelta(minutes=30)
    mailed = db.session.scalars(select(AuditEvent).where(AuditEvent.kind == kinds.PASSWORD_RESET_MAILED)).one()
    assert (mailed.subject_id, mailed.actor_id, mailed.source) == (users["staff_health"].id, None, IP)


def test_by_address_an_unknown_name_or_an_account_without_a_mailbox_gets_nothing(users, clock):
    assert _ask(clock, users["staff_welfare"].email.upper())
    assert not _ask(clock, "nobody-here")
    assert not _ask(clock, "nobody@pref.example.jp")
    lead, agent2, agent = _own("lead"), _own("agent2"), _own("agent")
    lead.email, agent2.active, agent.auth_source = "", False, "ldap"
    db.session.commit()
    assert not _ask(clock, "lead") and not _ask(clock, "agent2") and not _ask(clock, "agent")
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 1


def test_resets_are_limited_per_account_and_per_address(users, clock):
    assert [_ask(clock, "staff_health") for _ in range(4)] == [True, True, True, False]
    clock.advance(minutes=61)
    assert _ask(clock, "staff_health")
    names = [u for u in users if u != "staff_health"]
    ip = "203.0.113.9"
    sent = [_ask(clock, name, ip) for name in names for _ in range(3)]
    assert sent.count(True) == passwords.RESETS_PER_ADDRESS


def test_the_page_keeps_one_row_whoever_is_named_and_the_job_mails(users, clock):
    for name in ("staff_health", "no-such-person", "  ", "lead"):
        passwords.ask_reset(db.session, clock.now(), name, IP)
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(PasswordResetRequest)) == 3  # not the blank one
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0
    assert passwords.take_requests(db.session, clock.now(), secret=SECRET, minutes=30) == 2
    db.session.commit()
    assert sorted(db.session.scalars(select(OutboxMessage.recipient))) == [
        "lead@pref.example.jp",
        "staff_health@pref.example.jp",
    ]
    assert passwords.take_requests(db.session, clock.now(), secret=SECRET, minutes=30) == 0
    assert db.session.scalar(select(func.count()).select_from(PasswordResetRequest)) == 0


def test_no_link_for_an_account_that_may_not_sign_in_here(users, clock):
    from types import SimpleNamespace

    directory = SimpleNamespace(local_signin="admins")  # a directory desk: local sign-in for admins only
    for name in ("staff_health", "admin"):
        passwords.ask_reset(db.session, clock.now(), name, IP)
    assert passwords.take_requests(db.session, clock.now(), secret=SECRET, minutes=30, directory=directory) == 1
    db.session.commit()
    assert list(db.session.scalars(select(OutboxMessage.recipient))) == ["admin@pref.example.jp"]


def test_the_page_keeps_at_most_twenty_waiting_requests_from_one_address(users, clock):
    for n in range(passwords.WAITING_PER_ADDRESS + 5):
        passwords.ask_reset(db.session, clock.now(), f"someone-{n}", IP)
    passwords.ask_reset(db.session, clock.now(), "staff_health", "198.51.100.77")
    db.session.commit()
    by_address = dict(
        db.session.execute(select(PasswordResetRequest.ip, func.count()).group_by(PasswordResetRequest.ip)).all()
    )
    assert by_address == {IP: passwords.WAITING_PER_ADDRESS, "198.51.100.77": 1}


def test_a_request_nobody_can_wait_for_any_more_is_dropped_and_a_failing_one_stops_no_other(users, clock, monkeypatch):
    passwords.ask_reset(db.session, clock.now(), "lead", IP)
    clock.advance(minutes=31)  # older than a link would live
    passwords.ask_reset(db.session, clock.now(), "agent", IP)
    passwords.ask_reset(db.session, clock.now(), "staff_health", IP)
    db.session.commit()
    real = passwords.request_reset

    def failing_for_agent(session, now, name, ip, **kw):
        if name == "agent":
            raise RuntimeError("a fault while mailing agent")
        return real(session, now, name, ip, **kw)

    monkeypatch.setattr(passwords, "request_reset", failing_for_agent)
    assert passwords.take_requests(db.session, clock.now(), secret=SECRET, minutes=30) == 1
    db.session.commit()
    assert list(db.session.scalars(select(OutboxMessage.recipient))) == ["staff_health@pref.example.jp"]
    assert db.session.scalar(select(func.count()).select_from(PasswordResetRequest)) == 0


def _link_works(clock, token):
    return passwords.reset_for(db.session, clock.now(), token) is not None


def test_a_link_dies_when_the_password_or_the_address_changes_or_the_account_goes(users, clock):
    tokens = []
    for _ in range(3):
        _ask(clock, "staff_health")
        tokens.append(_token_of_last_mail()[0])
    db.session.commit()
    assert all(_link_works(clock, t) for t in tokens)
    staff = _own("staff_health")
    accounts.set_password(db.session, staff, NEW, FAST, now=clock.now(), actor=staff, source=IP)
    db.session.commit()
    assert not any(_link_works(clock, t) for t in tokens)

    def fresh():
        clock.advance(minutes=61)  # past the limit of three an hour
        _ask(clock, "staff_health")
        token = _token_of_last_mail()[0]
        db.session.commit()
        assert _link_works(clock, token)
        return token

    def edit(active):
        accounts.update_user(
            db.session,
            clock.now(),
            _own("staff_health"),
            role="staff",
            display_name="Staff Health",
            department_id="health-medical",
            theme_ids=[],
            active=active,
            email="kenko-new@pref.example.jp",
            actor=users["admin"],
        )
        db.session.commit()

    token = fresh()
    edit(active=True)  # a new address
    assert not _link_works(clock, token)
    token = fresh()
    edit(active=False)  # switched off on the users page
    assert not _link_works(clock, token)
    _own("staff_health").active = True
    db.session.commit()
    token = fresh()
    accounts.deactivate_account(db.session, clock.now(), _own("staff_health"), actor=users["admin"])
    db.session.commit()
    _own("staff_health").active = True  # switched on again: the old link stays dead
    db.session.commit()
    assert not _link_works(clock, token)


def test_a_link_quoted_in_a_mail_to_the_desk_stops_working(users, clock):
    _ask(clock, "staff_health")
    token = _token_of_last_mail()[0]
    db.session.commit()
    text = f"これは私が頼んだものでしょうか？\n> https://swat.example/password/reset/{token}\n"
    assert passwords.spend_links_in(db.session, clock.now(), text.encode()) == 1
    db.session.commit()
    assert not _link_works(clock, token)


def _use(clock, token, new=NEW):
    user = passwords.use_reset(db.session, clock.now(), token, new, hash_method=FAST, ip=IP)
    db.session.commit()
    return user


def test_a_reset_link_works_once_and_ends_every_session(users, clock):
    staff = users["staff_health"]
    accounts.start_session(db.session, clock.now(), staff, IP)
    _ask(clock, "staff_health")
    first, _row = _token_of_last_mail()
    _ask(clock, "staff_health")
    second, _row = _token_of_last_mail()
    assert _use(clock, second).id == staff.id
    account = _own("staff_health")
    assert check_password_hash(account.password_hash, NEW) and not account.must_change_password
    assert _sessions_open(staff.id) == 0
    assert _use(clock, second, "another ferry to kobe 7") is None
    assert _use(clock, first, "another ferry to kobe 7") is None  # the older link is spent too
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.kind == kinds.PASSWORD_SET)).one()
    assert json.loads(event.after) == {"reason": "reset_link"}


def test_a_reset_link_expires_and_refuses_a_weak_or_the_old_password(users, clock):
    _ask(clock, "staff_health", minutes=30)
    token, _row = _token_of_last_mail()
    with pytest.raises(ValidationError):
        _use(clock, token, PASSWORD)
    db.session.rollback()
    with pytest.raises(ValidationError):
        _use(clock, token, "staff_health1")
    db.session.rollback()
    clock.advance(minutes=31)
    assert _use(clock, token) is None
    assert passwords.reset_for(db.session, clock.now(), "x" * 64) is None


def test_two_uses_at_once_set_one_password(app, users, clock):
    _ask(clock, "staff_health")
    token, _row = _token_of_last_mail()
    db.session.commit()
    start = threading.Barrier(8)
    results, errors = [], []

    def one(n):
        with app.app_context():
            try:
                start.wait(10)
                results.append(_use(clock, token, f"harbour light number {n} ok"))
            except Exception as exc:  # reported below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=one, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    won = [r for r in results if r is not None]
    assert len(won) == 1 and len(results) + len(errors) == 8
    # On SQLite a writer that waits too long for the lock gives up: still nobody else set it.
    assert all("locked" in str(e) for e in errors)
    assert (
        db.session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.kind == kinds.PASSWORD_SET))
        == 1
    )
