"""Why a customer is at risk, stored as codes with their parameters, never as words.

`top_reasons` in churn_model picks up to three features per customer; this module
writes each as `<feature>:<value>:<typical>` -- the feature's name (the model's own
column), the customer's value and the typical (median) customer's -- and joins a
customer's reasons with ";", strongest first:

    recency_days:120:14;aum_change_pct_3m:-0.3765:0

A missing value is written "na" ("never contacted by an RM" is a reason too). Where a
customer's risk is the BTYD's 1 - P(alive) (no churn score), `with_silence` puts their
silence against their own rhythm first: `btyd_silence:<days silent>:<usual days>`. The
report words the codes in the language it is rendered in (pipeline/report/reasons.py),
so a list is never stuck in the language that was configured when it was scored.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

SEPARATOR = ";"
REASONS_PER_CUSTOMER = 3
FIELDS = ":"
MISSING = "na"


def number_text(value: float) -> str:
    """A value as the code writes it: up to six significant digits, "na" when missing,
    never "-0"."""
    if not np.isfinite(value):
        return MISSING
    text = f"{float(value):.6g}"
    return "0" if text in ("-0", "0") else text


def reason_codes(feature: str, values: np.ndarray, median: float) -> tuple[list[str], np.ndarray]:
    """The codes of `feature`'s distinct values and, per value, its code's index.

    Each distinct value is written once (a million customers share far fewer values)."""
    unique, inverse = np.unique(np.asarray(values, dtype=float), return_inverse=True)
    typical = number_text(median)
    codes = [f"{feature}{FIELDS}{number_text(v)}{FIELDS}{typical}" for v in unique]
    return codes, inverse.ravel()


# Without a churn model, value at risk is weighted with the BTYD's 1 - P(alive), which
# falls when a customer stays silent for long against their own rhythm, not against
# other customers'. That silence is the reason: `btyd_silence:<days silent>:<usual days
# between events>`, first, where the silence is at least SILENCE_GAPS usual gaps.
SILENCE = "btyd_silence"
SILENCE_GAPS = 2.0
DAYS_PER_UNIT = {"week": 7.0, "day": 1.0}
# The silence against other customers says the same thing less well: it gives way.
_SEP, _NOT_SEP = re.escape(SEPARATOR), f"[^{re.escape(SEPARATOR)}]*"
_RECENCY = rf"(^|{_SEP})recency_days{re.escape(FIELDS)}{_NOT_SEP}"
# a code string cut after its REASONS_PER_CUSTOMER-th reason
_AT_MOST = rf"^((?:{_NOT_SEP}{_SEP}){{{REASONS_PER_CUSTOMER - 1}}}{_NOT_SEP}){_SEP}.*$"


def with_silence(
    codes: pd.Series,
    frequency: np.ndarray,
    recency: np.ndarray,
    T: np.ndarray,
    rhythm: np.ndarray,
    time_unit: str,
) -> pd.Series:
    """Each customer's reason codes with the BTYD silence first where `rhythm` (the
    customer's risk is 1 - P(alive)) and the customer, after at least one repeat event,
    has been silent (T - recency) for at least SILENCE_GAPS times the usual gap between
    events (recency / frequency); BTYD times are in `time_unit`, codes in days. A
    recency_days reason gives way to it, and at most REASONS_PER_CUSTOMER are kept."""
    f, r, t = (np.asarray(x, dtype=float) for x in (frequency, recency, T))
    days = DAYS_PER_UNIT[time_unit]
    with np.errstate(divide="ignore", invalid="ignore"):
        gap = np.where(f >= 1, r / f, np.nan) * days
    silent = (t - r) * days
    show = np.asarray(rhythm, dtype=bool) & (gap > 0) & (silent >= SILENCE_GAPS * gap)
    if not show.any():
        return codes
    code = f"{SILENCE}{FIELDS}" + _texts(silent[show]) + FIELDS + _texts(gap[show])
    rest = pd.Series(codes.to_numpy()[show], dtype="str").fillna("")  # missing: no reasons
    rest = rest.str.replace(_RECENCY, "", regex=True).str.replace(f"^{_SEP}", "", regex=True)
    joined = code.where(rest.eq(""), code + SEPARATOR + rest)
    kept = joined.str.replace(_AT_MOST, r"\1", regex=True)
    out = codes.copy()
    out.iloc[np.flatnonzero(show)] = kept.to_numpy()
    return out


def _texts(values: np.ndarray) -> pd.Series:
    """number_text of each value, written once per distinct value."""
    unique, at = np.unique(values, return_inverse=True)
    return (
        pd.Series([number_text(v) for v in unique], dtype="str")
        .iloc[at.ravel()]
        .reset_index(drop=True)
    )
