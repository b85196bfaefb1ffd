"""Working on many at once in a real browser: the SWAT lead ticks two late consultations in
the queue, by keyboard, and acknowledges their escalations in one step."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select
from sqlalchemy import select

from swat.extensions import db
from swat.models import Escalation
from swat.services import escalation, tickets
from tests.e2e.test_browser_journey import browser_errors, flash_text, sign_in, submit

pytestmark = pytest.mark.e2e
JST = ZoneInfo("Asia/Tokyo")


def test_the_lead_acknowledges_two_rows_at_once(make_ticket, users, clock, live_server, driver, screenshot):
    clock.set(datetime(2026, 11, 25, 10, 0, tzinfo=JST))
    late = [make_ticket(title=f"至急の相談{i}", priority="urgent") for i in range(3)]
    for t in late:
        tickets.claim_ticket(db.session, users["agent"], clock.now(), t)
    db.session.commit()
    clock.set(datetime(2026, 11, 25, 11, 5, tzinfo=JST))
    escalation.sweep(db.session, clock.now())
    numbers, base = [t.number for t in late], live_server
    db.session.commit()

    sign_in(driver, base, "lead")
    driver.get(f"{base}/queue?status=open")
    badges = driver.find_elements(By.CSS_SELECTOR, "table.tickets .badge.escalated")
    assert len(badges) == 3
    for number in numbers[:2]:  # ticked by keyboard: focus the box, press space
        box = driver.find_element(By.CSS_SELECTOR, f"input[name='t'][value='{number}']")
        driver.execute_script("arguments[0].focus()", box)
        box.send_keys(Keys.SPACE)
        assert box.is_selected()
    Select(driver.find_element(By.ID, "bulk-action")).select_by_value("acknowledge")
    assert driver.find_element(By.ID, "bulk-remark").is_displayed()
    assert not driver.find_element(By.ID, "bulk-assign").is_displayed()  # only the action's own choice shows
    driver.find_element(By.ID, "bulk-remark").send_keys("担当に至急の初回回答を指示")
    screenshot("22-bulk-acknowledge")
    submit(driver, driver.find_element(By.CSS_SELECTOR, "#bulk button[type='submit']"))

    assert flash_text(driver) == "2件の相談に適用しました。"
    rows = {n: driver.find_element(By.CSS_SELECTOR, f"tr[data-number='{n}']").text for n in numbers}
    assert "エスカレーション未確認" not in rows[numbers[0]] and "エスカレーション未確認" not in rows[numbers[1]]
    assert "エスカレーション未確認" in rows[numbers[2]]
    assert browser_errors(driver) == []
    db.session.commit()
    remarks = db.session.scalars(select(Escalation.remark).where(Escalation.acknowledged_at.is_not(None))).all()
    assert remarks and set(remarks) == {"担当に至急の初回回答を指示"}
