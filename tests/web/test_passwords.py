"""Your own password from the browser: changing it, a forgotten one reset by a mail that
reaches a real SMTP server on loopback, and a password someone else set changed first."""

import json
import re
from email.header import decode_header, make_header

from sqlalchemy import func, select

from swat.extensions import db
from swat.jobs.delivery import deliver
from swat.models import OutboxMessage, PasswordResetRequest, User
from swat.services import passwords

from ..conftest import CSRF_RE, PASSWORD, Browser

NEW = "kansai blue ferry 2099"
LINK_RE = re.compile(r"https?://[^\s]+/password/reset/([0-9a-f]{64})")


def _second_browser(app):
    return Browser(app, app.test_client())


def _signed_in(browser) -> bool:
    return browser.get("/notifications").status_code == 200


def _page(response) -> str:
    return response.get_data(as_text=True)


def test_changing_your_password_signs_out_your_other_browsers(app, auth, browser, users):
    auth.login("agent")
    other = _second_browser(app)
    assert other.login("agent").status_code == 302 and _signed_in(other)
    page = browser.get("/notifications")
    assert "パスワードを変更" in _page(page)
    changed = browser.post(
        "/settings/password", {"current": PASSWORD, "password": NEW, "again": NEW}, follow_redirects=True
    )
    assert "パスワードを変更しました" in _page(changed)
    assert _signed_in(browser) and not _signed_in(other)
    browser.logout()
    assert "ユーザー名またはパスワードが正しくありません" in _page(browser.login("agent", PASSWORD))
    assert browser.login("agent", NEW).status_code == 302


def test_the_change_form_says_what_is_wrong_in_japanese(auth, browser, users):
    auth.login("agent")
    wrong = browser.post("/settings/password", {"current": "not mine", "password": NEW, "again": NEW})
    assert "現在のパスワードが違います" in _page(wrong)
    differ = browser.post("/settings/password", {"current": PASSWORD, "password": NEW, "again": NEW + "x"})
    assert "2つの新しいパスワードが一致しません" in _page(differ)
    weak = browser.post(
        "/settings/password", {"current": PASSWORD, "password": "password1234", "again": "password1234"}
    )
    assert "推測されやすい" in _page(weak) and 'aria-invalid="true"' in _page(weak)
    same = browser.post("/settings/password", {"current": PASSWORD, "password": PASSWORD, "again": PASSWORD})
    assert "今と違うパスワード" in _page(same)


def test_guessing_the_current_password_waits_as_a_sign_in_does(auth, browser, users):
    auth.login("agent")
    for _ in range(5):
        assert (
            browser.post("/settings/password", {"current": "guess", "password": NEW, "again": NEW}).status_code == 200
        )
    stopped = browser.post("/settings/password", {"current": PASSWORD, "password": NEW, "again": NEW})
    assert stopped.status_code == 429 and "分後にもう一度" in _page(stopped)


def test_a_password_set_by_an_admin_is_changed_before_anything_else(app, auth, browser, users):
    agent = users["agent"]
    theirs = _second_browser(app)
    assert theirs.login("agent").status_code == 302
    auth.login("admin")
    saved = browser.post(
        f"/admin/users/{agent.id}",
        {"display_name": "Agent", "role": "agent", "department": "smart-city", "password": NEW, "active": "y"},
    )
    assert saved.status_code == 302
    assert not _signed_in(theirs)  # the admin's reset ended the agent's session
    assert theirs.login("agent", NEW).status_code == 302
    queue = theirs.get("/queue")
    assert queue.status_code == 303 and queue.headers["Location"].endswith("/settings/password")
    page = _page(theirs.get("/settings/password"))
    assert "ほかの人が設定したパスワード" in page
    mine = "my own lantern 4721"
    assert theirs.post("/settings/password", {"current": NEW, "password": mine, "again": mine}).status_code == 303
    assert theirs.get("/queue").status_code == 200


def _reset_page_text(response) -> str:
    return CSRF_RE.sub("", _page(response))


