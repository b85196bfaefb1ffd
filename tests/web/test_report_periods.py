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


def _offered(html: str) -> list[str]:
    select = html.split('<select name="period" id="report-period"', 1)[1].split("</select>", 1)[0]
    return re.findall(r'<option value="([^"]+)"', select)


def test_the_picker_offers_every_period_with_data_in_the_readers_scope(make_ticket, auth, browser, clock):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    clock.set(datetime(2024, 6, 3, 10, 0, tzinfo=ZoneInfo("Asia/Tokyo")))
    make_ticket("staff_welfare")  # the desk's first consultation, in June 2024
    clock.set(datetime(2026, 11, 25, 10, 0, tzinfo=ZoneInfo("Asia/Tokyo")))
    make_ticket("staff_health")
    auth.login("manager")
    offered = _offered(browser.get("/reports").get_data(as_text=True))
    assert offered[:3] == ["FY2026", "FY2025", "FY2024"]
    quarters = [k for k in offered if "-Q" in k]
    assert quarters[0] == "FY2026-Q3" and quarters[-1] == "FY2024-Q1" and len(quarters) == 11
    months = [k for k in offered if re.fullmatch(r"\d{4}-\d\d", k)]
    assert months[0] == "2026-11" and months[-1] == "2024-06" and len(months) == 30
    assert len(offered) == len(set(offered)) == 3 + 11 + 30
    # Each of them opens, and is the one chosen in the picker.
    for key in ("FY2024", "FY2025-Q2", "2024-06"):
        r = browser.get(f"/reports?period={key}")
        assert r.status_code == 200
        assert f'<option value="{key}" selected>' in r.get_data(as_text=True)
    browser.logout()
    auth.login("manager_health")  # their department's data starts this month
    assert _offered(browser.get("/reports").get_data(as_text=True)) == ["FY2026", "FY2026-Q3", "2026-11"]


def test_two_days_chosen_on_the_page_are_the_report_s_period(make_ticket, auth, browser):
    make_ticket("staff_health")
    auth.login("manager")
    r = browser.get("/reports?from=2026-11-02&to=2026-11-25")
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert "<h1>レポート: 2026年11月2日〜2026年11月25日</h1>" in html
    assert 'name="from" id="report-from" value="2026-11-02"' in html and 'value="2026-11-25"' in html
    # The range is not one of the picker's periods: it is offered as the chosen one.
    assert '<option value="2026-11-02..2026-11-25" selected>' in html
    # The figures and their links are those of that range.
    assert "period=2026-11-02..2026-11-25&amp;measure=opened" in html
    assert 'href="/reports/export.csv?period=2026-11-02..2026-11-25&amp;table=figures"' in html


def _problem(html: str) -> str:
    return html.split('data-testid="period-problem">', 1)[1].split("</p>", 1)[0]


def test_a_period_the_desk_cannot_show_is_named_on_the_reports_page(make_ticket, auth, browser):
    make_ticket("staff_health")
    auth.login("manager")
    cases = {
        "/reports?period=2026-13": "「2026-13」は期間として読み取れません。",
        "/reports?period=FY2019": "レポートの対象は2019年4月から2100年3月までです",
        "/reports?period=2020-01-01..2026-01-01": "日付で選べる期間は5年以内です。",
        "/reports?from=2026-11-15&to=2026-11-01": "終了日が開始日より前になっています。",
        "/reports?from=2026-11-15": "開始日と終了日の両方を日付で入力してください",
        "/reports?from=2026-02-30&to=2026-03-01": "開始日と終了日の両方を日付で入力してください",
    }
    for url, reason in cases.items():
        r = browser.get(url)
        html = r.get_data(as_text=True)
        assert r.status_code == 400, url
        message = _problem(html)
        assert message.startswith(reason), (url, message)
        # It names the forms a period can take.
        assert "月（2026-11）、四半期（FY2026-Q3）、年度（FY2026）、日付の範囲（2026-04-01..2026-06-30）" in message
        # ... on the reports page itself, with its picker, showing this fiscal year meanwhile.
        assert 'role="alert"' in html and "<h1>レポート: 令和8年度（2026年度）</h1>" in html
        assert 'id="report-period"' in html and 'id="h-figures"' in html
    # The days typed are kept, for correcting them; the wrong field says so.
    html = browser.get("/reports?from=2026-11-15&to=2026-11-01").get_data(as_text=True)
    assert 'name="from" id="report-from" value="2026-11-15" aria-invalid="true"' in html
    assert 'name="to" id="report-to" value="2026-11-01" aria-invalid="true"' in html
    # An export asked for a period it cannot show says the same, on the desk's error page.
    r = browser.get("/reports/export.csv?period=2026-13&table=figures")
    assert r.status_code == 400 and "「2026-13」は期間として読み取れません。" in r.get_data(as_text=True)


def test_in_english_the_message_is_english(make_ticket, auth, browser):
    auth.login("manager")
    browser.post("/language", {"locale": "en", "next": "/reports"})
    r = browser.get("/reports?period=next-year")
    message = _problem(r.get_data(as_text=True))
    assert r.status_code == 400
    assert message.startswith("“next-year” is not a period the desk can read.")
    assert "a month (2026-11), a fiscal quarter (FY2026-Q3), a fiscal year (FY2026) or days" in message
    assert not re.search(r"[\u3040-\u30ff]", message)


def test_the_page_says_whose_consultations_it_counts(make_ticket, auth, browser):
    make_ticket("staff_health")
    auth.login("manager_health")
    html = browser.get("/reports?period=2026-11").get_data(as_text=True)
    assert '<dd data-testid="report-scope">健康医療部</dd>' in html
    assert '<dd data-testid="report-period">2026年11月1日〜2026年11月30日</dd>' in html
    browser.post("/language", {"locale": "en", "next": "/reports"})
    html = browser.get("/reports?period=2026-11").get_data(as_text=True)
    assert '<dd data-testid="report-scope">Department of Health and Medical Care</dd>' in html
    browser.logout()
    auth.login("lead")
    assert '<dd data-testid="report-scope">全部局</dd>' in browser.get("/reports").get_data(as_text=True)
