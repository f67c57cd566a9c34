"""The bytes of a one-sheet Excel workbook, written as Office Open XML (ECMA-376) directly.

pipeline.sheets decides what a sheet shows; this writes it: a shared string table, a
style per number format, a bold header row kept in view (frozen) with a filter on it,
columns as wide as their text, and the properties' creation and modification times.
The same cells and date give the same bytes (every zip entry carries one fixed time).

Why not a spreadsheet library: a run writes a workbook per watchlist and per RM's call
list (669 at a million customers, and as many per report language), and openpyxl spent
about 20 ms on a 40-row call list, most of it fixed cost per workbook and per cell
object; these few parts take about 4. Numbers are written exactly (the shortest text
that reads back as the same double), text with control characters as Excel escapes
them (_xHHHH_), and an infinite number, which a workbook cannot hold, as an empty cell.
"""

from __future__ import annotations

import io
import math
import re
import unicodedata
import zipfile
from collections.abc import Sequence
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any
from xml.sax.saxutils import escape

import numpy as np
import pandas as pd

ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip entry can carry
DATE = "yyyy-mm-dd"  # dates in a column without a number format of its own
XML_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG = "http://schemas.openxmlformats.org/package/2006"
_OFFICE = "application/vnd.openxmlformats-officedocument"
HEAD_STYLE, DATE_STYLE, BODY_STYLES = 1, 2, 3
CONTENT_TYPES = (
    f'{XML_HEAD}<Types xmlns="{_PKG}/content-types">'
    '<Default Extension="rels" '
    'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    f'<Override PartName="/xl/workbook.xml" ContentType="{_OFFICE}.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    f'ContentType="{_OFFICE}.spreadsheetml.worksheet+xml"/>'
    f'<Override PartName="/xl/styles.xml" ContentType="{_OFFICE}.spreadsheetml.styles+xml"/>'
    '<Override PartName="/xl/sharedStrings.xml" '
    f'ContentType="{_OFFICE}.spreadsheetml.sharedStrings+xml"/>'
    '<Override PartName="/docProps/core.xml" '
    'ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
    "</Types>"
)
ROOT_RELS = (
    f'{XML_HEAD}<Relationships xmlns="{_PKG}/relationships">'
    f'<Relationship Id="rId1" Type="{REL_NS}/officeDocument" Target="xl/workbook.xml"/>'
    f'<Relationship Id="rId2" Type="{_PKG}/relationships/metadata/core-properties" '
    'Target="docProps/core.xml"/>'
    "</Relationships>"
)
WORKBOOK_RELS = (
    f'{XML_HEAD}<Relationships xmlns="{_PKG}/relationships">'
    f'<Relationship Id="rId1" Type="{REL_NS}/worksheet" Target="worksheets/sheet1.xml"/>'
    f'<Relationship Id="rId2" Type="{REL_NS}/styles" Target="styles.xml"/>'
    f'<Relationship Id="rId3" Type="{REL_NS}/sharedStrings" Target="sharedStrings.xml"/>'
    "</Relationships>"
)


def _cell(value: Any) -> Any:
    """A frame's value as a cell holds it: None for missing (and for infinities, which a
    workbook cannot hold), Python scalars, datetimes for dates (so Excel sorts and
    filters them as dates)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float | Decimal) and not math.isfinite(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime().replace(tzinfo=None)
    if isinstance(value, date) and not isinstance(value, datetime):
        return datetime.combine(value, time())
    return value


def _width(text: str) -> int:
    """Characters a text takes in a cell (Chinese characters take two)."""
    if text.isascii():
        return len(text)
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def column_letter(number: int) -> str:
    """Excel's name of the 1-based column `number`: A, ..., Z, AA, ..."""
    letters = ""
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


# XML 1.0 cannot hold these control characters; a workbook writes them as _xHHHH_
# (ECMA-376 ST_Xstring), and a literal "_xHHHH_" in the text escapes its underscore.
_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]|_(?=x[0-9A-Fa-f]{4}_)")


def _xml_text(text: str) -> str:
    text = _NOT_XML.sub(lambda m: f"_x{ord(m.group()):04X}_", text)
    return escape(text, {'"': "&quot;"})


