"""The report's files as laid out: what they cover above the table, safe cells, Excel
dates and sheet names, and column widths that fit Japanese."""

import io
from datetime import UTC, date, datetime

from openpyxl import load_workbook

from swat.services.report_export import Sheet, column_widths, csv_bytes, sheet_name, xlsx_bytes

SHEET = Sheet(
    "部局別",
    [["レポート", "部局別"], ["期間", "2026年11月", date(2026, 11, 1), date(2026, 11, 30)], ["対象", "=1+1"]],
    ["部局", "受付件数", "受付日時"],
    [["健康医療部", 3, datetime(2026, 11, 25, 1, 0, tzinfo=UTC)], ["@SUM(A1)", None, None]],
)


def test_csv_has_the_about_rows_a_blank_row_then_the_table():
    text = csv_bytes(SHEET).decode("utf-8")
    assert text.startswith("\ufeff")
    assert text.lstrip("\ufeff").splitlines() == [
        "レポート,部局別",
        "期間,2026年11月,2026-11-01,2026-11-30",
        "対象,'=1+1",
        "",
        "部局,受付件数,受付日時",
        "健康医療部,3,2026-11-25 10:00",  # an instant in Tokyo time
        "'@SUM(A1),,",
    ]


def test_a_workbook_has_excel_dates_in_tokyo_numbers_and_safe_text():
    book = load_workbook(io.BytesIO(xlsx_bytes([SHEET])))
    ws = book["部局別"]
    assert ws["C2"].value == datetime(2026, 11, 1) and ws["C2"].is_date and ws["D2"].value == datetime(2026, 11, 30)
    assert ws["B3"].value == "'=1+1"
    assert [c.value for c in ws[6]][:3] == ["健康医療部", 3, datetime(2026, 11, 25, 10, 0)]
    assert ws["C6"].number_format == "yyyy-mm-dd hh:mm"
    assert ws["A7"].value == "'@SUM(A1)" and ws["B7"].value is None
    assert ws.freeze_panes == "B6"


def test_columns_fit_their_widest_cell_with_japanese_counted_twice():
    # Column A: "健康医療部" (10) and "レポート" (8) -> 10 + 2; B: "2026年11月" (10) -> 12;
    # C: an instant (16) -> 18; D: a day (10) -> 12.
    assert column_widths(SHEET) == [12, 12, 18, 12]
    narrow = Sheet("x", [], ["a"], [["b"]])
    assert column_widths(narrow) == [8]  # never narrower than 8
    assert column_widths(Sheet("x", [], ["あ" * 100], [])) == [60]  # nor wider than 60
    book = load_workbook(io.BytesIO(xlsx_bytes([SHEET])))
    assert book["部局別"].column_dimensions["A"].width == 12


def test_sheet_names_are_ones_excel_accepts_and_unique():
    taken: set[str] = set()
    assert sheet_name("By department", taken) == "By department"
    assert sheet_name("by department", taken) == "by department (2)"  # Excel ignores case
    assert sheet_name("受付/解決[件数]: 期間?*", taken) == "受付・解決・件数・・ 期間・・"
    long = sheet_name("Open consultations by age (business days)", taken)
    assert len(long) == 31 and long == "Open consultations by age (busi"
    book = load_workbook(io.BytesIO(xlsx_bytes([Sheet("推移"), Sheet("推移")])))
    assert book.sheetnames == ["推移", "推移 (2)"]
