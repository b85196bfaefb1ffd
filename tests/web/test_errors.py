"""When something still goes wrong: the desk's own pages, a reference in the log, headers on downloads.

The named cases of the bad-input walk (tests/web/test_bad_input.py) are here too, each
as the user meets it, in both languages.
"""

from __future__ import annotations

import io
import logging
import re

import pytest

from swat.app import create_app
from swat.extensions import db
from swat.services.storage import Upload

REFERENCE = re.compile(r'data-testid="error-reference">([0-9a-f]{8})<')


@pytest.fixture
def another_app(app, tmp_path):
    """Another app on the suite's settings (and, unless told otherwise, its database);
    its connections are closed afterwards."""
    made = []

    def make(**overrides):
        settings = {
            "database_url": app.config["SQLALCHEMY_DATABASE_URI"],
            "instance_path": str(tmp_path / "instance"),
            "attachment_dir": str(tmp_path / "attachments"),
        }
        settings.update(overrides)
        other = create_app(settings)
        other.config["PROPAGATE_EXCEPTIONS"] = False  # as in production: the handler answers
        made.append(other)
        return other

    yield make
    for other in made:
        with other.app_context():
            db.session.remove()
            db.engine.dispose()


def test_an_unexpected_error_shows_the_desks_page_with_the_reference_the_log_carries(
    another_app, users, browser, caplog
):
    broken = another_app()

    @broken.get("/boom")
    def boom():
        raise RuntimeError("a bug nobody saw coming")

    b = type(browser)(broken, broken.test_client())
    assert b.login("agent").status_code == 302
    with caplog.at_level(logging.ERROR):
        r = b.get("/boom")
    assert r.status_code == 500
    html = r.get_data(as_text=True)
    assert '<html lang="ja"' in html and "エラーが発生しました" in html and 'class="topbar"' in html
    assert "内容は保存されていません" in html
    reference = REFERENCE.search(html).group(1)
    logged = [rec for rec in caplog.records if rec.exc_info and reference in rec.getMessage()]
    assert len(logged) == 1, [rec.getMessage() for rec in caplog.records]
    assert "/boom" in logged[0].getMessage()
    assert "a bug nobody saw coming" in str(logged[0].exc_info[1])
    # A second failure gets a reference of its own.
    again = REFERENCE.search(b.get("/boom").get_data(as_text=True)).group(1)
    assert again != reference


@pytest.mark.parametrize(
    "url",
    ["postgresql+psycopg://postgres@127.0.0.1:1/swat?connect_timeout=2", "sqlite:////nonexistent-swat-dir/no/desk.db"],
    ids=["postgresql-port-closed", "sqlite-path-unopenable"],
)
def test_an_unreachable_database_gives_the_try_again_page_in_the_users_language(url, another_app, browser, caplog):
    down = another_app(database_url=url)
    b = type(browser)(down, down.test_client())
    assert b.get("/login").status_code == 200  # the sign-in page needs no database
    with caplog.at_level(logging.WARNING):
        r = b.post("/login", {"username": "agent", "password": "whatever it is"})
    assert r.status_code == 503
    assert r.headers["Retry-After"].isdigit()
    html = r.get_data(as_text=True)
    assert '<html lang="ja"' in html and "ただいま相談窓口を利用できません" in html and 'class="topbar"' in html
    reference = REFERENCE.search(html).group(1)
    assert any(reference in rec.getMessage() and "database unavailable" in rec.getMessage() for rec in caplog.records)

    b.post("/language", {"locale": "en", "next": "/login"})
    r = b.post("/login", {"username": "agent", "password": "whatever it is"})
    assert r.status_code == 503
    assert "The desk is not available right now" in r.get_data(as_text=True)

    # Someone signed in (a session cookie from before the outage) gets the same page.
    with b.client.session_transaction() as s:
        s["_user_id"] = "a-session-token"
    r = b.get("/queue")
    assert r.status_code == 503 and "Wait a minute and try again." in r.get_data(as_text=True)


def test_downloads_may_not_be_framed_either(make_ticket, auth, browser):
    number = make_ticket(files=[Upload("資料.txt", io.BytesIO(b"data"), "text/plain")]).number
    auth.login("staff_health")
    html = browser.get(f"/tickets/{number}").get_data(as_text=True)
    link = re.search(r'href="(/tickets/[^"]+/files/\d+)"', html).group(1)
    file = browser.get(link)
    assert file.status_code == 200
    csp = file.headers["Content-Security-Policy"]
    assert "sandbox" in csp and "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert file.headers["X-Frame-Options"] == "DENY"
    browser.logout()
    auth.login("manager")
    for export in ("/reports/export.csv?period=FY2026", "/reports/export.xlsx?period=FY2026"):
        r = browser.get(export)
        assert r.status_code == 200 and r.headers["Content-Disposition"].startswith("attachment")
        assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]
        assert r.headers["X-Frame-Options"] == "DENY"


