"""Why a customer is at risk, stored as codes with their parameters, never as words.

`top_reasons` in churn_model picks up to three features per customer; this module
writes each as `<feature>:<value>:<typical>` -- the feature's name (the model's own
column), the customer's value and the typical (median) customer's -- and joins a
customer's reasons with ";", strongest first:

    recency_days:120:14;aum_change_pct_3m:-0.3765:0

A missing value is written "na" ("never contacted by an RM" is a reason too). The
report words the codes in the language it is rendered in (pipeline/report/reasons.py),
so a list is never stuck in the language that was configured when it was scored.
"""

from __future__ import annotations

import numpy as np

SEPARATOR = ";"
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
