"""A canned reply in a real browser (headless Chromium): inserted into the reply box at the
cursor with its placeholders filled in, beside what was already typed, and sent with a
status change in one step; the lead sees it counted."""

from __future__ import annotations

import re

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from swat.extensions import db
from swat.services import canned, tickets
from tests.e2e.test_browser_journey import browser_errors, flash_text, sign_in, sign_out, status_label, submit, visible

pytestmark = pytest.mark.e2e


def test_insert_a_canned_reply_and_send_it_waiting_for_the_requester(
    make_ticket, users, clock, live_server, driver, screenshot
):
    t = make_ticket(title="オンライン面会の導入", body="病院でオンライン面会を始めたいです。")
    tickets.claim_ticket(db.session, users["agent"], clock.now(), t)
    canned.save(
        db.session,
        users["lead"],
        clock.now(),
        reply_id=None,
        title="利用人数の確認",
        body="{相談者}様、{番号}について、1日あたりの利用人数を教えてください。",
        shared=True,
        theme_id=None,
    )
    number, base = t.number, live_server
    db.session.commit()  # end the test's transaction: the server's requests need the database

    sign_in(driver, base, "agent")
    driver.get(f"{base}/tickets/{number}")
    box = visible(driver, "textarea#body")
    box.send_keys("お問い合わせありがとうございます。\n")
    Select(driver.find_element(By.ID, "canned-pick")).select_by_visible_text("利用人数の確認")
    driver.find_element(By.CSS_SELECTOR, "form.canned-pick button[type='submit']").click()
    expected = (
        f"お問い合わせありがとうございます。\nStaff Health様、{number}について、1日あたりの利用人数を教えてください。"
    )
    assert box.get_attribute("value") == expected  # inserted at the cursor, nothing lost, no reload
    assert driver.switch_to.active_element == box
    screenshot("21-canned-reply")

    submit(driver, driver.find_element(By.CSS_SELECTOR, "button[name='then_status'][value='waiting']"))
    assert flash_text(driver) == "返信を送信し、状態を「相談者の回答待ち」にしました。"
    assert status_label(driver) == "相談者の回答待ち"
    bodies = [m.text for m in driver.find_elements(By.CSS_SELECTOR, ".conversation .from-desk .body")]
    assert bodies[-1] == expected
    assert browser_errors(driver) == []
    sign_out(driver, base)

    sign_in(driver, base, "lead")
    driver.get(f"{base}/canned")
    row = driver.find_element(By.XPATH, "//table[contains(@class,'canned')]//tr[td[contains(., '利用人数の確認')]]")
    assert re.search(r"\b1\b", row.find_element(By.CSS_SELECTOR, "td.num").text)
    db.session.commit()
