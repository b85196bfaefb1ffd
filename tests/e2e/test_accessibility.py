"""Accessibility in a real browser: an axe-core WCAG 2.1 AA scan of every main page in
Japanese and English, and the desk's daily work done with the keyboard alone.

axe-core comes from the npm registry (tests/e2e/package.json, installed by `make browser`)
and is injected into the page under test; a missing copy fails the test, never skips it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from swat.extensions import db
from swat.services import tickets
from swat.services.mail_intake import IntakeSettings, ingest
from tests.e2e.test_browser_journey import (
    browser_errors,
    button,
    sign_in,
    sign_out,
    submit,
    visible,
    wait,
)
from tests.services.test_mail_corpus_filing import CORPUS

pytestmark = pytest.mark.e2e

PHONE = (360, 740)
AXE = Path(__file__).resolve().parent / "node_modules" / "axe-core" / "axe.min.js"
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
RUN_AXE_JS = """
const done = arguments[arguments.length - 1];
axe.run(document, {runOnly: {type: "tag", values: arguments[0]}, resultTypes: ["violations"]})
  .then(r => done(r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                           nodes: v.nodes.slice(0, 5).map(n => n.target.join(" "))}))))
  .catch(e => done([{id: "axe-error", impact: "critical", help: String(e), nodes: []}]));
"""


def axe_source() -> str:
    if not AXE.is_file():
        pytest.fail(f"axe-core is not installed ({AXE}); run `make browser`.", pytrace=False)
    return AXE.read_text(encoding="utf-8")


def serious_violations(driver, source: str) -> list[dict]:
    """axe-core's serious and critical WCAG 2.1 A/AA violations on the current page."""
    driver.execute_script(source)
    violations = driver.execute_async_script(RUN_AXE_JS, WCAG_21_AA)
    return [v for v in violations if v["impact"] in ("serious", "critical")]


@pytest.fixture
def desk_day(users, make_ticket, clock, store, limits):
    """Consultations in several states, so the pages under scan show real rows, not empty states."""
    s = db.session
    first = make_ticket(title="LINEで子育て相談を受けたい", body="他部局の導入事例を教えてください。")
    clock.advance(minutes=30)
    second = make_ticket(requester="staff_welfare", title="テレワーク端末の貸出について", priority="high")
    clock.advance(minutes=30)
    make_ticket(title="ワクチン接種予約システムの相談")
    claimed = tickets.claim_ticket(s, users["agent"], clock.now(), s.merge(first))
    tickets.add_reply(
        s, users["agent"], clock.now(), claimed, "福祉部の事例をご紹介します。", [], store=store, limits=limits
    )
    held = ingest(
        s,
        (CORPUS / "html_only.eml").read_bytes(),
        clock.now(),
        store=store,
        limits=limits,
        config=IntakeSettings(domain="pref.example.jp", max_bytes=10_000_000, max_per_hour=30),
    )
    day = {"claimed": claimed.number, "other": second.number, "held": held.inbound_id}
    s.commit()  # and no more reads: on SQLite an open transaction would hold the write lock
    return day


def pages_by_role(day) -> dict[str, list[str]]:
    return {
        "staff_health": [
            "/consultations",
            "/consultations/new",
            f"/tickets/{day['claimed']}",
            "/notifications",
            "/settings/notifications",
            "/reference/initiatives",
            "/reference/governance",
        ],
        "agent": ["/queue", f"/tickets/{day['claimed']}", "/team", "/canned", "/no-such-page"],
        "lead": ["/triage", "/mail/held", f"/mail/held/{day['held']}"],
        "manager": ["/reports", "/reports?period=2026-13"],  # and a period it cannot show
        "admin": ["/admin/users", "/admin/users/new", "/admin/users/import", "/admin/routing"],
    }


def switch_language(driver, label: str) -> None:
    form = driver.find_element(By.CSS_SELECTOR, "form[action='/language']")
    form.find_element(By.CSS_SELECTOR, f"select[name='locale'] option[value='{label}']").click()
    submit(driver, form.find_element(By.CSS_SELECTOR, "button[type='submit']"))


