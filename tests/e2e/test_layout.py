"""One product on every screen: usable at 360 px wide, a title and favicon on every page.

A phone-sized window (360 x 740) opens each main page: nothing may stick out sideways (wide
tables scroll inside their own box), the menu and the page's main action stay reachable, and
every page names itself in the window title.
"""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By

from tests.e2e.test_accessibility import desk_day, pages_by_role, sign_in_any, sign_out_any  # noqa: F401
from tests.e2e.test_browser_journey import browser_errors, visible

pytestmark = pytest.mark.e2e

PHONE = (360, 740)
OVERFLOW_JS = """
const doc = document.documentElement;
const wide = [];
for (const el of document.querySelectorAll("body *")) {
  const r = el.getBoundingClientRect();
  if (r.width === 0 || el.closest(".table-wrap, .chart-scroll")) continue;
  if (r.right > doc.clientWidth + 1) wide.push(el.tagName.toLowerCase() + (el.className ? "." + el.className : "")
                                                + " right=" + Math.round(r.right));
}
return {scroll: doc.scrollWidth, client: doc.clientWidth, wide: wide.slice(0, 8)};
"""


def test_every_main_page_fits_a_360px_phone_and_names_itself(desk_day, live_server, driver, screenshot):  # noqa: F811
    driver.set_window_size(*PHONE)
    width = driver.execute_script("return document.documentElement.clientWidth || window.innerWidth")
    base = live_server
    problems = {}
    titles = {}

    def check(label: str) -> None:
        got = driver.execute_script(OVERFLOW_JS)
        if got["scroll"] > got["client"] or got["wide"]:
            problems[label] = got
        title = driver.title
        h1 = driver.find_element(By.CSS_SELECTOR, "main h1").text.strip()
        assert title.endswith(" | SWAT相談窓口"), (label, title)
        assert h1 and title.split(" | ")[0].strip(), (label, title)
        titles[label] = title
        icons = driver.find_elements(By.CSS_SELECTOR, "link[rel='icon']")
        assert icons and icons[0].get_attribute("href").endswith("/static/favicon.svg"), label

    driver.get(base + "/login")
    visible(driver, "form[action='/login']")
    check("/login")
    screenshot("30-phone-login")
    for username, paths in pages_by_role(desk_day).items():
        sign_in_any(driver, base, username, "ja")
        for path in paths:
            driver.get(base + path)
            visible(driver, "main h1")
            check(f"{username} {path}")
            if path == "/queue":
                screenshot("31-phone-queue")
            if path.startswith("/tickets/") and username == "agent":
                screenshot("32-phone-ticket")
        sign_out_any(driver)

    assert problems == {}, f"pages wider than a {width}px phone: {problems}"
    # Every page has a title of its own, so tabs and history tell them apart.
    distinct = {t for label, t in titles.items() if "/tickets/" not in label}
    assert len(distinct) >= len([label for label in titles if "/tickets/" not in label]) - 2, titles
    expected = ("/no-such-page - Failed to load resource: the server responded with a status of 404",)
    assert [e for e in browser_errors(driver) if not any(x in e for x in expected)] == []
