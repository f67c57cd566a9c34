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

The workbook itself is written by pipeline.xlsx (Office Open XML, directly).

Only frames of a branch's or a network's size go here (Excel stops at 1,048,576 rows);
the per-customer marts stay Parquet.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd

from pipeline import xlsx
from pipeline.io import write_bytes
from pipeline.spreadsheet import neutralise

MAX_ROWS = 1_048_575  # Excel's rows less the header
PERCENT = "0.0%"
WHOLE = "#,##0"
DECIMAL = "#,##0.00"
RATIO = "0.000"
DATE = xlsx.DATE
# words in a column name, checked in this order: a share of AUM is a share, not an amount
PERCENT_WORDS = ("share", "coverage", "adoption", "penetration", "probability", "p_alive", "rate")
RATIO_WORDS = ("gini",)
AMOUNT_WORDS = ("aum", "clv", "value", "balance", "amount", "revenue", "margin")


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
    if values.dtype != object:  # dates in a frame are Python dates in an object column
        return False
    first = values.dropna()
    return not first.empty and isinstance(first.iloc[0], date)


def workbook_bytes(
    frame: pd.DataFrame, sheet: str, as_of: date, formats: dict[str, str] | None = None
) -> bytes:
    """One sheet holding `frame`, its text neutralised; the same frame and as_of give the
    same bytes. `formats`: number formats by column, over the ones its name suggests
    (for heads in a report's language)."""
    if len(frame) > MAX_ROWS:
        raise ValueError(f"{len(frame):,} rows do not fit an Excel sheet ({MAX_ROWS:,})")
    frame = neutralise(frame)
    chosen = formats or {}
    number_formats = [chosen.get(str(c)) or number_format(str(c), frame[c]) for c in frame.columns]
    return xlsx.workbook(
        [str(c) for c in frame.columns],
        [frame[c].tolist() for c in frame.columns],
        number_formats,
        sheet,
        as_of,
    )


def write_xlsx(frame: pd.DataFrame, target: Path, sheet: str, as_of: date) -> Path:
    """Write `frame` as a one-sheet workbook, atomically (pipeline.io)."""
    return write_bytes(workbook_bytes(frame, sheet, as_of), target)
