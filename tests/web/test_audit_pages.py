"""/admin/audit: what an admin reads of the trail, filtered and paged, its CSV export, and
nobody else's access (department-scoped managers included)."""

import csv
import io
from datetime import timedelta

import pytest
from sqlalchemy import delete, select

from swat.domain import audit as kinds
from swat.extensions import db
from swat.models import AuditEvent, User
from swat.services import audit

from ..conftest import PASSWORD


def rows(html: str) -> int:
    return html.count('data-testid="audit-event"')


@pytest.fixture
def trail(session, users, clock):
    """Only the events the test writes."""
    session.execute(delete(AuditEvent).execution_options(swat_audit_prune=True))
    session.commit()
    return users


@pytest.mark.parametrize("who", ["staff_health", "agent", "lead", "manager", "manager_health"])
def test_only_admins_open_the_trail_or_its_export(auth, browser, who):
    auth.login(who)
    assert browser.get("/admin/audit").status_code == 403
    assert browser.get("/admin/audit/export.csv").status_code == 403
    assert "/admin/audit" not in browser.get("/").get_data(as_text=True)


def test_anonymous_visitors_are_sent_to_sign_in(client, users):
    r = client.get("/admin/audit")
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_an_admins_change_shows_with_who_what_and_from_where(auth, browser, trail):
    auth.login("admin")
    uid = trail["agent2"].id
    r = browser.post(
        f"/admin/users/{uid}",
        {"display_name": "Agent2", "role": "lead", "department": "smart-city", "themes": ["telework"], "active": "y"},
    )
    assert r.status_code == 302
    html = browser.get("/admin/audit?kind=role_changed").get_data(as_text=True)
    assert rows(html) == 1
    assert "権限を変更" in html and "SWATメンバー → SWAT班長" in html and "127.0.0.1" in html
    assert "2026-11-25 10:00:00" in html  # Tokyo time
    # The sign-in of the admin is there too, newest first after the change.
    everything = browser.get("/admin/audit").get_data(as_text=True)
    assert everything.index("権限を変更") < everything.index("ログイン</td>")


def test_sign_ins_and_failures_through_the_page_keep_the_address(browser, trail):
    assert browser.login("agent", "wrong password").status_code == 200
    assert browser.login("nobody", "wrong password").status_code == 200
    assert browser.login("agent").status_code == 302
    db.session.expire_all()
    found = [(e.kind, e.subject_name, e.source) for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))]
    assert found == [
        ("sign_in_failed", "Agent", "127.0.0.1"),
        ("sign_in_failed", "", "127.0.0.1"),
        ("signed_in", "Agent", "127.0.0.1"),
    ]
    browser.logout()
    browser.login("admin")
    html = browser.get("/admin/audit?user=nobody").get_data(as_text=True)
    assert rows(html) == 1 and "存在しないユーザー名 nobody" in html and "ログインに失敗" in html


def _many(session, users, clock, n=60):
    agent, admin = users["agent"], users["admin"]
    for i in range(n):
        audit.record(
            session,
            clock.now() - timedelta(hours=i),
            actor=admin,
            kind=kinds.ROLE_CHANGED if i % 2 else kinds.DEPARTMENT_CHANGED,
            subject=agent if i < 40 else users["lead"],
            source=f"192.0.2.{i}",
            before={"role": "agent"},
            after={"role": "lead"},
        )
    session.commit()


