"""The lists a report links to, for people who work them in a spreadsheet: the watchlist,
the customers to give an RM, and each RM's call list, as CSV and XLSX.

In the report's language: column heads are the report's labels, tiers its terms, reasons
worded (pipeline/report/reasons.py), yes/no in words; numbers stay numbers (money to the
cent, probabilities 0-1) and ids stay text. The bytes are the same for the same list:
the workbook carries the period's as-of date and its zip entries one fixed time.
(A small writer of its own: one sheet, a bold frozen header with a filter, widths that
fit; the issue-20 helper's pipeline/sheets.py does the same for the processed marts.)
"""

from __future__ import annotations

import io
import re
import unicodedata
import zipfile
from datetime import date, datetime, time
from typing import Any

import pandas as pd

from pipeline.report.i18n import labels, term
from pipeline.report.reasons import ReasonWords

# list column -> label key; in this order
COLUMNS = (
    ("rank", "rank"),
    ("customer_id", "customer_id"),
    ("rm_id", "rm_id"),
    ("tier", "tier"),
    ("aum", "aum"),
    ("monthly_profit", "monthly_profit"),
    ("clv", "clv"),
    ("churn_probability", "churn_probability"),
    ("value_at_risk", "value_at_risk"),
    ("high_value", "high_value"),
    ("reason_codes", "reasons"),
    ("last_contact_date", "last_contact"),
)
MONEY = ("aum", "monthly_profit", "clv", "value_at_risk")
ZIP_TIME = (1980, 1, 1, 0, 0, 0)
ZWSP = "\u200b"  # a line-break hint for the page, not text for a spreadsheet


def readable(frame: pd.DataFrame, words: ReasonWords) -> pd.DataFrame:
    """A list with the report's column heads and words; numbers untouched."""
    t = labels(words.locale)
    out = {}
    for column, key in COLUMNS:
        if column not in frame.columns:
            continue
        values = frame[column]
        if column == "tier":
            values = values.map(lambda v: term(words.locale, v))
        elif column == "reason_codes":
            values = values.map(
                lambda v: words.text(None if pd.isna(v) else str(v)).replace(ZWSP, "")
            )
        elif column == "high_value":
            values = values.map(lambda v: t["yes"] if bool(v) else t["no"])
        elif column in ("customer_id", "rm_id"):
            values = values.map(lambda v: "" if pd.isna(v) else str(v))
        elif column == "last_contact_date":
            values = values.map(lambda v: "" if pd.isna(v) else str(v)[:10])
        out[t[key]] = values.reset_index(drop=True)
    return pd.DataFrame(out)


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """UTF-8 CSV, with a byte-order mark when it holds non-ASCII text (so Excel reads
    Chinese heads and terms as UTF-8)."""
    text = frame.to_csv(index=False, lineterminator="\n")
    bom = "\ufeff" if not text.isascii() else ""
    return (bom + text).encode("utf-8")


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def _cell(value: Any) -> Any:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    if hasattr(value, "item"):
        return value.item()
    return value


def xlsx_bytes(frame: pd.DataFrame, sheet: str, as_of: date, money_heads: set[str]) -> bytes:
    """One sheet holding `frame`; the same frame and as_of give the same bytes."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter
    from openpyxl.writer.excel import ExcelWriter

    book = Workbook()
    ws = book.active
    ws.title = re.sub(r"[\[\]:*?/\\]", "_", sheet)[:31]
    heads = [str(c) for c in frame.columns]
    ws.append(heads)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    widths = [_width(h) for h in heads]
    for r, row in enumerate(frame.itertuples(index=False, name=None), start=2):
        for c, value in enumerate(row, start=1):
            cell = ws.cell(row=r, column=c, value=_cell(value))
            if isinstance(cell.value, str):
                cell.data_type = "s"  # text, never a formula
                widths[c - 1] = max(widths[c - 1], _width(cell.value))
            elif cell.value is not None:
                cell.number_format = "#,##0.00" if heads[c - 1] in money_heads else "General"
                widths[c - 1] = max(widths[c - 1], 12)
    for c, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(c)].width = min(max(width + 2, 8), 80)
    ws.freeze_panes = "A2"
    if len(frame):
        ws.auto_filter.ref = ws.dimensions
    stamp = datetime.combine(as_of, time())
    book.properties.creator = "crm"
    book.properties.created = book.properties.modified = stamp
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as archive:
        ExcelWriter(book, archive).write_data()
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(raw.getvalue())) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=ZIP_TIME)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o600 << 16
            target.writestr(fixed, source.read(info.filename))
    return out.getvalue()


def list_files(stem: str, frame: pd.DataFrame, words: ReasonWords, as_of: date) -> dict[str, bytes]:
    """`<stem>.csv` and `<stem>.xlsx` of one list, in the report's language."""
    shown = readable(frame, words)
    t = labels(words.locale)
    money = {t[key] for column, key in COLUMNS if column in MONEY}
    return {
        f"{stem}.csv": csv_bytes(shown),
        f"{stem}.xlsx": xlsx_bytes(shown, stem, as_of, money),
    }
