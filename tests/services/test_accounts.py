"""Accounts as the admin pages and the sign-in use them: lookup, listing, password change, sign-in, language."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from werkzeug.security import check_password_hash

from swat.domain.errors import NotFound, ValidationError
from swat.extensions import db
from swat.models import LoginAttempt, User, UserSession
from swat.services import accounts

FAST = "pbkdf2:sha256:1000"
PASSWORD = "correct horse battery"  # the standard cast's


def test_list_users_filters_by_either_name_in_any_case_and_pages(users):
    found = accounts.list_users(db.session, "AGENT")
    assert [u.username for u in found.users] == ["agent", "agent2"]
    assert (found.total, found.page, found.pages) == (2, 1, 1)
    by_display = accounts.list_users(db.session, "health")  # "Staff Health", "Staff Health2", "Manager Health"
    assert [u.username for u in by_display.users] == ["manager_health", "staff_health", "staff_health2"]
    first = accounts.list_users(db.session, "", page=1, per_page=4)
    last = accounts.list_users(db.session, "", page=3, per_page=4)
    assert (first.total, first.pages) == (len(users), 3)
    assert [u.username for u in first.users] == sorted(users)[:4]
    assert [u.username for u in last.users] == sorted(users)[8:]
    assert accounts.list_users(db.session, "", page=9, per_page=4).users == []
    assert accounts.list_users(db.session, "", page=0, per_page=4).page == 1
    # department and themes come loaded (the relationships refuse lazy loads)
    agent = first.users[1]
    assert (agent.username, agent.department.id) == ("agent", "smart-city")
    assert {t.id for t in agent.themes} == {"citizen-services", "healthcare"}


def test_get_user(users):
    assert accounts.get_user(db.session, users["agent"].id).username == "agent"
    with pytest.raises(NotFound):
        accounts.get_user(db.session, 999_999)


def test_update_user_changes_the_password_only_when_one_is_given(users, clock):
    me = users["agent"]
    before = me.password_hash

    def update(**extra):
        return accounts.update_user(
            db.session,
            clock.now(),
            me,
            role="agent",
            display_name="Agent",
            department_id="smart-city",
            theme_ids=[],
            active=True,
            **extra,
        )

    update()
    assert me.password_hash == before
    update(password="a new long password", hash_method=FAST)
    assert check_password_hash(me.password_hash, "a new long password")
    with pytest.raises(ValidationError) as caught:
        update(password="short", hash_method=FAST)
    assert caught.value.field == "password"


def test_sign_in_records_every_attempt_and_starts_a_session_only_on_success(users, clock):
    cfg = accounts.AccountSettings(hash_method=FAST, max_failures=2)
    wrong = accounts.sign_in(db.session, clock.now(), "agent", "wrong password", "10.0.0.1", cfg)
    assert (wrong.user, wrong.token, wrong.throttled) == (None, "", False)
    ok = accounts.sign_in(db.session, clock.now(), "Agent", PASSWORD, "10.0.0.1", cfg)
    assert ok.user.id == users["agent"].id and ok.token and not ok.throttled
    assert accounts.resume_session(db.session, clock.now(), ok.token, cfg).id == users["agent"].id
    # the success cleared the count: two more wrong ones reach the limit again
    accounts.sign_in(db.session, clock.now(), "agent", "wrong again", "10.0.0.1", cfg)
    accounts.sign_in(db.session, clock.now(), "agent", "and again", "10.0.0.1", cfg)
    throttled = accounts.sign_in(db.session, clock.now(), "agent", PASSWORD, "10.0.0.1", cfg)
    assert (throttled.user, throttled.throttled) == (None, True)  # even the right password, past the limit
    assert throttled.retry_after == timedelta(seconds=cfg.delay_seconds)
    attempts = db.session.scalars(select(LoginAttempt.success).order_by(LoginAttempt.id)).all()
    assert attempts == [False, True, False, False]  # the refused one was not checked
    assert db.session.scalar(select(func.count()).select_from(UserSession)) == 1


def test_set_locale(users):
    accounts.set_locale(db.session, users["staff_health"], "en")
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(User, users["staff_health"].id).locale == "en"
    with pytest.raises(ValidationError):
        accounts.set_locale(db.session, users["staff_health"], "x" * 9)
