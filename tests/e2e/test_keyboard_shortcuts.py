"""Keyboard shortcuts in a real browser: j/k through the queue, x to tick, Enter to open beside
the queue, r and n to write, ? for the list; none of them while typing or while an input
method composes."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from swat.extensions import db
from tests.e2e.test_browser_journey import browser_errors, sign_in, visible, wait

pytestmark = pytest.mark.e2e


def press(driver, keys):
    driver.switch_to.active_element.send_keys(keys)


def current(driver):
    rows = driver.find_elements(By.CSS_SELECTOR, "table.tickets tr.row-current")
    return rows[0].get_attribute("data-number") if rows else None


def test_the_queue_and_a_consultation_by_keyboard_alone(make_ticket, live_server, driver):
    made = [make_ticket(title=f"キーボード{i}", priority=p) for i, p in enumerate(["urgent", "high", "normal"])]
    numbers, base = [t.number for t in made], live_server
    db.session.commit()
    driver.set_window_size(1400, 900)
    sign_in(driver, base, "agent")
    driver.get(f"{base}/queue")
    visible(driver, "table.tickets")
    driver.find_element(By.TAG_NAME, "body").click()

    press(driver, "j")
    assert current(driver) == numbers[0]
    press(driver, "j")
    assert current(driver) == numbers[1]
    press(driver, "x")
    assert driver.find_element(By.CSS_SELECTOR, f"input[name='t'][value='{numbers[1]}']").is_selected()
    press(driver, "k")
    assert current(driver) == numbers[0]
    assert driver.switch_to.active_element.text == numbers[0]  # the row's link has the focus

    # An input method composing: the key goes to the conversion, not to the queue.
    driver.execute_script(
        "document.activeElement.dispatchEvent(new KeyboardEvent('keydown', {key: 'j', isComposing: true, bubbles: true}))"
    )
    assert current(driver) == numbers[0]

    press(driver, Keys.ENTER)  # opens beside the queue
    visible(driver, "#queue-panel .panel-title")
    driver.execute_script("document.activeElement.blur()")
    press(driver, "r")
    reply = driver.switch_to.active_element
    assert reply.get_attribute("name") == "body"
    reply.send_keys("jkxrn")  # typing: no shortcut fires
    assert reply.get_attribute("value") == "jkxrn"
    ticked = [
        b.get_attribute("value") for b in driver.find_elements(By.CSS_SELECTOR, "input[name='t']") if b.is_selected()
    ]
    assert ticked == [numbers[1]]  # the x typed did not tick anything
    driver.execute_script("document.activeElement.blur()")
    press(driver, "n")
    assert driver.switch_to.active_element.get_attribute("name") == "note-body"
    driver.execute_script("document.activeElement.blur()")

    press(driver, "?")
    dialog = driver.find_element(By.ID, "shortcuts")
    wait(driver).until(lambda d: dialog.get_attribute("open") is not None)
    assert "キーボードショートカット" in dialog.text and "日本語入力の変換中は反応しません" in dialog.text
    press(driver, Keys.ESCAPE)
    wait(driver).until(lambda d: dialog.get_attribute("open") is None)
    assert browser_errors(driver) == []
