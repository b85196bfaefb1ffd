"""The other roles' journeys in a real browser (headless Chromium), in Japanese.

- A SWAT member asks the requester for information and waits; the requester's
  reply hands the consultation back; the member resolves it.
- The SWAT lead routes a consultation from the triage list, and acknowledges
  an SLA escalation from the notifications page.
- A manager reads the report, drills down from a number to its consultations
  and downloads the CSV and Excel exports.
- The administrator adds a user, and sees a missing field explained.

Data the browser starts from is made through the services and committed before
the browser acts (see tests/e2e/conftest.py). Screenshots go to
test-artifacts/screenshots/, numbered after those of test_browser_journey.py.
"""

from __future__ import annotations

import base64
import csv
import io
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select
from sqlalchemy import select

from swat.extensions import db
from swat.models import Escalation
from swat.services import escalation, routing, tickets
from tests.conftest import PASSWORD
from tests.e2e.test_browser_journey import (
    browser_errors,
    flash_text,
    sign_in,
    sign_out,
    status_label,
    submit,
    visible,
    wait,
)

pytestmark = pytest.mark.e2e

JST = ZoneInfo("Asia/Tokyo")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Like FETCH_JS, but hands back the body's bytes (base64) exactly as the browser got them:
# Response.text() would silently drop a UTF-8 BOM.
FETCH_BYTES_JS = """
const done = arguments[arguments.length - 1];
fetch(arguments[0], {credentials: "same-origin"})
  .then(async r => {
    const bytes = new Uint8Array(await r.arrayBuffer());
    let bin = "";
    for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    done({status: r.status, type: r.headers.get("Content-Type") || "",
          disposition: r.headers.get("Content-Disposition") || "", body: btoa(bin)});
  })
  .catch(e => done({status: -1, type: String(e), disposition: "", body: ""}));
"""


def fetch_bytes(driver, url):
    got = driver.execute_async_script(FETCH_BYTES_JS, url)
    assert got["status"] == 200, (url, got["status"], got["type"])
    return got["type"], got["disposition"], base64.b64decode(got["body"])


def css(scope, selector):
    return scope.find_element(By.CSS_SELECTOR, selector)


def submit_form(driver, form):
    submit(driver, css(form, "button[type='submit']"))


def ticket_form(driver, number, action):
    return css(driver, f"form[action='/tickets/{number}/{action}']")


def ticket_row(driver, number):
    return css(driver, "table.tickets").find_element(By.XPATH, f".//tr[td/a[normalize-space()='{number}']]")


def heading(driver):
    return visible(driver, "h1").text


def go(driver, link):
    """Follow a link of the page (by its CSS selector) and wait for the next page."""
    submit(driver, css(driver, link))


# --- 1. A SWAT member waits for the requester ------------------------------------------------

ASK = "現在お使いのLINE公式アカウントの種類と、月あたりの相談件数を教えてください。"
ANSWER = "認証済アカウントで、月に約120件の相談があります。"
CLOSING = "その規模でしたら、福祉部の事例の設定がそのまま使えます。手順書をお送りします。"