def _number(value: int | float | Decimal) -> str:
    """A number's text in a cell: a float's shortest text that reads back as the same
    double, an integer's or a decimal's digits."""
    return repr(value) if isinstance(value, float) else str(value)


EXCEL_EPOCH = datetime(1899, 12, 30)


def _serial(moment: datetime) -> str:
    """A datetime as Excel's serial day number (days since its 1900 date system's day 0)."""
    days = (moment - EXCEL_EPOCH).total_seconds() / 86400
    return str(int(days)) if days.is_integer() else repr(days)


class _Strings:
    """The workbook's shared string table: each distinct text once, cells by index."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}
        self.count = 0

    def ref(self, text: str) -> int:
        self.count += 1
        return self.index.setdefault(text, len(self.index))

    def xml(self) -> str:
        items = "".join(f'<si><t xml:space="preserve">{_xml_text(t)}</t></si>' for t in self.index)
        return (
            f'{XML_HEAD}<sst xmlns="{MAIN_NS}" count="{self.count}" '
            f'uniqueCount="{len(self.index)}">{items}</sst>'
        )


def workbook(
    columns: Sequence[str],
    columns_values: Sequence[Sequence[Any]],
    number_formats: Sequence[str | None],
    sheet: str,
    as_of: date,
) -> bytes:
    """One sheet: a header of `columns`, then each column's values (None: an empty cell;
    text is written as given, never as a formula) with its number format (None: none)."""
    rows_count = len(columns_values[0]) if columns_values else 0
    distinct = list(dict.fromkeys(f for f in number_formats if f))
    style = {f: BODY_STYLES + i for i, f in enumerate(distinct)}  # cell style ids
    strings = _Strings()
    letters = [column_letter(j) for j in range(1, len(columns) + 1)]
    widths = [_width(c) for c in columns]
    cells: list[list[str]] = []  # by column, one string per body row
    for j, values in enumerate(columns_values):
        s = style.get(number_formats[j])
        numeric = f' s="{s}"' if s is not None else ""
        out, width = [], widths[j]
        for row, value in enumerate(map(_cell, values), start=2):
            ref = f"{letters[j]}{row}"
            if value is None:
                out.append("")
            elif isinstance(value, str):
                out.append(f'<c r="{ref}" t="s"><v>{strings.ref(value)}</v></c>')
                width = max(width, _width(value))
            elif isinstance(value, bool):
                out.append(f'<c r="{ref}" t="b"><v>{int(value)}</v></c>')
            elif isinstance(value, datetime):
                date_style = s if s is not None else DATE_STYLE
                out.append(f'<c r="{ref}" s="{date_style}"><v>{_serial(value)}</v></c>')
                width = max(width, 12)
            elif isinstance(value, int | float | Decimal):
                out.append(f'<c r="{ref}"{numeric}><v>{_number(value)}</v></c>')
                if s is not None:
                    width = max(width, 12)
            else:  # anything else reads as its text
                out.append(f'<c r="{ref}" t="s"><v>{strings.ref(str(value))}</v></c>')
                width = max(width, _width(str(value)))
        cells.append(out)
        widths[j] = width
    head = "".join(
        f'<c r="{letter}1" t="s" s="{HEAD_STYLE}"><v>{strings.ref(name)}</v></c>'
        for letter, name in zip(letters, columns, strict=True)
    )
    rows = [f'<row r="1">{head}</row>']
    rows += [
        f'<row r="{row}">{"".join(part)}</row>'
        for row, part in enumerate(zip(*cells, strict=True), start=2)
    ]
    last = f"{letters[-1]}{rows_count + 1}" if columns else "A1"
    parts = {
        "[Content_Types].xml": CONTENT_TYPES,
        "_rels/.rels": ROOT_RELS,
        "docProps/core.xml": _core(as_of),
        "xl/workbook.xml": _workbook(sheet, last if rows_count else None),
        "xl/_rels/workbook.xml.rels": WORKBOOK_RELS,
        "xl/styles.xml": _styles(distinct),
        "xl/sharedStrings.xml": strings.xml(),
        "xl/worksheets/sheet1.xml": _sheet(rows, widths, last, bool(rows_count)),
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in parts.items():
            entry = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o600 << 16
            archive.writestr(entry, text.encode("utf-8"))
    return out.getvalue()


def sheet_title(sheet: str) -> str:
    """A sheet name Excel accepts: none of []:*?/\\, at most 31 characters."""
    return re.sub(r"[\[\]:*?/\\]", "_", sheet)[:31]


def _sheet(rows: list[str], widths: list[int], last: str, filtered: bool) -> str:
    cols = "".join(
        f'<col min="{j}" max="{j}" width="{min(max(w + 2, 8), 60)}" customWidth="1"/>'
        for j, w in enumerate(widths, start=1)
    )
    auto_filter = f'<autoFilter ref="A1:{last}"/>' if filtered else ""
    return (
        f'{XML_HEAD}<worksheet xmlns="{MAIN_NS}" xmlns:r="{REL_NS}">'
        f'<dimension ref="A1:{last}"/>'
        '<sheetViews><sheetView workbookViewId="0">'
        '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
        '<selection pane="bottomLeft" activeCell="A2" sqref="A2"/>'
        "</sheetView></sheetViews>"
        '<sheetFormatPr defaultRowHeight="15"/>'
        f"{f'<cols>{cols}</cols>' if cols else ''}"
        f"<sheetData>{''.join(rows)}</sheetData>"
        f"{auto_filter}"
        '<pageMargins left="0.75" right="0.75" top="1" bottom="1" header="0.5" footer="0.5"/>'
        "</worksheet>"
    )


def _workbook(sheet: str, filtered_to: str | None) -> str:
    title = sheet_title(sheet)
    names = ""
    if filtered_to is not None:  # Excel's own record of a sheet's filter range
        quoted = "'" + title.replace("'", "''") + "'"
        column, row = re.fullmatch(r"([A-Z]+)(\d+)", filtered_to).groups()
        names = (
            '<definedNames><definedName name="_xlnm._FilterDatabase" localSheetId="0" '
            f'hidden="1">{_xml_text(quoted)}!$A$1:${column}${row}</definedName></definedNames>'
        )
    return (
        f'{XML_HEAD}<workbook xmlns="{MAIN_NS}" xmlns:r="{REL_NS}">'
        "<bookViews><workbookView/></bookViews>"
        f'<sheets><sheet name="{_xml_text(title)}" sheetId="1" r:id="rId1"/></sheets>'
        f"{names}</workbook>"
    )


def _styles(number_formats: list[str]) -> str:
    """Style 0 the default, 1 the bold header, 2 dates without a column format, then one
    per number format the columns use (custom format ids start at 164)."""
    all_formats = [DATE, *number_formats]
    num_fmts = "".join(
        f'<numFmt numFmtId="{164 + i}" formatCode="{_xml_text(f)}"/>'
        for i, f in enumerate(all_formats)
    )
    xfs = [
        '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>',
        '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>',
    ]
    xfs += [
        f'<xf numFmtId="{164 + i}" fontId="0" fillId="0" borderId="0" xfId="0" '
        'applyNumberFormat="1"/>'
        for i in range(len(all_formats))
    ]
    return (
        f'{XML_HEAD}<styleSheet xmlns="{MAIN_NS}">'
        f'<numFmts count="{len(all_formats)}">{num_fmts}</numFmts>'
        '<fonts count="2"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
        '<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>'
        '<fills count="2"><fill><patternFill patternType="none"/></fill>'
        '<fill><patternFill patternType="gray125"/></fill></fills>'
        '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
        '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/>'
        "</cellStyleXfs>"
        f'<cellXfs count="{len(xfs)}">{"".join(xfs)}</cellXfs>'
        '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
        "</styleSheet>"
    )


def _core(as_of: date) -> str:
    stamp = datetime.combine(as_of, time()).strftime("%Y-%m-%dT%H:%M:%SZ")
    return (
        f"{XML_HEAD}<cp:coreProperties "
        'xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:dcterms="http://purl.org/dc/terms/" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        "<dc:creator>crm</dc:creator>"
        f'<dcterms:created xsi:type="dcterms:W3CDTF">{stamp}</dcterms:created>'
        f'<dcterms:modified xsi:type="dcterms:W3CDTF">{stamp}</dcterms:modified>'
        "</cp:coreProperties>"
    )
