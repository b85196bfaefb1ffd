"""/reports as managers read it, and its CSV."""

from swat.extensions import db
from swat.models import Department


def test_report_page_and_scoping(make_ticket, auth, browser):
    make_ticket("staff_health", title="健医の相談")
    make_ticket("staff_welfare", title="福祉の相談")
    auth.login("manager")
    html = browser.get("/reports?period=2026-11").get_data(as_text=True)
    assert "2026年11月" in html and "部局別" in html
    row = html.split("受付件数", 1)[1].split("</tr>", 1)[0]
    assert ">2</a></td>" in row
    browser.logout()
    auth.login("manager_health")
    html = browser.get("/reports?period=2026-11").get_data(as_text=True)
    row = html.split("受付件数", 1)[1].split("</tr>", 1)[0]
    assert ">1</a></td>" in row and "福祉部" not in html


def test_bad_period_is_a_clear_400(auth, browser, users):
    auth.login("manager")
    assert browser.get("/reports?period=2026-13").status_code == 400


def test_csv_has_a_bom_and_neutralised_cells(make_ticket, auth, browser):
    dep = db.session.get(Department, "health-medical")
    dep.name = '=HYPERLINK("http://evil")'
    db.session.commit()
    make_ticket("staff_health")
    auth.login("manager")
    r = browser.get("/reports/export.csv?period=2026-11&table=department")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/csv")
    assert r.data.startswith("\ufeff".encode())
    text = r.data.decode("utf-8-sig")
    assert "'=HYPERLINK" in text and "\n=HYPERLINK" not in text
    assert browser.get("/reports/export.csv?period=2026-11&table=nothing").status_code == 404


def test_every_number_drills_down_to_its_tickets_under_the_usual_permissions(make_ticket, auth, browser, users, clock):
    import re

    from swat.services import tickets

    a = make_ticket("staff_health", title="健医の相談", theme="telework")
    b = make_ticket("staff_health2", title="健医の相談その二")
    c = make_ticket("staff_welfare", title="福祉の相談", theme="telework")
    tickets.claim_ticket(db.session, users["agent"], clock.now(), a)
    tickets.change_status(db.session, users["agent"], clock.now(), a, "resolved")
    db.session.commit()
    auth.login("manager")
    html = browser.get("/reports?period=2026-11").get_data(as_text=True)
    links = dict(re.findall(r'href="(/consultations\?[^"]+)">(\d+)</a>', html.replace("&amp;", "&")))
    assert links, "numbers are links"
    for url, count in links.items():
        listed = set(re.findall(r'href="/tickets/(2026-\d{5})"', browser.get(url).get_data(as_text=True)))
        assert len(listed) == int(count), url
    theme_url = next(u for u in links if "theme=telework" in u and "measure=opened" in u)
    listed = set(re.findall(r'href="/tickets/(2026-\d{5})"', browser.get(theme_url).get_data(as_text=True)))
    assert listed == {a.number, c.number}
    browser.logout()
    auth.login("staff_health")  # the same link shows staff only their own department
    listed = set(re.findall(r'href="/tickets/(2026-\d{5})"', browser.get(theme_url).get_data(as_text=True)))
    assert listed == {a.number} and b.number not in listed


def test_each_table_has_a_chart_drawn_on_the_server_beside_it(make_ticket, auth, browser):
    make_ticket("staff_health", theme="telework")
    auth.login("lead")
    html = browser.get("/reports?period=2026-11").get_data(as_text=True)
    section = html.split('id="h-department"', 1)[1].split("</section>", 1)[0]
    assert '<svg class="chart" role="img" aria-label="部局別: 受付件数 / 解決件数"' in section
    assert '<svg class="chart" role="img" aria-label="部局別: 遵守率 (%)"' in section
    assert "<rect" in section and "健康医療部" in section and "<table>" in section
    for svg in html.split("<svg")[1:]:
        assert "http" not in svg.split("</svg>", 1)[0].replace("http://www.w3.org", ""), "nothing from outside"
    trend = html.split('id="h-trend"', 1)[1].split("</section>", 1)[0]
    assert "週ごとの推移" in trend and "<polyline" in trend
    # November 2026 in weeks starting on Mondays, up to today (Wednesday the 25th): 11/1 (a
    # Sunday) alone, then 11/2, 11/9, 11/16 and 11/23 to today.
    assert trend.count("<tr><td>2026-11-") == 5 and "<td>2026-11-25</td>" in trend


def test_breakdown_tables_sort_by_any_column(make_ticket, auth, browser):
    for _ in range(2):
        make_ticket("staff_welfare")
    make_ticket("staff_health")
    auth.login("manager")
    html = browser.get("/reports?period=2026-11&sort=department:opened:asc").get_data(as_text=True)
    section = html.split('id="h-department"', 1)[1].split("</section>", 1)[0]
    assert section.index("健康医療部") < section.index("福祉部")
    assert 'aria-sort="ascending"' in section
    html = browser.get("/reports?period=2026-11&sort=department:opened").get_data(as_text=True)
    section = html.split('id="h-department"', 1)[1].split("</section>", 1)[0]
    assert section.index("福祉部") < section.index("健康医療部")


