"""Choosing what the reports page covers: the trend up to today, the picker, and a period
it cannot show, as a manager sees them."""

import re


def _section(html: str, anchor: str) -> str:
    return html.split(anchor, 1)[1].split("</section>", 1)[0]


def test_a_fiscal_year_in_progress_is_drawn_up_to_today(make_ticket, auth, browser):
    make_ticket("staff_health")
    auth.login("manager")
    trend = _section(browser.get("/reports").get_data(as_text=True), 'id="h-trend"')  # FY2026, today 2026-11-25
    rows = re.findall(r"<tr><td>(\d{4}-\d\d-\d\d)</td><td>(\d{4}-\d\d-\d\d)</td>", trend)
    assert [start for start, _end in rows] == [f"2026-{m:02d}-01" for m in range(4, 12)]
    assert rows[-1][1] == "2026-11-25"
    assert "2026-12-01" not in trend and "<polyline" in trend
    future = _section(browser.get("/reports?period=FY2027").get_data(as_text=True), 'id="h-trend"')
    assert "この期間はまだ始まっていないため、推移はありません。" in future and "<polyline" not in future
