"""Reporting periods: a run is for one month `YYYY-MM`, as of the month's last day."""

from __future__ import annotations

import re
from datetime import date

import pandas as pd

from pipeline.errors import ConfigError

_PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def parse_period(period: str) -> pd.Period:
    """`"2026-10"` -> monthly pandas Period; a clear error for anything else."""
    if not isinstance(period, str) or not _PERIOD.match(period):
        raise ConfigError(f"period: expected YYYY-MM (e.g. 2026-10), got {period!r}")
    return pd.Period(period, freq="M")


def as_of_date(period: str) -> date:
    """The period's as-of date: its last calendar day. Nothing after it may be used."""
    return parse_period(period).end_time.date()


def previous_period(period: str, months: int = 1) -> str:
    """The period `months` before `period`, as `YYYY-MM`."""
    return str(parse_period(period) - months)


def latest_complete_period(last_data_day: date) -> str:
    """The latest month fully covered by data ending on `last_data_day`."""
    p = pd.Period(last_data_day, freq="M")
    if pd.Timestamp(last_data_day) < p.end_time.normalize():
        p -= 1
    return str(p)