@pytest.mark.parametrize(("locale", "width"), [("ja", "desktop"), ("en", "desktop"), ("ja", "phone"), ("en", "phone")])
def test_every_main_page_passes_an_axe_wcag21aa_scan(desk_day, live_server, driver, screenshot, locale, width):
    """Every main page in both languages, at the desktop's width and at a 360 px phone's (where
    wide tables scroll in their own region, which must then take the keyboard's focus)."""
    source = axe_source()
    base = live_server
    if width == "phone":
        driver.set_window_size(*PHONE)
    found: dict[str, list[dict]] = {}
    scanned = []

    def scan(label: str) -> None:
        assert driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == locale, label
        scanned.append(label)
        # Every scanned page is kept as a picture too: test-artifacts/screenshots/pages-ja-….png
        slug = re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")
        screenshot(f"pages-{locale}-{width}-{len(scanned):02d}-{slug}")
        bad = serious_violations(driver, source)
        if bad:
            found[label] = bad

    driver.get(base + "/login")
    if locale != "ja":
        switch_language(driver, locale)
    visible(driver, "form[action='/login']")
    scan("/login")
    # A form with errors: each field says what is wrong, in the page's language.
    submit(
        driver,
        button(
            driver.find_element(By.CSS_SELECTOR, "form[action='/login']"), "ログイン" if locale == "ja" else "Sign in"
        ),
    )
    scan("/login (failed)")

    for username, paths in pages_by_role(desk_day).items():
        sign_in_any(driver, base, username, locale)
        for path in paths:
            driver.get(base + path)
            visible(driver, "main h1")
            scan(f"{username} {path}")
            if path == "/queue" and width == "desktop":
                # The queue with a consultation open beside it (a phone opens the full page).
                driver.find_element(By.CSS_SELECTOR, "a[data-panel-open]").click()
                visible(driver, "#queue-panel .panel-title")
                scan(f"{username} {path} with the side panel")
        if username == "staff_health":
            driver.get(base + "/consultations/new")
            submit(driver, driver.find_element(By.CSS_SELECTOR, "form[action='/consultations/new'] button.primary"))
            assert driver.find_elements(By.CSS_SELECTOR, "[aria-invalid='true']"), "the empty form shows no errors"
            scan(f"{username} /consultations/new (errors)")
        sign_out_any(driver)

    beside = 1 if width == "desktop" else 0
    assert len(scanned) == 2 + sum(len(p) for p in pages_by_role(desk_day).values()) + 1 + beside
    assert found == {}, "axe-core found serious or critical WCAG 2.1 AA violations:\n" + json.dumps(
        found, ensure_ascii=False, indent=1
    )
    # The only failed loads are the ones asked for: the unknown page, the form sent empty and
    # the report of a period it cannot show.
    expected = (
        "/no-such-page - Failed to load resource: the server responded with a status of 404",
        "/consultations/new - Failed to load resource: the server responded with a status of 400",
        "/reports?period=2026-13 - Failed to load resource: the server responded with a status of 400",
    )
    assert [e for e in browser_errors(driver) if not any(x in e for x in expected)] == []


def sign_in_any(driver, base, username, locale):
    from tests.conftest import PASSWORD

    driver.get(base + "/login")
    form = visible(driver, "form[action='/login']")
    form.find_element(By.NAME, "username").send_keys(username)
    form.find_element(By.NAME, "password").send_keys(PASSWORD)
    submit(driver, form.find_element(By.CSS_SELECTOR, "button[type='submit']"))
    if driver.find_element(By.TAG_NAME, "html").get_attribute("lang") != locale:
        switch_language(driver, locale)


def sign_out_any(driver):
    submit(driver, driver.find_element(By.CSS_SELECTOR, "form[action='/logout'] button"))


# --- Keyboard only -------------------------------------------------------------------------

FOCUS_STYLE_JS = """
const el = document.activeElement;
if (!el || el === document.body) return null;
const s = getComputedStyle(el);
const r = el.getBoundingClientRect();
return {tag: el.tagName.toLowerCase(), text: (el.innerText || el.value || el.name || "").trim().slice(0, 40),
        outline: s.outlineStyle !== "none" && parseFloat(s.outlineWidth) >= 2,
        shadow: s.boxShadow !== "none", visible: r.width > 0 && r.height > 0 && r.bottom > 0 && r.right > 0};
"""


def tab_to(driver, predicate, limit=80, shift=False):
    """Press Tab until the focused element satisfies predicate; every stop must show its focus."""
    for _ in range(limit):
        keys = ActionChains(driver)
        if shift:
            keys.key_down(Keys.SHIFT).send_keys(Keys.TAB).key_up(Keys.SHIFT)
        else:
            keys.send_keys(Keys.TAB)
        keys.perform()
        info = driver.execute_script(FOCUS_STYLE_JS)
        if info is None:
            continue
        assert info["visible"], f"focus went to something off screen: {info}"
        assert info["outline"] or info["shadow"], f"no visible focus indicator on {info}"
        if predicate(driver.switch_to.active_element, info):
            return driver.switch_to.active_element
    raise AssertionError("Tab never reached the wanted control")


