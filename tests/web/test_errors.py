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

REFERENCE = re.compile(r'data-testid="error-reference">([0-9a-f]{16})<')


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
        html = r.get_data(as_text=True)
        assert "レポートの対象は2019年4月から2100年3月までです" in html or "は期間として読み取れません" in html, url
        assert "?period= には、月（2026-11）、四半期（FY2026-Q3）、年度（FY2026）" in html, url
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


def test_control_characters_are_refused_like_nul(auth, browser, users):
    """They mean nothing in a consultation and break exports: a form that sends one saves nothing."""
    auth.login("admin")
    agent = users["agent"]
    before = agent.display_name
    r = browser.post(f"/admin/users/{agent.id}", {"display_name": "担当\x01者", "role": "agent"})
    assert r.status_code == 400 and "保存できない制御文字（コード1）が含まれています" in r.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(type(agent), agent.id).display_name == before
    r = browser.get("/queue?q=a%1fb")
    assert r.status_code == 400 and "コード31" in r.get_data(as_text=True)


def test_a_staff_import_with_a_control_character_imports_nothing_and_names_the_line(auth, browser):
    from swat.models import User

    auth.login("admin")
    csv_text = "username,display_name,department\r\nyamada,山田,health-medical\r\nsuzuki,鈴木\x00花子,welfare\r\n"
    r = browser.post(
        "/admin/users/import", {"file": (io.BytesIO(csv_text.encode()), "x.csv")}, content_type="multipart/form-data"
    )
    assert r.status_code == 400
    assert "3行目: 保存できない制御文字が含まれています。" in r.get_data(as_text=True)
    assert db.session.query(User).filter(User.username.in_(["yamada", "suzuki"])).count() == 0


def test_the_workbook_export_survives_a_control_character_stored_before_they_were_refused(
    make_ticket, auth, browser, users, clock
):
    from openpyxl import load_workbook
    from sqlalchemy import update

    from swat.models import User
    from swat.services import tickets

    t = make_ticket()
    tickets.claim_ticket(db.session, users["agent"], clock.now(), t)
    db.session.execute(update(User).where(User.id == users["agent"].id).values(display_name="担当\x01者"))
    db.session.commit()
    auth.login("manager")
    r = browser.get("/reports/export.xlsx?period=2026-11&table=member")
    assert r.status_code == 200
    cells = [c for row in load_workbook(io.BytesIO(r.data))["SWATメンバー別"].iter_rows(values_only=True) for c in row]
    assert "担当\ufffd者" in cells


def test_with_the_database_down_a_signed_in_visitor_still_gets_pages_not_500s(another_app, browser):
    """Who is signed in cannot be read: static files are served and refusals drawn signed out."""
    down = another_app(database_url="sqlite:////nonexistent-swat-dir/no/desk.db")
    b = type(browser)(down, down.test_client())
    with b.client.session_transaction() as s:
        s["_user_id"] = "a-session-token"
    r = b.get("/static/css/app.css")
    assert r.status_code == 200
    r = b.get("/no-such-page")
    assert r.status_code == 404 and "お探しのページまたは相談は存在しません" in r.get_data(as_text=True)
    assert b.get("/queue").status_code == 503


def test_other_refusals_have_a_title_in_the_users_language(browser, users):
    r = browser.client.get("/static/css/app.css", headers={"Range": "bytes=99999999-"})
    assert r.status_code == 416
    assert "<h1>Requested Range" not in r.get_data(as_text=True)
    assert "<h1>不正なリクエスト</h1>" in r.get_data(as_text=True)


def test_a_refused_request_writes_nothing_not_even_the_last_seen_time(auth, browser, clock):
    from swat.models import UserSession

    auth.login("agent")
    seen = db.session.query(UserSession.last_seen_at).scalar()
    clock.advance(minutes=5)
    assert browser.get("/queue?q=%00").status_code == 400
    db.session.expire_all()
    assert db.session.query(UserSession.last_seen_at).scalar() == seen
    assert browser.get("/queue").status_code == 200  # an ordinary page still keeps it
    db.session.expire_all()
    assert db.session.query(UserSession.last_seen_at).scalar() > seen
