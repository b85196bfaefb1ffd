"""Two-factor sign-in (TOTP and recovery codes), seen from the browser."""

from __future__ import annotations

import hashlib
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
    svg = html.split("<svg", 1)[1].split("</svg>", 1)[0]
    assert "href" not in svg and "<image" not in svg  # drawn here, nothing fetched
    first_key = KEY_RE.search(html).group(1).replace(" ", "")
    wrong = browser.post("/settings/two-factor", {"code": "000000"}, follow_redirects=True)
    assert "確認コードが一致しません" in wrong.get_data(as_text=True)
    user = db.session.scalar(select(User).where(User.username == "manager"))
    assert user.totp_enabled_at is None
    # each showing makes a new key: one copied from an earlier showing is never the one in force
    key = KEY_RE.search(wrong.get_data(as_text=True)).group(1).replace(" ", "")
    assert key != first_key
    stale = browser.post("/settings/two-factor", {"code": _code(first_key, clock)}, follow_redirects=True)
    assert "確認コードが一致しません" in stale.get_data(as_text=True)
    key = KEY_RE.search(stale.get_data(as_text=True)).group(1).replace(" ", "")
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
    digests = {hashlib.sha256(c.replace("-", "").encode()).hexdigest() for c in codes}
    assert set(stored) == digests  # only their SHA-256 is kept
    browser.login("admin")
    assert _second_step(browser, codes[0].upper()).status_code == 302
    browser.logout()
    browser.login("admin")
    again = _second_step(browser, codes[0])
    assert again.status_code == 200 and "確認コードが一致しません" in again.get_data(as_text=True)
    assert _second_step(browser, codes[1]).status_code == 302
    assert "リカバリーコードは残り8個です。" in browser.get("/settings/two-factor").get_data(as_text=True)


def test_a_new_password_spends_a_half_done_sign_in(enrolled_admin, browser, clock):
    from swat.services import accounts

    key, _ = enrolled_admin
    browser.login("admin")  # the old password's step: the code page waits
    admin = db.session.scalar(select(User).where(User.username == "admin"))
    clock.advance(seconds=30)
    accounts.set_password(
        db.session, admin, "a brand new lantern 55", "pbkdf2:sha256:1000", now=clock.now(), actor=admin
    )
    db.session.commit()
    late = browser.post("/login/two-factor", {"code": _code(key, clock)}, follow_redirects=True)
    assert "確認コードの入力時間が過ぎました" in late.get_data(as_text=True)
    assert browser.get("/admin/users").status_code == 302


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


def test_names_typed_at_the_sign_in_form_cannot_stop_anyones_code(enrolled_admin, browser, clock):
    key, _ = enrolled_admin
    admin = db.session.scalar(select(User).where(User.username == "admin"))
    for _ in range(12):
        browser.login(f"2fa:{admin.id}", "wrong")
    clock.advance(minutes=16)  # past the typed name's own wait
    browser.login("admin")
    assert _second_step(browser, _code(key, clock)).status_code == 302


def test_full_width_digits_and_spaces_from_a_japanese_keyboard_are_a_code(enrolled_admin, browser, clock):
    key, _ = enrolled_admin
    browser.login("admin")
    code = _code(key, clock)
    typed = code[:3].translate(str.maketrans("0123456789", "０１２３４５６７８９")) + " " + code[3:]
    assert _second_step(browser, typed).status_code == 302


def test_new_recovery_codes_and_turning_off_take_an_app_code_and_count_wrong_ones(auth, browser, clock):
    auth.login("agent")
    key, codes = _enrol(browser, clock)
    clock.advance(seconds=30)
    # a recovery code cannot mint new ones
    refused = browser.post("/settings/two-factor/recovery-codes", {"code": codes[0]}, follow_redirects=True)
    assert "確認コードが一致しません" in refused.get_data(as_text=True)
    for _ in range(9):
        browser.post("/settings/two-factor/off", {"code": "111111"})
    stopped = browser.post("/settings/two-factor/off", {"code": _code(key, clock)}, follow_redirects=True)
    assert "確認コードの誤りが続きました" in stopped.get_data(as_text=True)
    agent = db.session.scalar(select(User).where(User.username == "agent"))
    assert agent.totp_enabled_at is not None


def test_a_copied_pending_step_is_spent_by_the_sign_in_it_led_to(enrolled_admin, ctx, browser, clock):
    from tests.conftest import Browser

    key, _ = enrolled_admin
    browser.login("admin")
    token = browser.token()  # the CSRF token of the copied session, as its page showed it
    copied = browser.client.get_cookie("swat_session").value
    clock.advance(seconds=20)
    assert _second_step(browser, _code(key, clock)).status_code == 302
    clock.advance(seconds=31)
    thief = Browser(ctx, ctx.test_client())
    thief.client.set_cookie("swat_session", copied)
    page = thief.post("/login/two-factor", {"code": _code(key, clock), "csrf_token": token})
    assert page.status_code == 302 and page.headers["Location"].endswith("/login")


def test_a_second_step_started_in_a_signed_in_browser_ends_the_first_session(enrolled_admin, auth, browser, clock):
    auth.login("agent")
    agent = db.session.scalar(select(User).where(User.username == "agent"))
    browser.login("admin")
    live = db.session.scalars(
        select(UserSession).where(UserSession.user_id == agent.id, UserSession.revoked_at.is_(None))
    ).all()
    assert live == []


def test_the_pages_scripts_are_told_to_finish_the_step(auth, browser, app, monkeypatch):
    monkeypatch.setitem(app.config["SWAT"], "two_factor_required", True)
    auth.login("manager")
    answer = browser.post("/notifications/read", {}, headers={"X-Swat-Draft": "1"})
    assert answer.status_code == 403 and answer.get_json()["step"] == "/settings/two-factor"
    form = browser.post("/notifications/read", {}, follow_redirects=True)
    assert "2段階認証の設定" in form.get_data(as_text=True)