def test_filters_and_pages(auth, browser, trail, session, clock):
    _many(session, trail, clock)
    auth.login("admin")
    first = browser.get("/admin/audit").get_data(as_text=True)
    assert rows(first) == 50 and "61件" in first  # 60 and the admin's sign-in
    second = browser.get("/admin/audit?page=2").get_data(as_text=True)
    assert rows(second) == 11 and "192.0.2.59" in second and "192.0.2.59" not in first
    assert rows(browser.get("/admin/audit?user=agent").get_data(as_text=True)) == 40
    assert rows(browser.get("/admin/audit?user=LEAD").get_data(as_text=True)) == 20
    assert rows(browser.get("/admin/audit?actor=admin&kind=role_changed").get_data(as_text=True)) == 30
    assert rows(browser.get("/admin/audit?actor=agent").get_data(as_text=True)) == 0
    # Tokyo days: 10:00 on 25 November back 59 hours reaches 22 November 23:00 (and the
    # admin's sign-in is on the 25th).
    assert rows(browser.get("/admin/audit?from=2026-11-25&to=2026-11-25").get_data(as_text=True)) == 11 + 1
    assert rows(browser.get("/admin/audit?to=2026-11-23").get_data(as_text=True)) == 60 - 35
    # The filters survive paging and go with the export.
    paged = browser.get("/admin/audit?actor=admin").get_data(as_text=True)
    assert "/admin/audit?actor=admin&amp;page=2" in paged and "/admin/audit/export.csv?actor=admin" in paged


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("from=2026-02-30", "日付はYYYY-MM-DDの形で入力してください"),
        ("to=yesterday", "日付はYYYY-MM-DDの形で入力してください"),
        ("from=0001-01-01", "日付はYYYY-MM-DDの形で入力してください"),
        ("to=9999-12-31", "日付はYYYY-MM-DDの形で入力してください"),
        ("from=2026-12-01&to=2026-11-01", "開始日が終了日より後になっています"),
        ("kind=everything", "記録の種類は一覧から選んでください"),
        ("user=" + "a" * 65, "ユーザー名は64文字以内です"),
    ],
)
def test_bad_filters_are_refused_in_japanese(auth, browser, trail, query, message):
    auth.login("admin")
    for url in ("/admin/audit?", "/admin/audit/export.csv?"):
        r = browser.get(url + query)
        assert r.status_code == 400
        assert message in r.get_data(as_text=True)


def test_the_csv_export_is_the_filtered_list_and_excel_safe(auth, browser, trail, session, clock):
    staff = session.get(User, trail["staff_health"].id)
    audit.record(
        session,
        clock.now(),
        actor=trail["admin"],
        kind=kinds.PROFILE_CHANGED,
        subject=staff,
        source="192.0.2.1",
        before={"display_name": "Staff Health"},
        after={"display_name": '=HYPERLINK("http://x")'},
    )
    staff.display_name = '=HYPERLINK("http://x")'
    audit.record(session, clock.now(), actor=staff, kind=kinds.SIGNED_IN, subject=staff, source="192.0.2.1")
    session.commit()
    auth.login("admin")
    r = browser.get("/admin/audit/export.csv?user=staff_health")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    assert "attachment" in r.headers["Content-Disposition"]
    body = r.get_data()
    assert body.startswith("\ufeff".encode())
    table = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert table[0] == ["監査ログ"] and table[1] == ["ユーザー", "staff_health"]
    header = table.index(["日時（日本時間）", "操作した人", "種類", "ユーザー", "接続元", "変更内容"])
    events = table[header + 1 :]
    assert len(events) == 2
    signed_in, changed = events
    assert signed_in[:3] == ["2026-11-25 10:00:00", '\'=HYPERLINK("http://x")', "ログイン"]
    assert signed_in[3] == '\'=HYPERLINK("http://x")'  # a formula never runs in Excel
    assert changed[2:] == [
        "表示名またはメールアドレスを変更",
        "Staff Health",
        "192.0.2.1",
        '表示名: Staff Health → =HYPERLINK("http://x")',
    ]
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in table for cell in row)


def test_the_users_pages_link_to_the_trail(auth, browser, trail):
    auth.login("admin")
    assert 'href="/admin/audit"' in browser.get("/admin/users").get_data(as_text=True)
    html = browser.get(f"/admin/users/{trail['agent'].id}").get_data(as_text=True)
    assert 'href="/admin/audit?user=agent"' in html and "このユーザーの監査ログ" in html


def test_a_new_account_made_on_the_page_is_in_the_trail(auth, browser, trail):
    auth.login("admin")
    r = browser.post(
        "/admin/users/new",
        {
            "username": "sato",
            "display_name": "佐藤 一",
            "password": PASSWORD,
            "role": "agent",
            "department": "smart-city",
        },
    )
    assert r.status_code == 302
    html = browser.get("/admin/audit?user=sato").get_data(as_text=True)
    assert rows(html) == 1 and "アカウントを作成" in html and "佐藤 一" in html