SHEETS = {
    "figures": "主な指標",
    "ages": "未完了の経過日数",
    "trend": "推移",
    "department": "部局別",
    "theme": "テーマ別",
    "priority": "緊急度別",
    "member": "SWATメンバー別",
    "initiative": "取組別",
}


def csv_table(data: bytes) -> list[list[str]]:
    """The table of a CSV export: the rows after the blank row that ends what it covers."""
    import csv
    import io

    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    return rows[rows.index([]) + 1 :]


def sheet_table(sheet) -> list[list[str]]:
    """The table of a workbook's sheet, as text: the rows after the blank row."""
    rows = [["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    blank = next(i for i, row in enumerate(rows) if not any(row))
    table = rows[blank + 1 :]
    width = max(i + 1 for i, h in enumerate(table[0]) if h)  # the rows above may be wider
    return [row[:width] for row in table]


def _norm(rows):
    """Cells compared as numbers where they are numbers (Excel reads 100.0 back as 100)."""

    def one(v):
        v = "" if v is None else str(v)
        try:
            return float(v)
        except ValueError:
            return v

    return [[one(v) for v in row] for row in rows]


def _cells(html_table: str) -> list[list[str]]:
    """The text of each body row's cells, as a reader sees them (— for no data)."""
    import re

    if "<tbody>" not in html_table:
        return []
    body = html_table.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    rows = []
    for tr in re.findall(r"<tr>(.*?)</tr>", body, re.S):
        cells = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", tr, re.S)
        rows.append([re.sub(r"<span class=\"visually-hidden\">.*?</span>|<[^>]+>", "", c).strip() for c in cells])
    return rows


def test_page_csv_and_xlsx_show_the_same_numbers(make_ticket, auth, browser, users, clock, store, limits):
    """Every table: the page, its CSV and the workbook agree cell by cell."""
    import io

    from openpyxl import load_workbook

    from swat.services import tickets

    made = [
        make_ticket("staff_health", theme="telework", initiatives=["sns-consultation"]),
        make_ticket("staff_welfare"),
        make_ticket("staff_health2", theme="healthcare"),
    ]
    tickets.claim_ticket(db.session, users["agent"], clock.now(), made[0])
    tickets.add_reply(db.session, users["agent"], clock.now(), made[0], "回答です", [], store, limits)
    tickets.change_status(db.session, users["agent"], clock.now(), made[0], "resolved")
    db.session.commit()
    auth.login("manager")
    html = browser.get("/reports?period=2026-11").get_data(as_text=True)
    book = load_workbook(io.BytesIO(browser.get("/reports/export.xlsx?period=2026-11").data))
    assert book.sheetnames == list(SHEETS.values())
    for name, sheet_name in SHEETS.items():
        r = browser.get(f"/reports/export.csv?period=2026-11&table={name}")
        rows = csv_table(r.data)
        sheet = sheet_table(book[sheet_name])
        if name == "trend":  # dates in the workbook, ISO days in the CSV
            sheet = [[c.removesuffix(" 00:00:00") for c in row] for row in sheet]
        assert _norm(rows) == _norm(sheet), name
        single = load_workbook(io.BytesIO(browser.get(f"/reports/export.xlsx?period=2026-11&table={name}").data))
        assert single.sheetnames == [sheet_name]
        anchor = {"figures": 'id="h-figures"', "ages": "<h3>", "trend": 'id="h-trend"'}.get(name, f'id="h-{name}"')
        section = html.split(anchor, 1)[1]
        if name == "figures":
            section = section.split("<h3>", 1)[0]
        if name == "ages":  # shown as one row across
            header = section.split("<thead>", 1)[1].split("</thead>", 1)[0]
            import re

            labels = re.findall(r"<th[^>]*>(.*?)</th>", header)
            assert _norm([[label, n] for label, n in zip(labels, _cells(section)[0], strict=True)]) == _norm(rows[1:])
            continue
        page = [[c.replace("—", "") for c in row] for row in _cells(section.split("</section>", 1)[0])]
        assert _norm(page) == _norm(rows[1:]), name
    figures = dict((row[0], row[1]) for row in csv_table(browser.get("/reports/export.csv?period=2026-11").data))
    assert figures["受付件数"] == "3" and figures["解決件数"] == "1"


def test_breakdown_times_on_request_agree_on_page_csv_and_xlsx(make_ticket, auth, browser, users, clock, store, limits):
    import io

    from openpyxl import load_workbook

    from swat.services import tickets

    made = [
        make_ticket("staff_health", theme="telework"),
        make_ticket("staff_welfare", theme="telework"),
        make_ticket("staff_health2", theme="healthcare"),
    ]
    for i, t in enumerate(made):
        clock.advance(minutes=30 * (i + 1))
        tickets.claim_ticket(db.session, users["agent"], clock.now(), t)
        tickets.add_reply(db.session, users["agent"], clock.now(), t, "回答です", [], store, limits)
    db.session.commit()
    auth.login("manager")
    plain = browser.get("/reports?period=2026-11").get_data(as_text=True)
    assert "初回回答時間（中央値）" not in plain.split('id="h-theme"', 1)[1]
    html = browser.get("/reports?period=2026-11&times=theme").get_data(as_text=True)
    theme = html.split('id="h-theme"', 1)[1].split("</section>", 1)[0]
    department = html.split('id="h-department"', 1)[1].split("</section>", 1)[0]
    assert "初回回答時間（中央値）" in theme and "初回回答時間（中央値）" not in department
    assert "中央値・90パーセンタイルを隠す" in theme
    rows = csv_table(browser.get("/reports/export.csv?period=2026-11&table=theme&times=theme").data)
    assert len(rows[0]) == 1 + 8 + 4 and rows[0][-4].startswith("初回回答時間（中央値）")
    sheet = load_workbook(io.BytesIO(browser.get("/reports/export.xlsx?period=2026-11&table=theme&times=theme").data))[
        "テーマ別"
    ]
    cells = sheet_table(sheet)
    page = [[c.replace("—", "") for c in row] for row in _cells(theme)]
    assert _norm(page) == _norm(rows[1:]) == _norm(cells[1:])
    # Telework: first answers after 30 and 90 business minutes (the clock moves on 30, then
    # 60 more) -> median 60 minutes = 1.0 hour, p90 30 + 0.9 * 60 = 84 minutes = 1.4 hours.
    telework = next(r for r in rows[1:] if r[0] == "テレワーク")
    assert telework[-4:-2] == ["1.0", "1.4"]


def test_clocks_overdue_now_count_once_in_the_figures_and_each_breakdown(
    make_ticket, auth, browser, users, clock, store, limits
):
    """A first response overdue now counts as due and not met: in the page's figures (which
    take the overdue clocks from the breakdowns' one read), in its figures-only CSV (which
    counts them alone), per department, and for a department head."""
    import re

    from swat.services import tickets

    answered = make_ticket("staff_health", theme="telework")
    make_ticket("staff_health2")
    make_ticket("staff_welfare", theme="telework")
    tickets.claim_ticket(db.session, users["agent"], clock.now(), answered)
    tickets.add_reply(db.session, users["agent"], clock.now(), answered, "回答です", [], store, limits)
    db.session.commit()
    clock.advance(days=5)  # the other two first responses are past due, still running

    def first_response(html: str, anchor: str) -> dict[str, str]:
        section = html.split(anchor, 1)[1].split("</section>", 1)[0]
        header = re.findall(r'<th scope="col"[^>]*>(.*?)</th>', section, re.S)
        column = next(i for i, h in enumerate(header) if "初回回答の期限遵守率" in h)
        return {row[0]: row[column] for row in _cells(section)}

    auth.login("manager")
    html = browser.get("/reports?period=2026-11").get_data(as_text=True)
    figures = dict((row[0], row[1]) for row in csv_table(browser.get("/reports/export.csv?period=2026-11").data))
    assert figures["初回回答の期限遵守率 (%)"] == "33.3"
    page_row = html.split("初回回答の期限遵守率", 1)[1].split("</tr>", 1)[0]
    assert ">33.3</td>" in page_row
    by_department = first_response(html, 'id="h-department"')
    assert by_department == {"健康医療部": "50.0", "福祉部": "0.0"}
    by_theme = first_response(html, 'id="h-theme"')
    assert by_theme["テレワーク"] == "50.0"
    member = csv_table(browser.get("/reports/export.csv?period=2026-11&table=member").data)
    column = member[0].index("初回回答の期限遵守率 (%)")
    assert {row[0]: row[column] for row in member[1:]} == first_response(html, 'id="h-member"')
    browser.logout()
    auth.login("manager_health")
    html = browser.get("/reports?period=2026-11").get_data(as_text=True)
    assert ">50.0</td>" in html.split("初回回答の期限遵守率", 1)[1].split("</tr>", 1)[0]
    assert first_response(html, 'id="h-department"') == {"健康医療部": "50.0"}


def test_breakdown_rows_escape_what_they_show(make_ticket, auth, browser, users, clock):
    """A member's display name is shown as text in the breakdown rows, never as markup."""
    from swat.services import tickets

    users["agent"].display_name = '<script>alert("x")</script>'
    t = make_ticket("staff_health")
    tickets.claim_ticket(db.session, users["agent"], clock.now(), t)
    db.session.commit()
    auth.login("manager")
    html = browser.get("/reports?period=2026-11").get_data(as_text=True)
    rows = html.split('id="h-member"', 1)[1].split("</section>", 1)[0]
    assert "<script>" not in rows and "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in rows