def test_a_forgotten_password_is_reset_by_a_link_in_a_mail(app, browser, users, clock, smtp):
    db.session.get(User, users["staff_health"].id).email = "kenko@pref.example.jp"
    db.session.commit()
    other = _second_browser(app)
    assert other.login("staff_health").status_code == 302
    login = _page(browser.get("/login"))
    assert "パスワードを忘れた場合" in login and "/password/reset" in login
    asked = browser.post("/password/reset", {"name": "kenko@pref.example.jp"})
    assert asked.status_code == 200 and "メールをご確認ください" in _page(asked)
    assert deliver(clock.now())["sent"] == 1
    ((rcpts, mail),) = smtp.messages
    assert rcpts == ["kenko@pref.example.jp"]
    assert str(make_header(decode_header(mail["Subject"]))) == "[SWAT] 新しいパスワードの設定"
    text = mail.get_body(preferencelist=("plain",)).get_content()
    assert "staff_health" in text and "30 分以内" in text
    token = LINK_RE.search(text).group(1)
    stored = " ".join(db.session.scalars(select(OutboxMessage.params)))
    assert token not in stored  # only the mail holds it
    opened = browser.get(f"/password/reset/{token}")
    assert opened.status_code == 303 and opened.headers["Location"].endswith("/password/reset/new")
    assert opened.headers["Referrer-Policy"] == "no-referrer"
    form = browser.get("/password/reset/new")  # the address no longer holds the token
    assert form.status_code == 200 and form.headers["Referrer-Policy"] == "no-referrer"
    assert token not in _page(form)
    weak = browser.post("/password/reset/new", {"password": "password1234", "again": "password1234"})
    assert "推測されやすい" in _page(weak)
    done = browser.post("/password/reset/new", {"password": NEW, "again": NEW}, follow_redirects=True)
    assert "新しいパスワードを設定しました" in _page(done)
    assert not _signed_in(other)
    again = browser.get(f"/password/reset/{token}")
    assert again.status_code == 404 and "このリンクはもう使えません" in _page(again)
    assert browser.get("/password/reset/new").status_code == 404
    assert browser.login("staff_health", NEW).status_code == 302
    assert browser.get("/consultations").status_code == 200  # no change asked for: it is their own


def test_the_reset_page_answers_the_same_whoever_is_named(browser, users, clock, smtp):
    db.session.get(User, users["staff_health"].id).email = "kenko@pref.example.jp"
    db.session.commit()
    answers = {
        name: _reset_page_text(browser.post("/password/reset", {"name": name}))
        for name in ("staff_health", "no-such-person", "nobody@pref.example.jp", "agent")  # agent has no address
    }
    assert len(set(answers.values())) == 1
    # The page wrote the same row for each; the delivery job finds the one account to mail.
    assert db.session.scalar(select(func.count()).select_from(PasswordResetRequest)) == 4
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0
    deliver(clock.now())
    assert list(db.session.scalars(select(OutboxMessage.recipient))) == ["kenko@pref.example.jp"]
    empty = browser.post("/password/reset", {"name": ""})
    assert "この項目は必須です" in _page(empty)


def test_an_expired_or_made_up_link_says_so(app, browser, users, clock, smtp):
    db.session.get(User, users["staff_health"].id).email = "kenko@pref.example.jp"
    db.session.commit()
    browser.post("/password/reset", {"name": "staff_health"})
    deliver(clock.now())
    salt = json.loads(db.session.scalar(select(OutboxMessage.params)))["salt"]
    token = passwords.reset_token(app.secret_key, salt)
    assert browser.get(f"/password/reset/{token}").status_code == 303
    assert browser.get("/password/reset/" + "0" * 64).status_code == 404
    clock.advance(minutes=31)
    late = browser.post("/password/reset/new", {"password": NEW, "again": NEW})
    assert late.status_code == 404 and "このリンクはもう使えません" in _page(late)


def test_an_admin_changes_their_own_password_where_the_current_one_is_asked(auth, browser, users):
    auth.login("admin")
    admin = users["admin"]
    refused = browser.post(
        f"/admin/users/{admin.id}", {"display_name": "Admin", "role": "admin", "password": NEW, "active": "y"}
    )
    assert refused.status_code == 400 and "「パスワードを変更」のページで変更してください" in _page(refused)
    assert _signed_in(browser)
    browser.logout()
    assert browser.login("admin", NEW).status_code == 200  # not changed


def test_a_reset_link_opens_even_while_another_step_is_pending(app, auth, browser, users, clock, smtp, monkeypatch):
    db.session.get(User, users["manager"].id).email = "manager@pref.example.jp"
    db.session.commit()
    monkeypatch.setitem(app.config["SWAT"], "two_factor_required", True)
    auth.login("manager")
    assert browser.get("/reports").headers["Location"].endswith("/settings/two-factor")
    browser.post("/password/reset", {"name": "manager"})
    deliver(clock.now())
    salt = json.loads(db.session.scalar(select(OutboxMessage.params)))["salt"]
    opened = browser.get(f"/password/reset/{passwords.reset_token(app.secret_key, salt)}")
    assert opened.headers["Location"].endswith("/password/reset/new")
    assert browser.get("/password/reset/new").status_code == 200


def test_a_directory_account_is_told_to_change_it_in_the_directory(auth, browser, users):
    auth.login("agent")
    db.session.get(User, users["agent"].id).auth_source = "ldap"
    db.session.commit()
    page = _page(browser.get("/settings/password"))
    assert "ディレクトリ" in page and 'name="current"' not in page
