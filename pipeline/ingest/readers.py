"""Reading one export file into a typed part, with its physical line numbers.

Every value is read as VARCHAR (DuckDB `all_varchar`) so that casting happens in SQL
where each failing value can be reported with its file, line and column. A file comes
prepared (rawtext.py: hashed, its lines counted, its text checked and, if need be,
transcoded to UTF-8). A CSV is then parsed and cast in one streaming DuckDB query
straight into its part (no text table in memory), in file order: a row's position in
the part (Parquet's file_row_number, read as `_pos`) plus the file's first data line,
shifted past the physical lines DuckDB skipped (blank or unsplittable, see
`line_thresholds`), is its line.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from pipeline.errors import InputError
from pipeline.ingest.arrow_out import write_query
from pipeline.ingest.headers import csv_reader, header_names
from pipeline.ingest.rawtext import Prepared


@dataclass(frozen=True)
class Loaded:
    """A file loaded into a DuckDB table `table` of VARCHAR columns plus `_line`."""

    table: str
    headers: list[str]
    rows: int  # data rows parsed (structural rejects not included)
    malformed: list[tuple[int, str, str]]  # (line, error, raw line) of rows DuckDB could not split
    lines_exact: bool
    cleanup: str = ""  # SQL dropping what loading created
    skipped: tuple[int, ...] = ()  # lines after the header holding no row (a blank sheet row)

    def release(self, con: duckdb.DuckDBPyConnection) -> None:
        con.execute(self.cleanup or f"DROP TABLE {self.table}")


@dataclass(frozen=True)
class Parsed:
    """A file written as a typed part: its rows, in file order, and how to number them."""

    headers: list[str]
    rows: int  # data rows in the part
    malformed: list[tuple[int, str, str]]  # (line, error, raw line) of rows DuckDB could not split
    base: int  # the line of the part's first row, when no line before it is skipped
    skipped: list[int]  # physical lines after the header holding no row of the part, sorted
    lines_exact: bool


# Builds the typed SELECT of a part from the file's headers, a FROM clause, whether
# values need trimming and whether they may hold a control character (cast.py).
SelectFor = Callable[[list[str], str, bool, bool], str]
# Parts are a private cache: fast to write and read; small row groups read in parallel.
PART_COMPRESSION, PART_ROW_GROUP = "snappy", 1 << 17
# Min/max statistics only where a query filters on them (whether a row failed to cast):
# computing them for every text column costs a third of writing a part.
PART_STATISTICS = ["_reason"]
MAX_HEADER_CHARS = 256  # a column name longer than this (over several lines) is rows


def line_thresholds(base: int, skipped: list[int]) -> list[tuple[int, int]]:
    """(t_j, j) such that the row at 0-based position r is on line base + r + max{j: t_j <= r}.

    Skipped lines s_1 < s_2 < ... hold no row; row r comes after s_j exactly when
    base + r + (j - 1) >= s_j, i.e. r >= s_j - base + 1 - j.
    """
    return [(s - base + 1 - j, j) for j, s in enumerate(skipped, 1)]


def write_part(
    con: duckdb.DuckDBPyConnection,
    prepared: Prepared,
    read: dict[str, Any],
    label: str,
    table: str,
    select_for: SelectFor,
    target: Path,
    dictionary: list[str],
) -> Parsed:
    """Parse, map and cast a prepared file into the part `target`: its rows in file order
    (`dictionary`: columns worth dictionary-encoding)."""
    fmt = read["format"]
    if fmt == "csv":
        return _csv_part(con, prepared, read, label, table, select_for, target, dictionary)
    if fmt == "xlsx":
        loaded = _load_excel(con, prepared.text_path, read, label, table)
        base = read["header_row"] + 1
    else:
        loaded = _load_parquet(con, prepared.text_path, label, table)
        base = 1
    select = select_for(loaded.headers, loaded.table, True, True)
    _part(con, f"SELECT * EXCLUDE (_line) FROM ({select}) ORDER BY _line", target, dictionary)
    loaded.release(con)
    return Parsed(loaded.headers, loaded.rows, [], base, list(loaded.skipped), True)


def _part(con, sql: str, target: Path, dictionary: list[str]) -> int:
    return write_query(
        con,
        sql,
        target,
        compression=PART_COMPRESSION,
        dictionary=dictionary,
        row_group=PART_ROW_GROUP,
        statistics=PART_STATISTICS,
    )


def load(
    con: duckdb.DuckDBPyConnection, prepared: Prepared, read: dict[str, Any], label: str, table: str
) -> Loaded:
    """Load a prepared CSV into `table` (VARCHAR columns and `_line`): adapter inputs."""
    header_row = read["header_row"]
    headers, source = _csv_source(con, prepared, read, label, table)
    try:
        con.execute(f"CREATE TABLE {table}_text AS SELECT * FROM {source}")
    except duckdb.Error as exc:
        raise _read_error(label, "CSV", exc, prepared.text_path) from None
    rows = con.execute(f"SELECT count(*) FROM {table}_text").fetchall()[0][0]
    malformed, skipped, lines_exact = _skipped_lines(con, prepared, read, rows, table)
    _refuse_merged_rows(label, malformed, prepared.lines)
    thresholds = line_thresholds(header_row + 1, skipped)
    if not thresholds:  # the usual case: a view, no copy of the rows
        con.execute(
            f"CREATE VIEW {table} AS SELECT {header_row + 1} + rowid AS _line, * FROM {table}_text"
        )
        cleanup = f"DROP VIEW {table}; DROP TABLE {table}_text"
    else:
        frame = pd.DataFrame({"t": [t for t, _ in thresholds], "k": [k for _, k in thresholds]})
        con.register(f"{table}_thr", frame)
        con.execute(
            f"CREATE TABLE {table} AS SELECT {header_row + 1} + x.rowid + coalesce(thr.k, 0) "
            f"AS _line, x.* FROM (SELECT rowid, * FROM {table}_text) x "
            f"ASOF LEFT JOIN {table}_thr thr ON x.rowid >= thr.t ORDER BY x.rowid"
        )
        con.unregister(f"{table}_thr")
        con.execute(f"ALTER TABLE {table} DROP COLUMN rowid; DROP TABLE {table}_text")
        cleanup = f"DROP TABLE {table}"
    return Loaded(table, headers, rows, malformed, lines_exact, cleanup)


def _sql_str(value: str) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def _csv_options(read: dict[str, Any], table: str | None) -> str:
    """read_csv options: all text, strict; unsplittable rows go to `<table>_errors`."""
    options = (
        f"all_varchar=true, header=true, delim={_sql_str(read['separator'])}, "
        f"quote={_sql_str(read['quote'])}, escape={_sql_str(read['escape'])}, "
        f"skip={read['header_row'] - 1}, strict_mode=true, null_padding=false, parallel=true, "
        "ignore_errors=true"
    )
    if table is None:  # only the headers are wanted
        return options
    return (
        f"{options}, store_rejects=true, "
        f"rejects_table='{table}_errors', rejects_scan='{table}_scans'"
    )


def _csv_part(
    con,
    prepared: Prepared,
    read: dict[str, Any],
    label: str,
    table: str,
    select_for: SelectFor,
    target: Path,
    dictionary: list[str],
) -> Parsed:
    """One streaming query: read_csv -> map and cast -> Parquet; DuckDB keeps the order."""
    headers, from_sql = _csv_source(con, prepared, read, label, table)
    select = select_for(headers, from_sql, prepared.padded, prepared.controls)
    try:
        rows = _part(con, select, target, dictionary)
    except duckdb.Error as exc:
        raise _read_error(label, "CSV", exc, prepared.text_path) from None
    malformed, skipped, exact = _skipped_lines(con, prepared, read, rows, table)
    _refuse_merged_rows(label, malformed, prepared.lines)
    return Parsed(headers, rows, malformed, read["header_row"] + 1, skipped, exact)


def _csv_source(
    con, prepared: Prepared, read: dict[str, Any], label: str, table: str
) -> tuple[list[str], str]:
    """The file's column names and the read_csv(...) to select its rows from (malformed
    rows to `<table>_errors`).

    DuckDB's sniffer checks the first rows' dialect even when it is declared, and gives up
    on the whole file over one malformed or overlong row among them, where the same row
    further down is one reject: then the columns are given from the header and nothing is
    sniffed."""
    path = _sql_str(prepared.text_path)
    try:
        headers = [
            r[0]
            for r in con.execute(
                f"DESCRIBE SELECT * FROM read_csv({path}, {_csv_options(read, None)})"
            ).fetchall()
        ]
        _refuse_runaway_header(label, headers, read)
        return headers, f"read_csv({path}, {_csv_options(read, table)})"
    except duckdb.Error as exc:
        headers = duckdb_names(header_names(prepared.text_path, read))
        if not headers:
            _refuse_unpaired_header_quote(label, prepared.text_path, read)
            raise _read_error(label, "CSV", exc, prepared.text_path) from None
        _refuse_runaway_header(label, headers, read)
    types = ", ".join(f"{_sql_str(h)}: 'VARCHAR'" for h in headers)
    columns = f"auto_detect=false, columns={{{types}}}"
    return headers, f"read_csv({path}, {_csv_options(read, table)}, {columns})"


def _refuse_runaway_header(label: str, names: list[str], read: dict[str, Any]) -> None:
    """A quote opened in the header and not closed there reads the rows below into one
    column name: refuse, naming the header's line and the column, never the text (it
    holds the rows, names and ID numbers among them). A name over two lines ("Amount /
    (CNY)") is a name; one that also holds the separator, or is longer than any name,
    is rows."""
    for k, name in enumerate(names, 1):
        breaks = "\n" in name or "\r" in name
        if breaks and (read["separator"] in name or len(name) > MAX_HEADER_CHARS):
            raise _runaway_header(label, read, k)


def _refuse_unpaired_header_quote(label: str, path: Path, read: dict[str, Any]) -> None:
    """The same, for a header no reader could split: its line's quotes do not pair (the
    last one opened a value that runs on into the rows)."""
    quote, line = read["quote"], None
    with open(path, encoding="utf-8-sig", newline="") as fh:
        for number, text in enumerate(fh, 1):
            if number == read["header_row"]:
                line = text
                break
    if line is not None and quote and line.count(quote) % 2 == 1:
        raise _runaway_header(label, read, line[: line.rindex(quote)].count(read["separator"]) + 1)


def _runaway_header(label: str, read: dict[str, Any], column: int) -> InputError:
    return InputError(
        f"{label}: line {read['header_row']} (the header): column {column} opens a quote "
        "that is not closed on the header line, so the rows below would be read as its "
        "name; fix the quotes in the header"
    )


def duckdb_names(names: list[str]) -> list[str]:
    """Header names as DuckDB's sniffer gives them: an empty one is `column<i>`, a repeated
    one `<name>_<k>`."""
    seen: dict[str, int] = {}  # a name given -> how many times it was taken again
    out = []
    for i, name in enumerate(names):
        name = name or f"column{i}"
        while name in seen:
            seen[name] += 1
            name = f"{name}_{seen[name]}"
        seen[name] = 0
        out.append(name)
    return out


def _refuse_merged_rows(label: str, malformed: list[tuple[int, str, str]], lines: int) -> None:
    """An unsplittable row over several lines is what a quote left open makes of the
    lines after it: one reject, their rows lost uncounted (a row whose quoted value holds
    a line break and that cannot be split is refused too: which it is cannot be told).
    Refuse the file, naming the line."""
    for line, _, raw in malformed:
        text = raw.strip("\r\n")  # DuckDB may keep the line break before a row
        if "\n" in text or "\r" in text:
            raise InputError(
                f"{label}: line {line}: a row that cannot be split runs over several lines, "
                "as when a quote opened on this line is not closed where its row ends: the "
                f"lines after it (the file has {lines:,}) would be read into this one row "
                "and their rows lost uncounted; fix the quotes on this line, or set `quote:` "
                "for this table to a character the export does not use if it does not quote "
                "values"
            )


def _skipped_lines(
    con, prepared: Prepared, read: dict[str, Any], rows: int, table: str
) -> tuple[list[tuple[int, str, str]], list[int], bool]:
    """Rows DuckDB could not split (one per record), every physical line holding no row,
    and whether the line numbers are exact (header + rows + skipped lines = the file's
    lines; with quoted line breaks, as `_lines_by_record` finds them).

    DuckDB records an error per missing or extra column of a ragged row; the row is one
    reject, reported with the error that gives its true field count (the first missing
    column, or the last extra one)."""
    malformed = [
        (int(a), str(b), str(c))
        for a, b, c in con.execute(
            f"""
            SELECT line,
                   arg_min(error_message, coalesce(column_idx, 0)::BIGINT
                       * CASE WHEN error_type = 'TOO MANY COLUMNS' THEN -1 ELSE 1 END),
                   min(csv_line)
            FROM {table}_errors GROUP BY line ORDER BY line
            """
        ).fetchall()
    ]
    con.execute(f"DROP TABLE {table}_errors; DROP TABLE {table}_scans")
    header_row = read["header_row"]
    skipped = sorted({m[0] for m in malformed})
    if header_row + rows + len(skipped) == prepared.lines:
        return malformed, skipped, True
    skipped = sorted(set(skipped) | set(_blank_lines(prepared.text_path, header_row)))
    if header_row + rows + len(skipped) == prepared.lines:
        return malformed, skipped, True
    by_record = _lines_by_record(prepared, read, rows, malformed)
    return by_record if by_record is not None else (malformed, skipped, False)


def _lines_by_record(
    prepared: Prepared, read: dict[str, Any], rows: int, malformed: list[tuple[int, str, str]]
) -> tuple[list[tuple[int, str, str]], list[int], bool] | None:
    """Exact lines when quoted values hold line breaks (an address over two lines): the
    file read record by record (Python's csv, the same dialect), each record's first
    physical line found. DuckDB numbers a record by its lines less the quoted line breaks
    before it; that number gives a malformed row's physical line. Every physical line that
    starts no row of the part is skipped. None when the two readings disagree on the rows
    (or the dialect is one Python's csv cannot read): the lines stay approximate."""
    header_row = read["header_row"]
    bad = {line for line, _, _ in malformed}
    physical: dict[int, int] = {}  # DuckDB's number of a malformed row -> its first line
    skipped: list[int] = []
    kept = end = breaks = 0
    with open(prepared.text_path, encoding="utf-8-sig", newline="") as fh:
        reader = csv_reader(fh, read)
        if reader is None:
            return None
        try:
            for fields in reader:
                start, end = end + 1, reader.line_num
                numbered = start - breaks
                breaks += end - start
                if numbered in bad:
                    physical[numbered] = start
                if start <= header_row:  # the lines before the header, and the header
                    skipped.extend(range(header_row + 1, end + 1))  # (over several lines)
                    continue
                if fields and numbered not in bad:
                    kept += 1
                    skipped.extend(range(start + 1, end + 1))
                else:  # a blank line or a malformed row: no row of the part
                    skipped.extend(range(start, end + 1))
        except csv.Error:  # a value over csv's field limit: leave it to the counts
            return None
    if kept != rows or physical.keys() != bad or end != prepared.lines:
        return None
    return [(physical[line], error, raw) for line, error, raw in malformed], skipped, True


def _blank_lines(path: Path, header_row: int) -> list[int]:
    """Physical numbers of empty data lines (DuckDB skips them); read only when counts differ."""
    blank = []
    with open(path, "rb") as fh:
        for number, line in enumerate(fh, 1):
            if number > header_row and not line.strip(b"\r\n"):
                blank.append(number)
    return blank


def _read_error(label: str, kind: str, exc: duckdb.Error, text: Path | None = None) -> Exception:
    """The file's fault, named; running out of memory is the machine's and stays itself.
    DuckDB's strict reader stops at a line ending unlike the file's others ("the CSV
    Parser state machine reached an invalid state") without a line: found here."""
    if isinstance(exc, duckdb.OutOfMemoryException):
        return exc
    if text is not None and "state machine" in str(exc):
        mixed = mixed_line_ending(text)
        if mixed is not None:
            line, found, usual = mixed
            return InputError(
                f"{label}: line {line}: ends with {found} where the lines before it end "
                f"with {usual}; save the file with one kind of line ending"
            )
    return InputError(f"{label}: cannot be read as {kind}: {_first_line(exc)}")


ENDINGS = {b"\r\n": "CRLF (Windows)", b"\n": "LF (Unix)", b"\r": "a bare CR"}


def mixed_line_ending(path: Path) -> tuple[int, str, str] | None:
    """(line, its ending, the first line's) of the first line whose ending differs from
    the first line's (quotes not followed: a line break inside quotes counts too), or
    None when they all agree."""
    usual = None
    line = 0
    with open(path, "rb") as fh:
        rest = b""
        while block := fh.read(1 << 20):
            data = rest + block
            at = 0
            for m in re.finditer(rb"\r\n|\r|\n", data):
                if m.group() == b"\r" and m.end() == len(data):  # a CR at a block's end
                    break
                line += 1
                if usual is None:
                    usual = m.group()
                elif m.group() != usual:
                    return line, ENDINGS[m.group()], ENDINGS[usual]
                at = m.end()
            rest = data[at:]
    return None


def _load_excel(con, path: Path, read: dict[str, Any], label: str, table: str) -> Loaded:
    header_row = read["header_row"]
    try:
        frame = pd.read_excel(
            path, sheet_name=read["sheet"], header=header_row - 1, dtype=object, engine="openpyxl"
        )
    except Exception as exc:  # openpyxl raises many types for a broken workbook
        raise InputError(
            f"{label}: cannot be read as an Excel workbook: {exc}{_sheets_hint(path, read)}"
        ) from None
    text = pd.DataFrame(
        {str(col).strip(): frame[col].map(_cell_text).astype("string") for col in frame.columns}
    )
    text.insert(0, "_line", pd.RangeIndex(header_row + 1, header_row + 1 + len(text)))
    blank = text.iloc[:, 1:].isna().all(axis=1)  # a blank row is no row, as in a CSV
    skipped = tuple(int(line) for line in text["_line"][blank])
    text = text[~blank]
    con.register(f"{table}_frame", text)
    con.execute(f"CREATE TABLE {table} AS SELECT * FROM {table}_frame")
    con.unregister(f"{table}_frame")
    headers = [c for c in text.columns if c != "_line"]
    return Loaded(table, headers, len(text), [], True, skipped=skipped)


def _sheets_hint(path: Path, read: dict[str, Any]) -> str:
    """The workbook's sheet names when the declared one is not among them."""
    try:
        with pd.ExcelFile(path, engine="openpyxl") as book:
            names = book.sheet_names
    except Exception:  # noqa: BLE001  not a workbook at all: the error says so
        return ""
    sheet = read["sheet"]
    if sheet in names if isinstance(sheet, str) else 0 <= sheet < len(names):
        return ""
    return f"; its sheets are: {', '.join(map(str, names))} (set `sheet:` for this table)"


def _cell_text(value: Any) -> str | None:
    """An Excel cell as export text: dates ISO, whole floats without '.0', empty as None."""
    if value is None or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, datetime | date):
        ts = pd.Timestamp(value)
        return ts.strftime("%Y-%m-%d") if ts == ts.normalize() else ts.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _load_parquet(con, path: Path, label: str, table: str) -> Loaded:
    try:
        con.execute(
            f"CREATE TABLE {table} AS SELECT file_row_number + 1 AS _line, "
            f"COLUMNS(lambda c: c <> 'file_row_number')::VARCHAR "
            f"FROM read_parquet({_sql_str(path)}, file_row_number=true) ORDER BY file_row_number"
        )
    except duckdb.Error as exc:
        raise _read_error(label, "Parquet", exc) from None
    headers = [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall() if r[0] != "_line"]
    rows = con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
    return Loaded(table, headers, rows, [], True)


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
