"""Working the queue without leaving it: a consultation opens beside the list, and the
member claims, answers and resolves it there; only that row of the queue is redrawn.
"""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

from swat.extensions import db
from tests.e2e.test_browser_journey import browser_errors, button, sign_in, visible, wait

pytestmark = pytest.mark.e2e

MARK_JS = "window.__sameQueuePage = 'yes';"
STILL_JS = "return window.__sameQueuePage || 'reloaded';"


def row_of(driver, number):
    return driver.find_element(By.CSS_SELECTOR, f"table.tickets tr[data-number='{number}']")


def panel_flash(driver, text):
    wait(driver).until(
        lambda d: any(text == p.text for p in d.find_elements(By.CSS_SELECTOR, "#queue-panel .flash")),
        f"the panel never said {text!r}",
    )


def test_open_claim_answer_and_resolve_beside_the_queue(make_ticket, live_server, driver, screenshot):
    first = make_ticket(title="オンライン面会の仕組みを作りたい").number
    second = make_ticket(requester="staff_welfare", title="テレワーク端末の追加").number
    db.session.commit()
    sign_in(driver, live_server, "agent")
    assert visible(driver, "h1").text == "SWAT対応キュー"
    driver.execute_script(MARK_JS)
    panel = driver.find_element(By.ID, "queue-panel")
    assert not panel.is_displayed()

    # Open the first consultation: it shows beside the list, and focus moves to its title.
    link = row_of(driver, first).find_element(By.CSS_SELECTOR, "a[data-panel-open]")
    link.click()
    title = visible(driver, "#queue-panel .panel-title")
    assert first in title.text and "オンライン面会の仕組みを作りたい" in title.text
    assert driver.switch_to.active_element == title
    assert panel.find_element(By.CSS_SELECTOR, ".badge[class*='status-']").text == "新規"

    # Claim it in the panel: the panel and the row both say so, the queue did not reload.
    button(panel, "担当する").click()
    panel_flash(driver, "この相談の担当者になりました。")
    wait(driver).until(lambda d: "割当済" in row_of(d, first).text and "Agent" in row_of(d, first).text)
    assert "row-current" in row_of(driver, first).get_attribute("class")

    # Answer it there.
    form = panel.find_element(By.CSS_SELECTOR, f"form[action='/tickets/{first}/reply']")
    form.find_element(By.NAME, "body").send_keys("先行事例の資料をお送りします。")
    button(form, "返信を送信").click()
    panel_flash(driver, "返信を送信しました。")
    assert "先行事例の資料をお送りします。" in [
        m.text for m in panel.find_elements(By.CSS_SELECTOR, ".conversation .from-desk .body")
    ]

    # An empty reply comes back with its error, in the panel, focused.
    form = panel.find_element(By.CSS_SELECTOR, f"form[action='/tickets/{first}/reply']")
    button(form, "返信を送信").click()
    wait(driver).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#queue-panel [aria-invalid='true']"))
    assert driver.switch_to.active_element.get_attribute("name") == "body"

    # Resolve it there.
    form = panel.find_element(By.CSS_SELECTOR, f"form[action='/tickets/{first}/status']")
    Select(form.find_element(By.NAME, "status")).select_by_visible_text("解決済")
    button(form, "状態を変更").click()
    panel_flash(driver, "状態を変更しました。")
    wait(driver).until(lambda d: "解決済" in row_of(d, first).text)
    screenshot("18-queue-panel")

    # Claim the second straight from its row: the panel opens on it.
    button(row_of(driver, second), "担当する").click()
    panel_flash(driver, "この相談の担当者になりました。")
    assert second in driver.find_element(By.CSS_SELECTOR, "#queue-panel .panel-title").text
    wait(driver).until(lambda d: "割当済" in row_of(d, second).text)

    # Escape closes the panel and gives focus back to the row's link.
    driver.switch_to.active_element.send_keys(Keys.ESCAPE)
    wait(driver).until(lambda d: not panel.is_displayed())
    assert driver.switch_to.active_element.get_attribute("href").endswith(f"/tickets/{second}")

    assert driver.execute_script(STILL_JS) == "yes", "the queue page was reloaded"
    # The only failed load is the empty reply's answer (400 with its form errors).
    assert [e for e in browser_errors(driver) if "/reply - Failed to load resource" not in e] == []