def test_a_nul_is_refused_everywhere_with_nothing_written(make_ticket, auth, browser):
    """Refused, not stripped: the same on both databases (PostgreSQL cannot store it)."""
    number = make_ticket().number
    auth.login("agent")
    r = browser.post(f"/tickets/{number}/reply", {"body": "回答です\x00"}, content_type="multipart/form-data")
    assert r.status_code == 400 and "NUL文字" in r.get_data(as_text=True)
    page = browser.get(f"/tickets/{number}").get_data(as_text=True)
    assert "回答です" not in page
    assert browser.get("/queue?q=%00").status_code == 400
    assert browser.get("/tickets/%00").status_code == 400
    browser.logout()
    r = browser.post("/login", {"username": "agent\x00", "password": "x"})
    assert r.status_code == 400 and "NUL文字" in r.get_data(as_text=True)


def test_the_refusals_speak_english_to_an_english_user(auth, browser):
    auth.login("agent")
    browser.post("/language", {"locale": "en", "next": "/queue"})
    r = browser.get("/queue?q=a%00b")
    assert r.status_code == 400 and "a NUL character, code 0" in r.get_data(as_text=True)
    r = browser.get("/queue?q=" + "x" * 2001)
    assert r.status_code == 400 and "too long (at most 2000 characters)" in r.get_data(as_text=True)


@pytest.mark.parametrize(
    "url", ["/admin/users/2147483648", "/admin/users/99999999999999999999999", "/tickets/{n}/files/2147483648"]
)
def test_ids_beyond_the_databases_integer_are_no_page(url, make_ticket, auth, browser):
    number = make_ticket().number
    auth.login("admin")
    r = browser.get(url.format(n=number))
    assert r.status_code == 404 and "ページが見つかりません" in r.get_data(as_text=True)


def test_an_escalation_beyond_the_integer_is_no_page(auth, browser):
    auth.login("lead")
    assert browser.post("/escalations/2147483648/acknowledge", {"remark": "x"}).status_code == 404


@pytest.mark.parametrize("value", ["2147483648", "99999999999999999999", "²", "-1", "1.0", "agent"])
def test_an_assignee_that_is_no_id_is_refused(value, make_ticket, auth, browser, users):
    t = make_ticket()
    auth.login("lead")
    for url in (f"/tickets/{t.number}/assign", f"/triage/{t.number}"):
        r = browser.post(url, {"assignee": value})
        assert r.status_code == 400, url
        assert "フォームの選択肢にない値" in r.get_data(as_text=True)
    page = browser.get(f"/tickets/{t.number}").get_data(as_text=True)
    assert "担当者を変更しました" not in page


@pytest.mark.parametrize(
    "period", ["FY1", "0001-01", "9999-12-01..9999-12-31", "FY2019", "FY2100", "0001-01-01..0001-01-02", "FY１"]
)
def test_report_periods_at_the_edges_of_the_calendar_are_refused_in_words(period, auth, browser):
    auth.login("manager")
    for url in ("/reports", "/reports/export.csv", "/reports/export.xlsx"):
        r = browser.get(url, query_string={"period": period})
        assert r.status_code == 400, url
        assert "このレポート期間は表示できません" in r.get_data(as_text=True)
    # The drill-down lists ignore a period they cannot read (the whole list, as without one).
    for url in ("/consultations", "/queue"):
        r = browser.get(url, query_string={"period": period, "measure": "opened"})
        assert r.status_code == 200, url


def test_the_supported_edges_themselves_are_shown(auth, browser):
    auth.login("manager")
    for period in ("FY2020", "2019-05", "FY2099", "2100-03", "2099-12-01..2100-03-31"):
        assert browser.get("/reports", query_string={"period": period}).status_code == 200, period


def test_a_bug_while_the_database_is_down_still_gets_the_desks_page(another_app, browser, caplog):
    """Who is signed in lives in the database: the 500 page is then drawn signed out,
    with its reference, never the server's bare text."""
    broken = another_app(database_url="sqlite:////nonexistent-swat-dir/no/desk.db")

    @broken.get("/boom")
    def boom():
        raise RuntimeError("a bug on a bad day")

    b = type(browser)(broken, broken.test_client())
    with b.client.session_transaction() as s:
        s["_user_id"] = "a-session-token"
    with caplog.at_level(logging.ERROR):
        r = b.get("/boom")
    assert r.status_code == 500
    html = r.get_data(as_text=True)
    assert '<html lang="ja"' in html and "エラーが発生しました" in html and 'class="topbar"' in html
    reference = REFERENCE.search(html).group(1)
    assert any(rec.exc_info and reference in rec.getMessage() and "/boom" in rec.getMessage() for rec in caplog.records)