def test_agent_waits_for_the_requester_and_resolves(make_ticket, live_server, driver, screenshot):
    number = make_ticket(title="子育て相談のLINE導入", body="LINEで保護者からの相談を受けたいです。").number
    db.session.commit()  # end the test's transaction: the server's requests need the database
    base = live_server

    # --- The SWAT member opens the new consultation from the queue and claims it.
    sign_in(driver, base, "agent")
    assert driver.current_url == base + "/queue"
    assert heading(driver) == "SWAT対応キュー"
    assert "新規" in ticket_row(driver, number).text
    # On a wide screen the consultation opens beside the queue; its title opens the full page.
    ticket_row(driver, number).find_element(By.LINK_TEXT, number).click()
    submit(driver, visible(driver, "#queue-panel .panel-title a"))
    assert driver.current_url == f"{base}/tickets/{number}"
    assert status_label(driver) == "新規"
    submit_form(driver, ticket_form(driver, number, "claim"))
    assert flash_text(driver) == "この相談の担当者になりました。"
    assert status_label(driver) == "割当済"

    # --- ... asks the requester for information ...
    reply = ticket_form(driver, number, "reply")
    reply.find_element(By.NAME, "body").send_keys(ASK)
    submit_form(driver, reply)
    assert flash_text(driver) == "返信を送信しました。"
    assert ASK in [m.text for m in driver.find_elements(By.CSS_SELECTOR, ".conversation .from-desk .body")]

    # --- ... and sets the status to "waiting for the requester".
    status = Select(ticket_form(driver, number, "status").find_element(By.NAME, "status"))
    status.select_by_value("waiting")
    assert status.first_selected_option.text == "相談者の回答待ち"
    submit_form(driver, ticket_form(driver, number, "status"))
    assert flash_text(driver) == "状態を変更しました。"
    assert status_label(driver) == "相談者の回答待ち"
    # The resolution clock stops while the desk waits.
    assert "停止中（相談者の回答待ち）" in css(driver, ".sla-list").text
    screenshot("10-agent-waiting")
    sign_out(driver, base)

    # --- The requester sees that the desk waits for them, and answers.
    sign_in(driver, base, "staff_health")
    assert driver.current_url == base + "/consultations"
    assert "相談者の回答待ち" in ticket_row(driver, number).text
    submit(driver, ticket_row(driver, number).find_element(By.LINK_TEXT, number))
    assert status_label(driver) == "相談者の回答待ち"
    assert ASK in [m.text for m in driver.find_elements(By.CSS_SELECTOR, ".conversation .from-desk .body")]
    reply = ticket_form(driver, number, "reply")
    reply.find_element(By.NAME, "body").send_keys(ANSWER)
    submit_form(driver, reply)
    assert flash_text(driver) == "返信を送信しました。"
    # The requester's reply hands the consultation back to the desk.
    assert status_label(driver) == "対応中"
    bodies = [m.text for m in driver.find_elements(By.CSS_SELECTOR, ".conversation .message .body")]
    assert bodies[-2:] == [ASK, ANSWER]
    sign_out(driver, base)

    # --- The SWAT member is told of the reply: the bell counts it, and it says what happened.
    sign_in(driver, base, "agent")
    assert css(driver, "a.bell .count-badge").text == "未読1件"
    go(driver, "a.bell")
    told = css(driver, "ul.notifications li.unread a")
    assert told.text == f"{number}: 相談者から返信がありました（状態：対応中）"
    assert told.get_attribute("href") == f"{base}/tickets/{number}"
    go(driver, "nav a[href='/queue']")

    # --- The SWAT member finds it in progress again and resolves it.
    row = ticket_row(driver, number)
    assert "対応中" in row.text and "Agent" in row.text
    # ... and answers and resolves it in one step beside the queue, without leaving it.
    row.find_element(By.LINK_TEXT, number).click()
    visible(driver, "#queue-panel .panel-title")
    history = [li.text for li in driver.find_elements(By.CSS_SELECTOR, "#queue-panel ol.history li")]
    assert any("Staff Health" in h and "相談者の回答待ち → 対応中" in h for h in history), history
    reply = ticket_form(driver, number, "reply")
    reply.find_element(By.NAME, "body").send_keys(CLOSING)
    css(reply, "button[name='then_status'][value='resolved']").click()
    done = "返信を送信し、状態を「解決済」にしました。"
    wait(driver).until(lambda d: done in [p.text for p in d.find_elements(By.CSS_SELECTOR, "#queue-panel .flash")])
    assert CLOSING in [m.text for m in driver.find_elements(By.CSS_SELECTOR, "#queue-panel .from-desk .body")]
    assert css(driver, "#queue-panel .badge[class*='status-']").text == "解決済"
    wait(driver).until(lambda d: "解決済" in ticket_row(d, number).text)
    assert not driver.find_elements(By.CSS_SELECTOR, f"form[action='/tickets/{number}/reply']")

    assert browser_errors(driver) == []
    db.session.commit()


# --- 2. The SWAT lead triages, then acknowledges an escalation -------------------------------

REMARK = "担当者に至急の初回回答を指示しました。"


