"""Numbers as an export writes them, read without guessing.

A source config states each table's decimal separator (`.` or `,`) and thousands
separator (none, `,`, `.`, a space, an apostrophe or a no-break space). A value is a
number only when it is written exactly that way: an optional sign, digits -- grouped in
threes by the thousands separator throughout, or not grouped at all -- then the decimal
separator and digits, then an optional exponent (`1.5E+07`, as spreadsheets write large
numbers; `3.` and `3.e5` are read too). Anything else is `unparseable_number`, never a
best guess:

- `1.234,56` under decimal `.` and thousands `,` (the other convention) -- not 1.23456;
- `1,2,3` (not grouped in threes) -- not 123;
- `1_000` (Python's and DuckDB's digit separator, no export's) -- not 1000;
- `12,50` under decimal `.` with no thousands separator -- not 1250;
- `+-4` (two signs), `nan`, `inf`, hex, inner spaces.

With the plain convention (decimal `.`, no thousands separator) DuckDB's own cast already
refuses everything above but `_`, `+-` and non-finite values, so only those are ruled out,
at a third of a regular expression's cost per value: the path every large export of the
sample bank takes (tests/test_ingest_numbers.py checks the two paths agree).
"""

from __future__ import annotations

import re

DECIMALS = (".", ",")
THOUSANDS = ("", ",", ".", " ", "'", "\u2019", "\u00a0", "\u202f")


def check_separators(decimal: str, thousands: str, where: str) -> str | None:
    """Why a decimal/thousands pair cannot be read unambiguously (None: it can)."""
    if decimal not in DECIMALS:
        return f"{where}.decimal: must be one of {list(DECIMALS)}, got {decimal!r}"
    if thousands not in THOUSANDS:
        return f"{where}.thousands: must be one of {list(THOUSANDS)}, got {thousands!r}"
    if thousands == decimal:
        return f"{where}.thousands: {thousands!r} is also the decimal separator"
    return None


def number_pattern(decimal: str, thousands: str, integer: bool = False) -> str:
    """The RE2 (and Python re) pattern a whole value must match (`integer`: no decimal
    part and no exponent)."""
    whole = "[0-9]+"
    if thousands:
        whole = f"(?:[0-9]+|[0-9]{{1,3}}(?:{re.escape(thousands)}[0-9]{{3}})+)"
    if integer:
        return f"[+-]?{whole}"
    d = re.escape(decimal)
    return f"[+-]?(?:{whole}(?:{d}[0-9]*)?|{d}[0-9]+)(?:[eE][+-]?[0-9]+)?"


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def number_sql(v: str, dtype: str, decimal: str, thousands: str) -> str:
    """SQL turning text `v` into a DOUBLE (`float64`) or BIGINT (`int64`), NULL when the
    value is not a number written in the declared convention."""
    normal = v
    if thousands:
        normal = f"replace({normal}, {_lit(thousands)}, '')"
    if decimal != ".":
        normal = f"replace({normal}, {_lit(decimal)}, '.')"
    if dtype == "int64":
        pattern = _lit(number_pattern(decimal, thousands, integer=True))
        return f"TRY_CAST(CASE WHEN regexp_full_match({v}, {pattern}) THEN {normal} END AS BIGINT)"
    if decimal == "." and not thousands:
        text = f"CASE WHEN NOT (contains({v}, '_') OR contains({v}, '+-')) THEN {v} END"
    else:
        pattern = _lit(number_pattern(decimal, thousands))
        text = f"CASE WHEN regexp_full_match({v}, {pattern}) THEN {normal} END"
    double = f"TRY_CAST({text} AS DOUBLE)"
    return f"(CASE WHEN isfinite({double}) THEN {double} END)"
