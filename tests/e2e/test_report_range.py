"""A department head chooses days on the reports page and downloads them, in a real
browser: the page and both files say which days and which department they cover.

Elements are found by id and test id (data-testid); the words checked are the data's
own (the department's name, dates), not the interface's."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from selenium.webdriver.common.by import By

from tests.e2e.test_browser_journey import browser_errors, sign_in, submit, visible
from tests.e2e.test_role_journeys import fetch_bytes

pytestmark = pytest.mark.e2e
JST = ZoneInfo("Asia/Tokyo")
FIRST, LAST = "2026-11-02", "2026-11-25"

# The order of a date field's parts (year, month, day) in the browser's own locale, which
# is the order its segments take typed digits in.
PART_ORDER_JS = """
return new Intl.DateTimeFormat(navigator.language, {year: "numeric", month: "2-digit", day: "2-digit"})
  .formatToParts(new Date(2026, 10, 2)).filter(p => p.type !== "literal").map(p => p.type);
"""


def type_date(driver, field, iso: str) -> None:
    """Type a day into a date field with the keyboard, as a person would, part by part."""
    year, month, day = iso.split("-")
    parts = {"year": year, "month": month, "day": day}
    driver.execute_script("arguments[0].focus()", field)  # as by Tab: the first part has the focus
    for name in driver.execute_script(PART_ORDER_JS):
        field.send_keys(parts[name])
    assert field.get_attribute("value") == iso, (field.get_attribute("value"), iso)


def test_a_department_head_exports_days_of_their_choice(make_ticket, clock, live_server, driver, screenshot):
    for when, requester in (
        (datetime(2026, 10, 30, 10, 0, tzinfo=JST), "staff_health"),  # before the days chosen
        (datetime(2026, 11, 5, 10, 0, tzinfo=JST), "staff_health"),
        (datetime(2026, 11, 10, 10, 0, tzinfo=JST), "staff_welfare"),  # another department
        (datetime(2026, 11, 20, 10, 0, tzinfo=JST), "staff_health2"),
    ):
        clock.set(when)
        make_ticket(requester)
    clock.set(datetime(2026, 11, 25, 10, 0, tzinfo=JST))
    base = live_server

    sign_in(driver, base, "manager_health")
    submit(driver, driver.find_element(By.CSS_SELECTOR, "nav a[href='/reports']"))
    assert visible(driver, "[data-testid='report-scope']").text == "健康医療部"

    type_date(driver, driver.find_element(By.ID, "report-from"), FIRST)
    type_date(driver, driver.find_element(By.ID, "report-to"), LAST)
    submit(driver, driver.find_element(By.CSS_SELECTOR, "[data-testid='show-days']"))

    assert f"from={FIRST}" in driver.current_url and f"to={LAST}" in driver.current_url
    assert driver.find_elements(By.CSS_SELECTOR, "[data-testid='period-problem']") == []
    assert visible(driver, "[data-testid='report-period']").text == "2026年11月2日〜2026年11月25日"
    assert driver.find_element(By.CSS_SELECTOR, "[data-testid='report-scope']").text == "健康医療部"
    figures = driver.find_element(By.CSS_SELECTOR, "section[aria-labelledby='h-figures']")
    opened = figures.find_element(By.CSS_SELECTOR, f"a[href*='period={FIRST}..{LAST}'][href*='measure=opened']")
    assert opened.text == "2"  # the two of their department in those days
    # The days stay in the fields, for choosing again.
    assert driver.find_element(By.ID, "report-from").get_attribute("value") == FIRST
    screenshot("33-report-days")

    # --- The figures as CSV: the days and the department above the table.
    href = driver.find_element(By.CSS_SELECTOR, "[data-testid='export-figures-csv']").get_attribute("href")
    kind, disposition, body = fetch_bytes(driver, href)
    assert kind.startswith("text/csv") and f"{FIRST}_{LAST}" in disposition
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[1][2:] == [FIRST, LAST], rows[:3]
    assert rows[2][1] == "健康医療部", rows[:3]
    assert rows[4][1:] == ["2026年11月2日〜2026年11月25日", "2026年10月9日〜2026年11月1日"], rows[4]
    assert rows[5][1:] == ["2", "1"], rows[5]

    # --- The whole report as a workbook: every sheet says the same, the days as dates.
    href = driver.find_element(By.CSS_SELECTOR, "[data-testid='export-report-xlsx']").get_attribute("href")
    kind, disposition, body = fetch_bytes(driver, href)
    book = load_workbook(io.BytesIO(body))
    assert len(book.worksheets) == 8
    for sheet in book.worksheets:
        assert (sheet["C2"].value, sheet["D2"].value) == (datetime(2026, 11, 2), datetime(2026, 11, 25)), sheet.title
        assert sheet["C2"].is_date and sheet["B3"].value == "健康医療部", sheet.title

    assert browser_errors(driver) == []
