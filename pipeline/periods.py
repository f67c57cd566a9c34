"""Reporting periods and every piece of calendar arithmetic the pipeline does.

A run is for one month `YYYY-MM`, as of the month's last day. The stages ask this module
for "the month end k months back", "the first day of the window", "the day after"; no
other module computes a date, so each rule is written once.

Months are counted with the standard library, so a command that only resolves a period
(`crm period`, `crm stamp`, which make calls before every stage) does not load pandas;
the functions on Series and Timestamps import it when called.
"""

from __future__ import annotations

import calendar
import re
from datetime import date, timedelta
from typing import TYPE_CHECKING

from pipeline.errors import ConfigError, InputError

if TYPE_CHECKING:
    import pandas as pd

_PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def parse_period(period: str) -> date:
    """`"2026-10"` -> the period's first day; a clear error for anything else."""
    match = _PERIOD.match(period) if isinstance(period, str) else None
    if not match:
        raise ConfigError(f"period: expected YYYY-MM (e.g. 2026-10), got {period!r}")
    return date(int(match[1]), int(match[2]), 1)


def as_of_date(period: str) -> date:
    """The period's as-of date: its last calendar day. Nothing after it may be used."""
    return month_end(parse_period(period))


def previous_period(period: str, months: int = 1) -> str:
    """The period `months` before `period`, as `YYYY-MM`."""
    return period_of(month_start(parse_period(period), months))


def period_of(day: date) -> str:
    """The `YYYY-MM` period a day falls in."""
    return f"{day.year:04d}-{day.month:02d}"


def latest_complete_period(last_data_day: date, declared_as_of: date | None = None) -> str:
    """The latest month fully covered by data ending on `last_data_day`: that day's month
    when the day is its last, or when the bank declared its exports complete to that
    month's end (`declared_as_of`, the source config's `as_of`: a month whose last days saw
    no transaction -- a business-day export ending on a weekend -- is complete when the
    bank says so); else the month before."""
    day = date(last_data_day.year, last_data_day.month, last_data_day.day)  # a datetime too
    complete = day >= month_end(day) or declared_as_of == month_end(day)
    return period_of(month_start(day, 0 if complete else 1))


def resolve_period(explicit: str | None, configured: str | None, data_end) -> str:
    """The period to run: `explicit` (--period), else `configured` (the config's period),
    else the latest complete month of the data (`data_end()`: the last transaction day
    ingested, None when there is none, and the as-of the source declares, None when it
    declares none), asked only when needed."""
    if explicit:
        parse_period(explicit)
        return explicit
    if configured:
        return configured
    last, declared = data_end()
    if last is None:
        raise InputError("no ingested transactions to take a period from; pass --period YYYY-MM")
    return latest_complete_period(last, declared)


def check_inside_data(
    period: str, first_day: date | None, last_day: date | None, declared_as_of: date | None = None
) -> None:
    """A period is run only when the data covers it: from the month of the first
    transaction to the latest complete month (`latest_complete_period`). Before it, every
    balance and activity measure is zero; after it, reports would look normal "as of" a
    month with no data."""
    if first_day is None or last_day is None:
        raise InputError("no ingested transactions: run `crm ingest` with transaction exports")
    p = parse_period(period)
    start = period_of(first_day)
    last = latest_complete_period(last_day, declared_as_of)
    if p < parse_period(start):
        raise InputError(
            f"period {period} is before the data: the ingested transactions start on "
            f"{first_day.isoformat()} ({start}); nothing was written"
        )
    if p > parse_period(last):
        hint = ""
        if period == period_of(last_day):  # the month holds data, not up to its last day
            hint = (
                f"; if the exports hold {period} in full (no transaction on its last days), "
                f"say so in the source config (as_of: {as_of_date(period).isoformat()}) and "
                "ingest again"
            )
        raise InputError(
            f"period {period} is after the data: the last complete month ingested is {last} "
            f"(transactions up to {last_day.isoformat()}){hint}; nothing was written"
        )


def month_start(day: date, months_back: int = 0) -> date:
    """The first day of the month `months_back` months before `day`'s month (negative:
    after it)."""
    year, month = divmod(day.year * 12 + day.month - 1 - months_back, 12)
    return date(year, month + 1, 1)


def month_end(day: date, months_back: int = 0) -> date:
    """The last day of the month `months_back` months before `day`'s month (negative:
    after it)."""
    start = month_start(day, months_back)
    return start.replace(day=calendar.monthrange(start.year, start.month)[1])


def day_after(day: date) -> date:
    """The next calendar day: "up to and including `day`" is "before day_after(day)"."""
    return day + timedelta(days=1)


def days_before(day: date, days: pd.Series) -> pd.Series:
    """`day` less each number of `days` (null stays null), as Timestamps."""
    import pandas as pd

    return pd.Timestamp(day) - pd.to_timedelta(days.astype("float64"), unit="D")


def window_bounds(as_of: date, months: int) -> tuple[pd.Timestamp, pd.Timestamp]:
    """[start, end) of the `months` months that end on `as_of` (inclusive): end is the
    day after as_of, start the same day `months` calendar months earlier."""
    import pandas as pd

    end = pd.Timestamp(day_after(as_of))
    return end - pd.DateOffset(months=months), end


def week_start(day: date) -> pd.Timestamp:
    """The Monday starting `day`'s ISO week (lifetimes' and DuckDB's weekly periods)."""
    import pandas as pd

    ts = pd.Timestamp(day)
    return ts - pd.Timedelta(days=ts.weekday())
