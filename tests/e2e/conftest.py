"""Fixtures for the real-browser tests: the app on a live port and a headless Chromium.

The session-scoped `app` from tests/conftest.py is served by Werkzeug in a
background thread; every request there runs in an app context (and database
session) of its own, as it would in production. The test's own context
(`ctx`/`users`) must end its transaction before the browser acts: on SQLite
every transaction is BEGIN IMMEDIATE and would hold the write lock.

A missing Chromium or ChromeDriver makes the test fail, never skip: install
them with `make browser` (scripts/install-browser.sh).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

# Never let Selenium Manager look for (or download) a browser or driver.
os.environ.setdefault("SE_OFFLINE", "true")

REPO_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT_DIR = REPO_ROOT / "test-artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
WINDOW = (1280, 900)


@pytest.fixture
def live_server(app):
    """The app served on 127.0.0.1 on a free port; yields the base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="swat-live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        assert not thread.is_alive(), "the live server thread did not stop"


def _browser_paths() -> tuple[str, str]:
    chromium = CHROMIUM if os.access(CHROMIUM, os.X_OK) else (shutil.which("chromium") or "")
    driver = shutil.which("chromedriver") or (CHROMEDRIVER if os.access(CHROMEDRIVER, os.X_OK) else "")
    missing = [name for name, path in (("chromium", chromium), ("chromedriver", driver)) if not path]
    if missing:
        pytest.fail(
            f"The end-to-end test needs Debian's Chromium and ChromeDriver; missing: {', '.join(missing)}. "
            "Install them with `make browser` (apt-get install chromium chromium-driver).",
            pytrace=False,
        )
    return chromium, driver


@pytest.fixture
def driver():
    """A headless Chromium (1280x900, fresh profile, no network chatter), quit at the end."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError as exc:  # pragma: no cover - the test extra installs selenium
        pytest.fail(f"selenium is not installed ({exc}); run `make install`.", pytrace=False)

    chromium, chromedriver = _browser_paths()
    profile = tempfile.mkdtemp(prefix="swat-e2e-chrome-")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={profile}",
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
        "--lang=ja",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    try:
        browser = webdriver.Chrome(service=Service(executable_path=chromedriver), options=options)
    except Exception as exc:
        shutil.rmtree(profile, ignore_errors=True)
        pytest.fail(f"Could not start headless Chromium ({chromium}) with {chromedriver}: {exc}", pytrace=False)
    browser.set_page_load_timeout(15)
    browser.set_script_timeout(10)
    try:
        yield browser
    finally:
        browser.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def screenshot(driver):
    """screenshot("01-login") saves the current page to test-artifacts/screenshots/01-login.png."""
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)

    def shoot(name: str) -> Path:
        path = SCREENSHOT_DIR / f"{name}.png"
        assert driver.save_screenshot(str(path)), f"could not save {path}"
        return path

    return shoot
