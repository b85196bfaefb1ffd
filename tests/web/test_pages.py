"""What every page shares: times in the user's style, error pages, the queue's side panel and
its row redraw, and drill-down lists that say what they show."""

from __future__ import annotations

import re

from swat.extensions import db
from swat.services import tickets


def text(response) -> str:
    return response.get_data(as_text=True)


def test_lists_show_the_absolute_time_and_how_long_ago(make_ticket, clock, auth, browser):
    number = make_ticket().number
    clock.advance(hours=3, minutes=5)
    auth.login("staff_health")
    page = text(browser.get("/consultations"))
    assert "2026年11月25日 10:00" in page
    assert "（3時間前）" in page
    page = text(browser.get(f"/tickets/{number}"))
    assert '<time datetime="2026-11-25T01:00:00+00:00">2026年11月25日 10:00</time>' in page
    assert "（3時間前）" in page

    browser.post("/language", {"locale": "en", "next": "/consultations"})
    page = text(browser.get("/consultations"))
    assert "2026-11-25 10:00" in page and "(3 hours ago)" in page


def test_how_long_ago_rounds_as_babel_words_it_at_every_unit(make_ticket, clock, auth, browser):
    """The list's "how long ago" is Babel's wording of the age to the minute (a unit from 85 %
    of it on: 51 minutes are an hour), in both languages."""
    from datetime import timedelta

    from babel.dates import format_timedelta

    make_ticket()
    filed = clock.now()
    minutes = [1, 50, 51, 89, 90, 20 * 60 + 24, 20 * 60 + 25, 6 * 1440, 26 * 1440, 320 * 1440, 800 * 1440]
    for age in minutes:
        clock.set(filed + timedelta(minutes=age))
        for locale, wrap in (("ja", "（{}）"), ("en", "({})")):
            auth.login("staff_health")
            browser.post("/language", {"locale": locale, "next": "/consultations"})
            words = format_timedelta(-timedelta(minutes=age), granularity="minute", add_direction=True, locale=locale)
            expected = wrap.format(words.replace(" ", "") if locale == "ja" else words)
            assert expected in text(browser.get("/consultations")), (age, locale, expected)


def test_a_moment_ago_reads_just_now(make_ticket, auth, browser):
    make_ticket()
    auth.login("staff_health")
    assert "（たった今）" in text(browser.get("/consultations"))


def test_error_pages_keep_the_layout_and_say_what_happened(users, auth, browser):
    auth.login("staff_health")
    missing = browser.get("/tickets/2026-99999")
    assert missing.status_code == 404
    page = text(missing)
    assert "<title>ページが見つかりません | SWAT相談窓口</title>" in page
    assert "エラー 404" in page and 'href="/consultations"' in page and 'class="topbar"' in page
    forbidden = browser.get("/queue")
    assert forbidden.status_code == 403
    assert "<title>アクセスできません | SWAT相談窓口</title>" in text(forbidden)


def test_the_side_panel_gets_the_ticket_without_the_layout(make_ticket, auth, browser):
    number = make_ticket(title="オンライン面会").number
    auth.login("agent")
    full = browser.get(f"/tickets/{number}")
    assert "<html" in text(full) and 'class="topbar"' in text(full)
    panel = browser.get(f"/tickets/{number}", headers={"X-Swat-Panel": "1"})
    assert panel.status_code == 200
    body = text(panel)
    assert body.lstrip().startswith('<div class="panel-doc"')
    assert f'data-number="{number}"' in body
    assert "<html" not in body and 'class="topbar"' not in body
    assert "オンライン面会" in body and f"/tickets/{number}/claim" in body
    assert "X-Swat-Panel" in panel.headers.get("Vary", "")
    # An action answered in the panel carries its message there.
    claimed = browser.post(f"/tickets/{number}/claim", headers={"X-Swat-Panel": "1"}, follow_redirects=True)
    assert "この相談の担当者になりました。" in text(claimed)
    assert "<html" not in text(claimed)


