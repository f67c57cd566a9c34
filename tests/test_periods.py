"""Month arithmetic without pandas: the same dates pandas' monthly Periods give."""

from __future__ import annotations

import subprocess
import sys
from datetime import date, datetime

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.errors import ConfigError, InputError
from pipeline.periods import (
    as_of_date,
    check_inside_data,
    latest_complete_period,
    month_end,
    month_start,
    parse_period,
    previous_period,
)

days = st.dates(min_value=date(1901, 1, 1), max_value=date(2199, 12, 31))
offsets = st.integers(min_value=-600, max_value=600)


def test_month_arithmetic_on_hand_picked_dates():
    assert month_end(date(2024, 3, 15), 1) == date(2024, 2, 29)  # a leap February
    assert month_end(date(2023, 3, 31), 1) == date(2023, 2, 28)
    assert month_start(date(2026, 1, 10), 1) == date(2025, 12, 1)  # across a year
    assert month_end(date(2026, 11, 30), -2) == date(2027, 1, 31)  # after the month
    assert as_of_date("2026-10") == date(2026, 10, 31)
    assert previous_period("2026-01") == "2025-12"
    assert previous_period("2026-03", 14) == "2025-01"
    assert latest_complete_period(date(2026, 10, 31)) == "2026-10"
    assert latest_complete_period(date(2026, 10, 30)) == "2026-09"
    assert latest_complete_period(datetime(2026, 10, 31, 23, 59)) == "2026-10"


@given(days, offsets)
def test_month_ends_and_starts_are_pandas_monthly_periods(day, back):
    period = pd.Period(day, freq="M") - back
    assert month_end(day, back) == period.end_time.date()
    assert month_start(day, back) == period.start_time.date()
    assert previous_period(f"{day:%Y-%m}", back) == str(period)


@given(days)
def test_the_latest_complete_month_is_the_month_whose_last_day_the_data_reaches(day):
    p = pd.Period(day, freq="M")
    expected = p if pd.Timestamp(day) >= p.end_time.normalize() else p - 1
    assert latest_complete_period(day) == str(expected)


@pytest.mark.parametrize("bad", ["2026-13", "2026-1", "26-10", "2026-10-01", "", None, 202610])
def test_a_period_not_written_yyyy_mm_is_a_clear_error(bad):
    with pytest.raises(ConfigError, match="expected YYYY-MM"):
        parse_period(bad)


def test_a_period_outside_the_data_is_refused():
    first, last = date(2025, 1, 5), date(2026, 10, 30)  # October is not complete
    check_inside_data("2025-01", first, last)
    check_inside_data("2026-09", first, last)
    with pytest.raises(InputError, match="before the data"):
        check_inside_data("2024-12", first, last)
    with pytest.raises(InputError, match="after the data: the last complete month ingested is"):
        check_inside_data("2026-10", first, last)


def test_a_declared_as_of_completes_the_month_of_the_last_transaction_only():
    first, last = date(2025, 1, 5), date(2026, 10, 30)  # a Friday; the 31st a Saturday
    assert latest_complete_period(last, date(2026, 10, 31)) == "2026-10"
    assert latest_complete_period(last, date(2026, 10, 30)) == "2026-09"  # not a month end
    assert latest_complete_period(last, date(2026, 11, 30)) == "2026-09"  # a stale export
    check_inside_data("2026-10", first, last, date(2026, 10, 31))
    with pytest.raises(InputError, match=r"in full .* \(as_of: 2026-10-31\) and ingest again"):
        check_inside_data("2026-10", first, last)
    with pytest.raises(InputError, match=r"up to 2026-10-30\); nothing was written"):
        check_inside_data("2026-11", first, last)  # no October data in November: no hint


def test_resolving_a_period_loads_no_table_library():
    """make asks crm for the period, the locale and the stamps before every stage."""
    code = (
        "import sys, pipeline.cli; "
        "print(sorted(m for m in ('pandas', 'numpy', 'pyarrow', 'duckdb') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