def test_on_a_phone_the_queue_links_open_the_full_page(make_ticket, live_server, driver):
    number = make_ticket(title="電子申請の相談").number
    db.session.commit()
    driver.set_window_size(360, 740)
    sign_in(driver, live_server, "agent")
    row_of(driver, number).find_element(By.CSS_SELECTOR, "a[data-panel-open]").click()
    wait(driver).until(lambda d: d.current_url.endswith(f"/tickets/{number}"))
    assert visible(driver, "h1 .number").text == number
    assert browser_errors(driver) == []


def test_filters_are_remembered_and_saved_as_a_view(make_ticket, live_server, driver):
    make_ticket(title="至急：発熱外来の予約", priority="urgent")
    make_ticket(title="通常の相談")
    db.session.commit()
    sign_in(driver, live_server, "agent")
    form = visible(driver, "form.filters")
    Select(form.find_element(By.NAME, "priority")).select_by_value("urgent")
    form.find_element(By.CSS_SELECTOR, "button[type='submit']").click()
    wait(driver).until(lambda d: "priority=urgent" in d.current_url)
    assert [r.text.split("\n")[0] for r in driver.find_elements(By.CSS_SELECTOR, "table.tickets tbody tr")] and all(
        "至急" in r.text for r in driver.find_elements(By.CSS_SELECTOR, "table.tickets tbody tr")
    )

    # Save it under a name: it joins the views, marked as the one shown.
    driver.find_element(By.CSS_SELECTOR, ".save-view-box summary").click()
    name = visible(driver, "form.save-view input[name='name']")
    name.send_keys("至急のみ")
    button(driver.find_element(By.CSS_SELECTOR, "form.save-view"), "ビューを保存").click()
    current = visible(driver, ".queue-views a[aria-current='page']")
    assert current.text == "至急のみ"
    assert "ビュー「至急のみ」を保存しました。" in driver.find_element(By.CSS_SELECTOR, ".flashes").text

    # Coming back to the bare queue brings the filters back, and says so.
    driver.get(live_server + "/queue")
    assert "priority=urgent" in driver.current_url
    assert "前回の絞り込み条件を適用しています。" in visible(driver, ".remembered-filters").text
    assert len(driver.find_elements(By.CSS_SELECTOR, "table.tickets tbody tr")) == 1
    assert browser_errors(driver) == []


def test_a_failed_action_in_the_panel_keeps_what_was_typed(make_ticket, live_server, driver):
    number = make_ticket(title="庁内チャットの導入").number
    db.session.commit()
    sign_in(driver, live_server, "agent")
    row_of(driver, number).find_element(By.CSS_SELECTOR, "a[data-panel-open]").click()
    panel = visible(driver, "#queue-panel")
    visible(driver, "#queue-panel .panel-title")
    form = panel.find_element(By.CSS_SELECTOR, f"form[action='/tickets/{number}/reply']")
    form.find_element(By.NAME, "body").send_keys("書きかけの回答です。")
    # The form's token has expired (as after a long break): the server refuses the reply.
    driver.execute_script("arguments[0].querySelector('[name=csrf_token]').value = 'expired';", form)
    button(form, "返信を送信").click()
    alert = visible(driver, "#queue-panel .panel-alert")
    assert alert.get_attribute("role") == "alert"
    assert "有効期限" in alert.text, alert.text
    assert driver.switch_to.active_element == alert
    # Nothing typed is lost, and the form can be sent again.
    form = panel.find_element(By.CSS_SELECTOR, f"form[action='/tickets/{number}/reply']")
    assert form.find_element(By.NAME, "body").get_attribute("value") == "書きかけの回答です。"
    assert button(form, "返信を送信").is_enabled()
    assert "新規" in row_of(driver, number).text
    assert [e for e in browser_errors(driver) if "/reply - Failed to load resource" not in e] == []
