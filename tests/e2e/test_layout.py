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
    expected = (
        "/no-such-page - Failed to load resource: the server responded with a status of 404",
        "/reports?period=2026-13 - Failed to load resource: the server responded with a status of 400",
    )
    assert [e for e in browser_errors(driver) if not any(x in e for x in expected)] == []


# Offsets from a time to "now", in seconds, each some seconds clear of a rounding edge (the page
# adds the time since it loaded): minutes, the 0.85 thresholds of hour, day, week, month, year.
OFFSETS = [
    0,
    20,
    65,
    100,
    140,
    160,
    3000,
    3100,
    3720,
    5000,
    9100,
    72000,
    74000,
    86400 * 3,
    86400 * 6,
    86400 * 40,
    86400 * 400,
]
SHIFT_NOW_JS = """
const root = document.documentElement;
root.dataset.now = new Date(Date.parse(arguments[0]) + arguments[1] * 1000).toISOString();
document.dispatchEvent(new Event("visibilitychange"));
return document.querySelector("time[datetime] + .ago").textContent;
"""


@pytest.mark.parametrize("locale", ["ja", "en"])
def test_how_long_ago_stays_true_while_a_page_stays_open(make_ticket, app, live_server, driver, locale):
    """The page redraws 3時間前 as time passes, in the words and rounding the server uses."""
    from datetime import timedelta

    from flask_babel import force_locale

    from swat.extensions import db

    ticket = make_ticket()
    filed = ticket.created_at
    db.session.commit()
    sign_in_any(driver, live_server, "staff_health", locale)
    driver.get(live_server + "/consultations")
    visible(driver, "time[datetime] + .ago")
    stamp = driver.find_element(By.CSS_SELECTOR, "time[datetime]").get_attribute("datetime")
    got, want = [], []
    ago = app.jinja_env.filters["ago"]
    for seconds in OFFSETS:
        got.append(driver.execute_script(SHIFT_NOW_JS, stamp, seconds))
        clock = app.extensions["swat.clock"]
        saved = clock.now()
        clock.set(filed + timedelta(seconds=seconds))
        with app.test_request_context(), force_locale(locale):
            words = ago(filed)
            want.append(("（%s）" if locale == "ja" else "(%s)") % words)
        clock.set(saved)
    assert got == want