def test_lead_triages_and_acknowledges_an_escalation(make_ticket, users, clock, live_server, driver, screenshot):
    clock.set(datetime(2026, 11, 25, 10, 0, tzinfo=JST))
    vague = make_ticket(title="職員の働き方について相談", body="よろしくお願いします。")
    routing.route_new_ticket(db.session, vague, clock.now(), auto_apply=True)
    db.session.commit()
    assert vague.triage, "routing was expected to leave this vague consultation to the lead"
    urgent = make_ticket(
        "staff_welfare", title="窓口予約システムが停止", body="予約サイトが表示されません。", priority="urgent"
    )
    vague_number, urgent_number, agent2 = vague.number, urgent.number, str(users["agent2"].id)
    db.session.commit()
    base = live_server

    # --- The lead opens the triage list and routes the consultation in one step.
    sign_in(driver, base, "lead")
    go(driver, "nav a[href='/triage']")
    assert heading(driver) == "振り分け待ち"
    item = css(driver, f"section.triage-item[aria-labelledby='t-{vague_number}']")
    assert item.find_element(By.TAG_NAME, "h2").text == f"{vague_number} 職員の働き方について相談"
    assert "Staff Health" in item.text and "健康医療部" in item.text
    assert not driver.find_elements(By.CSS_SELECTOR, f"section[aria-labelledby='t-{urgent_number}']")
    form = css(item, f"form[action='/triage/{vague_number}']")
    theme = Select(form.find_element(By.NAME, "theme"))
    # The form starts from routing's unsure proposal; the lead corrects it.
    assert theme.first_selected_option.get_attribute("value") == "citizen-services"
    theme.select_by_value("telework")
    initiatives = Select(form.find_element(By.NAME, "initiatives"))
    initiatives.deselect_all()
    initiatives.select_by_value("telework")
    Select(form.find_element(By.NAME, "assignee")).select_by_value(agent2)
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", form)
    screenshot("11-triage")
    submit_form(driver, form)

    assert driver.current_url == base + "/triage"
    assert flash_text(driver) == f"{vague_number} を振り分けました。"
    assert not driver.find_elements(By.CSS_SELECTOR, "section.triage-item")
    assert css(driver, "main p.empty").text == "振り分け待ちの相談はありません。"
    driver.get(f"{base}/tickets/{vague_number}")
    facts = visible(driver, ".facts").text
    assert status_label(driver) == "割当済"
    assert "テレワーク" in facts and "Agent2" in facts

    # --- An hour of business time later, nobody has answered the urgent consultation: the
    # SLA sweep (run by the scheduler every minute) warns and escalates to the lead.
    clock.set(datetime(2026, 11, 25, 11, 0, tzinfo=JST))
    escalation.sweep(db.session, clock.now())
    levels = {
        e.level: e.id for e in db.session.scalars(select(Escalation).where(Escalation.target == "first_response"))
    }
    db.session.commit()
    assert set(levels) == {1, 2}, levels

    driver.get(base + "/queue")
    bell = visible(driver, "a.bell")
    assert "未読" in bell.text
    submit(driver, bell)
    assert heading(driver) == "通知"
    breach = css(driver, f"form[action='/escalations/{levels[2]}/acknowledge']")
    entry = breach.find_element(By.XPATH, "./ancestor::li[1]")
    assert f"{urgent_number}：初回回答の期限を超過しました" in entry.text
    warning = css(driver, f"form[action='/escalations/{levels[1]}/acknowledge']").find_element(
        By.XPATH, "./ancestor::li[1]"
    )
    assert f"{urgent_number}：初回回答の期限が迫っています" in warning.text
    breach.find_element(By.NAME, "remark").send_keys(REMARK)
    submit_form(driver, breach)

    # --- The acknowledgement shows who saw it when, with the remark; the warning still waits.
    assert driver.current_url == base + "/notifications"
    assert flash_text(driver) == "エスカレーションを確認済みにしました。"
    assert not driver.find_elements(By.CSS_SELECTOR, f"form[action='/escalations/{levels[2]}/acknowledge']")
    done = [
        li
        for li in driver.find_elements(By.CSS_SELECTOR, "ul.notifications > li")
        if "初回回答の期限を超過しました" in li.text
    ]
    assert len(done) == 1
    assert css(done[0], "p.muted").text == f"2026年11月25日 11:00に確認済み: {REMARK}"
    assert driver.find_elements(By.CSS_SELECTOR, f"form[action='/escalations/{levels[1]}/acknowledge']")
    screenshot("12-escalation-ack")

    assert browser_errors(driver) == []
    db.session.commit()
    ack = db.session.get(Escalation, levels[2])
    assert (ack.acknowledged_by_id, ack.remark) == (users["lead"].id, REMARK)
    db.session.commit()


# --- 3. A manager reads the report, drills down and exports ---------------------------------


