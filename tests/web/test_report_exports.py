"""What the report's exports say they cover, and how a workbook reads in Excel, as the
manager who downloads them sees it."""

import csv
import io
import re
from datetime import datetime

from openpyxl import load_workbook

from swat.domain.text import display_width
from swat.extensions import db
from swat.models import Department

RANGE = "from=2026-11-02&to=2026-11-25"


def csv_rows(data: bytes) -> list[list[str]]:
    assert data.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def rows_of(sheet) -> list[tuple]:
    return [tuple(v for v in row) for row in sheet.iter_rows(values_only=True)]


def test_every_csv_says_its_period_and_scope_above_the_table(make_ticket, auth, browser):
    make_ticket("staff_health")
    make_ticket("staff_welfare")
    auth.login("manager_health")
    html = browser.get(f"/reports?{RANGE}").get_data(as_text=True)
    link = html.split('data-testid="export-department-csv" href="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    rows = csv_rows(browser.get(link).data)
    assert rows[:4] == [
        ["レポート", "部局別"],
        ["期間", "2026年11月2日〜2026年11月25日", "2026-11-02", "2026-11-25"],
        ["対象", "健康医療部"],
        [],
    ]
    assert rows[4][0] == "部局別" and rows[5][:2] == ["健康医療部", "1"] and len(rows) == 6
    for table in ("figures", "ages", "trend", "theme", "priority", "member", "initiative"):
        rows = csv_rows(browser.get(f"/reports/export.csv?period=FY2026-Q3&table={table}").data)
        assert rows[1][:2] == ["期間", "令和8年度（2026年度）第3四半期"], table
        assert rows[1][2:] == ["2026-10-01", "2026-12-31"] and rows[2] == ["対象", "健康医療部"], table
    browser.logout()
    auth.login("manager")
    rows = csv_rows(browser.get("/reports/export.csv?period=2026-11").data)
    assert rows[0] == ["レポート", "主な指標"] and rows[2] == ["対象", "全部局"]
    assert rows[4][:2] == ["指標", "2026年11月"] and ["受付件数", "2", "0"] in rows


def test_the_scope_row_is_neutralised_like_every_cell(make_ticket, auth, browser):
    dep = db.session.get(Department, "health-medical")
    dep.name = '=HYPERLINK("http://evil")'
    db.session.commit()
    make_ticket("staff_health")
    auth.login("manager_health")
    rows = csv_rows(browser.get("/reports/export.csv?period=2026-11&table=figures").data)
    assert rows[2] == ["対象", '\'=HYPERLINK("http://evil")']
    book = load_workbook(io.BytesIO(browser.get("/reports/export.xlsx?period=2026-11").data))
    for sheet in book.worksheets:
        assert sheet["B3"].value == '\'=HYPERLINK("http://evil")' and sheet["B3"].data_type == "s"


def test_a_workbook_has_named_sheets_excel_dates_numbers_and_columns_that_fit(make_ticket, auth, browser):
    make_ticket("staff_health", theme="telework")
    auth.login("manager_health")
    book = load_workbook(io.BytesIO(browser.get(f"/reports/export.xlsx?{RANGE}").data))
    assert book.sheetnames == [
        "主な指標",
        "未完了の経過日数",
        "推移",
        "部局別",
        "テーマ別",
        "緊急度別",
        "SWATメンバー別",
        "取組別",
    ]
    figures = book["主な指標"]
    head = rows_of(figures)[:4]
    assert head[0][:2] == ("レポート", "主な指標")
    assert head[1][:4] == ("期間", "2026年11月2日〜2026年11月25日", datetime(2026, 11, 2), datetime(2026, 11, 25))
    assert figures["C2"].is_date and figures["C2"].number_format == "yyyy-mm-dd"
    assert head[2][:2] == ("対象", "健康医療部") and not any(head[3])
    assert figures["A1"].font.b and figures["A5"].font.b  # the labels and the header
    assert figures.freeze_panes == "B6"
    assert rows_of(figures)[5][:3] == ("受付件数", 1, 0)  # numbers are numbers
    trend = rows_of(book["推移"])
    assert trend[4][:2] == ("開始日", "終了日")
    assert trend[5][0] == datetime(2026, 11, 2) and book["推移"]["A6"].is_date
    assert trend[-1][1] == datetime(2026, 11, 25)
    # Each column is as wide as its widest cell, a Japanese character counted twice.
    for sheet in book.worksheets:
        for column in sheet.iter_cols():
            widest = max(
                (display_width(str(c.value)) for c in column if c.value is not None and not c.is_date), default=0
            )
            width = sheet.column_dimensions[column[0].column_letter].width
            assert width >= min(60, widest), (sheet.title, column[0].column_letter)
    header = [c.value for c in book["部局別"][5]]
    assert header[0] == "部局別" and book["部局別"].column_dimensions["B"].width >= display_width(header[1])
    assert book["主な指標"].column_dimensions["A"].width >= display_width("初回回答時間（90パーセンタイル） (開庁時間)")


def test_in_english_the_sheets_and_rows_are_english(make_ticket, auth, browser):
    make_ticket("staff_health")
    auth.login("manager_health")
    browser.post("/language", {"locale": "en", "next": "/reports"})
    book = load_workbook(io.BytesIO(browser.get("/reports/export.xlsx?period=2026-11").data))
    assert book.sheetnames == [
        "Figures",
        "Open by age",
        "Trend",
        "By department",
        "By theme",
        "By urgency",
        "By SWAT member",
        "By initiative",
    ]
    head = rows_of(book["By department"])[:3]
    assert head[0][:2] == ("Report", "By department")
    assert head[1][:2] == ("Period", "November 2026")
    assert head[2][:2] == ("Scope", "Department of Health and Medical Care")
    rows = csv_rows(browser.get("/reports/export.csv?period=2026-11&table=ages").data)
    assert rows[2] == ["Scope", "Department of Health and Medical Care"]


def _link(html: str, testid: str) -> str:
    return html.split(f'data-testid="{testid}" href="', 1)[1].split('"', 1)[0].replace("&amp;", "&")


def _listed(html: str) -> set[str]:
    return set(re.findall(r'href="/tickets/(2026-\d{5})"', html))


def test_the_consultations_behind_a_count_download_as_the_list_shows_them(make_ticket, auth, browser, users, clock):
    from swat.services import tickets

    a = make_ticket("staff_health", title="=cmd|' /C calc'!A0", theme="telework")
    b = make_ticket("staff_health2", title="ワクチン予約の相談")
    c = make_ticket("staff_welfare", title="福祉の相談", theme="telework")
    tickets.claim_ticket(db.session, users["agent"], clock.now(), a)
    tickets.change_status(db.session, users["agent"], clock.now(), a, "resolved")
    db.session.commit()
    auth.login("manager")
    report = browser.get("/reports?period=2026-11").get_data(as_text=True)
    drill = next(
        u
        for u in re.findall(r'href="(/consultations\?[^"]+)"', report.replace("&amp;", "&"))
        if "department=health-medical" in u and "measure=opened" in u
    )
    page = browser.get(drill).get_data(as_text=True)
    assert _listed(page) == {a.number, b.number}
    rows = csv_rows(browser.get(_link(page, "export-list-csv")).data)
    about = rows[: rows.index([])]
    assert about == [
        ["レポート", "相談の一覧"],
        ["指標", "受付件数"],
        ["部局", "健康医療部"],
        ["期間", "2026年11月", "2026-11-01", "2026-11-30"],
        ["対象", "全部局"],
        ["件数", "2"],
    ]
    table = rows[rows.index([]) + 1 :]
    assert table[0] == [
        "相談番号",
        "件名",
        "部局",
        "テーマ",
        "状態",
        "緊急度",
        "相談者",
        "担当者",
        "受付日時",
        "解決日時",
        "最終更新",
    ]
    assert {r[0] for r in table[1:]} == _listed(page)
    first = table[1]
    assert first[:8] == [
        a.number,
        "'=cmd|' /C calc'!A0",
        "健康医療部",
        "テレワーク",
        "解決済",
        "通常",
        "Staff Health",
        "Agent",
    ]
    assert first[8] == "2026-11-25 10:00" and first[9] == "2026-11-25 10:00"
    assert table[2][0] == b.number and table[2][3] == "" and table[2][9] == ""

    book = load_workbook(io.BytesIO(browser.get(_link(page, "export-list-xlsx")).data))
    assert book.sheetnames == ["相談"]
    sheet = rows_of(book["相談"])
    assert sheet[7][0] == "相談番号" and book["相談"].freeze_panes == "B9"
    assert sheet[8][:2] == (a.number, "'=cmd|' /C calc'!A0") and book["相談"]["B9"].data_type == "s"
    assert sheet[8][8] == datetime(2026, 11, 25, 10, 0) and book["相談"]["I9"].is_date
    assert sheet[3][:4] == ("期間", "2026年11月", datetime(2026, 11, 1), datetime(2026, 11, 30))

    # A department head's download holds their department's only, as their list does.
    browser.logout()
    auth.login("manager_health")
    theme = browser.get("/consultations?period=2026-11&measure=opened&theme=telework").get_data(as_text=True)
    assert _listed(theme) == {a.number} and c.number not in theme
    rows = csv_rows(browser.get(_link(theme, "export-list-csv")).data)
    assert ["対象", "健康医療部"] in rows and ["テーマ", "テレワーク"] in rows and ["件数", "1"] in rows
    assert [r[0] for r in rows[rows.index([]) + 2 :]] == [a.number]


def test_only_report_readers_download_a_list_and_only_a_count_s_list(make_ticket, auth, browser):
    make_ticket("staff_health")
    drill = "/consultations?period=2026-11&measure=opened"
    auth.login("staff_health")
    assert "export-list-csv" not in browser.get(drill).get_data(as_text=True)
    assert browser.get("/reports/consultations.csv?period=2026-11&measure=opened").status_code == 403
    browser.logout()
    auth.login("lead")
    assert "export-list-csv" in browser.get(drill).get_data(as_text=True)
    assert "export-list-csv" not in browser.get("/consultations").get_data(as_text=True)  # not a count's list
    r = browser.get("/reports/consultations.csv?theme=telework")
    assert r.status_code == 400 and "ダウンロードできるのは、レポートの件数の内訳の相談だけです。" in r.get_data(
        as_text=True
    )
    r = browser.get("/reports/consultations.xlsx?period=2026-13&measure=opened")
    assert r.status_code == 400 and "「2026-13」は期間として読み取れません。" in r.get_data(as_text=True)


def test_in_english_a_list_download_names_things_in_english(make_ticket, auth, browser):
    make_ticket("staff_health", theme="telework")
    auth.login("manager")
    browser.post("/language", {"locale": "en", "next": "/reports"})
    rows = csv_rows(browser.get("/reports/consultations.csv?period=2026-11&measure=backlog").data)
    assert rows[0] == ["Report", "List of consultations"] and ["Scope", "All departments"] in rows
    table = rows[rows.index([]) + 1 :]
    assert table[0][:4] == ["Number", "Title", "Department", "Theme"]
    assert table[1][2:6] == ["Department of Health and Medical Care", "Telework", "New", "Normal"]
    book = load_workbook(io.BytesIO(browser.get("/reports/consultations.xlsx?period=2026-11&measure=backlog").data))
    assert book.sheetnames == ["Consultations"]


def test_in_english_the_report_names_departments_themes_and_initiatives_in_english(make_ticket, auth, browser):
    make_ticket("staff_health", theme="telework", initiatives=["sns-consultation"])
    make_ticket("staff_welfare")
    auth.login("manager")
    browser.post("/language", {"locale": "en", "next": "/reports"})
    html = browser.get("/reports?period=2026-11&sort=department:label:asc").get_data(as_text=True)
    department = html.split('id="h-department"', 1)[1].split("</section>", 1)[0]
    assert '<th scope="row">Department of Health and Medical Care</th>' in department
    assert '<th scope="row">Department of Welfare</th>' in department and "健康医療部" not in department
    # Sorted by the names shown: Health before Welfare.
    assert department.index("Department of Health") < department.index("Department of Welfare")
    assert 'aria-label="By department: Opened / Resolved"' in department  # its chart names them too
    theme = html.split('id="h-theme"', 1)[1].split("</section>", 1)[0]
    assert '<th scope="row">Telework</th>' in theme and "テレワーク" not in theme
    initiative = html.split('id="h-initiative"', 1)[1].split("</section>", 1)[0]
    assert '<th scope="row">Consultation over social media</th>' in initiative and "SNSによる相談" not in initiative
    rows = csv_rows(browser.get("/reports/export.csv?period=2026-11&table=theme").data)
    assert ["Telework", "1"] in [r[:2] for r in rows[5:]] and ["(not set)", "1"] in [r[:2] for r in rows[5:]]
    # In Japanese, the Japanese names.
    browser.post("/language", {"locale": "ja", "next": "/reports"})
    html = browser.get("/reports?period=2026-11").get_data(as_text=True)
    assert '<th scope="row">テレワーク</th>' in html and '<th scope="row">SNSによる相談</th>' in html


def test_a_list_download_narrowed_by_search_words_says_so(make_ticket, auth, browser):
    make_ticket("staff_health", title="VPN接続の相談", body="VPNがつながりません。")
    make_ticket("staff_health", title="LINE相談", body="LINEで相談を受けたい。")
    auth.login("manager")
    rows = csv_rows(browser.get("/reports/consultations.csv?period=2026-11&measure=opened&q=VPN").data)
    assert ["検索", "VPN"] in rows
    table = rows[rows.index([]) + 1 :]
    assert [r[1] for r in table[1:]] == ["VPN接続の相談"]
    # The words are text in the file, never a formula.
    rows = csv_rows(browser.get("/reports/consultations.csv?period=2026-11&measure=opened&q=%3D1%2B1").data)
    assert ["検索", "'=1+1"] in rows
