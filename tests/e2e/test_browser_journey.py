"""A consultation's whole life in a real browser (headless Chromium), in Japanese.

Department staff file a consultation with a file whose name is Japanese; a
SWAT member finds it in the queue, claims it, replies and resolves it; the
staff member signs in again and sees the reply and the status 解決済.
Screenshots of the main pages go to test-artifacts/screenshots/.
"""

from __future__ import annotations

import re

import pytest
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

from swat.extensions import db
from tests.conftest import PASSWORD

pytestmark = pytest.mark.e2e

WAIT_SECONDS = 10
FILE_NAME = "相談資料.txt"
TITLE = "LINEで子育て相談を受けたい"
BODY = "他部局でLINE相談を導入した事例を教えてください。"
REPLY = "福祉部のLINE相談の事例があります。資料をお送りしますので、ご確認ください。"
CONTENT = "LINE相談の導入について、現在の相談件数と体制をまとめました。\n"
FETCH_JS = """
const done = arguments[arguments.length - 1];
fetch(arguments[0], {credentials: "same-origin"})
  .then(async r => done({status: r.status, text: await r.text(),
                         disposition: r.headers.get("Content-Disposition") || ""}))
  .catch(e => done({status: -1, text: String(e), disposition: ""}));
"""


def wait(driver):
    # Parts of a page are redrawn in place (the queue's panel and rows): an element found a
    # moment ago may be gone when read, which only means "look again".
    return WebDriverWait(driver, WAIT_SECONDS, ignored_exceptions=(StaleElementReferenceException,))


def visible(driver, css):
    return wait(driver).until(EC.visibility_of_element_located((By.CSS_SELECTOR, css)))


# What ChromeDriver may answer while a document is being replaced, instead of "stale element".
NAVIGATION_RACES = (
    "does not belong to the document",
    "No node with given id",
    "Cannot find context with specified id",
    "Execution context was destroyed",
    "target frame detached",
)


def _racing(exc: WebDriverException) -> bool:
    return isinstance(exc, StaleElementReferenceException) or any(r in (exc.msg or "") for r in NAVIGATION_RACES)


def submit(driver, button):
    """Click a submit button (or link) and wait until the next page has replaced this one and loaded."""
    page = driver.find_element(By.TAG_NAME, "html")
    button.click()

    def replaced(d):
        try:
            page.is_enabled()
        except WebDriverException as exc:
            if _racing(exc):
                return True
            raise
        return False

    def loaded(d):
        try:
            return d.execute_script("return document.readyState") == "complete"
        except WebDriverException as exc:
            if _racing(exc):
                return False
            raise

    wait(driver).until(replaced, "the page did not change after the click")
    wait(driver).until(loaded, "the next page did not finish loading")


def button(scope, label):
    return scope.find_element(By.XPATH, f".//button[normalize-space()='{label}']")


def flash_text(driver, category="success"):
    return visible(driver, f".flashes .flash-{category}").text


def sign_in(driver, base_url, username):
    driver.get(base_url + "/login")
    form = visible(driver, "form[action='/login']")
    assert driver.find_element(By.TAG_NAME, "h1").text == "ログイン"
    form.find_element(By.NAME, "username").send_keys(username)
    form.find_element(By.NAME, "password").send_keys(PASSWORD)
    submit(driver, button(form, "ログイン"))
    assert driver.current_url.rstrip("/") != base_url + "/login", "sign-in did not leave the login page"


def sign_out(driver, base_url):
    submit(driver, button(driver.find_element(By.CSS_SELECTOR, "form[action='/logout']"), "ログアウト"))
    assert driver.current_url == base_url + "/login"
    assert "ログアウトしました。" in flash_text(driver, "info")


def status_label(driver):
    return driver.find_element(By.CSS_SELECTOR, ".facts .badge[class*='status-']").text


