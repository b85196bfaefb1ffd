"""The sign-in page against a real OpenLDAP (tests/fixtures/slapd.py): what a person sees."""

from __future__ import annotations

import re

from tests.conftest import PASSWORD

WRONG = "ユーザー名またはパスワードが正しくありません。"


def _page(response) -> str:
    """The page less the form's values (the user name typed, the CSRF token)."""
    return re.sub(r'value="[^"]*"', "", response.get_data(as_text=True))


def test_directory_user_signs_in_and_lands_on_their_home(browser, ldap_desk):
    response = browser.login("yamada", ldap_desk.password)
    assert response.status_code == 302
    page = browser.get(response.headers["Location"])
    assert page.status_code == 200 and "山田 太郎" in page.get_data(as_text=True)


def test_wrong_password_unknown_user_and_empty_password_read_as_a_local_wrong_password(browser, ldap_desk, users):
    local_wrong = browser.login("admin", "wrong password")
    assert local_wrong.status_code == 200 and WRONG in local_wrong.get_data(as_text=True)
    for username, password in (
        ("yamada", "wrong password"),
        ("nobody-here", ldap_desk.password),
        ("tanaka", ldap_desk.password),  # in no mapped group
        ("agent", PASSWORD),  # a local non-admin, with ldap_local_signin = "admins"
    ):
        page = browser.login(username, password)
        assert (page.status_code, _page(page)) == (200, _page(local_wrong)), username
    assert browser.login("yamada", "").status_code == 200  # the form asks for a password
    # the directory saw one bind as yamada: the wrong password, never an empty one
    assert sum("uid=yamada" in line and "method=128" in line for line in ldap_desk.binds()) == 1


def test_local_admin_still_signs_in_and_local_staff_when_allowed(browser, ldap_desk, users):
    assert browser.login("admin", PASSWORD).status_code == 302
    browser.logout()
    assert browser.login("agent", PASSWORD).status_code == 200
    ldap_desk.configure(ldap_local_signin="all")
    assert browser.login("agent", PASSWORD).status_code == 302


def test_leaving_the_group_ends_the_open_session(browser, ldap_desk):
    home = browser.login("suzuki", ldap_desk.password).headers["Location"]
    assert browser.get(home).status_code == 200
    ldap_desk.set_member("swat-leads", "suzuki", False)
    ldap_desk.set_member("swat-agents", "suzuki", False)
    # the next sign-in anywhere (here another browser's) takes the account out
    other = browser.__class__(browser.app, browser.app.test_client())
    assert other.login("suzuki", ldap_desk.password).status_code == 200
    assert browser.get(home).status_code == 302  # back to the sign-in page
