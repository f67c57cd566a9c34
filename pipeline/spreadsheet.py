"""Text cells a spreadsheet must not run: the OWASP rule against CSV (formula) injection.

Analysts open the watchlists in Excel or WPS, which run a cell starting with `=`, `+`,
`-` or `@` as a formula -- `=HYPERLINK("http://evil.example/x","click")` in an rm_id or
a customer id would be a live link -- and treat a leading tab or carriage return the
same way in some versions. Every text cell written to a CSV file (io.write_csv) or an
Excel workbook (sheets.write_xlsx) that starts with one of those characters is prefixed
with a single quote, which spreadsheets show as text. A cell that already starts with a
quote gets one more, so that `restore` (io.read_csv) gives back every value exactly:
the report reads the watchlists back and matches their ids against the features mart.
Numbers stay numbers (-12.5 is a number column, not text).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
QUOTE = "'"


def neutralise_text(value: str) -> str:
    """One cell's text as written: quoted when a spreadsheet would run it."""
    return QUOTE + value if value.startswith(TRIGGERS + (QUOTE,)) else value


def restore_text(value: str) -> str:
    """The text `neutralise_text` was given."""
    return value[1:] if value.startswith(QUOTE) else value


def _text_columns(frame: pd.DataFrame) -> list[str]:
    types = pd.api.types  # by dtype: a Series per column would cost more than the check
    return [
        c
        for c, dtype in frame.dtypes.items()
        if types.is_object_dtype(dtype) or types.is_string_dtype(dtype)
    ]


def _starts_with_any(values: pd.Series, prefixes: tuple[str, ...]) -> np.ndarray:
    """Which texts of a text column start with one of `prefixes` (missing: False). Text
    held by Arrow is matched in one pass of Arrow's regular expressions: pandas'
    startswith with a tuple makes a pass per prefix, and its match parses the pattern
    with Python's on every call -- most of writing a 40-row list, one per RM."""
    if values.dtype.storage == "pyarrow":
        pattern = "|".join("".join(f"\\x{{{ord(ch):x}}}" for ch in p) for p in prefixes)
        found = pc.match_substring_regex(pa.array(values), f"^(?:{pattern})").fill_null(False)
        return found.to_numpy(zero_copy_only=False)
    return values.str.startswith(prefixes).fillna(False).to_numpy(bool)


def neutralise(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of `frame` whose text cells are safe to open in a spreadsheet."""
    out = frame.copy()
    for column in _text_columns(out):
        values = out[column]
        if isinstance(values.dtype, pd.StringDtype):  # text or missing: one vectorised pass
            quoted = _starts_with_any(values, TRIGGERS + (QUOTE,))
            if quoted.any():
                out[column] = values.where(~quoted, QUOTE + values)
        else:
            out[column] = values.map(
                lambda v: neutralise_text(v) if isinstance(v, str) else v, na_action="ignore"
            )
    return out


def restore(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` read back from a neutralised file, its text cells as they were."""
    out = frame.copy()
    for column in _text_columns(out):
        values = out[column]
        if isinstance(values.dtype, pd.StringDtype):
            quoted = _starts_with_any(values, (QUOTE,))
            if quoted.any():
                out[column] = values.where(~quoted, values.str.slice(1))
        else:
            out[column] = values.map(
                lambda v: restore_text(v) if isinstance(v, str) else v, na_action="ignore"
            )
    return out