def test_a_queue_row_is_redrawn_alone_under_the_usual_permissions(make_ticket, users, clock, auth, browser):
    number = make_ticket(title="テレワーク端末").number
    tickets.claim_ticket(db.session, users["agent2"], clock.now(), tickets_by_number(number))
    db.session.commit()
    auth.login("agent")
    row = browser.get(f"/queue/row/{number}")
    assert row.status_code == 200
    html = text(row).strip()
    assert html.startswith(f'<tr data-number="{number}">') and html.endswith("</tr>")
    assert "テレワーク端末" in html and "Agent2" in html and "割当済" in html
    assert browser.get("/queue/row/2026-99999").status_code == 404
    auth.login("staff_health")
    assert browser.get(f"/queue/row/{number}").status_code == 403


def tickets_by_number(number):
    from sqlalchemy import select

    from swat.models import Ticket

    return db.session.scalar(select(Ticket).where(Ticket.number == number))


def test_a_drill_down_list_says_what_it_shows_and_keeps_it(make_ticket, auth, browser):
    make_ticket()
    make_ticket(requester="staff_welfare")
    auth.login("manager")
    page = text(browser.get("/consultations?period=FY2026&measure=opened&department=health-medical"))
    assert "絞り込み中" in page
    chips = re.findall(r'<span class="chip-label">([^<]+)</span> ([^<]+)</li>', page)
    assert chips == [("期間", "令和8年度（2026年度）"), ("指標", "受付件数"), ("部局", "健康医療部")]
    assert "1件の相談" in page
    for name, value in (("period", "FY2026"), ("measure", "opened"), ("department", "health-medical")):
        assert f'<input type="hidden" name="{name}" value="{value}">' in page
    # Without drill-down arguments the list says nothing of the sort.
    assert "絞り込み中" not in text(browser.get("/consultations"))


def test_a_department_manager_gets_no_row_of_another_department(make_ticket, auth, browser):
    welfare = make_ticket(requester="staff_welfare", title="福祉の相談").number
    health = make_ticket(title="健康の相談").number
    auth.login("manager_health")
    assert browser.get(f"/queue/row/{health}").status_code == 200
    assert browser.get(f"/queue/row/{welfare}").status_code == 404


def test_full_pages_and_panels_of_one_address_are_told_apart_by_caches(make_ticket, auth, browser):
    number = make_ticket().number
    auth.login("agent")
    assert "X-Swat-Panel" in browser.get(f"/tickets/{number}").headers.get("Vary", "")
    assert "X-Swat-Panel" in browser.get(f"/tickets/{number}", headers={"X-Swat-Panel": "1"}).headers.get("Vary", "")


def test_security_cross_site_link_does_not_change_remembered_filters(users, auth, browser):
    """A link on another site (Sec-Fetch-Site: cross-site) shows the filters it carries but
    neither remembers nor resets a member's filters."""
    auth.login("agent")
    browser.get("/queue?priority=urgent", headers={"Sec-Fetch-Site": "same-origin"})
    assert browser.get("/queue").headers["Location"].endswith("/queue?priority=urgent")
    shown = browser.get("/queue?priority=low", headers={"Sec-Fetch-Site": "cross-site"})
    assert shown.status_code == 200
    assert browser.get("/queue").headers["Location"].endswith("/queue?priority=urgent")
    browser.get("/queue?reset=1", headers={"Sec-Fetch-Site": "cross-site"})
    assert browser.get("/queue").headers["Location"].endswith("/queue?priority=urgent")
    browser.get("/queue?reset=1", headers={"Sec-Fetch-Site": "same-origin"})
    assert browser.get("/queue").status_code == 200


def test_odd_assignee_values_are_ignored_not_an_error(make_ticket, users, auth, browser):
    make_ticket()
    auth.login("staff_health")
    for value in ("²", "１", "99999999999999999999", str(users["staff_welfare"].id)):
        page = browser.get(f"/consultations?assignee={value}&period=FY2026&measure=opened")
        assert page.status_code == 200, value
        # Nobody outside the desk is named through an id.
        assert "Staff Welfare" not in text(page)
