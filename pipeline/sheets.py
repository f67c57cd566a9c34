"""Files analysts open in Excel: .xlsx copies of the watchlists and the branch-level marts.

Each workbook holds one sheet: a bold header row that stays in view (frozen) with a
filter on it, columns wide enough to read, and number formats by what a column holds --
shares as percentages, amounts with thousands separators, dates as dates -- so nothing
arrives as text to be converted. Identifiers and text stay text cells, never formulas, and
go through the same neutralising as the CSV files (pipeline.spreadsheet: a text starting
with `=`, `+`, `-`, `@`, a tab or a carriage return gets a leading `'`), so a cell an
analyst edits and confirms does not turn into a formula either. The bytes are the same
for the same frame: the workbook's creation and modification times are the period's
as-of date and the zip entries carry one fixed time.

Only frames of a branch's or a network's size go here (Excel stops at 1,048,576 rows);
the per-customer marts stay Parquet.
"""

from __future__ import annotations

import io
import re
import unicodedata
import zipfile
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.writer.excel import ExcelWriter

from pipeline.io import write_bytes
from pipeline.spreadsheet import neutralise

MAX_ROWS = 1_048_575  # Excel's rows less the header
PERCENT = "0.0%"
WHOLE = "#,##0"
DECIMAL = "#,##0.00"
RATIO = "0.000"
DATE = "yyyy-mm-dd"
# words in a column name, checked in this order: a share of AUM is a share, not an amount
PERCENT_WORDS = ("share", "coverage", "adoption", "penetration", "probability", "p_alive", "rate")
RATIO_WORDS = ("gini",)
AMOUNT_WORDS = ("aum", "clv", "value", "balance", "amount", "revenue", "margin")
ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip entry can carry


def number_format(column: str, values: pd.Series) -> str | None:
    """The Excel number format for a column, by its values' type and its name."""
    if pd.api.types.is_datetime64_any_dtype(values) or _holds_dates(values):
        return DATE
    if pd.api.types.is_bool_dtype(values) or not pd.api.types.is_numeric_dtype(values):
        return None
    words = column.lower()
    if any(w in words for w in PERCENT_WORDS):
        return PERCENT
    if any(w in words for w in RATIO_WORDS):
        return RATIO
    if any(w in words for w in AMOUNT_WORDS) or pd.api.types.is_integer_dtype(values):
        return WHOLE
    return DECIMAL


def _holds_dates(values: pd.Series) -> bool:
    first = values.dropna()
    return values.dtype == object and not first.empty and isinstance(first.iloc[0], date)


def _cell(value: Any) -> Any:
    """A frame's value as openpyxl takes it: None for missing, Python scalars, datetimes
    for dates (so Excel sorts and filters them as dates)."""
    if (
        value is None
        or value is pd.NA
        or value is pd.NaT
        or (isinstance(value, float) and np.isnan(value))
    ):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime().replace(tzinfo=None)
    if isinstance(value, date) and not isinstance(value, datetime):
        return datetime.combine(value, time())
    if isinstance(value, np.generic):
        return value.item()
    return value


def _width(text: str) -> int:
    """Characters a text takes in a cell (Chinese characters take two)."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def workbook_bytes(
    frame: pd.DataFrame, sheet: str, as_of: date, formats: dict[str, str] | None = None
) -> bytes:
    """One sheet holding `frame`, its text neutralised; the same frame and as_of give the
    same bytes. `formats`: number formats by column, over the ones its name suggests
    (for heads in a report's language)."""
    if len(frame) > MAX_ROWS:
        raise ValueError(f"{len(frame):,} rows do not fit an Excel sheet ({MAX_ROWS:,})")
    frame = neutralise(frame)
    book = Workbook()
    ws = book.active
    ws.title = re.sub(r"[\[\]:*?/\\]", "_", sheet)[:31]
    columns = [str(c) for c in frame.columns]
    ws.append(columns)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    chosen = formats or {}
    formats = [chosen.get(str(c)) or number_format(str(c), frame[c]) for c in frame.columns]
    widths = [_width(c) for c in columns]
    for row_no, row in enumerate(frame.itertuples(index=False, name=None), start=2):
        for col_no, value in enumerate(row, start=1):
            cell = ws.cell(row=row_no, column=col_no, value=_cell(value))
            if isinstance(cell.value, str):
                cell.data_type = "s"  # text, never a formula
                widths[col_no - 1] = max(widths[col_no - 1], _width(cell.value))
            elif cell.value is not None and formats[col_no - 1]:
                cell.number_format = formats[col_no - 1]
                widths[col_no - 1] = max(widths[col_no - 1], 12)
    for col_no, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(col_no)].width = min(max(width + 2, 8), 60)
    ws.freeze_panes = "A2"
    if len(frame):
        ws.auto_filter.ref = ws.dimensions
    stamp = datetime.combine(as_of, time())
    book.properties.creator = "crm"
    book.properties.created = book.properties.modified = stamp
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as archive:
        ExcelWriter(book, archive).write_data()
    return _fixed_times(raw.getvalue())


def _fixed_times(data: bytes) -> bytes:
    """The same zip with every entry at one fixed time (openpyxl stamps the clock's)."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=ZIP_TIME)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o600 << 16
            target.writestr(fixed, source.read(info.filename))
    return out.getvalue()


def write_xlsx(frame: pd.DataFrame, target: Path, sheet: str, as_of: date) -> Path:
    """Write `frame` as a one-sheet workbook, atomically (pipeline.io)."""
    return write_bytes(workbook_bytes(frame, sheet, as_of), target)