def test_the_desk_works_by_keyboard_alone_with_a_visible_focus(desk_day, live_server, driver, screenshot):
    from tests.conftest import PASSWORD

    base = live_server
    driver.get(base + "/login")
    visible(driver, "form[action='/login']")
    # The first Tab lands on the skip link, which becomes visible.
    skip = tab_to(driver, lambda el, info: info["tag"] == "a")
    assert skip.get_attribute("href").endswith("#main")
    assert skip.is_displayed() and skip.location["x"] >= 0
    field = tab_to(driver, lambda el, info: el.get_attribute("name") == "username")
    field.send_keys("agent")
    field.send_keys(Keys.TAB)
    driver.switch_to.active_element.send_keys(PASSWORD)
    page = driver.find_element(By.TAG_NAME, "html")
    driver.switch_to.active_element.send_keys(Keys.ENTER)
    wait(driver).until(lambda d: _gone(page))
    assert visible(driver, "h1").text == "SWAT対応キュー"

    # Claim the new consultation from the queue with Enter: it opens beside the queue,
    # with focus on its title.
    number = desk_day["other"]
    claim = tab_to(
        driver,
        lambda el, info: (
            info["tag"] == "button"
            and info["text"] == "担当する"
            and el.find_element(By.XPATH, "./ancestor::form")
            .get_attribute("action")
            .endswith(f"/tickets/{number}/claim")
        ),
        limit=200,
    )
    screenshot("20-keyboard-focus-claim")
    claim.send_keys(Keys.ENTER)
    wait(driver).until(
        lambda d: (
            "この相談の担当者になりました。"
            in [p.text for p in d.find_elements(By.CSS_SELECTOR, "#queue-panel .flash")]
        )
    )
    assert driver.switch_to.active_element.get_attribute("class") == "panel-title"
    panel = driver.find_element(By.ID, "queue-panel")
    assert panel.find_element(By.CSS_SELECTOR, ".badge[class*='status-']").text == "割当済"

    # Reply: Tab to the reply box, type, Tab to the send button, Enter.
    box = tab_to(driver, lambda el, info: info["tag"] == "textarea" and el.get_attribute("name") == "body", limit=200)
    box.send_keys("手順書をお送りします。")
    send = tab_to(driver, lambda el, info: info["tag"] == "button")
    assert send.text == "返信を送信"
    send.send_keys(Keys.ENTER)
    wait(driver).until(
        lambda d: "返信を送信しました。" in [p.text for p in d.find_elements(By.CSS_SELECTOR, "#queue-panel .flash")]
    )
    assert "手順書をお送りします。" in [
        m.text for m in panel.find_elements(By.CSS_SELECTOR, ".conversation .from-desk .body")
    ]
    # Escape closes the panel and focus returns to the consultation's row.
    ActionChains(driver).send_keys(Keys.ESCAPE).perform()
    wait(driver).until(lambda d: not panel.is_displayed())
    assert driver.switch_to.active_element.get_attribute("href").endswith(f"/tickets/{number}")
    assert "割当済" in driver.find_element(By.CSS_SELECTOR, f"tr[data-number='{number}']").text
    sign_out(driver, base)
    assert browser_errors(driver) == []


def _gone(element) -> bool:
    try:
        element.is_enabled()
    except Exception:
        return True
    return False


def test_a_form_announces_its_errors(users, live_server, driver):
    """Each invalid field is marked aria-invalid and described by its error, which is an alert."""
    db.session.commit()
    sign_in(driver, live_server, "staff_health")
    driver.get(live_server + "/consultations/new")
    form = visible(driver, "form[action='/consultations/new']")
    submit(driver, form.find_element(By.CSS_SELECTOR, "button.primary"))
    invalid = driver.find_elements(By.CSS_SELECTOR, "form [aria-invalid='true']")
    assert {el.get_attribute("name") for el in invalid} >= {"title", "body"}
    for el in invalid:
        described = el.get_attribute("aria-describedby")
        message = driver.find_element(By.ID, described)
        assert message.text.strip(), f"{el.get_attribute('name')} has an empty error"
        assert message.get_attribute("role") == "alert"
    # Focus goes to the first field in error, so a screen reader starts there.
    assert driver.switch_to.active_element.get_attribute("name") == "title"
