"""A draft in a real browser: typed, saved by itself a moment later, and found again in the
box after leaving the page (which first asks, as the text is not sent)."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By

from swat.extensions import db
from swat.services import tickets
from tests.e2e.test_browser_journey import browser_errors, sign_in, visible, wait

pytestmark = pytest.mark.e2e


def test_a_reply_typed_and_left_is_there_again(make_ticket, users, clock, live_server, driver):
    t = make_ticket(title="下書きの相談")
    tickets.claim_ticket(db.session, users["agent"], clock.now(), t)
    number, base = t.number, live_server
    db.session.commit()
    sign_in(driver, base, "agent")
    driver.get(f"{base}/tickets/{number}")
    visible(driver, "textarea#body").send_keys("今日中に確認してご連絡します。")
    status = driver.find_element(By.CSS_SELECTOR, "form[data-draft='reply'] .draft-status")
    wait(driver).until(lambda d: status.text == "下書きを保存しました。")

    # Leaving with text not sent: the page asks (WebDriver answers such prompts itself, so
    # the handler's answer is read from the event).
    asks = (
        "const e = new Event('beforeunload', {cancelable: true}); window.dispatchEvent(e); return e.defaultPrevented;"
    )
    assert driver.execute_script(asks) is True
    driver.get(f"{base}/queue")
    visible(driver, "table.tickets")

    driver.get(f"{base}/tickets/{number}")
    assert visible(driver, "textarea#body").get_attribute("value") == "今日中に確認してご連絡します。"
    assert "下書き（" in driver.find_element(By.CSS_SELECTOR, "form[data-draft='reply'] .draft-status").text
    assert driver.execute_script(asks) is False  # unchanged since the page was loaded
    assert browser_errors(driver) == []