def browser_errors(driver):
    """Console errors (CSP violations, missing static files, script errors)."""
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def test_consultation_from_filing_to_resolution(users, live_server, driver, screenshot, tmp_path):
    db.session.commit()  # end the test's transaction: the server's requests need the database
    base = live_server
    upload = tmp_path / FILE_NAME
    upload.write_bytes(CONTENT.encode("utf-8"))

    # --- The department staff member files a consultation with a Japanese-named file.
    driver.get(base + "/")
    wait(driver).until(EC.url_to_be(base + "/login"))
    visible(driver, "form[action='/login']")
    assert driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == "ja"
    screenshot("01-login")
    sign_in(driver, base, "staff_health")
    assert driver.current_url == base + "/consultations"
    assert visible(driver, "h1").text == "所属部局の相談"

    submit(driver, driver.find_element(By.CSS_SELECTOR, "main a.button[href='/consultations/new']"))
    form = visible(driver, "form[action='/consultations/new']")
    assert driver.find_element(By.TAG_NAME, "h1").text == "新規相談"
    form.find_element(By.NAME, "title").send_keys(TITLE)
    form.find_element(By.NAME, "body").send_keys(BODY)
    assert Select(form.find_element(By.NAME, "priority")).first_selected_option.get_attribute("value") == "normal"
    file_input = form.find_element(By.CSS_SELECTOR, "input[type='file'][name='attachments']")
    file_input.send_keys(str(upload))
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", file_input)
    screenshot("02-new-consultation")
    submit(driver, button(form, "相談を送信"))

    confirmation = flash_text(driver)
    match = re.search(r"相談番号：(\d{4}-\d{5})", confirmation)
    assert match, f"no ticket number in the confirmation: {confirmation!r}"
    number = match.group(1)
    assert confirmation.startswith("相談を受け付けました")
    assert driver.current_url == f"{base}/tickets/{number}"
    assert driver.find_element(By.CSS_SELECTOR, "h1 .number").text == number
    assert TITLE in driver.find_element(By.TAG_NAME, "h1").text
    assert status_label(driver) == "新規"
    file_links = [a.text for a in driver.find_elements(By.CSS_SELECTOR, "ul.files a")]
    assert FILE_NAME in file_links, file_links
    screenshot("03-ticket-filed")
    sign_out(driver, base)

    # --- A SWAT member finds it in the queue and claims it there.
    sign_in(driver, base, "agent")
    assert driver.current_url == base + "/queue"
    assert visible(driver, "h1").text == "SWAT対応キュー"
    row = driver.find_element(By.XPATH, f"//table[contains(@class,'tickets')]//tr[td/a[normalize-space()='{number}']]")
    assert TITLE in row.text and "健康医療部" in row.text and "新規" in row.text
    screenshot("04-queue")
    # On a wide screen the claimed consultation opens beside the queue, which stays as it was
    # but for this row; the panel's title opens the full page.
    button(row, "担当する").click()
    wait(driver).until(
        lambda d: (
            "この相談の担当者になりました。"
            in [p.text for p in d.find_elements(By.CSS_SELECTOR, "#queue-panel .flash")]
        )
    )
    row = driver.find_element(By.CSS_SELECTOR, f"table.tickets tr[data-number='{number}']")
    assert "割当済" in row.text and "Agent" in row.text
    submit(driver, visible(driver, "#queue-panel .panel-title a"))

    assert driver.current_url == f"{base}/tickets/{number}"
    assert status_label(driver) == "割当済"
    assert FILE_NAME in [a.text for a in driver.find_elements(By.CSS_SELECTOR, "ul.files a")]
    screenshot("05-ticket-claimed")

    # --- The SWAT member replies to the requester ...
    reply_form = driver.find_element(By.CSS_SELECTOR, f"form[action='/tickets/{number}/reply']")
    reply_form.find_element(By.NAME, "body").send_keys(REPLY)
    submit(driver, button(reply_form, "返信を送信"))
    assert flash_text(driver) == "返信を送信しました。"
    assert REPLY in [m.text for m in driver.find_elements(By.CSS_SELECTOR, ".conversation .from-desk .body")]

    # --- ... and resolves the consultation.
    status_form = driver.find_element(By.CSS_SELECTOR, f"form[action='/tickets/{number}/status']")
    Select(status_form.find_element(By.NAME, "status")).select_by_visible_text("解決済")
    submit(driver, button(status_form, "状態を変更"))
    assert flash_text(driver) == "状態を変更しました。"
    assert status_label(driver) == "解決済"
    screenshot("06-ticket-resolved")
    sign_out(driver, base)

    # --- The staff member signs in again and sees the answer and the status.
    sign_in(driver, base, "staff_health")
    assert driver.current_url == base + "/consultations"
    row = visible(driver, "table.tickets").find_element(By.XPATH, f".//tr[td/a[normalize-space()='{number}']]")
    assert "解決済" in row.text
    screenshot("07-consultations")
    submit(driver, row.find_element(By.LINK_TEXT, number))

    assert driver.current_url == f"{base}/tickets/{number}"
    assert status_label(driver) == "解決済"
    replies = driver.find_elements(By.CSS_SELECTOR, ".conversation .from-desk")
    assert [r.find_element(By.CSS_SELECTOR, ".body").text for r in replies] == [REPLY]
    assert "Agent" in replies[0].find_element(By.TAG_NAME, "header").text
    assert FILE_NAME in [a.text for a in driver.find_elements(By.CSS_SELECTOR, "ul.files a")]
    # The file comes back as it was sent, as a download under its Japanese name.
    link = driver.find_element(By.CSS_SELECTOR, ".ticket-side ul.files a")
    fetched = driver.execute_async_script(FETCH_JS, link.get_attribute("href"))
    assert fetched["status"] == 200
    assert fetched["text"] == CONTENT
    assert fetched["disposition"].startswith("attachment;")
    assert "filename*=UTF-8''%E7%9B%B8%E8%AB%87%E8%B3%87%E6%96%99.txt" in fetched["disposition"]
    # A resolved consultation takes no more replies, but its requester can reopen or close it.
    assert not driver.find_elements(By.CSS_SELECTOR, f"form[action='/tickets/{number}/reply']")
    actions = [b.text for b in driver.find_elements(By.CSS_SELECTOR, ".actions button")]
    assert "再開する" in actions and "相談を完了する" in actions, actions
    screenshot("08-staff-sees-answer")

    assert browser_errors(driver) == []
    db.session.commit()
