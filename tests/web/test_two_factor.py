"""Two-factor sign-in (TOTP and recovery codes), seen from the browser."""

from __future__ import annotations

import re

import pyotp
import pytest
from sqlalchemy import select

from swat.extensions import db
from swat.models import AuditEvent, RecoveryCode, User, UserSession

KEY_RE = re.compile(r'<code class="secret">([A-Z2-7 ]+)</code>')
CODES_RE = re.compile(r"<li><code>([a-z2-9]{5}-[a-z2-9]{5})</code></li>")


def _code(secret: str, clock, seconds: float = 0) -> str:
    return pyotp.TOTP(secret).at(clock.now().timestamp() + seconds)


def _second_step(browser, code: str):
    """Post the one-time code; a sign-in gives the browser a new session (and CSRF token)."""
    response = browser.post("/login/two-factor", {"code": code})
    browser._token = None
    return response


def _enrol(browser, clock) -> tuple[str, list[str]]:
    """Set up two-factor sign-in for the signed-in user: its key and recovery codes."""
    page = browser.get("/settings/two-factor")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "<svg" in html and "2段階認証の設定" in html
    key = KEY_RE.search(html).group(1).replace(" ", "")
    done = browser.post("/settings/two-factor", {"code": _code(key, clock)})
    assert done.status_code == 200, done.get_data(as_text=True)[:400]
    codes = CODES_RE.findall(done.get_data(as_text=True))
    assert len(codes) == 10
    return key, codes


@pytest.fixture
def enrolled_admin(auth, browser, clock):
    auth.login("admin")
    key, codes = _enrol(browser, clock)
    browser.logout()
    clock.advance(seconds=60)
    return key, codes


def test_enrolment_shows_a_qr_drawn_here_and_needs_a_matching_code(auth, browser, clock):
    auth.login("manager")
    html = browser.get("/settings/two-factor").get_data(as_text=True)
    assert "<svg" in html and "http" not in html.split("<svg", 1)[1].split("</svg>", 1)[0].replace(
        "http://www.w3.org", ""
    )
    wrong = browser.post("/settings/two-factor", {"code": "000000"}, follow_redirects=True)
    assert "確認コードが一致しません" in wrong.get_data(as_text=True)
    user = db.session.scalar(select(User).where(User.username == "manager"))
    assert user.totp_enabled_at is None
    key = KEY_RE.search(html).group(1).replace(" ", "")
    assert key == user.totp_secret  # the same key until it is confirmed, whatever the reloads
    assert browser.post("/settings/two-factor", {"code": _code(key, clock)}).status_code == 200
    db.session.expire_all()
    assert db.session.get(User, user.id).totp_enabled_at is not None
    kinds = db.session.scalars(select(AuditEvent.kind).where(AuditEvent.subject_id == user.id)).all()
    assert "2fa_enrolled" in kinds


def test_sign_in_then_asks_for_the_code_and_starts_no_session_before_it(enrolled_admin, browser, clock):
    key, _ = enrolled_admin
    sessions_before = db.session.query(UserSession).count()
    first = browser.login("admin")
    assert first.status_code == 302 and first.headers["Location"].endswith("/login/two-factor")
    assert db.session.query(UserSession).count() == sessions_before
    # nothing of the desk opens on the password alone
    assert browser.get("/admin/users").status_code == 302
    page = browser.get("/login/two-factor")
    assert "認証アプリに表示される" in page.get_data(as_text=True)
    done = _second_step(browser, _code(key, clock))
    assert done.status_code == 302
    assert browser.get("/admin/users").status_code == 200


def test_a_code_signs_in_once(enrolled_admin, ctx, clock):
    from tests.conftest import Browser

    key, _ = enrolled_admin
    code = _code(key, clock)
    one, other = Browser(ctx, ctx.test_client()), Browser(ctx, ctx.test_client())
    one.login("admin")
    other.login("admin")
    assert one.post("/login/two-factor", {"code": code}).status_code == 302
    again = other.post("/login/two-factor", {"code": code})
    assert again.status_code == 200 and "確認コードが一致しません" in again.get_data(as_text=True)


def test_a_wrong_code_is_refused_and_audited(enrolled_admin, browser):
    browser.login("admin")
    wrong = _second_step(browser, "123456")
    assert wrong.status_code == 200 and "確認コードが一致しません" in wrong.get_data(as_text=True)
    assert browser.get("/admin/users").status_code == 302
    reasons = db.session.scalars(select(AuditEvent.after).where(AuditEvent.kind == "sign_in_failed")).all()
    assert any("second_factor" in r for r in reasons)


