"""Wrong passwords slow down one user name from one address, and nothing else: the wait after
the limit doubles, refused attempts do not lengthen it, a success clears it, an admin can lift
it, and fifty simultaneous attempts check at most the limit (on both engines)."""

import json
import threading
from datetime import timedelta

from sqlalchemy import func, select

from swat.domain import audit as kinds
from swat.extensions import db
from swat.models import AuditEvent, LoginAttempt, SignInThrottle
from swat.services import accounts, signin_throttle

from ..conftest import PASSWORD

FAST = "pbkdf2:sha256:1000"
CFG = accounts.AccountSettings(hash_method=FAST, max_failures=5, delay_seconds=60, window_minutes=15)
HOME, AWAY = "192.0.2.10", "198.51.100.7"


def attempt(clock, username, password, ip=AWAY, cfg=CFG):
    outcome = accounts.sign_in(db.session, clock.now(), username, password, ip, cfg)
    db.session.commit()
    return outcome


def fail_times(clock, n, username="admin", ip=AWAY):
    for _ in range(n):
        assert not attempt(clock, username, "wrong password", ip).throttled


def checked():
    """How many attempts had their password checked (the refused ones are not)."""
    return db.session.scalar(select(func.count()).select_from(LoginAttempt))


def test_wrong_passwords_from_one_address_do_not_lock_the_account_elsewhere(users, clock):
    fail_times(clock, CFG.max_failures)
    refused = attempt(clock, "admin", PASSWORD)
    assert refused.throttled and refused.user is None  # even the right password, from there
    assert refused.retry_after == timedelta(seconds=60)
    # the admin at their own desk signs in as always
    at_home = attempt(clock, "admin", PASSWORD, ip=HOME)
    assert at_home.user is not None and at_home.token


def test_the_wait_doubles_and_refused_attempts_do_not_lengthen_it(users, clock):
    fail_times(clock, CFG.max_failures)
    for _ in range(20):  # hammering during the wait changes nothing
        clock.advance(seconds=2)
        assert attempt(clock, "admin", "wrong password").throttled
    clock.advance(seconds=60 - 40)
    before = checked()
    assert not attempt(clock, "admin", "wrong password").throttled  # one try, after the minute
    assert checked() == before + 1
    refused = attempt(clock, "admin", "wrong password")
    assert refused.throttled and refused.retry_after == timedelta(minutes=2)
    clock.advance(minutes=2)
    fail_times(clock, 1)
    assert attempt(clock, "admin", PASSWORD).retry_after == timedelta(minutes=4)
    assert [w.failures for w in signin_throttle.waits(db.session, clock.now(), CFG)] == [7]


def test_a_success_and_the_window_both_start_the_count_again(users, clock):
    fail_times(clock, CFG.max_failures)
    clock.advance(minutes=1)
    assert attempt(clock, "admin", PASSWORD).user is not None
    assert db.session.scalar(select(func.count()).select_from(SignInThrottle)) == 0
    fail_times(clock, CFG.max_failures)  # five more are checked, not one
    assert attempt(clock, "admin", "wrong password").throttled
    clock.advance(minutes=CFG.window_minutes)
    fail_times(clock, CFG.max_failures)  # old failures count for nothing
    assert attempt(clock, "admin", "wrong password").throttled


def test_an_unknown_name_waits_like_a_known_one(users, clock):
    fail_times(clock, CFG.max_failures, username="admin")
    fail_times(clock, CFG.max_failures, username="nobody-here")
    known, unknown = attempt(clock, "admin", PASSWORD), attempt(clock, "nobody-here", PASSWORD)
    assert (
        (known.throttled, known.retry_after) == (unknown.throttled, unknown.retry_after) == (True, timedelta(minutes=1))
    )


def test_an_admin_lifts_a_wait_and_the_trail_says_who(users, clock):
    fail_times(clock, CFG.max_failures, username="agent")
    fail_times(clock, CFG.max_failures, username="agent", ip=HOME)
    waiting = signin_throttle.waits(db.session, clock.now(), CFG)
    assert sorted((w.username, w.ip, w.user_id) for w in waiting) == [
        ("agent", HOME, users["agent"].id),
        ("agent", AWAY, users["agent"].id),
    ]
    assert signin_throttle.lift(db.session, clock.now(), actor=users["admin"], username="Agent", ip=HOME) == 1
    db.session.commit()
    assert attempt(clock, "agent", PASSWORD, ip=HOME).user is not None
    assert attempt(clock, "agent", PASSWORD, ip=AWAY).throttled  # only that address was lifted
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.kind == kinds.LOCK_LIFTED)).one()
    assert (event.actor_id, event.subject_id) == (users["admin"].id, users["agent"].id)
    assert json.loads(event.before) == {"username": "agent", "ip": HOME, "failures": CFG.max_failures}
    assert signin_throttle.lift(db.session, clock.now(), actor=None, username="lead") == 0


def test_fifty_simultaneous_attempts_check_at_most_the_limit(app, users, clock):
    start = threading.Barrier(50)
    outcomes, errors = [], []

    def one():
        with app.app_context():
            try:
                start.wait(10)
                outcome = accounts.sign_in(db.session, clock.now(), "admin", "wrong password", AWAY, CFG)
                db.session.commit()
                outcomes.append(outcome.throttled)
            except Exception as exc:  # reported below: a lost attempt must fail the test
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=one) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert len(outcomes) == 50
    assert outcomes.count(False) == CFG.max_failures
    assert checked() == CFG.max_failures
    row = db.session.scalars(select(SignInThrottle)).one()
    assert row.failures == CFG.max_failures


def test_the_address_limit_counts_checked_attempts_only(users, clock):
    cfg = accounts.AccountSettings(hash_method=FAST, max_failures=5, max_failures_per_ip=8)
    for name in ("a1", "a2", "a3", "a4"):
        fail_times(clock, 2, username=name)
    for _ in range(5):
        assert attempt(clock, "lead", PASSWORD, cfg=cfg).throttled  # the address tried too many names
    assert checked() == 8
    assert attempt(clock, "lead", PASSWORD, ip=HOME, cfg=cfg).user is not None
    clock.advance(minutes=CFG.window_minutes + 1)
    assert attempt(clock, "lead", PASSWORD, cfg=cfg).user is not None


def test_old_failures_are_forgotten(users, clock):
    fail_times(clock, 2)
    clock.advance(minutes=CFG.window_minutes)
    fail_times(clock, 1, username="lead")
    assert signin_throttle.forget_old(db.session, clock.now(), CFG) == 1
    db.session.commit()
    assert db.session.scalars(select(SignInThrottle.username)).all() == ["lead"]