def test_manager_report_drilldown_and_exports(make_ticket, users, clock, live_server, driver, screenshot):
    make_ticket("staff_health", title="健医の相談（LINE）")
    make_ticket("staff_health2", title="健医の相談（ワクチン予約）")
    done = make_ticket("staff_welfare", title="福祉の相談（電子申請）")
    tickets.claim_ticket(db.session, users["agent"], clock.now(), done)
    tickets.change_status(db.session, users["agent"], clock.now(), done, "resolved")
    db.session.commit()
    base = live_server

    sign_in(driver, base, "manager")
    go(driver, "nav a[href='/reports']")
    assert driver.current_url == base + "/reports"
    title = heading(driver)
    assert title.startswith("レポート") and "2026年度" in title, title  # this fiscal year by default
    figures = css(driver, "section[aria-labelledby='h-figures']")
    assert figures.find_element(By.TAG_NAME, "h2").text.startswith("主な指標")
    header = [th.text for th in figures.find_elements(By.CSS_SELECTOR, "thead th")]
    assert header[0] == "指標" and "2026年度" in header[1] and "2025年度" in header[2], header
    opened = css(figures, "a[href*='measure=opened']")
    assert opened.find_element(By.XPATH, "./ancestor::tr[1]/th").text == "受付件数"
    assert opened.text == "3"
    resolved = css(figures, "a[href*='measure=resolved']")
    assert resolved.find_element(By.XPATH, "./ancestor::tr[1]/th").text == "解決件数"
    assert resolved.text == "1"
    by_department = css(driver, "section[aria-labelledby='h-department']")
    assert by_department.find_element(By.TAG_NAME, "h2").text.startswith("部局別")
    health = by_department.find_element(By.XPATH, ".//tbody/tr[th[normalize-space()='健康医療部']]")
    health_opened = css(health, "a[href*='measure=opened']")
    assert health_opened.text == "2"
    health_href = health_opened.get_attribute("href")
    screenshot("13-report")

    # --- A number links to the consultations behind it.
    submit(driver, opened)
    assert "/consultations?" in driver.current_url and "measure=opened" in driver.current_url
    assert heading(driver) == "相談"
    assert css(driver, "p.count").text == "3件の相談"
    titles = sorted(
        r.find_element(By.CSS_SELECTOR, "td:nth-child(2) a").text
        for r in driver.find_elements(By.CSS_SELECTOR, "table.tickets tbody tr")
    )
    assert titles == ["健医の相談（LINE）", "健医の相談（ワクチン予約）", "福祉の相談（電子申請）"]
    screenshot("14-report-drilldown")
    driver.get(health_href)
    assert css(driver, "p.count").text == "2件の相談"
    rows = driver.find_elements(By.CSS_SELECTOR, "table.tickets tbody tr")
    assert len(rows) == 2 and all("健康医療部" in r.text for r in rows)
    go(driver, "nav a[href='/reports']")
    assert heading(driver) == title

    # --- The figures as CSV: UTF-8 with a BOM (for Excel) and the Japanese headings.
    figures = css(driver, "section[aria-labelledby='h-figures']")
    csv_href = css(figures, "h2 a[href*='/reports/export.csv'][href*='table=figures']").get_attribute("href")
    kind, disposition, body = fetch_bytes(driver, csv_href)
    assert kind.startswith("text/csv")
    assert disposition.startswith("attachment;") and ".csv" in disposition
    assert body.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert table[1][:2] == ["期間", "令和8年度（2026年度）"] and table[2] == ["対象", "全部局"], table[:3]
    assert table[4][0] == "指標" and "2026年度" in table[4][1], table[4]
    assert ["受付件数", "3", "0"] in table and ["解決件数", "1", "0"] in table, table

    # --- The whole report as an Excel workbook.
    xlsx_href = css(driver, "p.report-exports a[href*='/reports/export.xlsx']").get_attribute("href")
    kind, disposition, body = fetch_bytes(driver, xlsx_href)
    assert kind == XLSX_TYPE
    assert disposition.startswith("attachment;") and ".xlsx" in disposition
    assert body.startswith(b"PK")  # a zip container, as every .xlsx is
    book = load_workbook(io.BytesIO(body), read_only=True)
    assert {"主な指標", "推移", "部局別"} <= set(book.sheetnames), book.sheetnames
    first = [tuple(r) for r in book["主な指標"].iter_rows(min_row=5, max_row=6, values_only=True)]
    assert first[0][0] == "指標" and first[1][:3] == ("受付件数", 3, 0), first

    assert browser_errors(driver) == []
    db.session.commit()


# --- 4. The administrator adds a user ---------------------------------------------------------

NEW_USER = "tanaka.hanako"
NEW_NAME = "田中 花子"


