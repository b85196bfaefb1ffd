"""Report exports as files: a table, with the rows that say what it covers above it, as CSV
(UTF-8 with a BOM, which Excel needs to read Japanese) or as an Excel workbook of one or
more sheets. The words come translated from the caller; this module only lays them out.

Every text cell goes through domain.reports.safe_cell (no formula runs when the file is
opened, ASVS 1.2.10); numbers stay numbers; dates and instants are Excel dates in a
workbook (instants in Tokyo time) and ISO text in CSV. A workbook's columns are as wide as
their widest cell, East Asian wide characters counted twice, so Japanese headings fit.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any, cast

from ..domain import reports as rdomain
from ..domain.text import display_width
from ..domain.tz import TOKYO

DATE_FORMAT = "yyyy-mm-dd"
INSTANT_FORMAT = "yyyy-mm-dd hh:mm"
# Excel's limits on a sheet's name: at most 31 characters, none of : \ / ? * [ ].
SHEET_NAME_MAX = 31
_NOT_IN_SHEET_NAMES = re.compile(r"[:\\/?*\[\]]")
# Column widths, in characters of a fixed-width font.
WIDTH_MIN, WIDTH_MAX, WIDTH_PAD = 8, 60, 2


@dataclass
class Sheet:
    """One table and what it covers: `about` rows (a label, then values: the title, the
    period, the scope) above a blank row, then the header and the rows."""

    name: str
    about: list[list] = field(default_factory=list)
    header: list[str] = field(default_factory=list)
    rows: list[list] = field(default_factory=list)


def _tokyo(value: datetime) -> datetime:
    """An instant as Tokyo wall time without a zone (Excel has no time zones)."""
    return value.astimezone(TOKYO).replace(tzinfo=None) if value.tzinfo else value


def _text(value) -> str:
    """A cell as CSV text: nothing for no value, ISO dates, Tokyo instants to the minute."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return _tokyo(value).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return str(rdomain.safe_cell(value))


def csv_bytes(sheet: Sheet) -> bytes:
    """The sheet as CSV: its about rows, a blank row, its header and rows."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    for row in sheet.about:
        writer.writerow([_text(v) for v in row])
    if sheet.about:
        writer.writerow([])
    writer.writerow([_text(h) for h in sheet.header])
    for row in sheet.rows:
        writer.writerow([_text(v) for v in row])
    return out.getvalue().encode("utf-8")


def sheet_name(name: str, taken: set[str]) -> str:
    """A name Excel accepts, unique in the workbook (case-insensitively, as Excel compares)."""
    base = _NOT_IN_SHEET_NAMES.sub("・", name).strip("'") or "Sheet"
    base = base[:SHEET_NAME_MAX]
    candidate, n = base, 2
    while candidate.casefold() in taken:
        suffix = f" ({n})"
        candidate, n = base[: SHEET_NAME_MAX - len(suffix)] + suffix, n + 1
    taken.add(candidate.casefold())
    return candidate


def _width(value) -> int:
    if value is None:
        return 0
    if isinstance(value, datetime):
        return len("2026-11-25 10:00")
    if isinstance(value, date):
        return len("2026-11-25")
    return display_width(str(value))


def column_widths(sheet: Sheet) -> list[int]:
    """Each column's width: its widest cell (the about rows' first column, a label, and
    their values included) plus a little room, within WIDTH_MIN and WIDTH_MAX."""
    widths: list[int] = []
    for row in [*sheet.about, sheet.header, *sheet.rows]:
        for i, value in enumerate(row):
            if i == len(widths):
                widths.append(0)
            widths[i] = max(widths[i], _width(value))
    return [min(WIDTH_MAX, max(WIDTH_MIN, w + WIDTH_PAD)) for w in widths]


def _cell(ws, value, font=None):
    """A workbook cell: instants and days as Excel dates (instants in Tokyo time), text
    that looks like a formula neutralised as in CSV, numbers as numbers."""
    from openpyxl.cell import WriteOnlyCell

    if isinstance(value, datetime):
        c = WriteOnlyCell(ws, value=_tokyo(value))
        c.number_format = INSTANT_FORMAT
    elif isinstance(value, date):
        c = WriteOnlyCell(ws, value=datetime.combine(value, time()))
        c.number_format = DATE_FORMAT
    else:
        c = WriteOnlyCell(ws, value=cast(Any, rdomain.safe_cell(value)))
    if font is not None:
        c.font = font
    return c


def xlsx_bytes(sheets: list[Sheet]) -> bytes:
    """The sheets as one workbook (written as a stream: a long list costs no more memory
    than its rows). Each sheet: its about rows (labels bold), a blank row, the header (bold)
    and the rows, with the header and the first column kept in view while scrolling."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    bold = Font(bold=True)
    book = Workbook(write_only=True)
    taken: set[str] = set()
    for sheet in sheets:
        ws = book.create_sheet(sheet_name(sheet.name, taken))
        for i, width in enumerate(column_widths(sheet), start=1):
            ws.column_dimensions[get_column_letter(i)].width = width
        header_row = len(sheet.about) + (2 if sheet.about else 1)
        ws.freeze_panes = f"B{header_row + 1}"
        for row in sheet.about:
            ws.append([_cell(ws, v, bold if i == 0 else None) for i, v in enumerate(row)])
        if sheet.about:
            ws.append([])
        ws.append([_cell(ws, h, bold) for h in sheet.header])
        for row in sheet.rows:
            ws.append([_cell(ws, v) for v in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
