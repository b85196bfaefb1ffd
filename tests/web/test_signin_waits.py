"""The sign-in wait as people see it: the 429 page with Retry-After says how long, says the
same for a name that exists and one that does not, and an admin sees and lifts waits at
/admin/sign-in-waits or with `swat users unlock`."""

import re

from sqlalchemy import select

from swat.domain import audit as kinds
from swat.extensions import db
from swat.models import AuditEvent, SignInThrottle

from ..conftest import PASSWORD, Browser

ELSEWHERE = {"environ_base": {"REMOTE_ADDR": "203.0.113.5"}}


def wrong_times(browser, username, n, **kw):
    for _ in range(n):
        r = browser.post("/login", {"username": username, "password": "wrong password"}, **kw)
        assert r.status_code == 200, r.status_code


def test_the_wait_page_says_how_long_and_the_same_for_any_name(app, users, browser, clock):
    limit = app.config["SWAT"]["login_max_failures"]
    wrong_times(browser, "agent", limit, **ELSEWHERE)
    wrong_times(browser, "nobody-here", limit, **ELSEWHERE)
    known = browser.post("/login", {"username": "agent", "password": PASSWORD}, **ELSEWHERE)
    unknown = browser.post("/login", {"username": "nobody-here", "password": PASSWORD}, **ELSEWHERE)
    assert known.status_code == unknown.status_code == 429
    assert (
        known.headers["Retry-After"] == unknown.headers["Retry-After"] == str(app.config["SWAT"]["login_delay_seconds"])
    )
    strip = lambda html: re.sub(r'value="[^"]*"', "", html)  # noqa: E731 (the typed name and the token)
    assert strip(known.get_data(as_text=True)) == strip(unknown.get_data(as_text=True))
    assert "ログインの失敗が続いたため、1 分後にもう一度お試しください。" in known.get_data(as_text=True)
    # the agent at their own desk is not slowed
    assert browser.login("agent").status_code == 302


def test_an_admin_sees_and_lifts_a_wait(app, users, auth, client, clock):
    attacker = Browser(app, app.test_client())
    wrong_times(attacker, "agent", app.config["SWAT"]["login_max_failures"], **ELSEWHERE)
    auth.login("agent")
    assert client.get("/admin/sign-in-waits").status_code == 403  # admins only
    browser = auth.login("admin")
    page = browser.get("/admin/sign-in-waits").get_data(as_text=True)
    assert "203.0.113.5" in page and ">agent</a>" in page
    r = browser.post("/admin/sign-in-waits/lift", {"username": "agent", "ip": "203.0.113.5"})
    assert r.status_code == 302
    page = browser.get(r.headers["Location"]).get_data(as_text=True)
    assert "agent のログインの待ち時間を解除しました。" in page
    assert "203.0.113.5" not in page
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.kind == kinds.LOCK_LIFTED)).one()
    assert event.actor_id == users["admin"].id and event.source == "127.0.0.1"
    ok = attacker.post("/login", {"username": "agent", "password": PASSWORD}, **ELSEWHERE)
    assert ok.status_code == 302


def test_swat_users_unlock(app, users, browser):
    wrong_times(browser, "lead", app.config["SWAT"]["login_max_failures"], **ELSEWHERE)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", "unlock", "Lead"])
    assert result.exit_code == 0, result.output
    assert "lifted 1 sign-in wait(s) of lead" in result.output
    assert db.session.scalars(select(SignInThrottle)).all() == []
    again = runner.invoke(args=["users", "unlock", "lead"])
    assert again.exit_code != 0 and "no sign-in wait" in again.output