def fill_user_form(form, username, display_name):
    form.find_element(By.NAME, "username").send_keys(username)
    if display_name:
        form.find_element(By.NAME, "display_name").send_keys(display_name)
    form.find_element(By.NAME, "email").send_keys(f"{username}@pref.example.jp")
    form.find_element(By.NAME, "password").send_keys(PASSWORD)
    Select(form.find_element(By.NAME, "role")).select_by_value("staff")
    Select(form.find_element(By.NAME, "department")).select_by_value("health-medical")


def test_admin_adds_a_user_and_sees_a_missing_field_explained(users, live_server, driver, screenshot):
    db.session.commit()
    base = live_server

    sign_in(driver, base, "admin")
    go(driver, "nav a[href='/admin/users']")
    assert heading(driver) == "ユーザー"
    assert css(driver, "p.count").text == "9人のユーザー"
    screenshot("15-admin-users")

    # --- Add a member of the health department.
    go(driver, "main a[href='/admin/users/new']")
    assert heading(driver) == "ユーザーを追加"
    form = css(driver, "main form[method='post']")
    fill_user_form(form, NEW_USER, NEW_NAME)
    assert form.find_element(By.NAME, "active").is_selected()
    screenshot("16-admin-new-user")
    submit_form(driver, form)

    assert driver.current_url == base + "/admin/users"
    assert flash_text(driver) == f"ユーザー {NEW_USER} を作成しました。"
    assert css(driver, "p.count").text == "10人のユーザー"
    row = css(driver, "main table").find_element(By.XPATH, f".//tr[td/a[normalize-space()='{NEW_USER}']]")
    cells = [td.text for td in row.find_elements(By.TAG_NAME, "td")]
    assert cells[:4] == [NEW_USER, NEW_NAME, "部局職員", "健康医療部"], cells
    assert cells[5:] == [f"{NEW_USER}@pref.example.jp", "はい"], cells

    # --- A form without a display name comes back with the field marked and explained.
    go(driver, "main a[href='/admin/users/new']")
    form = css(driver, "main form[method='post']")
    fill_user_form(form, "sato.jiro", "")
    submit_form(driver, form)
    assert driver.current_url == base + "/admin/users/new"
    assert heading(driver) == "ユーザーを追加"
    # The form comes back with HTTP 400, which Chromium logs; nothing else may be logged.
    assert [e.split(" - ", 1)[1] for e in browser_errors(driver)] == [
        "Failed to load resource: the server responded with a status of 400 (BAD REQUEST)"
    ]
    name = css(driver, "main form input[name='display_name']")
    assert name.get_attribute("aria-invalid") == "true"
    error = css(driver, "#display_name-error")
    assert error.text == "この項目は必須です。"
    assert name.get_attribute("aria-describedby") == "display_name-error"
    field = name.find_element(By.XPATH, "./ancestor::div[contains(@class,'field')][1]")
    assert "has-error" in field.get_attribute("class")
    assert field.find_element(By.CSS_SELECTOR, "p.error").get_attribute("id") == "display_name-error"
    # Only that field is marked, and what was typed is kept.
    assert [e.get_attribute("name") for e in driver.find_elements(By.CSS_SELECTOR, "main [aria-invalid='true']")] == [
        "display_name"
    ]
    assert css(driver, "main form input[name='username']").get_attribute("value") == "sato.jiro"
    assert not driver.find_elements(By.CSS_SELECTOR, ".flashes .flash-success")
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", name)
    screenshot("17-admin-user-error")
    driver.get(base + "/admin/users?q=sato")
    assert css(driver, "p.count").text == "0人のユーザー"
    sign_out(driver, base)

    # --- The new user signs in, chooses their own password (the admin knows this one), and
    # lands on their department's consultations.
    sign_in(driver, base, NEW_USER)
    assert driver.current_url == base + "/settings/password"
    assert heading(driver) == "パスワードの変更"
    assert "ほかの人が設定したパスワード" in css(driver, "main p.notice").text
    form = css(driver, "main form[action='/settings/password']")
    form.find_element(By.NAME, "current").send_keys(PASSWORD)
    form.find_element(By.NAME, "password").send_keys("sakura ferry lantern 7")
    form.find_element(By.NAME, "again").send_keys("sakura ferry lantern 7")
    submit_form(driver, form)
    assert flash_text(driver) == "パスワードを変更しました。ほかのブラウザーでのログインはすべて終了しました。"
    assert driver.current_url == base + "/consultations"
    assert heading(driver) == "所属部局の相談"
    assert NEW_NAME in css(driver, ".topbar .who").text and "部局職員" in css(driver, ".topbar .who").text

    assert browser_errors(driver) == []
    db.session.commit()
