"""Told of every reply, and a duplicate merged, in a real browser (headless Chromium): the
requester's reply reaches the assignee's bell; a member merges a duplicate into its original
and both requesters read the whole conversation there; one SLA sweep over several late
consultations gives the lead one e-mail and one bell entry per consultation."""

from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from selenium.webdriver.common.by import By
from sqlalchemy import select

from swat.extensions import db
from swat.models import OutboxMessage
from swat.services import escalation, tickets
from tests.e2e.test_browser_journey import (
    browser_errors,
    button,
    flash_text,
    sign_in,
    sign_out,
    status_label,
    submit,
    visible,
)

pytestmark = pytest.mark.e2e
JST = ZoneInfo("Asia/Tokyo")


def test_a_requester_reply_reaches_the_assignee(make_ticket, users, clock, store, limits, live_server, driver):
    t = make_ticket(title="オンライン診療の相談")
    tickets.claim_ticket(db.session, users["agent"], clock.now(), t)
    tickets.add_reply(db.session, users["agent"], clock.now(), t, "利用人数を教えてください。", [], store, limits)
    number, base = t.number, live_server
    db.session.commit()

    sign_in(driver, base, "staff_health")
    driver.get(f"{base}/tickets/{number}")
    visible(driver, "textarea#body").send_keys("1日あたり30人ほどです。")
    submit(driver, button(driver, "返信を送信"))
    assert flash_text(driver) == "返信を送信しました。"
    sign_out(driver, base)

    sign_in(driver, base, "agent")
    assert visible(driver, "a.bell .count-badge").text == "未読1件"
    driver.find_element(By.CSS_SELECTOR, "a.bell").click()
    items = driver.find_elements(By.CSS_SELECTOR, "ul.notifications li")
    assert [i.find_element(By.CSS_SELECTOR, "a").text for i in items][:1] == [f"{number}: 相談者から返信がありました"]
    assert browser_errors(driver) == []


def test_a_member_merges_a_duplicate_and_its_requester_follows_it(
    make_ticket, users, clock, live_server, driver, screenshot
):
    original = make_ticket(title="ワクチン接種の予約システム", body="予約システムを導入したいです。")
    tickets.claim_ticket(db.session, users["agent"], clock.now(), original)
    clock.advance(hours=3)
    duplicate = make_ticket(
        requester="staff_health2", title="予約システムの件（再送）", body="接種券番号での予約はできますか。"
    )
    first, second, base = original.number, duplicate.number, live_server
    db.session.commit()

    sign_in(driver, base, "agent")
    driver.get(f"{base}/tickets/{second}")
    box = visible(driver, "#merge-number")
    assert box.get_attribute("aria-describedby") == "merge-hint"
    box.send_keys(first)
    submit(driver, button(driver, "統合先を確認する"))
    confirm = visible(driver, ".merge-confirm")  # nothing merged yet: where it would go, and the button
    assert f"この重複相談を {first} に統合しますか？" in confirm.text and "ワクチン接種の予約システム" in confirm.text
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", confirm)
    screenshot("23-merge")
    submit(driver, button(confirm, "統合する"))
    assert flash_text(driver) == f"この相談を {first} に統合しました。"
    assert status_label(driver) == "完了"
    notice = visible(driver, ".merged-notice")
    assert first in notice.text
    assert not driver.find_elements(By.CSS_SELECTOR, "textarea#body")  # no more replies here
    notice.find_element(By.TAG_NAME, "a").click()
    posts = driver.find_elements(By.CSS_SELECTOR, "ol.conversation > li")
    moved = [p for p in posts if "接種券番号での予約はできますか。" in p.text]
    assert len(moved) == 1 and f"{second} から統合" in moved[0].text
    assert second in driver.find_element(By.CSS_SELECTOR, ".facts").text  # 統合された重複相談
    sign_out(driver, base)

    # The duplicate's requester was told, and reads the answer on the original.
    sign_in(driver, base, "staff_health2")
    driver.find_element(By.CSS_SELECTOR, "a.bell").click()
    told = driver.find_element(By.CSS_SELECTOR, "ul.notifications li a")
    assert told.text == f"{second} は {first} に統合されました"
    told.click()
    assert visible(driver, "h1 .number").text == first
    assert browser_errors(driver) == []


def test_one_sweep_gives_the_lead_one_digest(make_ticket, users, clock, live_server, driver):
    clock.set(datetime(2026, 11, 25, 10, 0, tzinfo=JST))
    late = [make_ticket(title=f"至急の相談{i}", priority="urgent") for i in range(4)]
    users["lead"].email = "lead@pref.example.jp"
    db.session.commit()
    clock.set(datetime(2026, 11, 25, 11, 5, tzinfo=JST))
    escalation.sweep(db.session, clock.now())
    db.session.commit()
    mails = db.session.scalars(select(OutboxMessage).where(OutboxMessage.recipient == "lead@pref.example.jp")).all()
    assert [m.kind for m in mails] == ["escalation_digest"]
    assert {i["number"] for i in json.loads(mails[0].params)["items"]} == {t.number for t in late}
    numbers, base = [t.number for t in late], live_server
    db.session.commit()  # end the test's transaction: the server's requests need the database

    sign_in(driver, base, "lead")
    driver.find_element(By.CSS_SELECTOR, "a.bell").click()
    listed = driver.find_element(By.CSS_SELECTOR, "ul.notifications").text
    assert all(n in listed for n in numbers)
    for box in driver.find_elements(By.CSS_SELECTOR, "input[name='escalation']"):
        box.click()
    submit(driver, button(driver, "選択したものを確認済みにする"))
    assert "確認済みにしました" in flash_text(driver)
    assert not driver.find_elements(By.CSS_SELECTOR, "input[name='escalation']")
    assert browser_errors(driver) == []