def test_wrong_codes_stop_the_second_step_even_across_new_sign_ins(enrolled_admin, browser, clock):
    key, _ = enrolled_admin
    for _ in range(10):
        if browser.get("/login/two-factor").status_code != 200:
            browser.login("admin")
        _second_step(browser, "000001")
    browser.login("admin")
    stopped = browser.post("/login/two-factor", {"code": _code(key, clock)}, follow_redirects=True)
    assert "確認コードの誤りが続きました" in stopped.get_data(as_text=True)
    assert browser.get("/admin/users").status_code == 302
    clock.advance(minutes=16)
    browser.login("admin")
    assert _second_step(browser, _code(key, clock)).status_code == 302


def test_the_password_step_expires_after_five_minutes(enrolled_admin, browser, clock):
    key, _ = enrolled_admin
    browser.login("admin")
    clock.advance(minutes=6)
    late = browser.post("/login/two-factor", {"code": _code(key, clock)}, follow_redirects=True)
    assert "確認コードの入力時間が過ぎました" in late.get_data(as_text=True)
    assert browser.get("/admin/users").status_code == 302


def test_a_recovery_code_signs_in_once_and_is_stored_hashed(enrolled_admin, browser):
    _, codes = enrolled_admin
    stored = db.session.scalars(select(RecoveryCode.code_hash)).all()
    assert len(stored) == 10 and not set(codes) & set(stored)
    browser.login("admin")
    assert _second_step(browser, codes[0].upper()).status_code == 302
    browser.logout()
    browser.login("admin")
    again = _second_step(browser, codes[0])
    assert again.status_code == 200 and "確認コードが一致しません" in again.get_data(as_text=True)
    assert _second_step(browser, codes[1]).status_code == 302
    assert "リカバリーコードは残り8個です。" in browser.get("/settings/two-factor").get_data(as_text=True)


def test_required_roles_are_led_to_enrolment_before_anything_else(auth, browser, clock, app, monkeypatch):
    monkeypatch.setitem(app.config["SWAT"], "two_factor_required", True)
    auth.login("manager")
    page = browser.get("/reports", follow_redirects=False)
    assert page.status_code == 303 and page.headers["Location"].endswith("/settings/two-factor")
    html = browser.get("/settings/two-factor").get_data(as_text=True)
    assert "あなたの役割では2段階認証が必須です" in html
    key = KEY_RE.search(html).group(1).replace(" ", "")
    assert browser.post("/settings/two-factor", {"code": _code(key, clock)}).status_code == 200
    assert browser.get("/reports").status_code == 200
    # it cannot be turned off while the desk requires it
    assert browser.post("/settings/two-factor/off", {"code": _code(key, clock, 30)}).status_code == 403
    # staff are not required to
    browser.logout()
    auth.login("staff_health")
    assert browser.get("/consultations").status_code == 200


def test_turning_off_needs_a_code(auth, browser, clock):
    auth.login("agent")
    key, _ = _enrol(browser, clock)
    refused = browser.post("/settings/two-factor/off", {"code": "999999"}, follow_redirects=True)
    assert "確認コードが一致しません" in refused.get_data(as_text=True)
    clock.advance(seconds=30)
    done = browser.post("/settings/two-factor/off", {"code": _code(key, clock)}, follow_redirects=True)
    assert "2段階認証を無効にしました。" in done.get_data(as_text=True)
    browser.logout()
    back = browser.login("agent")
    assert back.status_code == 302 and not back.headers["Location"].endswith("/login/two-factor")
    assert browser.get("/queue").status_code == 200


def test_new_recovery_codes_replace_the_old(enrolled_admin, browser, clock):
    key, old = enrolled_admin
    browser.login("admin")
    _second_step(browser, _code(key, clock))
    clock.advance(seconds=30)
    renewed = browser.post("/settings/two-factor/recovery-codes", {"code": _code(key, clock)})
    new = CODES_RE.findall(renewed.get_data(as_text=True))
    assert len(new) == 10 and not set(new) & set(old)
    browser.logout()
    browser.login("admin")
    assert _second_step(browser, old[0]).status_code == 200
    assert _second_step(browser, new[0]).status_code == 302


def test_swat_users_reset_2fa_ends_sessions_and_lets_the_password_alone_in(enrolled_admin, browser, clock, app):
    key, _ = enrolled_admin
    browser.login("admin")
    _second_step(browser, _code(key, clock))
    assert browser.get("/admin/users").status_code == 200
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", "reset-2fa", "admin"])
    assert result.exit_code == 0, result.output
    assert "two-factor sign-in reset for admin" in result.output
    assert browser.get("/admin/users").status_code == 302  # the open session ended
    back = browser.login("admin")
    assert back.status_code == 302 and not back.headers["Location"].endswith("/login/two-factor")
    assert db.session.scalar(select(RecoveryCode.id)) is None
    again = runner.invoke(args=["users", "reset-2fa", "admin"])
    assert again.exit_code != 0 and "has no two-factor sign-in" in again.output
    kinds = db.session.scalars(select(AuditEvent.kind).where(AuditEvent.source == "cli")).all()
    assert "2fa_reset" in kinds
