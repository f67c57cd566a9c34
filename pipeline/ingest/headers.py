"""A file's header as written, to find a column name given twice.

DuckDB renames a repeated CSV header (`amount`, `amount_1`) and pandas a repeated Excel
one (`amount`, `amount.1`), so reading by name silently takes the first. A repeated
column the source config reads is an error (which of the two is meant cannot be told);
one it does not read is a warning.
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.errors import InputError


def header_names(path: Path, read: dict[str, Any]) -> list[str]:
    """The header row's names, stripped, as the file has them (CSV as UTF-8 text, the
    form rawtext.prepare leaves it in; Excel; Parquet names are unique by construction)."""
    fmt, row = read["format"], read["header_row"]
    if fmt == "xlsx":
        try:
            frame = pd.read_excel(
                path,
                sheet_name=read["sheet"],
                header=None,
                skiprows=row - 1,
                nrows=1,
                dtype=object,
                engine="openpyxl",
            )
        except Exception:  # noqa: BLE001  a broken workbook: the full read says why
            return []
        return [str(v).strip() for v in frame.iloc[0].tolist() if v == v] if len(frame) else []
    if fmt != "csv":
        return []
    with open(path, encoding="utf-8-sig", newline="") as fh:
        for _ in range(row - 1):
            fh.readline()
        reader = csv_reader(fh, read)  # reads on past a line break inside a quoted name
        if reader is None:
            return [name.strip() for name in fh.readline().rstrip("\r\n").split(read["separator"])]
        try:
            return [name.strip() for name in next(reader, [])]
        except csv.Error:  # DuckDB's own read reports a broken header
            return []


def csv_reader(fh: Any, read: dict[str, Any]) -> Any:
    """Python's csv reader of an open text file in the table's dialect (separator, quote,
    escape), or None for a dialect it cannot read (it splits on one character)."""
    sep, quote, escape = read["separator"], read["quote"], read["escape"]
    if len(sep) != 1 or len(quote) != 1 or len(escape) != 1:
        return None
    return csv.reader(
        fh,
        delimiter=sep,
        quotechar=quote,
        doublequote=escape == quote,
        escapechar=None if escape == quote else escape,
    )


def repeated(names: list[str]) -> list[str]:
    """Names given more than once, in order of first appearance."""
    counts = Counter(names)
    return [n for n in dict.fromkeys(names) if n and counts[n] > 1]


def check_repeated(names: list[str], read_columns: set[str], label: str) -> list[str]:
    """Stop when a column the config reads is repeated; the others, for a warning."""
    twice = repeated(names)
    for name in twice:
        if name in read_columns:
            positions = [str(i) for i, n in enumerate(names, 1) if n == name]
            raise InputError(
                f"{label}: column {name!r} appears {len(positions)} times in the header "
                f"(columns {', '.join(positions)}); the source config reads it and which one "
                "is meant cannot be told: export it once"
            )
    return twice
