"""Numbers read in the declared convention only (pipeline/ingest/numbers.py): exact
values where the text is a number, NULL (a reject) where reading it would be a guess."""

from __future__ import annotations

import re

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.ingest.numbers import check_separators, number_pattern, number_sql


def read(values: list[str], decimal: str, thousands: str, dtype: str = "float64") -> list:
    if not values:
        return []
    with duckdb.connect() as con:
        con.execute("CREATE TABLE t (i INTEGER, v VARCHAR)")
        con.executemany("INSERT INTO t VALUES (?, ?)", list(enumerate(values)))
        sql = number_sql("v", dtype, decimal, thousands)
        return [r[0] for r in con.execute(f"SELECT {sql} FROM t ORDER BY i").fetchall()]


CASES = [
    # decimal, thousands, text, value (None: rejected as unparseable_number)
    (".", "", "1234.56", 1234.56),
    (".", "", "-0.5", -0.5),
    (".", "", "+7", 7.0),
    (".", "", "1.5E+07", 15_000_000.0),
    (".", "", "3.", 3.0),
    (".", "", "1_000", None),  # Python's digit separator, no export's
    (".", "", "1,000", None),  # a thousands separator the config does not declare
    (".", "", "12,50", None),
    (".", "", "+-4", None),
    (".", "", "nan", None),
    (".", "", "inf", None),
    (".", "", "0x10", None),
    (".", ",", "1,234.50", 1234.5),
    (".", ",", "1234.50", 1234.5),  # grouping is optional, but all or nothing
    (".", ",", "12,000", 12000.0),
    (".", ",", "1.234,56", None),  # the other convention: not 1.23456
    (".", ",", "1,2,3", None),  # not grouped in threes: not 123
    (".", ",", "12,34", None),
    (".", ",", "1234,567", None),  # a group after ungrouped digits
    (".", ",", "1_000", None),
    (",", ".", "1.234,56", 1234.56),
    (",", ".", "1234,56", 1234.56),
    (",", ".", "1,5", 1.5),
    (",", ".", "1.5", None),  # a decimal point where the comma is the decimal separator
    (",", ".", "1.234.567,8", 1234567.8),
    (",", ".", "1.23.4", None),
    (",", "", "1,5", 1.5),
    (",", "", "1.5", None),
    (",", " ", "1 234,5", 1234.5),
    (",", " ", "12 34", None),
    (".", "'", "1'234'567.25", 1234567.25),
]


@pytest.mark.parametrize("decimal, thousands, text, value", CASES)
def test_a_number_is_read_only_in_the_declared_convention(decimal, thousands, text, value):
    assert read([text], decimal, thousands) == [value]


def test_whole_numbers_keep_every_digit_and_refuse_fractions():
    values = ["9007199254740993", "1,234", "1.5", "1e3", "-12"]
    assert read(values, ".", ",", "int64") == [9007199254740993, 1234, None, None, -12]


@pytest.mark.parametrize(
    "decimal, thousands, message",
    [
        (".", ".", r"thousands: '\.' is also the decimal separator"),
        ("_", "", r"decimal: must be one of"),
        (".", "_", r"thousands: must be one of"),
    ],
)
def test_separators_that_cannot_be_read_unambiguously_are_refused(decimal, thousands, message):
    assert re.search(message, check_separators(decimal, thousands, "t") or "")


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet="0123456789+-.eE_, ", min_size=1, max_size=8), max_size=60))
def test_the_plain_fast_path_accepts_exactly_the_declared_pattern(texts):
    """Decimal '.', no thousands: DuckDB's cast with '_' and '+-' ruled out must accept
    what the pattern (used for every other convention) accepts, and nothing else."""
    texts = [t for t in texts if t == t.strip()]
    pattern = re.compile(number_pattern(".", ""))
    for text, value in zip(texts, read(texts, ".", ""), strict=True):
        expected = bool(pattern.fullmatch(text))
        if expected and value is None:  # the pattern holds but the number overflows
            assert abs(float(text)) == float("inf"), text
        else:
            assert (value is not None) == expected, text
